// The judge's desk: the judicial-confirmation queue (confirm or reject), settled 委托 cases awaiting a
// mediation statement, and the sessions under way in the court's cases.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime, fmtDate, list, paren } from '../i18n.js';
import { get, qs, enc } from '../api.js';
import { hasFeature } from '../env.js';
import { alertBox, loadingBox, section, empty } from '../ui.js';
import { caseItem, entrusted, stateChip } from '../parts/casebits.js';
import { actionPanel } from '../parts/actions.js';

export default async function judge(main, { me }) {
  const queueBox = h('div', { 'aria-live': 'polite' }, loadingBox());
  const statementBox = h('div', { 'aria-live': 'polite' }, loadingBox());
  const liveBox = h('div', { 'aria-live': 'polite' }, loadingBox());
  mount(
    main,
    h('h1', null, t('judge.title')),
    h('p', { class: 'lead' }, t('judge.lead')),
    h(
      'div',
      { class: 'layout' },
      h('div', null, section(t('judge.queue'), h('p', { class: 'small muted' }, t('judge.queue_hint')), queueBox), section(t('judge.statements'), h('p', { class: 'small muted' }, t('judge.statements_hint')), statementBox)),
      h('div', null, section(t('judge.live'), h('p', { class: 'small muted' }, t('judge.live_hint')), liveBox)),
    ),
  );

  async function loadQueue() {
    let summaries;
    try {
      summaries = (await get(`/cases${qs({ state: 'confirmation_pending', limit: 100 })}`)).cases;
    } catch (e) {
      mount(queueBox, alertBox(e));
      return;
    }
    if (!summaries.length) {
      mount(queueBox, empty(t('judge.queue_empty')));
      return;
    }
    // Each application is decided on the case as a whole: load it to show the agreement's dates and parties.
    const full = await Promise.all(summaries.map((s) => get(`/cases/${enc(s.id)}`).catch((e) => ({ error: e, summary: s }))));
    mount(
      queueBox,
      h(
        'ul',
        { class: 'caselist', id: 'confirmation-queue' },
        full.map((r) => {
          if (r.error) return h('li', { class: 'caseitem' }, r.summary.number, alertBox(r.error));
          const c = r.case;
          return h(
            'li',
            { class: 'caseitem', dataset: { case: c.id } },
            h('div', { class: 'top-line' }, h('span', { class: 'muted small' }, c.number), stateChip(c.state)),
            h('a', { class: 'title', href: `/cases/${c.id}` }, c.title),
            h(
              'dl',
              { class: 'facts small' },
              h('dt', null, t('case.dispute_type')),
              h('dd', null, label('dispute', c.dispute_type)),
              h('dt', null, t('case.parties')),
              h('dd', null, list(c.parties.map((p) => `${p.name}${paren(label('side', p.side))}`))),
              h('dt', null, t('case.organisation')),
              h('dd', null, c.organisation_name || '—'),
              h('dt', null, t('case.effective_at')),
              h('dd', null, fmtDateTime(c.effective_at)),
              h('dt', null, t('judge.applied')),
              h('dd', null, list(Object.entries(c.pending?.confirmation_applications || {}).map(([pid, at]) => `${c.parties.find((p) => p.id === pid)?.name || ''} ${fmtDate(at)}`))),
            ),
            actionPanel(c, r.actions, { me }, () => {
              loadQueue();
            }),
          );
        }),
      ),
    );
  }

  async function loadStatements() {
    try {
      const out = await get(`/cases${qs({ state: 'settled', limit: 100 })}`);
      const cases = out.cases.filter(entrusted);
      mount(statementBox, cases.length ? h('ul', { class: 'caselist' }, cases.map((c) => caseItem(c, h('div', { class: 'actions-row' }, h('a', { class: 'btn small', href: `/cases/${c.id}?action=issue_statement` }, label('action', 'issue_statement')))))) : empty(t('judge.statements_empty')));
    } catch (e) {
      mount(statementBox, alertBox(e));
    }
  }

  async function loadLive() {
    let sessions;
    try {
      sessions = await get('/sessions/live');
    } catch (e) {
      mount(liveBox, alertBox(e));
      return;
    }
    if (!sessions.length) {
      mount(liveBox, empty(t('judge.live_empty')));
      return;
    }
    const cases = new Map();
    await Promise.all([...new Set(sessions.map((s) => s.case_id))].map(async (id) => {
      try {
        cases.set(id, (await get(`/cases/${enc(id)}`)).case);
      } catch {
        // shown without its case
      }
    }));
    mount(
      liveBox,
      h(
        'ul',
        { class: 'caselist', id: 'live-sessions' },
        sessions.map((s) => {
          const c = cases.get(s.case_id);
          return h(
            'li',
            { class: 'caseitem' },
            h('div', { class: 'top-line' }, h('strong', null, s.title || t('session.untitled')), h('span', { class: 'chip live' }, label('sessionstatus', 'live'))),
            c ? h('a', { class: 'title', href: `/cases/${c.id}` }, c.number, ' ', c.title) : null,
            h('div', { class: 'meta' }, t('session.started_at', { at: fmtDateTime(s.started_at) })),
            hasFeature('rooms') ? h('div', { class: 'actions-row' }, h('a', { class: 'btn', href: `/rooms/${s.id}?join=1` }, t('judge.join_now'))) : null,
          );
        }),
      ),
    );
  }

  await Promise.all([loadQueue(), loadStatements(), loadLive()]);
}
