// The session record (调解笔录) editor: facts, statements and confirmed facts. Saving sends the version that
// was edited; when someone else saved first the server refuses, and the page shows their version beside ours
// so nothing is overwritten silently.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get, put, post, enc } from '../api.js';
import { hasFeature } from '../env.js';
import { field, options, onSubmit, formAlert, alertBox, loadingBox, toast, setTitle, busy } from '../ui.js';

const ROLES = ['applicant', 'respondent', 'agent', 'mediator', 'judge', 'other'];

export default async function record(main, { params, me }) {
  const id = params.id;
  mount(main, loadingBox());
  let session;
  let rec;
  try {
    [session, rec] = await Promise.all([get(`/sessions/${enc(id)}`), get(`/sessions/${enc(id)}/record`)]);
  } catch (e) {
    mount(main, h('h1', null, t('record.title')), alertBox(e));
    return;
  }
  setTitle(t('record.title'));
  let dirty = false;
  const editable = me.role === 'mediator';

  const conflictBox = h('div', { 'aria-live': 'assertive' });
  const statements = h('div', { id: 'statements' });
  const facts = h('div', { id: 'confirmed-facts' });
  const versionNote = h('p', { class: 'version-note', id: 'record-version' });

  function statementItem(st, i) {
    const remove = h('button', { type: 'button', class: 'btn ghost small', onclick: () => { item.remove(); renumber(); markDirty(); } }, t('record.remove'));
    const item = h(
      'div',
      { class: 'repeat-item statement' },
      h('div', { class: 'repeat-head' }, h('strong', { class: 'n' }, t('record.statement_n', { n: i + 1 })), editable ? remove : null),
      h(
        'div',
        { class: 'inline-fields' },
        field({ label: t('record.speaker'), name: `statements[${i}].speaker`, value: st.speaker, required: true, attrs: { maxlength: 100, 'data-part': 'speaker' } }),
        field({ label: t('record.role'), name: `statements[${i}].role`, type: 'select', value: st.role, options: options(ROLES, 'speakerrole', t('common.choose')), attrs: { 'data-part': 'role' } }),
      ),
      field({ label: t('record.text'), name: `statements[${i}].text`, type: 'textarea', value: st.text, required: true, rows: 4, attrs: { 'data-part': 'text' } }),
    );
    return item;
  }

  function factItem(text, i) {
    const item = h(
      'div',
      { class: 'repeat-item fact' },
      field({ label: t('record.fact_n', { n: i + 1 }), name: `confirmed_facts[${i}]`, type: 'textarea', value: text, required: true, rows: 2 }),
      editable ? h('button', { type: 'button', class: 'btn ghost small', onclick: () => { item.remove(); renumber(); markDirty(); } }, t('record.remove')) : null,
    );
    return item;
  }

  // renumber keeps names (statements[i].text …) matching positions, so server errors land on the right field.
  function renumber() {
    statements.querySelectorAll('.statement').forEach((item, i) => {
      item.querySelector('.n').textContent = t('record.statement_n', { n: i + 1 });
      for (const el of item.querySelectorAll('[data-part]')) el.name = `statements[${i}].${el.dataset.part}`;
    });
    facts.querySelectorAll('.fact').forEach((item, i) => {
      item.querySelector('label').textContent = t('record.fact_n', { n: i + 1 });
      item.querySelector('textarea').name = `confirmed_facts[${i}]`;
    });
  }

  function fill(r) {
    rec = r;
    form.facts.value = r.facts || '';
    statements.replaceChildren(...(r.statements || []).map(statementItem));
    facts.replaceChildren(...(r.confirmed_facts || []).map(factItem));
    versionNote.textContent = r.version ? t('record.version', { v: r.version, by: r.updated_by || '', at: fmtDateTime(r.updated_at) }) : t('record.new');
    dirty = false;
  }

  function read() {
    return {
      session_id: id,
      facts: form.facts.value,
      statements: Array.from(statements.querySelectorAll('.statement')).map((item) => ({
        speaker: item.querySelector('[data-part=speaker]').value.trim(),
        role: item.querySelector('[data-part=role]').value,
        text: item.querySelector('[data-part=text]').value,
      })),
      confirmed_facts: Array.from(facts.querySelectorAll('.fact textarea')).map((x) => x.value),
      version: rec.version,
    };
  }

  const markDirty = () => {
    dirty = true;
  };

  const form = h(
    'form',
    { novalidate: true, id: 'record-form' },
    formAlert(),
    versionNote,
    field({ label: t('record.facts'), name: 'facts', type: 'textarea', rows: 8, hint: t('record.facts_hint') }),
    h('fieldset', { name: 'statements' }, h('legend', null, t('record.statements')), statements, editable ? h('button', { type: 'button', class: 'btn secondary small', id: 'add-statement', onclick: () => { statements.appendChild(statementItem({ speaker: '', role: '', text: '' }, statements.children.length)); markDirty(); statements.lastElementChild.querySelector('input').focus(); } }, t('record.add_statement')) : null),
    h('fieldset', { name: 'confirmed_facts' }, h('legend', null, t('record.confirmed')), h('p', { class: 'hint' }, t('record.confirmed_hint')), facts, editable ? h('button', { type: 'button', class: 'btn secondary small', id: 'add-fact', onclick: () => { facts.appendChild(factItem('', facts.children.length)); markDirty(); facts.lastElementChild.querySelector('textarea').focus(); } }, t('record.add_fact')) : null),
    editable ? h('div', { class: 'actions-row' }, h('button', { type: 'submit', class: 'btn', id: 'save-record' }, t('record.save'))) : h('p', { class: 'muted' }, t('record.read_only')),
  );
  form.addEventListener('input', markDirty);

  async function showConflict(mine) {
    let theirs;
    try {
      theirs = await get(`/sessions/${enc(id)}/record`);
    } catch (e) {
      conflictBox.replaceChildren(alertBox(e));
      return;
    }
    const keepMine = h('button', { type: 'button', class: 'btn danger', id: 'keep-mine' }, t('record.keep_mine'));
    const takeTheirs = h('button', { type: 'button', class: 'btn secondary', id: 'take-theirs' }, t('record.take_theirs'));
    takeTheirs.addEventListener('click', () => {
      fill(theirs);
      conflictBox.replaceChildren();
      toast(t('record.loaded_theirs'));
    });
    keepMine.addEventListener('click', async () => {
      try {
        const saved = await busy(keepMine, () => put(`/sessions/${enc(id)}/record`, { ...mine, version: theirs.version }));
        fill(saved);
        conflictBox.replaceChildren();
        toast(t('record.saved', { v: saved.version }));
      } catch (e) {
        if (e.status === 409) showConflict(read());
        else conflictBox.replaceChildren(alertBox(e));
      }
    });
    conflictBox.replaceChildren(
      h(
        'section',
        { class: 'card conflict', role: 'alert', id: 'record-conflict' },
        h('h2', null, t('record.conflict_title')),
        h('p', null, t('record.conflict_text', { by: theirs.updated_by || '', at: fmtDateTime(theirs.updated_at), v: theirs.version, mine: mine.version })),
        h(
          'div',
          { class: 'theirs' },
          h('h3', null, t('record.their_version', { v: theirs.version })),
          h('p', { class: 'pre' }, theirs.facts || t('record.empty_facts')),
          (theirs.statements || []).map((st) => h('p', { class: 'pre' }, h('strong', null, st.speaker, st.role ? ` · ${label('speakerrole', st.role)}` : '', ': '), st.text)),
          theirs.confirmed_facts?.length ? h('ol', null, theirs.confirmed_facts.map((f) => h('li', null, f))) : null,
        ),
        h('p', { class: 'small muted' }, t('record.conflict_choose')),
        h('div', { class: 'actions-row' }, takeTheirs, keepMine),
      ),
    );
    conflictBox.querySelector('h2').setAttribute('tabindex', '-1');
    conflictBox.querySelector('h2').focus();
  }

  onSubmit(
    form,
    async () => {
      const mine = read();
      try {
        return await put(`/sessions/${enc(id)}/record`, mine);
      } catch (e) {
        if (e.status === 409) {
          await showConflict(mine);
          return null;
        }
        throw e;
      }
    },
    (saved) => {
      if (!saved) return;
      fill(saved);
      conflictBox.replaceChildren();
      toast(t('record.saved', { v: saved.version }));
    },
  );

  const beforeUnload = (ev) => {
    if (dirty) {
      ev.preventDefault();
      ev.returnValue = '';
    }
  };
  window.addEventListener('beforeunload', beforeUnload);

  // The record becomes a PDF the participants sign (the saved version: unsaved edits are saved first).
  function documentCard() {
    if (!editable || !hasFeature('signing')) return null;
    const out = h('div', { 'aria-live': 'polite' });
    const btn = h('button', { type: 'button', class: 'btn', id: 'record-document' }, t('record.make_document'));
    btn.addEventListener('click', async () => {
      out.replaceChildren();
      if (dirty) {
        out.replaceChildren(h('p', { class: 'alert warn', role: 'alert' }, t('record.save_first')));
        return;
      }
      try {
        const d = await busy(btn, () => post(`/sessions/${enc(id)}/record-document`, {}), t('record.making_document'));
        out.replaceChildren(h('div', { class: 'alert ok' }, h('p', null, t('record.document_made', { n: d.fields.length })), h('div', { class: 'actions-row' }, h('a', { class: 'btn', href: `/sign/${d.document.id}`, id: 'record-document-link' }, t('record.document_open')))));
      } catch (e) {
        out.replaceChildren(alertBox(e));
      }
    });
    return h('section', { class: 'card', id: 'record-document-card' }, h('h2', null, t('record.document_title')), h('p', { class: 'small muted' }, t('record.document_explain')), h('div', { class: 'actions-row' }, btn), out);
  }

  mount(
    main,
    h('p', { class: 'muted small' }, h('a', { href: `/cases/${session.case_id}` }, t('record.back_to_case'))),
    h('h1', null, t('record.title')),
    h('p', { class: 'lead' }, session.title || t('session.untitled'), ' · ', label('sessionstatus', session.status), session.started_at ? ` · ${fmtDateTime(session.started_at)}` : ''),
    h('p', { class: 'small muted' }, t('record.explain')),
    conflictBox,
    h('div', { class: 'card' }, form),
    documentCard(),
  );
  fill(rec);
  if (!editable) for (const el of form.querySelectorAll('input, textarea, select')) el.disabled = true;
  return () => window.removeEventListener('beforeunload', beforeUnload);
}
