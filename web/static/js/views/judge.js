// The judge's desk: the judicial-confirmation queue (confirm or reject), settled 委托 cases awaiting a
// mediation statement, and the sessions under way in the court's cases.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime, fmtDate, list, paren } from '../i18n.js';
import { get, qs, enc } from '../api.js';
import { hasFeature } from '../env.js';
import { alertBox, loadingBox, section, empty, busy } from '../ui.js';
import { caseItem, entrusted, stateChip } from '../parts/casebits.js';
import { actionPanel } from '../parts/actions.js';
import { verifyPDF, reportView } from '../sign/report.js';
import { pageViewer } from '../sign/pages.js';
import { courtDeadlines } from '../parts/deadlines.js';

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
      h('div', null, courtDeadlines(), section(t('judge.live'), h('p', { class: 'small muted' }, t('judge.live_hint')), liveBox)),
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
    // Each application is decided on the case as a whole: load it to show the agreement's dates and parties,
    // and the signed agreement itself.
    const full = await Promise.all(
      summaries.map(async (s) => {
        try {
          const r = await get(`/cases/${enc(s.id)}`);
          r.docs = hasFeature('signing') ? await get(`/cases/${enc(s.id)}/documents`) : [];
          return r;
        } catch (e) {
          return { error: e, summary: s };
        }
      }),
    );
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
            agreementBox(r.docs),
            actionPanel(c, r.actions, { me }, () => {
              loadQueue();
            }),
          );
        }),
      ),
    );
  }

  // agreementBox shows the agreement under review: its pages (on the signing page, read-only for the judge), its
  // signatures, the PDF, and a verification report of that very file.
  function agreementBox(docs) {
    if (!hasFeature('signing')) return null;
    const ag = (docs || []).filter((d) => (d.document.kind === 'agreement' || d.document.kind === 'confirmation_sheet') && d.document.status !== 'superseded').pop();
    if (!ag) return h('p', { class: 'small muted' }, t('judge.no_agreement'));
    const doc = ag.document;
    const out = h('div', { 'aria-live': 'polite', class: 'verify-out' });
    const check = h('button', { type: 'button', class: 'btn secondary', dataset: { verify: doc.id } }, t('judge.verify'));
    check.addEventListener('click', async () => {
      out.replaceChildren();
      try {
        const rep = await busy(check, async () => {
          const resp = await fetch(`/api/v1/documents/${enc(doc.id)}/pdf`, { credentials: 'same-origin' });
          if (!resp.ok) throw Object.assign(new Error(resp.statusText), { code: resp.status === 404 ? 'not_found' : 'internal' });
          return verifyPDF(await resp.arrayBuffer());
        }, t('judge.verifying'));
        out.replaceChildren(reportView(rep));
      } catch (e) {
        out.replaceChildren(alertBox(e));
      }
    });
    // The pages, read here without leaving the queue (drawn when opened).
    const read = h('details', { class: 'disclosure read-agreement' }, h('summary', null, t('judge.read_agreement_pages', { n: doc.pages })));
    read.addEventListener('toggle', () => {
      if (read.open && !read.querySelector('.viewer')) read.appendChild(pageViewer(doc).el);
    });
    return h(
      'div',
      { class: 'agreement-box', dataset: { document: doc.id } },
      h('h3', null, doc.title, ' ', h('span', { class: ['chip', doc.status === 'complete' ? 's-confirmed' : 's-signing'] }, label('docstatus', doc.status))),
      h('ul', { class: 'sig-chips' }, ag.fields.map((f) => h('li', { class: ['sig-chip', f.signed ? 'done' : ''] }, f.signed ? '✓ ' : '○ ', f.name || label('sigrole', f.role), f.signed ? paren(fmtDate(f.signed_at)) : ''))),
      read,
      h('div', { class: 'actions-row' }, h('a', { class: 'btn secondary', href: `/sign/${doc.id}` }, t('judge.read_agreement')), h('a', { class: 'btn secondary', href: `/api/v1/documents/${enc(doc.id)}/pdf`, download: '' }, t('docs.download')), check),
      out,
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
