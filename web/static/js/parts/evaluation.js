// A party's rating of an ended mediation (issue 12 §6): satisfaction 1–5, heard, fairly treated, a comment; once.

import { h, mount } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { field, onSubmit, formAlert, alertBox } from '../ui.js';

const LEVELS = ['5', '4', '3', '2', '1'];

// evaluationSection is the party's rating card, or null while the case is not ended.
export function evaluationSection(c) {
  if (!c.ended_at) return null;
  const box = h('div', { class: 'stack', id: 'evaluation' });
  async function load() {
    try {
      const mine = await get(`/cases/${enc(c.id)}/evaluations`);
      if (mine.length) {
        mount(box, h('p', { id: 'evaluation-done' }, t('evaluation.done', { n: mine[0].satisfaction, at: fmtDateTime(mine[0].at) })));
        return;
      }
      const form = h(
        'form',
        { novalidate: true, id: 'evaluation-form' },
        formAlert(),
        field({ label: t('evaluation.satisfaction'), name: 'satisfaction', type: 'select', value: '5', options: LEVELS.map((v) => ({ value: v, label: t(`evaluation.level_${v}`) })) }),
        field({ label: t('evaluation.heard'), name: 'heard', type: 'checkbox', value: false }),
        field({ label: t('evaluation.fair'), name: 'fair', type: 'checkbox', value: false }),
        field({ label: t('evaluation.comment'), name: 'comment', type: 'textarea', attrs: { maxlength: 2000 } }),
        h('button', { type: 'submit', class: 'btn' }, t('evaluation.submit')),
      );
      onSubmit(
        form,
        (f) => post(`/cases/${enc(c.id)}/evaluation`, { satisfaction: Number(f.satisfaction.value), heard: f.heard.checked, fair: f.fair.checked, comment: f.comment.value.trim() }),
        () => load(),
      );
      mount(box, h('p', { class: 'small muted' }, t('evaluation.explain')), form);
    } catch (e) {
      mount(box, alertBox(e));
    }
  }
  load();
  return box;
}
