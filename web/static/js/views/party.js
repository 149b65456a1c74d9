// The party's case page (phone first): their case, its state and deadlines, what they must do now, the
// sessions (with the device check) and the trail as they may see it.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime, fmtDate } from '../i18n.js';
import { get, enc } from '../api.js';
import { hasFeature } from '../env.js';
import { alertBox, busy, loadingBox, section, toast, setTitle, confirmSheet, serverText } from '../ui.js';
import { stateChip, deadlines, trail, caseFacts, partyBlock, rulingLink, statementLink } from '../parts/casebits.js';
import { act } from '../parts/actions.js';
import { mediatorSearch } from '../parts/roster.js';
import { documentsSection } from '../sign/documents.js';
import { ownContact } from '../parts/contacts.js';
import { caucusShare } from '../parts/caucusshare.js';
import { materialsSection } from '../parts/materials.js';
import { serviceSection } from '../parts/service.js';
import { evaluationSection } from '../parts/evaluation.js';
import { threadsSection } from '../parts/threads.js';

export default async function party(main, { me }) {
  const caseId = me.case_id;
  let c;
  let actions;
  let blocked = {};
  let toSign = [];
  let docs = null;

  async function load() {
    mount(main, loadingBox());
    let events;
    let sessions;
    try {
      const [cr, ev, ss, ds] = await Promise.all([
        get(`/cases/${enc(caseId)}`),
        get(`/cases/${enc(caseId)}/events`),
        get(`/cases/${enc(caseId)}/sessions`),
        hasFeature('signing') ? get(`/cases/${enc(caseId)}/documents`) : Promise.resolve([]),
      ]);
      ({ case: c, actions } = cr);
      blocked = cr.blocked || {};
      events = ev;
      sessions = ss;
      toSign = ds.filter((d) => d.next || d.waiting || d.blocked);
    } catch (e) {
      mount(main, h('h1', null, t('party.title')), alertBox(e), h('button', { type: 'button', class: 'btn', onclick: load }, t('common.retry')));
      return;
    }
    setTitle(c.number);
    draw(events, sessions);
  }

  // run takes an action from one of the cards and reloads the page on success; failures show in the card.
  async function run(btn, box, action, params, doneText) {
    box.replaceChildren();
    // Applying for judicial confirmation cannot be taken back: a sheet says so first.
    if (action === 'apply_confirmation' && !(await confirmSheet({ title: t('confirmation.apply'), consequence: t('sheet.apply_confirmation'), ok: t('confirmation.apply') }))) return;
    try {
      await busy(btn, () => act(caseId, action, params));
      toast(doneText);
      await load();
    } catch (e) {
      box.replaceChildren(alertBox(e));
    }
  }

  const mine = () => c.parties.find((p) => p.id === me.party_id);

  function consentCard() {
    const p = mine();
    if (!actions.includes('consent_online') || !p || p.consent_online) return null;
    const box = h('div', { 'aria-live': 'polite' });
    return h(
      'section',
      { class: 'card attention', id: 'todo-consent' },
      h('h3', null, t('consent.title')),
      h('p', null, t('consent.what')),
      h('ul', null, h('li', null, t('consent.p1')), h('li', null, t('consent.p2')), h('li', null, t('consent.p3'))),
      p.consent_at ? h('p', { class: 'alert warn' }, t('consent.you_declined')) : null,
      h(
        'div',
        { class: 'actions-row' },
        h('button', { type: 'button', class: 'btn', onclick: (ev) => run(ev.currentTarget, box, 'consent_online', { consent: true }, t('consent.recorded_yes')) }, t('consent.agree')),
        p.consent_at ? null : h('button', { type: 'button', class: 'btn secondary', onclick: (ev) => run(ev.currentTarget, box, 'consent_online', { consent: false }, t('consent.recorded_no')) }, t('consent.decline')),
      ),
      box,
    );
  }

  function chooseCard() {
    if (!actions.includes('choose_mediator')) return null;
    const chosen = c.pending?.mediator_choices?.[me.party_id];
    const box = h('div', { 'aria-live': 'polite' });
    const search = mediatorSearch({
      courtId: c.court_id,
      mode: 'choose',
      chosenId: chosen,
      onChoose: (m, btn) => run(btn, box, 'choose_mediator', { mediator_id: m.account_id }, t('choose.recorded', { name: m.name })),
    });
    return h(
      'section',
      { class: 'card attention', id: 'todo-choose' },
      h('h3', null, t('choose.title')),
      h('p', null, t('choose.explain')),
      c.choose_due_at ? h('p', null, h('strong', null, t('choose.until', { at: fmtDateTime(c.choose_due_at) }))) : null,
      chosen ? h('p', { class: 'alert ok' }, t('choose.waiting_other')) : null,
      box,
      search.el,
    );
  }

  function disclosureCard() {
    const d = c.pending?.disclosure;
    if (!actions.includes('answer_disclosure') || !d) return null;
    const mineAnswer = d.answers?.[me.party_id];
    const box = h('div', { 'aria-live': 'polite' });
    return h(
      'section',
      { class: 'card attention', id: 'todo-disclosure' },
      h('h3', null, t('disclosure.title')),
      h('p', null, t('disclosure.explain')),
      h('blockquote', { class: 'card pre' }, d.text),
      mineAnswer ? h('p', { class: 'alert ok' }, t('disclosure.answered', { answer: label('answer', mineAnswer) })) : null,
      h(
        'div',
        { class: 'actions-row' },
        h('button', { type: 'button', class: 'btn', id: 'disclosure-continue', onclick: (ev) => run(ev.currentTarget, box, 'answer_disclosure', { answer: 'continue' }, t('disclosure.recorded')) }, t('answer.continue')),
        h('button', { type: 'button', class: 'btn secondary', id: 'disclosure-replace', onclick: (ev) => run(ev.currentTarget, box, 'answer_disclosure', { answer: 'replace' }, t('disclosure.recorded')) }, t('answer.replace')),
      ),
      box,
    );
  }

  function extensionCard() {
    const x = c.pending?.extension;
    if (!actions.includes('consent_extension') || !x) return null;
    const given = x.consents?.[me.party_id];
    const box = h('div', { 'aria-live': 'polite' });
    return h(
      'section',
      { class: 'card attention', id: 'todo-extension' },
      h('h3', null, t('extension.title')),
      h('p', null, t('extension.explain', { days: x.days })),
      h('p', { class: 'pre' }, t('trail.reason', { text: x.reason })),
      given
        ? h('p', { class: 'alert ok' }, t('extension.given', { at: fmtDateTime(given) }))
        : h('div', { class: 'actions-row' }, h('button', { type: 'button', class: 'btn', id: 'extension-agree', onclick: (ev) => run(ev.currentTarget, box, 'consent_extension', {}, t('extension.recorded')) }, t('extension.agree'))),
      h('p', { class: 'small muted' }, t('extension.no_means')),
      box,
    );
  }

  // courtChoice: a direct application has no court yet; every party names the same competent court, which
  // accepts or refuses the joint application.
  function courtChoice(box) {
    const chosen = Object.values(c.pending?.court_choices || {})[0] || '';
    const sel = h('select', { id: 'confirmation-court', name: 'court_id' }, h('option', { value: '' }, t('common.choose')));
    get('/directory/organisations?kind=court')
      .then((courts) => courts.forEach((o) => sel.append(h('option', { value: o.id, selected: o.id === chosen }, o.name))))
      .catch((e) => box.replaceChildren(alertBox(e)));
    return h(
      'div',
      null,
      h('p', { class: 'small muted' }, c.pending?.court_request ? t('confirmation.court_waiting', { court: c.pending.court_request.court_name }) : t('confirmation.court_explain')),
      c.pending?.court_request
        ? null
        : h('div', { class: 'field' }, h('label', { for: 'confirmation-court' }, t('confirmation.court')), sel),
      c.pending?.court_request
        ? null
        : h('div', { class: 'actions-row' }, h('button', { type: 'button', class: 'btn', id: 'apply-confirmation', onclick: (ev) => run(ev.currentTarget, box, 'apply_confirmation', { court_id: sel.value }, t('confirmation.recorded')) }, t('confirmation.apply'))),
    );
  }

  function confirmationCard() {
    if (!actions.includes('apply_confirmation')) return null;
    const applied = c.pending?.confirmation_applications?.[me.party_id];
    const box = h('div', { 'aria-live': 'polite' });
    return h(
      'section',
      { class: 'card attention', id: 'todo-confirmation' },
      h('h3', null, t('confirmation.title')),
      h('p', null, t('confirmation.explain')),
      c.confirmation_due_at ? h('p', null, h('strong', null, t('confirmation.until', { at: fmtDate(c.confirmation_due_at) }))) : null,
      applied
        ? h('p', { class: 'alert ok' }, t('confirmation.applied', { at: fmtDateTime(applied) }))
        : blocked.apply_confirmation
          ? h('p', { class: 'alert info', id: 'confirmation-blocked', role: 'note' }, serverText(blocked.apply_confirmation.key, blocked.apply_confirmation.params, blocked.apply_confirmation.param_kinds) || t('case.action_blocked'))
          : c.court_id
          ? h('div', { class: 'actions-row' }, h('button', { type: 'button', class: 'btn', id: 'apply-confirmation', onclick: (ev) => run(ev.currentTarget, box, 'apply_confirmation', {}, t('confirmation.recorded')) }, t('confirmation.apply')))
          : courtChoice(box),
      box,
    );
  }

  // recordingNote tells the party, before the session, that it will be recorded (filled in when the server says so).
  function recordingNote(sessionId) {
    const note = h('p', { class: 'alert warn small', role: 'note', hidden: true, dataset: { recordingNote: sessionId } }, t('room.recording_notice'));
    get(`/sessions/${enc(sessionId)}/recordings`).then((r) => { note.hidden = !r.recorded; }).catch(() => {});
    return note;
  }

  function sessionsCard(sessions) {
    const rows = sessions.map((s) =>
      h(
        'li',
        { class: 'caseitem' },
        h('div', { class: 'top-line' }, h('strong', null, s.title || t('session.untitled')), h('span', { class: ['chip', s.status === 'live' ? 'live' : ''] }, label('sessionstatus', s.status))),
        h('div', { class: 'meta' }, s.scheduled_at ? h('span', null, t('session.at', { at: fmtDateTime(s.scheduled_at) })) : null, s.started_at ? h('span', null, t('session.started_at', { at: fmtDateTime(s.started_at) })) : null),
        s.status !== 'ended' ? recordingNote(s.id) : null,
        s.status !== 'ended'
          ? h(
              'div',
              { class: 'actions-row' },
              hasFeature('rooms') && s.status === 'live' ? h('a', { class: 'btn', href: `/rooms/${s.id}` }, t('session.enter')) : null,
              h('a', { class: 'btn secondary', href: s.status === 'live' ? `/device?session=${enc(s.id)}` : '/device' }, t('session.device_check')),
            )
          : h('div', { class: 'actions-row' }, h('a', { class: 'btn secondary', href: `/sessions/${s.id}/recordings` }, t('session.recordings'))),
        s.status !== 'scheduled' ? caucusShare(s.id, me) : null,
      ),
    );
    return section(
      t('party.sessions'),
      sessions.length ? h('ul', { class: 'caselist' }, rows) : h('p', { class: 'muted' }, t('party.no_sessions')),
      h('p', { class: 'small muted' }, t('party.sessions_hint')),
    );
  }

  // signCard lists the documents waiting for the caller's signature.
  function signCard() {
    if (!toSign.length) return null;
    return h(
      'section',
      { class: 'card attention', id: 'todo-sign' },
      h('h3', null, toSign.some((d) => d.next) ? t('docs.to_sign') : t('docs.to_sign_later')),
      h('p', null, toSign.some((d) => d.next) ? t('docs.to_sign_explain') : t('docs.to_sign_later_explain')),
      // Signing is offered only when the server says the field can be signed now (next); otherwise the card
      // says what the caller waits for and who must act.
      h('ul', { class: 'plain-list' }, toSign.map((d) => h('li', null,
        h('p', null, h('strong', null, d.document.title)),
        d.waiting ? h('p', { class: 'small muted' }, t('docs.wait_turn')) : null,
        d.blocked ? h('p', { class: 'small', dataset: { blocked: d.blocked } }, t(`sign.blocked_${d.blocked}`)) : null,
        h('div', { class: 'actions-row' }, h('a', { class: ['btn', d.next ? '' : 'secondary'], href: `/sign/${d.document.id}`, dataset: { sign: d.document.id } }, d.next ? t('docs.sign_now') : t('docs.open')))))),
    );
  }

  // nextSteps is the "what happens next" strip: the next two steps of the case and their dates, in plain words.
  const NEXT = { registered: 'registered', referred: 'referred', returned: 'returned', in_mediation: 'in_mediation', appraisal: 'appraisal', signing: 'signing', settled: 'settled', confirmation_pending: 'confirmation_pending' };
  function nextSteps() {
    const st = NEXT[c.state];
    if (!st) return null;
    const at = fmtDate(c.state === 'referred' ? c.answer_due_at : c.state === 'settled' ? c.confirmation_due_at : c.due_at);
    return h(
      'section',
      { class: 'card next-steps', id: 'next-steps', 'aria-labelledby': 'next-h' },
      h('h2', { id: 'next-h' }, t('whatnext.title')),
      h('ol', null, h('li', null, t(`whatnext.${st}_1`, { at: at || '—' })), h('li', null, t(`whatnext.${st}_2`, { at: at || '—' }))),
    );
  }

  function draw(events, sessions) {
    const p = mine();
    const todo = [signCard(), consentCard(), chooseCard(), disclosureCard(), extensionCard(), confirmationCard()].filter(Boolean);
    if (docs) docs.stop();
    docs = hasFeature('signing') ? documentsSection(c, {}) : null;
    mount(
      main,
      h(
        'div',
        { class: 'page-head' },
        h('div', null, h('p', { class: 'muted small' }, c.number), h('h1', null, c.title)),
        stateChip(c.state),
      ),
      h('p', { class: 'lead' }, me.kind === 'agent' ? t('party.you_agent', { name: me.name, party: p ? p.name : '' }) : t('party.you', { name: me.name, side: label('side', me.side) })),
      h('p', null, t(`stateinfo.${c.state}`)),
      rulingLink(c),
      statementLink(c),
      deadlines(c),
      nextSteps(),
      h('section', { 'aria-labelledby': 'todo-h' }, h('h2', { id: 'todo-h' }, t('party.todo')), todo.length ? todo : h('p', { class: 'card muted' }, t('party.nothing_todo'))),
      sessionsCard(sessions),
      threadsSection(c.id, me),
      docs ? section(t('docs.title'), docs.el) : null,
      section(t('material.title'), materialsSection(c)),
      section(t('service.title'), serviceSection(c, me)),
      c.ended_at ? section(t('evaluation.title'), evaluationSection(c)) : null,
      section(t('party.trail'), trail(events)),
      section(
        t('party.case_info'),
        caseFacts(c),
        h('h3', { class: 'small' }, t('case.summary')),
        h('p', { class: 'pre' }, c.summary),
        h('h3', null, t('case.parties')),
        c.parties.map((q) => partyBlock(q)),
        ownContact(c, me),
      ),
    );
  }

  await load();
  return () => {
    if (docs) docs.stop();
  };
}
