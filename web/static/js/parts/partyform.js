// Editing parties and their agents in a form (a referral, an online application). Input names follow the
// API's field paths (parties[1].phone, respondents[0].agents[0].name) so errors land on the right input;
// renumber() keeps them right after an item is removed.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { field, options } from '../ui.js';

const part = (el) => el.dataset.part;

function agentItem(a, onRemove) {
  const lawyer = field({ label: t('party.is_lawyer'), name: 'x', type: 'checkbox', value: a.lawyer, attrs: { 'data-part': 'lawyer' } });
  const lawyerOnly = h(
    'div',
    { class: 'inline-fields' },
    field({ label: t('party.law_firm'), name: 'x', required: true, attrs: { 'data-part': 'law_firm', maxlength: 200 } }),
    field({ label: t('party.licence_no'), name: 'x', required: true, attrs: { 'data-part': 'licence_no', maxlength: 50 } }),
  );
  const box = lawyer.querySelector('input');
  const sync = () => {
    lawyerOnly.hidden = !box.checked;
  };
  box.addEventListener('change', sync);
  sync();
  const item = h(
    'div',
    { class: 'repeat-item agent' },
    h('div', { class: 'repeat-head' }, h('strong', null, t('party.agent')), h('button', { type: 'button', class: 'btn ghost small', onclick: () => { item.remove(); onRemove(); } }, t('party.remove_agent'))),
    h(
      'div',
      { class: 'inline-fields' },
      field({ label: t('party.agent_name'), name: 'x', required: true, attrs: { 'data-part': 'name', maxlength: 100, autocomplete: 'off' } }),
      field({ label: t('party.phone'), name: 'x', type: 'tel', required: true, attrs: { 'data-part': 'phone', inputmode: 'tel', autocomplete: 'off' } }),
    ),
    lawyer,
    lawyerOnly,
    field({ label: t('party.service_address'), name: 'x', hint: t('party.service_hint'), attrs: { 'data-part': 'service_address', maxlength: 200 } }),
  );
  return item;
}

// partyItem is one party's fields. side: the fixed side, or null to offer a choice. heading: the item's title.
export function partyItem({ side = null, heading, removable = true, onRemove, agents = true, person = false, phoneOptional = false }) {
  const kindField = field({ label: t('party.kind'), name: 'x', type: 'select', value: person ? 'person' : 'company', options: options(['person', 'company'], 'partykind'), attrs: { 'data-part': 'kind' } });
  const legalRep = field({ label: t('party.legal_rep'), name: 'x', required: true, attrs: { 'data-part': 'legal_rep', maxlength: 100 } });
  const kindSel = kindField.querySelector('select');
  const syncKind = () => {
    legalRep.hidden = kindSel.value !== 'company';
  };
  kindSel.addEventListener('change', syncKind);
  const agentsBox = h('div', { class: 'agents' });
  let item;
  const renumberAll = () => item.dispatchEvent(new CustomEvent('renumber', { bubbles: true }));
  item = h(
    'div',
    { class: 'repeat-item party', dataset: { fixedSide: side || '' } },
    heading !== null || removable ? h('div', { class: 'repeat-head' }, h('strong', { class: 'party-heading' }, heading), removable ? h('button', { type: 'button', class: 'btn ghost small', onclick: () => { item.remove(); if (onRemove) onRemove(); } }, t('party.remove')) : null) : null,
    side ? null : field({ label: t('party.side'), name: 'x', type: 'select', value: 'applicant', options: options(['applicant', 'respondent'], 'side'), attrs: { 'data-part': 'side' } }),
    h(
      'div',
      { class: 'inline-fields' },
      kindField,
      field({ label: t('party.name'), name: 'x', required: true, attrs: { 'data-part': 'name', maxlength: 200, autocomplete: 'off' } }),
      legalRep,
      field({ label: t('party.id_number'), name: 'x', hint: t('party.id_hint'), attrs: { 'data-part': 'id_number', maxlength: 50, autocomplete: 'off' } }),
      field({ label: t('party.phone'), name: 'x', type: 'tel', required: !phoneOptional, hint: phoneOptional ? t('party.phone_hint_optional') : t('party.phone_hint'), attrs: { 'data-part': 'phone', inputmode: 'tel', autocomplete: 'off' } }),
      field({ label: t('party.service_address'), name: 'x', hint: t('party.service_hint'), attrs: { 'data-part': 'service_address', maxlength: 200 } }),
    ),
    field({ label: t('party.address'), name: 'x', attrs: { 'data-part': 'address', maxlength: 500 } }),
    agents
      ? h(
          'div',
          null,
          agentsBox,
          h('button', { type: 'button', class: 'btn secondary small', onclick: () => { agentsBox.appendChild(agentItem({}, renumberAll)); renumberAll(); agentsBox.lastElementChild.querySelector('input').focus(); } }, t('party.add_agent')),
        )
      : null,
  );
  syncKind();
  return item;
}

// renumberParty names one party item's inputs under prefix (e.g. "parties[2]." or "applicant.").
export function renumberParty(item, prefix) {
  for (const el of item.querySelectorAll('[data-part]')) {
    if (!el.closest('.agent')) el.name = prefix + part(el);
  }
  item.querySelectorAll('.agent').forEach((ag, j) => {
    for (const el of ag.querySelectorAll('[data-part]')) el.name = `${prefix}agents[${j}].${part(el)}`;
  });
}

// readParty reads one party item into the API's NewParty.
export function readParty(item, side) {
  const v = (p) => {
    const el = Array.from(item.querySelectorAll(`[data-part="${p}"]`)).find((x) => !x.closest('.agent'));
    return el ? el.value.trim() : '';
  };
  const kind = v('kind');
  const out = {
    side: side || v('side'),
    kind,
    name: v('name'),
    id_number: v('id_number') || undefined,
    legal_rep: kind === 'company' ? v('legal_rep') : undefined,
    phone: v('phone'),
    service_address: v('service_address') || undefined,
    address: v('address') || undefined,
  };
  const agents = Array.from(item.querySelectorAll('.agent')).map((ag) => {
    const g = (p) => ag.querySelector(`[data-part="${p}"]`);
    const lawyer = g('lawyer').checked;
    return {
      name: g('name').value.trim(),
      phone: g('phone').value.trim(),
      lawyer,
      law_firm: lawyer ? g('law_firm').value.trim() : undefined,
      licence_no: lawyer ? g('licence_no').value.trim() : undefined,
      service_address: g('service_address').value.trim() || undefined,
    };
  });
  if (agents.length) out.agents = agents;
  return out;
}
