// The case's documents on the staff case page and the party page: the agreement editor (from a template, with
// typed terms), the upload of an agreement signed on paper (its scan and the confirmation sheet every party signs
// online), every document with who has signed it (watched while signatures come in), the organisation's seal, the
// certificates of completion, and what the caller may sign.

import { h, uid, mount } from '../dom.js';
import { t, label, fmtDateTime, fmtDate, paren } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { field, onSubmit, formAlert, alertBox, busy, toast, empty, confirmSheet } from '../ui.js';
import { pdfLink } from '../parts/wechat.js';

// Each template term is [kind, text key]; the kinds are the server's (cases.TermKinds).
const TEMPLATES = {
  blank: { issues: [], terms: [['', '']], other: [] },
  infringement: { issues: ['issue_infringe', 'issue_amount'], terms: [['cessation', 'term_stop'], ['cessation', 'term_destroy'], ['payment', 'term_pay']], other: ['other_secret', 'other_waive'] },
  licence: { issues: ['issue_licence'], terms: [['licence', 'term_licence'], ['payment', 'term_royalty'], ['payment', 'term_pay']], other: ['other_secret', 'other_waive'] },
};

export const TERM_KINDS = ['payment', 'cessation', 'licence', 'assignment', 'withdraw_invalidation', 'validity_ownership', 'other'];

// termList edits the agreed terms, each with its kind (terms[i].kind) and text (terms[i].text). A term declaring
// the validity or ownership of an IP right is allowed, with a warning: it bars judicial confirmation.
function termList({ id }) {
  const items = h('div', { class: 'repeat-list', dataset: { list: 'terms' } });
  const warn = h('p', { class: 'alert warn small', hidden: true, dataset: { warn: 'validity_ownership' } }, t('agreement.validity_warning'));
  function check() {
    warn.hidden = ![...items.querySelectorAll('select')].some((s) => s.value === 'validity_ownership');
  }
  function item(v) {
    const kind = h('select', { 'aria-label': t('agreement.term_kind'), dataset: { part: 'kind' } }, h('option', { value: '' }, t('agreement.term_kind_choose')), TERM_KINDS.map((k) => h('option', { value: k }, t(`termkind.${k}`))));
    kind.value = v.kind || '';
    kind.addEventListener('change', check);
    const ta = h('textarea', { rows: 3, 'aria-label': t('agreement.terms'), dataset: { part: 'text' } });
    ta.value = v.text || '';
    const rm = h('button', { type: 'button', class: 'btn ghost small' }, t('record.remove'));
    const el = h('div', { class: 'repeat-item term' }, h('div', { class: 'field' }, kind), h('div', { class: 'field' }, ta), h('div', { class: 'row end' }, rm));
    rm.addEventListener('click', () => {
      el.remove();
      renumber();
      check();
    });
    return el;
  }
  function renumber() {
    [...items.children].forEach((el, i) => {
      for (const x of el.querySelectorAll('[data-part]')) x.name = `terms[${i}].${x.dataset.part}`;
      el.querySelector('textarea').setAttribute('aria-label', `${t('agreement.terms')} ${i + 1}`);
    });
  }
  const addBtn = h('button', { type: 'button', class: 'btn secondary small', dataset: { add: 'terms' }, id }, t('agreement.add_term'));
  addBtn.addEventListener('click', () => {
    items.appendChild(item({}));
    renumber();
    items.lastElementChild.querySelector('select').focus();
  });
  function set(vals) {
    items.replaceChildren(...vals.map(item));
    renumber();
    check();
  }
  return {
    el: h('fieldset', { name: 'terms' }, h('legend', null, t('agreement.terms')), h('p', { class: 'hint' }, t('agreement.terms_hint')), items, warn, addBtn),
    set,
    // A term with text is sent with its kind (an empty kind is the server's to refuse, next to the control).
    read: () =>
      [...items.children]
        .map((el) => ({ kind: el.querySelector('select').value, text: el.querySelector('textarea').value.trim() }))
        .filter((x) => x.text || x.kind),
  };
}

// repeatList edits a list of texts (issues, terms, clauses) whose controls are named name[i], so the server's
// field errors land next to the right one.
function repeatList({ name, legend, add, values, rows = 2, hint }) {
  const items = h('div', { class: 'repeat-list', dataset: { list: name } });
  function item(v) {
    const ta = h('textarea', { rows, 'aria-label': legend });
    ta.value = v || '';
    const rm = h('button', { type: 'button', class: 'btn ghost small' }, t('record.remove'));
    const el = h('div', { class: 'repeat-item field' }, ta, h('div', { class: 'row end' }, rm));
    rm.addEventListener('click', () => {
      el.remove();
      renumber();
    });
    return el;
  }
  function renumber() {
    [...items.children].forEach((el, i) => {
      const ta = el.querySelector('textarea');
      ta.name = `${name}[${i}]`;
      ta.setAttribute('aria-label', `${legend} ${i + 1}`);
    });
  }
  const addBtn = h('button', { type: 'button', class: 'btn secondary small', dataset: { add: name } }, add);
  addBtn.addEventListener('click', () => {
    items.appendChild(item(''));
    renumber();
    items.lastElementChild.querySelector('textarea').focus();
  });
  function set(vals) {
    items.replaceChildren(...vals.map(item));
    renumber();
  }
  set(values || []);
  return {
    el: h('fieldset', { name }, h('legend', null, legend), hint ? h('p', { class: 'hint' }, hint) : null, items, addBtn),
    set,
    read: () => [...items.querySelectorAll('textarea')].map((x) => x.value.trim()).filter(Boolean),
  };
}

// scheduleList edits the payment schedule: amount in yuan, due date, method, payer, payee.
function scheduleList(c) {
  const rows = h('div', { class: 'repeat-list' });
  const names = c.parties.map((p) => p.name);
  function row(v) {
    const el = h(
      'div',
      { class: 'repeat-item instalment' },
      h(
        'div',
        { class: 'inline-fields' },
        field({ label: t('agreement.amount'), name: 'amount', type: 'number', value: v.amount || '', attrs: { min: 0.01, step: 0.01, inputmode: 'decimal', 'data-part': 'amount_fen' } }),
        field({ label: t('agreement.due'), name: 'due', type: 'date', value: v.due || '', attrs: { 'data-part': 'due' } }),
        field({ label: t('agreement.method'), name: 'method', value: v.method ?? t('agreement.method_default'), attrs: { maxlength: 200, 'data-part': 'method' } }),
        field({ label: t('agreement.payer'), name: 'payer', type: 'select', value: v.payer || names[names.length - 1] || '', options: names.map((n) => ({ value: n, label: n })), attrs: { 'data-part': 'payer' } }),
        field({ label: t('agreement.payee'), name: 'payee', type: 'select', value: v.payee || names[0] || '', options: names.map((n) => ({ value: n, label: n })), attrs: { 'data-part': 'payee' } }),
      ),
      h('div', { class: 'row end' }, h('button', { type: 'button', class: 'btn ghost small', onclick: () => { el.remove(); renumber(); } }, t('record.remove'))),
    );
    return el;
  }
  function renumber() {
    [...rows.children].forEach((el, i) => {
      for (const x of el.querySelectorAll('[data-part]')) x.name = `schedule[${i}].${x.dataset.part}`;
    });
  }
  const add = h('button', { type: 'button', class: 'btn secondary small', dataset: { add: 'schedule' } }, t('agreement.add_instalment'));
  add.addEventListener('click', () => {
    rows.appendChild(row({}));
    renumber();
  });
  return {
    el: h('fieldset', { name: 'schedule' }, h('legend', null, t('agreement.schedule')), h('p', { class: 'hint' }, t('agreement.schedule_hint')), rows, add),
    read: () =>
      [...rows.children].map((el) => {
        const get1 = (p) => el.querySelector(`[data-part=${p}]`).value;
        return { amount_fen: Math.round(Number(get1('amount_fen')) * 100), due: get1('due'), method: get1('method').trim(), payer: get1('payer'), payee: get1('payee') };
      }),
  };
}

// deviceFields names the agreement's signature fields the way the server lays them out: sig-<side>-<n> per
// party in order, sig-mediator-<n> per accepted mediator.
function deviceFields(c) {
  const n = {};
  const out = [];
  for (const p of c.parties) {
    n[p.side] = (n[p.side] || 0) + 1;
    out.push({ field: `sig-${p.side}-${n[p.side]}`, name: p.name, role: p.side });
  }
  c.mediators.filter((m) => m.status === 'accepted').forEach((m, i) => out.push({ field: `sig-mediator-${i + 1}`, name: m.name, role: 'mediator' }));
  return out;
}

// orderPicker lets the mediator set the signing order (optional) by moving signers up and down.
function orderPicker(c) {
  let order = deviceFields(c);
  const on = h('input', { type: 'checkbox', id: uid('ord'), name: 'ordered' });
  const listEl = h('ol', { class: 'order-list', hidden: true });
  function draw() {
    listEl.replaceChildren(
      ...order.map((f, i) => {
        const up = h('button', { type: 'button', class: 'btn ghost small', 'aria-label': t('agreement.move_up', { name: f.name }), disabled: i === 0 }, '↑');
        up.addEventListener('click', () => {
          [order[i - 1], order[i]] = [order[i], order[i - 1]];
          draw();
        });
        return h('li', { dataset: { field: f.field } }, h('span', null, f.name, paren(label('sigrole', f.role))), up);
      }),
    );
  }
  on.addEventListener('change', () => {
    listEl.hidden = !on.checked;
  });
  draw();
  return {
    el: h('div', { class: 'field' }, h('label', { class: 'check', for: on.id }, on, h('span', null, t('agreement.ordered'))), listEl, h('p', { class: 'hint' }, t('agreement.ordered_hint'))),
    read: () => (on.checked ? order.map((f) => f.field) : undefined),
  };
}

// agreementEditor drafts the agreement from a template: facts, issues, terms, schedule, other clauses, the
// language and optionally the signing order.
export function agreementEditor(c, done) {
  const tpl = h('select', { id: uid('tpl'), name: 'template' }, ['infringement', 'licence', 'blank'].map((k) => h('option', { value: k }, t(`agreement.tpl_${k}`))));
  const issues = repeatList({ name: 'issues', legend: t('agreement.issues'), add: t('agreement.add_issue') });
  const terms = termList({});
  const other = repeatList({ name: 'other_clauses', legend: t('agreement.other'), add: t('agreement.add_clause') });
  const schedule = scheduleList(c);
  const order = orderPicker(c);
  function apply(name) {
    const tp = TEMPLATES[name];
    issues.set(tp.issues.map((k) => t(`agreement.tpl_text_${k}`)));
    terms.set(tp.terms.map(([kind, k]) => ({ kind, text: k ? t(`agreement.tpl_text_${k}`) : '' })));
    other.set(tp.other.map((k) => t(`agreement.tpl_text_${k}`)));
  }
  tpl.addEventListener('change', () => apply(tpl.value));
  apply('infringement');
  const form = h(
    'form',
    { novalidate: true, id: 'agreement-form' },
    formAlert(),
    h('div', { class: 'field' }, h('label', { for: tpl.id }, t('agreement.template')), tpl, h('p', { class: 'hint' }, t('agreement.template_hint'))),
    field({ label: t('agreement.facts'), name: 'facts', type: 'textarea', rows: 5, value: c.summary || '', hint: t('agreement.facts_hint') }),
    issues.el,
    terms.el,
    schedule.el,
    other.el,
    field({ label: t('agreement.lang'), name: 'lang', type: 'select', value: 'zh', options: [{ value: 'zh', label: t('agreement.lang_zh') }, { value: 'en', label: t('agreement.lang_en') }] }),
    order.el,
    h('button', { type: 'submit', class: 'btn', id: 'agreement-submit' }, t('agreement.create')),
  );
  onSubmit(
    form,
    () => post(`/cases/${enc(c.id)}/agreement`, { lang: form.lang.value, facts: form.facts.value.trim(), issues: issues.read(), terms: terms.read(), schedule: schedule.read(), other_clauses: other.read(), signing_order: order.read() }),
    (d) => {
      toast(t('agreement.created'));
      done(d);
    },
  );
  return form;
}

// fileBase64 reads a file as base64 (without the data: URL prefix).
function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

// offlineForm uploads an agreement the parties signed on paper: the scan (a PDF), when it was signed and its
// terms, typed, as transcribed from the scan. Parley answers with a confirmation sheet naming the scan's SHA-256;
// the agreement takes effect only when every party has signed that sheet online (notice §10).
export function offlineForm(c, done) {
  const fileId = uid('scan');
  const file = h('input', { type: 'file', id: fileId, name: 'pdf', accept: 'application/pdf,.pdf', 'aria-describedby': `${fileId}-hint` });
  const terms = termList({});
  terms.set([{ kind: '', text: '' }]);
  const form = h(
    'form',
    { novalidate: true, id: 'offline-form' },
    formAlert(),
    h('p', { class: 'small' }, t('offline.explain')),
    h('div', { class: 'field' }, h('label', { for: fileId }, t('offline.file')), file, h('p', { class: 'hint', id: `${fileId}-hint` }, t('offline.file_hint'))),
    field({ label: t('offline.signed_on'), name: 'signed_on', type: 'date', hint: t('offline.signed_on_hint') }),
    terms.el,
    field({ label: t('agreement.lang'), name: 'lang', type: 'select', value: 'zh', options: [{ value: 'zh', label: t('agreement.lang_zh') }, { value: 'en', label: t('agreement.lang_en') }] }),
    h('button', { type: 'submit', class: 'btn', id: 'offline-submit' }, t('offline.submit')),
  );
  onSubmit(
    form,
    async () => {
      const f = file.files && file.files[0];
      if (!f) throw { code: 'invalid', fields: { pdf: 'is required' } };
      return post(`/cases/${enc(c.id)}/offline-agreement`, { lang: form.lang.value, pdf: await fileBase64(f), signed_on: form.signed_on.value || undefined, terms: terms.read() });
    },
    (d) => {
      toast(t('offline.created'));
      done(d);
    },
  );
  return form;
}

function signedCount(d) {
  return `${d.fields.filter((f) => f.signed).length}/${d.fields.length}`;
}

// documentItem shows one document: status, who signed, and what the caller can do with it.
function documentItem(d, { completion, scan, mayAdmin, reload }) {
  const doc = d.document;
  const out = h('div', { 'aria-live': 'polite' });
  const allDevice = d.fields.filter((f) => f.device).every((f) => f.signed);
  const sealField = d.fields.find((f) => f.role === 'organisation');
  const actions = [
    h('a', { class: ['btn', d.next ? '' : 'secondary'], href: `/sign/${doc.id}`, dataset: { sign: doc.id } }, d.next ? t('docs.sign_now') : t('docs.open')),
    d.blocked ? h('span', { class: 'small muted', dataset: { blocked: d.blocked } }, t(`sign.blocked_${d.blocked}`)) : null,
    h('a', { class: 'btn secondary', ...pdfLink(`/api/v1/documents/${enc(doc.id)}/pdf`) }, t('docs.download')),
  ];
  if (mayAdmin && sealField && !sealField.signed && doc.status === 'signing') {
    const seal = h('button', { type: 'button', class: 'btn', id: `seal-${doc.id}`, disabled: !allDevice, title: allDevice ? null : t('docs.seal_wait') }, t('docs.seal'));
    seal.addEventListener('click', async () => {
      out.replaceChildren();
      if (!(await confirmSheet({ title: t('docs.seal'), consequence: t('sheet.seal'), ok: t('docs.seal') }))) return;
      try {
        await busy(seal, () => post(`/documents/${enc(doc.id)}/seal`), t('docs.sealing'));
        toast(t('docs.sealed'));
        reload();
      } catch (e) {
        out.replaceChildren(alertBox(e));
      }
    });
    actions.push(seal);
  }
  if (scan) actions.push(h('a', { class: 'btn secondary', ...pdfLink(`/api/v1/documents/${enc(scan.document.id)}/pdf`), dataset: { scan: scan.document.id } }, t('offline.scan')));
  if (completion) actions.push(h('a', { class: 'btn secondary', ...pdfLink(`/api/v1/documents/${enc(completion.document.id)}/pdf`), dataset: { completion: completion.document.id } }, t('docs.completion')));
  return h(
    'li',
    { class: 'caseitem', dataset: { document: doc.id, kind: doc.kind, status: doc.status } },
    h('div', { class: 'top-line' }, h('strong', null, doc.title), doc.kind === 'confirmation_sheet' ? h('span', { class: 'chip' }, t('offline.chip')) : null, h('span', { class: ['chip', doc.status === 'complete' ? 's-confirmed' : doc.status === 'superseded' ? '' : 's-signing'] }, label('docstatus', doc.status))),
    h('div', { class: 'meta' }, h('span', null, t('docs.created', { at: fmtDateTime(doc.created_at) })), h('span', null, t('docs.signed_count', { n: signedCount(d) })), h('span', null, t('sign.version', { v: doc.current_version }))),
    h(
      'ul',
      { class: 'sig-chips' },
      d.fields.map((f) => h('li', { class: ['sig-chip', f.signed ? 'done' : ''], dataset: { field: f.field } }, f.signed ? '✓ ' : '○ ', f.name || label('sigrole', f.role), f.signed ? paren(fmtDate(f.signed_at)) : '')),
      // The court's confirmation signature is added to a complete agreement (司法确认): it has no planned field.
      (doc.versions || []).filter((v) => v.signer_role === 'court').map((v) => h('li', { class: 'sig-chip done court', dataset: { field: v.field } }, '✓ ', t('docs.court_signed', { name: v.signer_name }), paren(fmtDate(v.created_at)))),
    ),
    doc.status !== 'superseded' ? h('div', { class: 'actions-row' }, actions) : null,
    out,
  );
}

// documentsSection lists the case's documents and watches them while signatures are being collected; staff who
// may (the mediator) also get the agreement editor. invite(party) returns the invitation control of a party
// (the phase-1 invitation UI) to ask them to sign.
export function documentsSection(c, { mayDraft, mayAdmin, invite }) {
  const listBox = h('div', { 'aria-live': 'polite', id: 'documents' });
  const editorBox = h('div');
  let timer = 0;
  let gone = false;

  function draw(docs) {
    const live = docs.filter((d) => d.document.kind !== 'completion' && d.document.kind !== 'agreement_scan');
    const byParent = new Map(docs.filter((d) => d.document.kind === 'completion').map((d) => [d.document.parent_id, d]));
    const scans = new Map(docs.filter((d) => d.document.kind === 'agreement_scan').map((d) => [d.document.id, d]));
    if (!live.length) {
      listBox.replaceChildren(empty(t('docs.none')));
      return;
    }
    const signing = live.filter((d) => d.document.status === 'signing');
    const unsignedParties = new Set();
    for (const d of signing) for (const f of d.fields) if (!f.signed && (f.role === 'applicant' || f.role === 'respondent')) unsignedParties.add(f.name);
    mount(
      listBox,
      h('ul', { class: 'caselist', id: 'document-list' }, live.map((d) => documentItem(d, { completion: byParent.get(d.document.id), scan: scans.get(d.document.parent_id), mayAdmin, reload: refresh }))),
      invite && unsignedParties.size
        ? h('div', { class: 'card attention', id: 'request-signatures' }, h('h3', null, t('docs.request')), h('p', { class: 'small' }, t('docs.request_hint')), c.parties.filter((p) => unsignedParties.has(p.name)).map((p) => h('div', null, h('p', { class: 'small' }, h('strong', null, p.name)), invite(p, null))))
        : null,
    );
    // Watch while signatures come in, and while a complete document waits for its certificate of completion (a
    // durable job the server may still be running or retrying).
    const awaiting = live.some((d) => d.document.status === 'complete' && !byParent.get(d.document.id));
    clearTimeout(timer);
    if ((signing.length || awaiting) && !gone) timer = setTimeout(refresh, signing.length ? 6000 : 3000);
  }

  async function refresh() {
    if (gone) return;
    if (!listBox.isConnected && timer) {
      gone = true;
      return;
    }
    try {
      draw(await get(`/cases/${enc(c.id)}/documents`));
    } catch (e) {
      listBox.replaceChildren(alertBox(e));
    }
  }

  if (mayDraft) {
    const details = h('details', { class: 'action', id: 'agreement-editor' }, h('summary', null, t('agreement.title')));
    const body = h('div', { class: 'body' }, c.state === 'in_mediation' ? h('p', { class: 'alert info small' }, t('agreement.before_end')) : null);
    details.appendChild(body);
    details.addEventListener('toggle', () => {
      if (details.open && !body.querySelector('form')) {
        body.appendChild(
          agreementEditor(c, (d) => {
            details.open = false;
            body.querySelector('form').remove();
            refresh();
            toast(t('agreement.next', { n: d.fields.length }));
          }),
        );
      }
    });
    editorBox.appendChild(details);
    const offline = h('details', { class: 'action', id: 'offline-agreement' }, h('summary', null, t('offline.title')));
    const obody = h('div', { class: 'body' });
    offline.appendChild(obody);
    offline.addEventListener('toggle', () => {
      if (offline.open && !obody.querySelector('form')) {
        obody.appendChild(
          offlineForm(c, (d) => {
            offline.open = false;
            obody.querySelector('form').remove();
            refresh();
            toast(t('agreement.next', { n: d.fields.length }));
          }),
        );
      }
    });
    editorBox.appendChild(offline);
  }

  refresh();
  return {
    el: h('div', { class: 'stack' }, listBox, editorBox),
    stop() {
      gone = true;
      clearTimeout(timer);
    },
  };
}
