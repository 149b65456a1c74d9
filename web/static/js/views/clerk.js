// The court clerk's desk: register referrals, cases waiting to be referred (new or returned), cases to file or
// resume after a failed mediation, and roster decisions on the IP office's recommendations.

import { h, mount } from '../dom.js';
import { t, label, fmtDate } from '../i18n.js';
import { get, post, qs, enc } from '../api.js';
import { alertBox, busy, loadingBox, section, toast, field, empty } from '../ui.js';
import { caseItem } from '../parts/casebits.js';
import { courtDeadlines } from '../parts/deadlines.js';

export default async function clerk(main) {
  const queues = [
    { key: 'to_refer', states: ['registered', 'returned'], action: 'refer' },
    { key: 'after_failure', states: ['failed'], action: null },
    { key: 'settled', states: ['settled'], action: null },
    { key: 'rejected', states: ['confirmation_rejected'], action: 'remediate' },
  ];
  const boxes = Object.fromEntries(queues.map((q) => [q.key, h('div', { 'aria-live': 'polite' }, loadingBox())]));
  const rosterBox = h('div', { 'aria-live': 'polite' }, loadingBox());
  mount(
    main,
    h('div', { class: 'page-head' }, h('h1', null, t('clerk.title')), h('a', { class: 'btn', href: '/clerk/new', id: 'register-referral' }, t('clerk.register'))),
    h('p', { class: 'lead' }, t('clerk.lead')),
    h(
      'div',
      { class: 'layout' },
      h('div', null, queues.map((q) => section(t(`clerk.q_${q.key}`), h('p', { class: 'small muted' }, t(`clerk.q_${q.key}_hint`)), boxes[q.key]))),
      h('div', null, courtDeadlines(), section(t('clerk.roster'), h('p', { class: 'small muted' }, t('clerk.roster_hint')), rosterBox)),
    ),
  );

  await Promise.all([
    ...queues.map(async (q) => {
      try {
        const lists = await Promise.all(q.states.map((s) => get(`/cases${qs({ state: s, limit: 100 })}`)));
        const cases = lists.flatMap((l) => l.cases);
        mount(boxes[q.key], cases.length ? h('ul', { class: 'caselist' }, cases.map((c) => caseItem(c, q.action ? h('div', { class: 'actions-row' }, h('a', { class: 'btn small', href: `/cases/${c.id}?action=${q.action}` }, label('action', q.action))) : null))) : empty(t('clerk.q_empty')));
      } catch (e) {
        mount(boxes[q.key], alertBox(e));
      }
    }),
    loadRoster(),
  ]);

  async function loadRoster() {
    let entries;
    try {
      entries = await get('/roster');
    } catch (e) {
      mount(rosterBox, alertBox(e));
      return;
    }
    const pending = entries.filter((e) => e.status === 'recommended');
    const confirmed = entries.filter((e) => e.status === 'confirmed');
    const decide = (e, verdict) => {
      const out = h('div', { 'aria-live': 'polite' });
      const note = field({ label: t('clerk.roster_note'), name: 'note', attrs: { maxlength: 2000 } });
      const btn = h('button', { type: 'button', class: ['btn', 'small', verdict === 'remove' ? 'danger' : ''] }, t(`clerk.roster_${verdict}`));
      btn.addEventListener('click', async () => {
        out.replaceChildren();
        try {
          await busy(btn, () => post(`/roster/${enc(e.id)}/${verdict}`, { note: note.querySelector('input').value }));
          toast(t(`clerk.roster_${verdict}_done`, { name: e.name }));
          loadRoster();
        } catch (err) {
          out.replaceChildren(alertBox(err));
        }
      });
      return { note, btn, out };
    };
    const entry = (e, verdicts) => {
      const ds = verdicts.map((v) => decide(e, v));
      const controls = [ds[0].note, h('div', { class: 'actions-row' }, ds.map((d) => d.btn)), ds.map((d) => d.out)];
      return h(
        'li',
        { class: 'caseitem', dataset: { roster: e.id } },
        h('div', { class: 'top-line' }, h('strong', null, e.name), h('span', { class: 'chip' }, e.mediator_id ? t('clerk.roster_mediator') : t('clerk.roster_org'))),
        h('div', { class: 'meta' }, e.ip_roster ? h('span', { class: 'tag' }, t('clerk.ip_roster')) : null, h('span', null, t('clerk.recommended_at', { at: fmtDate(e.recommended_at) })), e.note ? h('span', null, e.note) : null),
        // A recommendation waits for a decision; an entry on the roster is removed only on purpose.
        e.status === 'recommended' ? controls : h('details', { class: 'disclosure' }, h('summary', null, t('clerk.roster_remove_open')), controls),
      );
    };
    mount(
      rosterBox,
      h('h3', null, t('clerk.roster_pending', { n: pending.length })),
      pending.length ? h('ul', { class: 'caselist' }, pending.map((e) => entry(e, ['confirm', 'remove']))) : empty(t('clerk.roster_none_pending')),
      h('h3', null, t('clerk.roster_confirmed', { n: confirmed.length })),
      confirmed.length ? h('ul', { class: 'caselist' }, confirmed.map((e) => entry(e, ['remove']))) : empty(t('clerk.roster_none')),
    );
  }
}
