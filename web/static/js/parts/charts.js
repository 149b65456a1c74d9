// Hand-written SVG charts. Each is a <figure> whose SVG is an image with a title and a description (what a
// screen reader says), followed by the same figures as a table. Charts are drawn for the width they get, so
// their text stays readable on a phone.

import { h, s, uid } from '../dom.js';
import { t } from '../i18n.js';

function dataTable(caption, columns, rows) {
  return h(
    'details',
    { class: 'disclosure' },
    h('summary', null, t('chart.show_table')),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        null,
        h('caption', { class: 'sr-only' }, caption),
        h('thead', null, h('tr', null, columns.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, c)))),
        h('tbody', null, rows.map((r) => h('tr', null, r.map((v, i) => (i ? h('td', { class: 'num' }, v) : h('th', { scope: 'row' }, v)))))),
      ),
    ),
  );
}

// barChart draws horizontal bars, one per row, its label above it (nothing is cut off on narrow screens).
// rows: [{label, value, text}] where text is the value as shown. max: the scale's top (default: the largest).
export function barChart({ title, rows, width, max, kind = '', columns, tableRows, id }) {
  const titleId = uid('ct');
  const descId = uid('cd');
  const top = max || Math.max(1, ...rows.map((r) => r.value));
  const rowH = 46;
  const H = Math.max(rowH, rows.length * rowH) + 4;
  const W = Math.max(240, width);
  const valueW = Math.min(W / 2, 10 + 7.5 * Math.max(...rows.map((r) => String(r.text).length), 2));
  const barMax = W - valueW - 4;
  const desc = rows.map((r) => `${r.label}: ${r.text}`).join('; ');
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-labelledby': `${titleId} ${descId}` },
    s('title', { id: titleId }, title),
    s('desc', { id: descId }, desc),
    rows.map((r, i) => {
      const y = i * rowH;
      const w = Math.max(r.value > 0 ? 3 : 0, (r.value / top) * barMax);
      return s(
        'g',
        null,
        s('text', { x: 0, y: y + 15, 'font-size': 13 }, r.label),
        s('rect', { class: ['bar', kind], x: 0, y: y + 21, width: w.toFixed(1), height: 16, rx: 3 }),
        s('text', { x: (w + 6).toFixed(1), y: y + 34, 'font-size': 13, 'font-weight': 600 }, r.text),
      );
    }),
  );
  return h('figure', { class: 'chart', id }, h('figcaption', null, title), rows.length ? svg : h('p', { class: 'muted' }, t('chart.no_data')), rows.length ? dataTable(title, columns || [t('chart.item'), t('chart.value')], tableRows || rows.map((r) => [r.label, r.text])) : null);
}

// columnChart draws, per period, a column of cases and a column of successes, with a light grid.
// rows: [{label, a, b}] (a = cases, b = successes).
export function columnChart({ title, rows, width, legendA, legendB, columns, tableRows, id }) {
  const titleId = uid('ct');
  const descId = uid('cd');
  const W = Math.max(260, width);
  const H = 220;
  const left = 34;
  const bottom = 26;
  const plotH = H - bottom - 10;
  const top = Math.max(1, ...rows.map((r) => Math.max(r.a, r.b)));
  const step = Math.max(1, Math.ceil(top / 4));
  const scaleTop = step * 4;
  const groupW = (W - left) / Math.max(1, rows.length);
  const barW = Math.min(28, Math.max(4, (groupW - 6) / 2));
  const every = Math.max(1, Math.ceil(rows.length / Math.floor((W - left) / 56)));
  const y = (v) => 10 + plotH - (v / scaleTop) * plotH;
  const grid = [];
  for (let v = 0; v <= scaleTop; v += step) {
    grid.push(s('line', { class: 'grid-line', x1: left, x2: W, y1: y(v), y2: y(v) }), s('text', { x: left - 6, y: y(v) + 4, 'font-size': 12, 'text-anchor': 'end' }, String(v)));
  }
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-labelledby': `${titleId} ${descId}` },
    s('title', { id: titleId }, title),
    s('desc', { id: descId }, rows.map((r) => `${r.label}: ${legendA} ${r.a}, ${legendB} ${r.b}`).join('; ')),
    grid,
    s('line', { class: 'axis', x1: left, x2: W, y1: y(0), y2: y(0) }),
    rows.map((r, i) => {
      const x0 = left + i * groupW + (groupW - 2 * barW - 2) / 2;
      return s(
        'g',
        null,
        s('rect', { class: 'bar', x: x0.toFixed(1), y: y(r.a).toFixed(1), width: barW.toFixed(1), height: (y(0) - y(r.a)).toFixed(1) }),
        s('rect', { class: 'bar ok', x: (x0 + barW + 2).toFixed(1), y: y(r.b).toFixed(1), width: barW.toFixed(1), height: (y(0) - y(r.b)).toFixed(1) }),
        i % every === 0 ? s('text', { x: (left + i * groupW + groupW / 2).toFixed(1), y: H - 8, 'font-size': 12, 'text-anchor': 'middle' }, r.label) : null,
      );
    }),
  );
  return h(
    'figure',
    { class: 'chart', id },
    h('figcaption', null, title),
    rows.length ? svg : h('p', { class: 'muted' }, t('chart.no_data')),
    rows.length ? h('div', { class: 'legend', 'aria-hidden': 'true' }, h('span', null, h('span', { class: 'swatch c1' }), legendA), h('span', null, h('span', { class: 'swatch c2' }), legendB)) : null,
    rows.length ? dataTable(title, columns, tableRows) : null,
  );
}
