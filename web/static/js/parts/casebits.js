// How cases look everywhere: state chips, deadlines with countdowns, list items, parties and the trail.

import { h } from '../dom.js';
import { t, has, label, getLang, fmtDateTime, fmtDate, fmtMoney, list, paren } from '../i18n.js';
import { countdown } from '../ui.js';

export const STATES = ['registered', 'referred', 'returned', 'in_mediation', 'appraisal', 'signing', 'settled', 'confirmation_pending', 'confirmed', 'confirmation_rejected', 'statement_issued', 'suit_withdrawn', 'failed', 'filed', 'trial_resumed'];
export const GROUNDS = ['agreement_reached', 'applicant_withdrew', 'party_unreachable', 'party_refused_mediation', 'positions_too_far_apart', 'time_limit_passed', 'party_refused_to_sign', 'other'];
export const DISPUTES = ['patent', 'trademark', 'copyright', 'trade_secret', 'unfair_competition', 'ip_contract', 'ownership_validity', 'other'];
export const SPECIALTIES = ['patent', 'trademark', 'copyright', 'trade_secret', 'unfair_competition', 'ip_contract', 'plant_variety', 'integrated_circuit', 'geographical_indication'];
export const SOURCES = ['delegated', 'entrusted_ordinary', 'entrusted_simplified'];

export const stateChip = (state) => h('span', { class: ['chip', `s-${state}`] }, label('state', state));

export const entrusted = (c) => c.source === 'entrusted_ordinary' || c.source === 'entrusted_simplified';

function deadlineBox(what, due, { paused = false, note } = {}) {
  const left = due ? new Date(due).getTime() - Date.now() : 0;
  const cls = paused ? 'paused' : left < 0 ? 'overdue' : left < 86400000 ? 'soon' : '';
  return h(
    'div',
    { class: ['deadline', cls] },
    h('span', { class: 'what' }, what),
    due && !paused ? h('span', null, t('deadline.until', { at: fmtDateTime(due) })) : null,
    due || paused ? countdown(due, { paused }) : null,
    note ? h('span', { class: 'small muted' }, note) : null,
  );
}

// deadlines lists the windows and time limits running on a full case.
export function deadlines(c) {
  const out = [];
  switch (c.state) {
    case 'registered':
      if (c.choose_due_at && c.court_id && c.source !== 'direct') out.push(deadlineBox(t('deadline.choose'), c.choose_due_at, { note: t('deadline.choose_note') }));
      break;
    case 'referred':
      if (c.answer_due_at) out.push(deadlineBox(t('deadline.answer'), c.answer_due_at, { note: t('deadline.answer_note') }));
      break;
    case 'in_mediation':
    case 'signing':
      if (c.due_at) out.push(deadlineBox(t('deadline.limit'), c.due_at, { note: c.extended_days ? t('deadline.limit_note', { days: c.time_limit_days, ext: c.extended_days }) : t('deadline.limit_note_plain', { days: c.time_limit_days }) }));
      break;
    case 'appraisal':
      out.push(deadlineBox(t('deadline.limit'), c.due_at, { paused: true, note: t('deadline.paused_since', { at: fmtDateTime(c.paused_at) }) }));
      break;
    case 'settled':
      if (c.confirmation_due_at && !entrusted(c)) out.push(deadlineBox(t('deadline.confirmation'), c.confirmation_due_at, { note: t('deadline.confirmation_note') }));
      break;
    default:
  }
  return out;
}

// summaryDeadline is the one countdown a case list shows for a case summary.
export function summaryDeadline(cs) {
  if (cs.state === 'appraisal') return h('span', { class: 'small' }, t('deadline.limit'), ' ', countdown(cs.due_at, { paused: true }));
  if (cs.state === 'referred' && cs.answer_due_at) return h('span', { class: 'small' }, t('deadline.answer'), ' ', countdown(cs.answer_due_at));
  if ((cs.state === 'in_mediation' || cs.state === 'signing') && cs.due_at) return h('span', { class: 'small' }, t('deadline.limit'), ' ', countdown(cs.due_at));
  return null;
}

// caseItem is one case in a list.
export function caseItem(cs, extra) {
  return h(
    'li',
    { class: ['caseitem', cs.overdue ? 'is-overdue' : ''] },
    h('div', { class: 'top-line' }, h('span', { class: 'muted small' }, cs.number), h('span', { class: 'row' }, cs.overdue ? h('span', { class: 'chip overdue' }, t('deadline.overdue_flag')) : null, stateChip(cs.state))),
    h('a', { class: 'title', href: `/cases/${cs.id}` }, cs.title),
    h(
      'div',
      { class: 'meta' },
      h('span', null, label('dispute', cs.dispute_type)),
      h('span', null, label('source', cs.source)),
      cs.applicants?.length ? h('span', null, t('case.applicants_short', { names: list(cs.applicants) })) : null,
      cs.respondents?.length ? h('span', null, t('case.respondents_short', { names: list(cs.respondents) })) : null,
      cs.mediator ? h('span', null, t('case.mediator_short', { name: cs.mediator })) : null,
    ),
    h('div', { class: 'meta' }, summaryDeadline(cs), h('span', null, t('case.registered_at', { at: fmtDate(cs.created_at) }))),
    extra || null,
  );
}

// partyBlock describes a party and its agents (what the caller may see of them).
export function partyBlock(p, { actions } = {}) {
  return h(
    'div',
    { class: 'repeat-item' },
    h('div', { class: 'repeat-head' }, h('strong', null, p.name), h('span', { class: 'chip' }, label('side', p.side))),
    h(
      'dl',
      { class: 'facts small' },
      h('dt', null, t('party.kind')),
      h('dd', null, label('partykind', p.kind)),
      p.legal_rep ? [h('dt', null, t('party.legal_rep')), h('dd', null, p.legal_rep)] : null,
      p.id_number ? [h('dt', null, t('party.id_number')), h('dd', null, p.id_number)] : null,
      p.phone ? [h('dt', null, t('party.phone')), h('dd', null, p.phone)] : null,
      p.service_address ? [h('dt', null, t('party.service_address')), h('dd', null, p.service_address)] : null,
      p.address ? [h('dt', null, t('party.address')), h('dd', null, p.address)] : null,
      h('dt', null, t('party.consent')),
      h('dd', null, p.consent_online ? t('party.consent_yes', { at: fmtDateTime(p.consent_at) }) : p.consent_at ? t('party.consent_no') : t('party.consent_none')),
    ),
    (p.agents || []).map((a) =>
      h(
        'div',
        { class: 'small' },
        h('strong', null, a.lawyer ? t('party.lawyer') : t('party.agent')),
        ' ',
        a.name,
        paren(a.law_firm),
        a.phone ? ` · ${a.phone}` : '',
        actions ? actions(p, a) : null,
      ),
    ),
    actions ? actions(p, null) : null,
  );
}

// mediatorsLine names the case's current mediators.
export function mediatorsLine(c) {
  const active = (c.mediators || []).filter((m) => m.status === 'assigned' || m.status === 'accepted');
  if (!active.length) return t('case.no_mediator');
  return list(active.map((m) => `${m.name}${m.presiding && active.length > 1 ? t('case.presiding_mark') : ''}${paren(label('assign', m.status))}`));
}

// eventTitle names a trail event.
export function eventTitle(ev) {
  const key = `event.${ev.type}`;
  const named = label('event', ev.type);
  if (named !== ev.type) return named;
  if (ev.type.startsWith('case.') && has(`action.${ev.type.slice(5)}`)) return label('action', ev.type.slice(5));
  return has(key) ? t(key) : t('event.other'); // never the raw type
}

// eventDetail says the parts of an event's data worth reading.
export function eventDetail(ev) {
  const d = ev.data || {};
  const bits = [];
  if (ev.type === 'service.sent') {
    // The subject is written in both languages ("中文 / English"): the half in the page's language. The channel
    // and the result are shown by their labels (a failure's technical detail is for the log).
    const halves = (d.subject || '').split(' / ');
    const subject = getLang() === 'en' && halves.length > 1 ? halves.slice(1).join(' / ') : halves[0];
    const r = d.result || '';
    const result = /^failed/.test(r) ? t('trail.service_failed') : r === 'delivered' ? t('trail.service_delivered') : r === 'logged' ? t('trail.service_logged') : /^accepted/.test(r) ? t('trail.service_accepted') : t('idmethod.other');
    const channel = ['sms', 'email', 'log'].includes(d.channel) ? label('channel', d.channel) : t('trail.channel_other');
    bits.push(t('trail.service', { subject, to: d.to || '', channel, result }));
    return bits;
  }
  if (d.from && d.to && d.from !== d.to) bits.push(t('trail.state_change', { from: label('state', d.from), to: label('state', d.to) }));
  if (d.ground) bits.push(t('trail.ground', { ground: label('ground', d.ground) }));
  if (Array.isArray(d.mediators) && d.mediators.length) bits.push(t('trail.mediators', { names: list(d.mediators) }));
  else if (d.mediator) bits.push(t('trail.mediators', { names: d.mediator }));
  if (d.organisation) bits.push(t('trail.organisation', { name: d.organisation }));
  if (d.court) bits.push(t('trail.court', { name: d.court }));
  if (d.party) bits.push(t('trail.party', { name: d.party }));
  if (d.consent !== undefined) bits.push(d.consent ? t('trail.consent_yes') : t('trail.consent_no'));
  if (d.answer) bits.push(t('trail.answer', { answer: label('answer', d.answer) }));
  if (d.days) bits.push(t('trail.days', { days: d.days }));
  if (d.answer_due_at) bits.push(t('trail.answer_due', { at: fmtDateTime(d.answer_due_at) }));
  if (d.due_at) bits.push(t('trail.due', { at: fmtDateTime(d.due_at) }));
  if (d.text) bits.push(t('trail.text', { text: d.text }));
  if (d.reason) bits.push(t('trail.reason', { text: d.reason }));
  // A note by the system is Parley's own English explanation of what the ground and state already say.
  if (d.note && ev.actor_kind !== 'system') bits.push(t('trail.note', { text: d.note }));
  if (d.title && ev.type.startsWith('document.')) bits.push(t('trail.document', { title: d.title }));
  if (d.signer && ev.type.startsWith('document.')) bits.push(t('trail.signer', { name: d.signer, role: label('sigrole', d.role) }));
  if (d.method) {
    // Older entries carry the masked phone inside the method; newer ones in "to", which the server leaves out of
    // what the other side reads.
    const m = /^invitation link \+ one-time code(?: to (.+))?$/.exec(d.method);
    const to = d.to || m?.[1];
    // A method is shown by its label, never as the enum or the server's English.
    let named = has(`idmethod.${d.method}`) ? label('idmethod', d.method) : t('idmethod.other');
    if (d.method === 'in the app') named = t('trail.method_app');
    if (d.method === 'by the link in the served notice') named = t('trail.method_notice_link');
    bits.push(m ? (to ? t('trail.method_code', { to }) : t('trail.method_code_only')) : t('trail.method', { text: named }));
  }
  if (d.result === 'passed' || d.result === 'failed') bits.push(t(`trail.check_${d.result}`));
  // A contact correction: what changed, who asked, who confirmed and how.
  if (ev.type.startsWith('contact.')) {
    if (d.old_phone !== d.new_phone) bits.push(t('trail.contact_phone', { from: d.old_phone || '—', to: d.new_phone || '—' }));
    if (d.old_service_address !== d.new_service_address) bits.push(t('trail.contact_address', { from: d.old_service_address || '—', to: d.new_service_address || '—' }));
    if (d.requested_by_name) bits.push(t('trail.requested_by', { name: d.requested_by_name }));
    if (d.confirmed_by_name) bits.push(t('trail.confirmed_by', { name: d.confirmed_by_name, how: label('confirmation', d.confirmation) }));
    if (d.revoked_invitations || d.revoked_sessions) bits.push(t('trail.revoked', { links: d.revoked_invitations || 0, sessions: d.revoked_sessions || 0 }));
  }
  return bits;
}

// trail draws the audit trail, newest first.
export function trail(events) {
  if (!events.length) return h('p', { class: 'muted' }, t('trail.empty'));
  return h(
    'ol',
    { class: 'timeline', reversed: true },
    [...events].reverse().map((ev) =>
      h(
        'li',
        null,
        h('div', { class: 'when' }, fmtDateTime(ev.at), ' · ', ev.actor_kind === 'system' ? t('trail.system') : ev.actor_name),
        h('div', { class: 'what' }, eventTitle(ev)),
        eventDetail(ev).map((b) => h('div', { class: 'detail' }, b)),
      ),
    ),
  );
}

// caseFacts lists a case's description.
export function caseFacts(c) {
  return h(
    'dl',
    { class: 'facts' },
    h('dt', null, t('case.number')),
    h('dd', null, c.number),
    c.court_case_number ? [h('dt', null, t('case.court_case_number')), h('dd', null, c.court_case_number)] : null,
    h('dt', null, t('case.dispute_type')),
    h('dd', null, label('dispute', c.dispute_type)),
    h('dt', null, t('case.source')),
    h('dd', null, label('source', c.source)),
    c.court_name ? [h('dt', null, t('case.court')), h('dd', null, c.court_name)] : null,
    c.organisation_name ? [h('dt', null, t('case.organisation')), h('dd', null, c.organisation_name)] : null,
    h('dt', null, t('case.mediators')),
    h('dd', null, mediatorsLine(c)),
    h('dt', null, t('case.claim')),
    h('dd', null, c.claim_amount_fen ? fmtMoney(c.claim_amount_fen) : t('case.claim_none')),
    c.end_ground ? [h('dt', null, t('case.end_ground')), h('dd', null, label('ground', c.end_ground))] : null,
    c.effective_at ? [h('dt', null, t('case.effective_at')), h('dd', null, fmtDateTime(c.effective_at))] : null,
    h('dt', null, t('case.registered')),
    h('dd', null, fmtDateTime(c.created_at)),
  );
}

// rulingLink is the court's ruling on judicial confirmation (民事裁定书, a PDF the court signed) once it decided.
export function rulingLink(c) {
  if (c.state !== 'confirmed' && c.state !== 'confirmation_rejected') return null;
  return h('p', null, h('a', { class: 'btn secondary', id: 'ruling-link', href: `/api/v1/cases/${encodeURIComponent(c.id)}/ruling`, download: '' }, t('case.ruling')));
}

// statementLink is the court's mediation statement (民事调解书, a PDF the court signed) of an entrusted case once
// the judge issued it.
export function statementLink(c) {
  if (c.state !== 'statement_issued') return null;
  return h('p', null, h('a', { class: 'btn secondary', id: 'statement-link', href: `/api/v1/cases/${encodeURIComponent(c.id)}/mediation-statement`, download: '' }, t('case.statement')));
}
