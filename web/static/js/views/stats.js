// Statistics for the caller's scope (the court, the region, the organisation, the mediator, or all): success
// rate, average duration, cases by state and ending, per organisation, mediator and month (DOMAIN.md
// "Figures"; notice §14).

import { h, mount } from '../dom.js';
import { t, label, fmtNumber, fmtPercent, getLang } from '../i18n.js';
import { get, qs } from '../api.js';
import { field, alertBox, loadingBox, section } from '../ui.js';
import { STATES, GROUNDS } from '../parts/casebits.js';
import { barChart, columnChart } from '../parts/charts.js';

export default async function stats(main, { query, navigate }) {
  const from = query.get('from') || '';
  const to = query.get('to') || '';
  const form = h(
    'form',
    { class: 'toolbar', 'aria-label': t('stats.period') },
    field({ label: t('stats.from'), name: 'from', type: 'date', value: from }),
    field({ label: t('stats.to'), name: 'to', type: 'date', value: to }),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'btn' }, t('stats.apply'))),
    h('div', { class: 'field' }, h('a', { class: 'btn ghost', href: '/stats' }, t('stats.all_time'))),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    navigate(`/stats${qs({ from: form.from.value, to: form.to.value })}`);
  });
  const body = h('div', { 'aria-live': 'polite' }, loadingBox());
  mount(main, h('h1', null, t('stats.title')), form, body);

  let st;
  try {
    st = await get(`/stats${qs({ from, to })}`);
  } catch (e) {
    mount(body, alertBox(e));
    return;
  }

  const kpi = (value, text, id) => h('div', { class: 'kpi', id }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, text));
  const charts = h('div', { class: 'grid two' });

  function drawCharts() {
    const w = Math.max(260, Math.floor((charts.clientWidth || main.clientWidth) / (window.innerWidth >= 760 ? 2 : 1)) - 34);
    const states = STATES.filter((s) => st.by_state[s]).map((s) => ({ label: label('state', s), value: st.by_state[s], text: fmtNumber(st.by_state[s]) }));
    const grounds = GROUNDS.filter((g) => st.by_ground[g]).map((g) => ({ label: label('ground', g), value: st.by_ground[g], text: fmtNumber(st.by_ground[g]) }));
    const groupRows = (groups) => groups.map((g) => ({ label: g.name || '—', value: g.success_rate, text: g.ended ? `${fmtPercent(g.success_rate)} (${g.succeeded}/${g.ended})` : t('stats.none_ended') }));
    const groupTable = (groups) => groups.map((g) => [g.name || '—', fmtNumber(g.cases), fmtNumber(g.ended), fmtPercent(g.success_rate), fmtNumber(g.avg_days, 1), fmtNumber(g.overdue)]);
    const groupCols = (first) => [first, t('stats.col_cases'), t('stats.col_ended'), t('stats.col_success'), t('stats.col_days'), t('stats.col_overdue')];
    const monthFmt = new Intl.DateTimeFormat(getLang(), { year: '2-digit', month: 'short', timeZone: 'UTC' });
    const months = st.by_month.map((m) => ({ label: monthFmt.format(new Date(`${m.key}-01T00:00:00Z`)), a: m.cases, b: m.succeeded }));
    charts.replaceChildren(
      h('section', { class: 'card' }, barChart({ id: 'chart-states', title: t('stats.by_state'), rows: states, width: w, columns: [t('stats.col_state'), t('stats.col_cases')] })),
      h('section', { class: 'card' }, barChart({ id: 'chart-grounds', title: t('stats.by_ground'), rows: grounds, width: w, columns: [t('stats.col_ground'), t('stats.col_cases')] })),
      h('section', { class: 'card' }, columnChart({ id: 'chart-months', title: t('stats.by_month'), rows: months, width: w, legendA: t('stats.legend_cases'), legendB: t('stats.legend_success'), columns: [t('stats.col_month'), t('stats.col_cases'), t('stats.col_ended'), t('stats.col_success')], tableRows: st.by_month.map((m) => [m.key, fmtNumber(m.cases), fmtNumber(m.ended), fmtPercent(m.success_rate)]) })),
      h('section', { class: 'card' }, barChart({ id: 'chart-orgs', title: t('stats.by_org'), rows: groupRows(st.by_organisation), width: w, max: 1, kind: 'ok', columns: groupCols(t('stats.col_org')), tableRows: groupTable(st.by_organisation) })),
      h('section', { class: 'card' }, barChart({ id: 'chart-mediators', title: t('stats.by_mediator'), rows: groupRows(st.by_mediator), width: w, max: 1, kind: 'ok', columns: groupCols(t('stats.col_mediator')), tableRows: groupTable(st.by_mediator) })),
    );
  }

  mount(
    body,
    h('p', { class: 'small muted' }, t('stats.scope', { scope: scopeText(st.scope) })),
    h(
      'div',
      { class: 'kpis' },
      kpi(fmtNumber(st.total.cases), t('stats.cases'), 'kpi-cases'),
      kpi(st.total.ended ? fmtPercent(st.total.success_rate) : '—', t('stats.success_rate', { n: st.total.ended }), 'kpi-success'),
      kpi(st.total.ended ? t('stats.days', { n: fmtNumber(st.total.avg_days, 1) }) : '—', t('stats.avg_days'), 'kpi-days'),
      kpi(fmtNumber(st.total.overdue), t('stats.overdue'), 'kpi-overdue'),
    ),
    charts,
    section(
      t('stats.report'),
      h('p', { class: 'small' }, t('stats.report_text')),
      h(
        'div',
        { class: 'actions-row' },
        h('a', { class: 'btn secondary', id: 'report-pdf', href: `/api/v1/stats/satisfaction.pdf${qs({ from, to, lang: getLang().startsWith('en') ? 'en' : '' })}`, download: '' }, t('stats.report_pdf')),
        h('a', { class: 'btn ghost', id: 'report-csv', href: `/api/v1/stats/satisfaction.csv${qs({ from, to })}`, download: '' }, t('stats.report_csv')),
      ),
    ),
    section(t('stats.about'), h('p', { class: 'small' }, t('stats.about_text'))),
  );
  drawCharts();
  let timer = null;
  let lastW = window.innerWidth;
  const onResize = () => {
    if (window.innerWidth === lastW) return;
    lastW = window.innerWidth;
    clearTimeout(timer);
    timer = setTimeout(drawCharts, 200);
  };
  window.addEventListener('resize', onResize);
  return () => {
    window.removeEventListener('resize', onResize);
    clearTimeout(timer);
  };
}

function scopeText(scope) {
  if (scope && scope.startsWith('region ')) return t('stats.scope_region', { region: scope.slice(7) });
  return label('scope', scope);
}
