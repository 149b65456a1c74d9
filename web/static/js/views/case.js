// A case for staff: its state and deadlines, the actions open to the caller, sessions (schedule, start, end,
// record), invitations for the parties, what is pending from them, and the trail with its verification.

import { h, mount, $$ } from '../dom.js';
import { t, label, fmtDateTime, paren } from '../i18n.js';
import { get, post, enc, qs } from '../api.js';
import { hasFeature } from '../env.js';
import { alertBox, busy, loadingBox, section, toast, setTitle, copyButton } from '../ui.js';
import { stateChip, deadlines, trail, caseFacts, partyBlock, rulingLink, statementLink } from '../parts/casebits.js';
import { actionPanel, scheduleForm } from '../parts/actions.js';
import { documentsSection } from '../sign/documents.js';
import { staffContacts } from '../parts/contacts.js';
import { materialsSection } from '../parts/materials.js';
import { serviceSection } from '../parts/service.js';
import { threadsSection } from '../parts/threads.js';
import { checklistSection } from '../parts/checklist.js';

export default async function casePage(main, { params, me, query }) {
  const id = params.id;

  async function load() {
    mount(main, loadingBox());
    let cr;
    let events;
    let sessions;
    try {
      [cr, events, sessions] = await Promise.all([get(`/cases/${enc(id)}`), get(`/cases/${enc(id)}/events`), get(`/cases/${enc(id)}/sessions`)]);
    } catch (e) {
      mount(main, h('h1', null, t('case.title')), alertBox(e, e.status === 404 ? h('p', null, t('case.not_found_help')) : null), h('a', { class: 'btn secondary', href: '/desk' }, t('case.back')));
      return;
    }
    const ctx = { me };
    if (cr.actions.includes('push_to_court')) {
      try {
        ctx.courts = await get(`/organisations${qs({ kind: 'court' })}`);
      } catch {
        ctx.courts = [];
      }
    }
    setTitle(cr.case.number);
    ctx.courtDeadline = cr.court_deadline;
    ctx.blocked = cr.blocked || {};
    ctx.calendarWarnings = cr.calendar_warnings || [];
    draw(cr.case, cr.actions, events, sessions, ctx);
  }

  const isCaseMediator = (c) => me.role === 'mediator' && c.mediators.some((m) => m.account_id === me.id && m.status === 'accepted');
  const mayInvite = (c) => ['clerk', 'org_admin'].includes(me.role) || (me.role === 'mediator' && c.mediators.some((m) => m.account_id === me.id && (m.status === 'accepted' || m.status === 'assigned')));

  function sessionsSection(c, sessions) {
    const mediator = isCaseMediator(c);
    const items = sessions.map((s) => {
      const out = h('div', { 'aria-live': 'polite' });
      const change = (verb) => async (ev) => {
        out.replaceChildren();
        try {
          await busy(ev.currentTarget, () => post(`/sessions/${enc(s.id)}/${verb}`));
          toast(verb === 'start' ? t('session.started') : t('session.ended'));
          load();
        } catch (e) {
          out.replaceChildren(alertBox(e));
        }
      };
      return h(
        'li',
        { class: 'caseitem', dataset: { session: s.id } },
        h('div', { class: 'top-line' }, h('strong', null, s.title || t('session.untitled')), h('span', { class: ['chip', s.status === 'live' ? 'live' : ''] }, label('sessionstatus', s.status))),
        h(
          'div',
          { class: 'meta' },
          s.scheduled_at ? h('span', null, t('session.at', { at: fmtDateTime(s.scheduled_at) })) : null,
          s.started_at ? h('span', null, t('session.started_at', { at: fmtDateTime(s.started_at) })) : null,
          s.ended_at ? h('span', null, t('session.ended_at', { at: fmtDateTime(s.ended_at) })) : null,
        ),
        h(
          'div',
          { class: 'actions-row' },
          hasFeature('rooms') && s.status === 'live' ? h('a', { class: 'btn', href: `/rooms/${s.id}` }, t('session.enter')) : null,
          mediator && s.status === 'scheduled' ? h('button', { type: 'button', class: 'btn', dataset: { start: s.id }, onclick: change('start') }, t('session.start')) : null,
          mediator && s.status === 'live' ? h('button', { type: 'button', class: 'btn secondary', onclick: change('end') }, t('session.end')) : null,
          h('a', { class: 'btn secondary', href: `/sessions/${s.id}/record` }, t('session.record')),
          s.status === 'ended' ? h('a', { class: 'btn secondary', href: `/sessions/${s.id}/recordings` }, t('session.recordings')) : null,
        ),
        out,
      );
    });
    const canSchedule = mediator && (c.state === 'in_mediation' || c.state === 'signing');
    return section(
      t('case.sessions'),
      sessions.length ? h('ul', { class: 'caselist' }, items) : h('p', { class: 'muted' }, t('case.no_sessions')),
      canSchedule ? h('details', { class: 'action', id: 'schedule' }, h('summary', null, t('session.new')), h('div', { class: 'body' }, scheduleForm(c, () => load()))) : null,
    );
  }

  function inviteControls(c) {
    if (!mayInvite(c)) return undefined;
    return (party, agent) => {
      const who = agent || party;
      const out = h('div', { 'aria-live': 'polite' });
      const btn = h('button', { type: 'button', class: 'btn secondary small', dataset: { invite: who.id } }, agent ? t('invite.send_agent', { name: agent.name }) : t('invite.send', { name: party.name }));
      btn.addEventListener('click', async () => {
        out.replaceChildren();
        try {
          const res = await busy(btn, () => post(`/cases/${enc(c.id)}/invitations`, { party_id: party.id, agent_id: agent ? agent.id : undefined, send: true }), t('invite.sending'));
          const input = h('input', { type: 'text', readOnly: true, value: res.link, 'aria-label': t('invite.link'), class: 'invite-link' });
          out.replaceChildren(
            h('div', { class: 'alert ok' }, h('p', null, res.sent_to ? t('invite.sent', { to: res.sent_to, at: fmtDateTime(res.invitation.expires_at) }) : t('invite.made', { at: fmtDateTime(res.invitation.expires_at) })), h('div', { class: 'linkbox' }, input, copyButton(() => res.link))),
          );
        } catch (e) {
          out.replaceChildren(alertBox(e));
        }
      });
      return h('div', { class: 'stack' }, h('div', { class: 'actions-row' }, btn), out);
    };
  }

  function pendingSection(c) {
    const p = c.pending;
    if (!p) return null;
    const name = (pid) => c.parties.find((x) => x.id === pid)?.name || pid;
    const parts = [];
    if (p.disclosure) {
      parts.push(
        h('h3', null, t('disclosure.title')),
        h('p', { class: 'pre' }, p.disclosure.text),
        h('ul', null, c.parties.map((q) => h('li', null, `${q.name}: `, p.disclosure.answers?.[q.id] ? label('answer', p.disclosure.answers[q.id]) : t('pending.no_answer')))),
      );
    }
    if (p.extension) {
      parts.push(
        h('h3', null, t('extension.title')),
        h('p', null, t('extension.pending', { days: p.extension.days }), ' ', t('trail.reason', { text: p.extension.reason })),
        h('ul', null, c.parties.map((q) => h('li', null, `${q.name}: `, p.extension.consents?.[q.id] ? t('pending.consented', { at: fmtDateTime(p.extension.consents[q.id]) }) : t('pending.no_consent')))),
      );
    }
    if (p.mediator_choices && Object.keys(p.mediator_choices).length) {
      parts.push(h('h3', null, t('choose.title')), h('ul', null, Object.keys(p.mediator_choices).map((pid) => h('li', null, t('pending.chose', { party: name(pid) })))));
    }
    if (p.confirmation_applications && Object.keys(p.confirmation_applications).length) {
      parts.push(
        h('h3', null, t('confirmation.title')),
        h('ul', null, c.parties.map((q) => h('li', null, `${q.name}: `, p.confirmation_applications[q.id] ? t('pending.applied', { at: fmtDateTime(p.confirmation_applications[q.id]) }) : t('pending.not_applied')))),
      );
    }
    return parts.length ? section(t('case.pending'), parts) : null;
  }

  let docs = null;
  function docsSection(c) {
    if (docs) docs.stop();
    const mediator = isCaseMediator(c);
    docs = documentsSection(c, {
      mayDraft: mediator && (c.state === 'in_mediation' || c.state === 'signing'),
      mayAdmin: mediator || (me.role === 'org_admin' && me.org_id === c.organisation_id),
      invite: inviteControls(c),
    });
    return section(t('docs.title'), h('p', { class: 'small muted' }, t('docs.explain')), docs.el);
  }

  function auditSection(c) {
    const out = h('div', { 'aria-live': 'polite' });
    const btn = h('button', { type: 'button', class: 'btn secondary small' }, t('audit.verify'));
    btn.addEventListener('click', async () => {
      out.replaceChildren();
      try {
        const rep = await busy(btn, () => get(`/cases/${enc(c.id)}/audit`), t('audit.verifying'));
        out.replaceChildren(
          rep.valid
            ? h('p', { class: 'alert ok' }, t('audit.intact', { n: rep.events }), h('br'), h('span', { class: 'small break' }, t('audit.head', { head: rep.head })))
            : h('p', { class: 'alert error', role: 'alert' }, t('audit.broken', { seq: rep.bad_seq, n: rep.events }), h('br'), h('span', { class: 'small', lang: 'en' }, rep.problem)),
        );
      } catch (e) {
        out.replaceChildren(alertBox(e));
      }
    });
    return h('div', { class: 'stack' }, h('p', { class: 'small muted' }, t('audit.explain')), btn, out);
  }

  // partiesChecklist shows what each party still has to do while the case is open, and, until every party
  // consented, keeps the session's start buttons disabled with the reason (the server refuses it).
  function partiesChecklist(c) {
    if (!mayInvite(c) || !['registered', 'referred', 'returned', 'in_mediation', 'appraisal', 'signing'].includes(c.state)) return null;
    const cl = checklistSection(c, inviteControls(c));
    cl.ready.then((x) => {
      if (!x || x.session_ready) return;
      for (const b of $$('[data-start], #schedule input[name="start"]', main)) {
        b.disabled = true;
        b.setAttribute('aria-describedby', 'checklist-blocked');
      }
    });
    return section(t('checklist.title'), cl.el);
  }

  function draw(c, actions, events, sessions, ctx) {
    const open = query.get('action') || (actions.length === 1 ? actions[0] : null);
    mount(
      main,
      h(
        'div',
        { class: 'page-head' },
        h('div', null, h('p', { class: 'muted small' }, c.number, paren(c.court_case_number)), h('h1', null, c.title)),
        h('div', { class: 'row' }, stateChip(c.state)),
      ),
      h('p', null, t(`stateinfo.${c.state}`)),
      rulingLink(c),
      statementLink(c),
      deadlines(c),
      ctx.courtDeadline?.due_at
        ? h('p', { class: ['alert', ctx.courtDeadline.overdue ? 'error' : 'info'], id: 'court-deadline' }, label('deadlinekind', ctx.courtDeadline.kind), ': ', t('deadlines.due', { at: fmtDateTime(ctx.courtDeadline.due_at) }), ctx.courtDeadline.overdue ? ` · ${t('deadlines.overdue')}` : '')
        : null,
      ctx.calendarWarnings.map((w) => h('p', { class: 'alert warn', role: 'note', dataset: { warning: 'calendar' } }, t('deadlines.calendar_warning', { year: (w.match(/\d{4}/) || [''])[0] }))),
      h(
        'div',
        { class: 'layout' },
        h(
          'div',
          null,
          section(t('case.actions'), actionPanel(c, actions, ctx, () => load(), open)),
          partiesChecklist(c),
          pendingSection(c),
          sessionsSection(c, sessions),
          threadsSection(c.id, me),
          hasFeature('signing') ? docsSection(c) : null,
          section(t('material.title'), materialsSection(c)),
          section(t('service.title'), serviceSection(c, me)),
          section(t('case.trail'), trail(events), h('hr', { class: 'sep' }), auditSection(c)),
        ),
        h(
          'div',
          null,
          section(t('case.info'), caseFacts(c), h('h3', null, t('case.summary')), h('p', { class: 'pre' }, c.summary)),
          section(t('case.parties'), c.parties.map((p) => partyBlock(p, { actions: inviteControls(c) })), mayInvite(c) ? h('p', { class: 'small muted' }, t('invite.explain')) : null),
          section(t('contact.title'), staffContacts(c, me)),
          c.mediators.length ? section(t('case.mediator_history'), h('ul', null, c.mediators.map((m) => h('li', null, m.name, paren(label('assign', m.status)), m.decline_reason ? ` — ${m.decline_reason}` : '')))) : null,
        ),
      ),
    );
  }

  await load();
  return () => {
    if (docs) docs.stop();
  };
}

