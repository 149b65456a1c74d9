// An IP administration department recommends mediators and organisations of its region to courts' rosters and
// follows the roster of its region (notice §8–9); its statistics are on the statistics page.

import { h, mount } from '../dom.js';
import { t, label, fmtDate } from '../i18n.js';
import { get, post, qs } from '../api.js';
import { alertBox, loadingBox, section, toast, field, onSubmit, formAlert, empty } from '../ui.js';

export default async function ipoffice(main, { me }) {
  const rosterBox = h('div', { 'aria-live': 'polite' }, loadingBox());
  let courts;
  let orgs;
  let mediators;
  try {
    [courts, orgs, mediators] = await Promise.all([get(`/organisations${qs({ kind: 'court' })}`), get(`/organisations${qs({ kind: 'mediation_org' })}`), get('/mediators')]);
  } catch (e) {
    mount(main, h('h1', null, t('ipo.title')), alertBox(e));
    return;
  }
  const region = me.org_region;
  const localOrgs = orgs.filter((o) => o.region === region);
  const localMediators = mediators.filter((m) => m.region === region);

  const whatName = 'what';
  const mediatorSel = field({ label: t('ipo.mediator'), name: 'mediator_id', type: 'select', options: [{ value: '', label: t('common.choose') }, ...localMediators.map((m) => ({ value: m.account_id, label: m.org_name ? `${m.name} · ${m.org_name}` : m.name }))] });
  const orgSel = field({ label: t('ipo.organisation'), name: 'organisation_id', type: 'select', options: [{ value: '', label: t('common.choose') }, ...localOrgs.map((o) => ({ value: o.id, label: `${o.name} · ${label('medkind', o.mediation_kind)}` }))] });
  orgSel.hidden = true;
  const radio = (value, text, checked) => h('label', { class: 'check' }, h('input', { type: 'radio', name: whatName, value, checked }), h('span', null, text));
  const what = h('fieldset', { class: 'plain' }, h('legend', null, t('ipo.recommend_what')), h('div', { class: 'choices' }, radio('mediator', t('ipo.a_mediator'), true), radio('org', t('ipo.an_org'), false)));
  what.addEventListener('change', () => {
    const org = what.querySelector('input:checked').value === 'org';
    orgSel.hidden = !org;
    mediatorSel.hidden = org;
  });
  const form = h(
    'form',
    { novalidate: true, id: 'recommend-form' },
    formAlert(),
    field({ label: t('ipo.court'), name: 'court_id', type: 'select', required: true, options: [{ value: '', label: t('common.choose') }, ...courts.map((c) => ({ value: c.id, label: `${c.name} · ${c.region}` }))] }),
    what,
    mediatorSel,
    orgSel,
    field({ label: t('ipo.ip_roster'), name: 'ip_roster', type: 'checkbox', value: true, hint: t('ipo.ip_roster_hint') }),
    field({ label: t('fieldname.note'), name: 'note', type: 'textarea', rows: 3, attrs: { maxlength: 2000 } }),
    h('button', { type: 'submit', class: 'btn' }, t('ipo.recommend')),
  );
  onSubmit(
    form,
    () => {
      const org = what.querySelector('input:checked').value === 'org';
      return post('/roster', {
        court_id: form.court_id.value,
        mediator_id: org ? undefined : form.mediator_id.value || undefined,
        organisation_id: org ? form.organisation_id.value || undefined : undefined,
        ip_roster: form.ip_roster.checked,
        note: form.note.value || undefined,
      });
    },
    (e) => {
      toast(t('ipo.recommended', { name: e.name, court: e.court_name }));
      form.note.value = '';
      loadRoster();
    },
  );

  mount(
    main,
    h('h1', null, t('ipo.title')),
    h('p', { class: 'lead' }, t('ipo.lead', { region })),
    h('p', null, h('a', { href: '/stats' }, t('ipo.stats'))),
    h('div', { class: 'layout' }, h('div', null, section(t('ipo.roster'), rosterBox)), h('div', null, section(t('ipo.recommend_title'), h('p', { class: 'small muted' }, t('ipo.recommend_hint')), form))),
  );

  async function loadRoster() {
    let entries;
    try {
      entries = await get('/roster');
    } catch (e) {
      mount(rosterBox, alertBox(e));
      return;
    }
    if (!entries.length) {
      mount(rosterBox, empty(t('ipo.roster_empty')));
      return;
    }
    mount(
      rosterBox,
      h(
        'ul',
        { class: 'caselist', id: 'roster-list' },
        entries.map((e) =>
          h(
            'li',
            { class: 'caseitem', dataset: { roster: e.id } },
            h('div', { class: 'top-line' }, h('strong', null, e.name), h('span', { class: ['chip', e.status === 'confirmed' ? 's-settled' : e.status === 'removed' ? 's-failed' : 's-referred'] }, label('rosterstatus', e.status))),
            h(
              'div',
              { class: 'meta' },
              h('span', null, e.mediator_id ? t('clerk.roster_mediator') : t('clerk.roster_org')),
              h('span', null, e.court_name),
              e.ip_roster ? h('span', { class: 'tag' }, t('clerk.ip_roster')) : null,
              h('span', null, fmtDate(e.decided_at || e.recommended_at)),
            ),
            e.note ? h('p', { class: 'small muted' }, e.note) : null,
          ),
        ),
      ),
    );
  }

  await loadRoster();
}
