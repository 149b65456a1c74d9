// Picking mediators and organisations: from a court's confirmed roster (clerks referring, parties choosing
// jointly) or from one organisation (its admin assigning), with a specialty filter and a name search.

import { h, uid } from '../dom.js';
import { t, label, list } from '../i18n.js';
import { get, qs } from '../api.js';
import { field, options, alertBox, loadingBox } from '../ui.js';
import { SPECIALTIES } from './casebits.js';

// profileCard shows a mediator's public profile (OMR Art. 5).
export function profileCard(m, control) {
  return h(
    'div',
    { class: 'profile-body' },
    h('div', { class: 'row' }, h('span', { class: 'name' }, m.name), m.org_name ? h('span', { class: 'small muted' }, m.org_name) : null),
    m.specialties?.length ? h('div', { class: 'tags' }, m.specialties.map((s) => h('span', { class: 'tag' }, label('specialty', s)))) : null,
    m.background ? h('p', { class: 'bg' }, m.background) : null,
    h(
      'div',
      { class: 'small muted' },
      m.case_scope ? `${t('profile.scope')}: ${m.case_scope} · ` : '',
      m.free ? t('profile.free') : `${t('profile.fee')}: ${m.fee_note || t('profile.fee_ask')}`,
      m.region ? ` · ${m.region}` : '',
    ),
    control || null,
  );
}

// mediatorSearch is the filter bar and result list. mode 'multi' gives checkboxes (read via selected()),
// mode 'choose' gives a button per mediator that calls onChoose(m).
export function mediatorSearch({ courtId, orgId, mode = 'multi', onChoose, onChange, chosenId }) {
  const resultsId = uid('results');
  const spec = field({ label: t('roster.specialty'), name: 'specialty_filter', type: 'select', options: options(SPECIALTIES, 'specialty', t('roster.any_specialty')) });
  const q = field({ label: t('roster.search'), name: 'q_filter', type: 'search', attrs: { autocomplete: 'off', 'aria-controls': resultsId } });
  const results = h('div', { id: resultsId, 'aria-live': 'polite' });
  const selected = new Map();
  let seq = 0;
  let debounce = null;

  async function load() {
    const my = ++seq;
    results.replaceChildren(loadingBox());
    try {
      const list = await get(`/mediators${qs({ court_id: courtId, org_id: orgId, specialty: spec.querySelector('select').value, q: q.querySelector('input').value.trim() })}`);
      if (my !== seq) return;
      draw(list);
    } catch (e) {
      if (my === seq) results.replaceChildren(alertBox(e));
    }
  }

  function draw(ms) {
    if (!ms.length) {
      results.replaceChildren(h('p', { class: 'empty' }, t('roster.none_found')));
      return;
    }
    results.replaceChildren(
      h('p', { class: 'small muted' }, t('roster.found', { n: ms.length })),
      h(
        'ul',
        { class: 'profiles cols' },
        ms.map((m) => {
          const li = h('li', { class: ['profile', selected.has(m.account_id) || chosenId === m.account_id ? 'selected' : ''], dataset: { mediator: m.account_id } });
          let control;
          if (mode === 'multi') {
            const id = uid('m');
            const box = h('input', { type: 'checkbox', id, value: m.account_id, checked: selected.has(m.account_id) });
            box.addEventListener('change', () => {
              if (box.checked) selected.set(m.account_id, m);
              else selected.delete(m.account_id);
              li.classList.toggle('selected', box.checked);
              if (onChange) onChange([...selected.values()]);
            });
            control = h('label', { class: 'check', for: id }, box, h('span', null, t('roster.select', { name: m.name })));
          } else {
            control = chosenId === m.account_id
              ? h('p', { class: 'alert ok' }, t('choose.current'))
              : h('button', { type: 'button', class: 'btn secondary small', onclick: (ev) => onChoose(m, ev.currentTarget) }, t('choose.this', { name: m.name }));
          }
          li.appendChild(profileCard(m, control));
          return li;
        }),
      ),
    );
  }

  spec.querySelector('select').addEventListener('change', load);
  q.querySelector('input').addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(load, 350);
  });
  q.querySelector('input').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      clearTimeout(debounce);
      load();
    }
  });
  load();
  return {
    el: h('div', null, h('div', { class: 'inline-fields' }, spec, q), results),
    selected: () => [...selected.values()],
    reload: load,
  };
}

// presidingField asks which of several mediators presides (OMR Art. 11).
function presidingField() {
  const box = h('fieldset', { name: 'presiding_id', hidden: true }, h('legend', null, t('roster.presiding')));
  const choices = h('div', { class: 'choices' });
  box.appendChild(choices);
  return {
    el: box,
    update(ms) {
      const prev = box.querySelector('input:checked')?.value;
      box.hidden = ms.length < 2;
      choices.replaceChildren(
        ...ms.map((m, i) => {
          const id = uid('p');
          return h('label', { class: 'check', for: id }, h('input', { type: 'radio', name: 'presiding_choice', id, value: m.account_id, checked: prev ? prev === m.account_id : i === 0 }), h('span', null, m.name));
        }),
      );
    },
    value: () => box.querySelector('input:checked')?.value,
  };
}

// rosterPicker lets a court clerk refer to mediators or an organisation on the court's confirmed roster.
export function rosterPicker(courtId) {
  const modeName = uid('mode');
  const mk = (value, text, checked) => {
    const id = uid('r');
    return h('label', { class: 'check', for: id }, h('input', { type: 'radio', name: modeName, id, value, checked }), h('span', null, text));
  };
  const modes = h('fieldset', { class: 'plain' }, h('legend', null, t('roster.refer_to')), h('div', { class: 'choices' }, mk('mediator', t('roster.to_mediator'), true), mk('org', t('roster.to_org'), false)));
  const presiding = presidingField();
  const search = mediatorSearch({ courtId, onChange: (ms) => presiding.update(ms) });
  const mediatorBox = h('fieldset', { name: 'mediator_ids' }, h('legend', null, t('roster.pick_mediators')), search.el, presiding.el);
  const orgSelect = field({ label: t('roster.pick_org'), name: 'organisation_id', type: 'select', options: [{ value: '', label: t('common.loading') }] });
  const orgBox = h('div', { hidden: true }, orgSelect, h('p', { class: 'hint' }, t('roster.org_hint')));
  let rosterOrgs = [];
  get(`/roster${qs({ status: 'confirmed' })}`)
    .then((entries) => {
      rosterOrgs = entries.filter((e) => e.organisation_id);
      orgSelect.querySelector('select').replaceChildren(
        h('option', { value: '' }, rosterOrgs.length ? t('common.choose') : t('roster.no_orgs')),
        ...rosterOrgs.map((e) => h('option', { value: e.organisation_id }, e.name)),
      );
    })
    .catch(() => {
      orgSelect.querySelector('select').replaceChildren(h('option', { value: '' }, t('err.network')));
    });
  modes.addEventListener('change', () => {
    const org = modes.querySelector('input:checked').value === 'org';
    orgBox.hidden = !org;
    mediatorBox.hidden = org;
  });
  return {
    el: h('div', null, modes, mediatorBox, orgBox),
    read() {
      if (modes.querySelector('input:checked').value === 'org') {
        return { organisation_id: orgSelect.querySelector('select').value || undefined };
      }
      const ms = search.selected();
      const out = { mediator_ids: ms.map((m) => m.account_id) };
      if (ms.length > 1) out.presiding_id = presiding.value();
      // Refer through the mediators' organisation when it is on the roster too, so the organisation follows
      // the case.
      const orgs = new Set(ms.map((m) => m.org_id || ''));
      if (orgs.size === 1) {
        const only = [...orgs][0];
        if (only && rosterOrgs.some((e) => e.organisation_id === only)) out.organisation_id = only;
      }
      return out;
    },
  };
}

// orgMediatorPicker lets an organisation's admin pick among its own mediators.
export function orgMediatorPicker(orgId) {
  const presiding = presidingField();
  const search = mediatorSearch({ orgId, onChange: (ms) => presiding.update(ms) });
  return {
    el: h('fieldset', { name: 'mediator_ids' }, h('legend', null, t('roster.pick_mediators')), search.el, presiding.el),
    read() {
      const ms = search.selected();
      const out = { mediator_ids: ms.map((m) => m.account_id) };
      if (ms.length > 1) out.presiding_id = presiding.value();
      return out;
    },
  };
}

// names lists selected mediators' names.
export const names = (ms) => list(ms.map((m) => m.name));
