// The case list: a mediator's desk (my cases, deadlines counting down, overdue first in mind), and the same list
// for organisation admins, clerks, judges and the platform admin. Filters live in the address, so the back
// button and shared links keep them.

import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { get, qs } from '../api.js';
import { field, options, alertBox, loadingBox, empty } from '../ui.js';
import { STATES, caseItem } from '../parts/casebits.js';
import { lockoutsSection } from '../parts/lockouts.js';

const PAGE = 30;

const QUICK = [
  { key: 'all', params: {} },
  { key: 'referred', params: { state: 'referred' } },
  { key: 'in_mediation', params: { state: 'in_mediation' } },
  { key: 'appraisal', params: { state: 'appraisal' } },
  { key: 'overdue', params: { overdue: 'true' } },
];

export default async function desk(main, { me, query, navigate }) {
  const f = { state: query.get('state') || '', q: query.get('q') || '', overdue: query.get('overdue') === 'true', offset: Number(query.get('offset')) || 0 };
  const go = (p) => navigate(`/desk${qs({ state: p.state, q: p.q, overdue: p.overdue ? 'true' : '', offset: p.offset || '' })}`);
  const title = me.role === 'mediator' ? t('desk.title_mediator') : t('desk.title');

  const form = h(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': t('desk.filters') },
    field({ label: t('desk.search'), name: 'q', type: 'search', value: f.q, hint: t('desk.search_hint') }),
    field({ label: t('desk.state'), name: 'state', type: 'select', value: f.state, options: options(STATES, 'state', t('desk.any_state')) }),
    field({ label: t('desk.only_overdue'), name: 'overdue', type: 'checkbox', value: f.overdue }),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'btn' }, t('desk.apply_filters'))),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go({ q: form.q.value.trim(), state: form.state.value, overdue: form.overdue.checked, offset: 0 });
  });

  const quick = me.role === 'mediator'
    ? h(
        'div',
        { class: 'tabs', role: 'group', 'aria-label': t('desk.quick') },
        QUICK.map((qk) => {
          const on = (qk.params.state || '') === f.state && !!qk.params.overdue === f.overdue && !f.q;
          return h('button', { type: 'button', 'aria-pressed': on ? 'true' : 'false', onclick: () => go({ ...qk.params, overdue: !!qk.params.overdue }) }, t(`desk.quick_${qk.key}`));
        }),
      )
    : null;

  const listBox = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, loadingBox());
  const lockouts = me.role === 'admin' || me.role === 'org_admin' ? lockoutsSection(me) : null;
  mount(main, h('h1', null, title), me.role === 'mediator' ? h('p', { class: 'lead' }, t('desk.lead_mediator')) : null, quick, form, listBox, lockouts);

  let out;
  try {
    out = await get(`/cases${qs({ state: f.state, q: f.q, overdue: f.overdue ? 'true' : '', limit: PAGE, offset: f.offset })}`);
  } catch (e) {
    mount(listBox, alertBox(e));
    listBox.setAttribute('aria-busy', 'false');
    return;
  }
  listBox.setAttribute('aria-busy', 'false');
  const overdue = out.cases.filter((c) => c.overdue).length;
  mount(
    listBox,
    h('p', { class: 'small muted' }, t('desk.count', { n: out.total }), overdue ? h('strong', { class: 'countdown overdue' }, ' ', t('desk.overdue_count', { n: overdue })) : null),
    out.cases.length ? h('ul', { class: 'caselist', id: 'case-list' }, out.cases.map((c) => caseItem(c))) : empty(f.q || f.state || f.overdue ? t('desk.none_filtered') : t('desk.none')),
    out.total > PAGE
      ? h(
          'nav',
          { class: 'pager', 'aria-label': t('desk.pages') },
          h('button', { type: 'button', class: 'btn secondary', disabled: f.offset === 0, onclick: () => go({ ...f, offset: Math.max(0, f.offset - PAGE) }) }, t('desk.prev')),
          h('span', null, t('desk.page_of', { from: f.offset + 1, to: Math.min(out.total, f.offset + PAGE), total: out.total })),
          h('button', { type: 'button', class: 'btn secondary', disabled: f.offset + PAGE >= out.total, onclick: () => go({ ...f, offset: f.offset + PAGE }) }, t('desk.next')),
        )
      : null,
  );
}
