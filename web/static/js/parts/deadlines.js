// The court's own deadlines on the judge's and clerk's desks: the 3 working days to refer a case after the
// parties' choice window, the 30 days to decide on a confirmation application (CPL Art. 187), and direct
// applications the parties sent to this court. Overdue ones come first, flagged; a deadline past the last year of
// the holiday calendar says so.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get } from '../api.js';
import { alertBox, loadingBox, section, empty } from '../ui.js';

export function courtDeadlines() {
  const box = h('div', { 'aria-live': 'polite', id: 'court-deadlines' }, loadingBox());
  (async () => {
    let list;
    try {
      list = await get('/court/deadlines');
    } catch (e) {
      mount(box, alertBox(e));
      return;
    }
    if (!list.length) {
      mount(box, empty(t('deadlines.empty')));
      return;
    }
    mount(
      box,
      h(
        'ul',
        { class: 'caselist' },
        list.map((d) =>
          h(
            'li',
            { class: ['caseitem', d.overdue ? 'overdue' : ''], dataset: { kind: d.kind, overdue: String(!!d.overdue) } },
            h('div', { class: 'top-line' }, h('a', { class: 'title', href: `/cases/${d.case_id}` }, d.case_number, ' ', d.case_title), d.overdue ? h('span', { class: 'chip danger' }, t('deadlines.overdue')) : null),
            h('div', { class: 'meta' }, h('span', null, label('deadlinekind', d.kind)), d.due_at ? h('span', null, t('deadlines.due', { at: fmtDateTime(d.due_at) })) : h('span', null, t('deadlines.since', { at: fmtDateTime(d.since) }))),
            d.calendar_warning ? h('p', { class: 'alert warn small', role: 'note' }, t('deadlines.calendar_warning', { year: (d.calendar_warning.match(/\d{4}/) || [''])[0] })) : null,
          ),
        ),
      ),
    );
  })();
  return section(t('deadlines.title'), h('p', { class: 'small muted' }, t('deadlines.hint')), box);
}
