// A mediation organisation's admin: direct applications and referrals waiting for a mediator, the
// organisation's mediators (create, disable, enable) and their public profiles.

import { h, mount, uid } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, post, put, qs, enc } from '../api.js';
import { alertBox, busy, loadingBox, section, toast, field, onSubmit, formAlert, empty } from '../ui.js';
import { caseItem, SPECIALTIES } from '../parts/casebits.js';
import { actionName } from '../parts/actions.js';

export default async function org(main, { me }) {
  const casesBox = h('div', { 'aria-live': 'polite' }, loadingBox());
  const mediatorsBox = h('div', { 'aria-live': 'polite' }, loadingBox());
  let orgInfo = null;
  try {
    orgInfo = await get(`/organisations/${enc(me.org_id)}`);
  } catch {
    // the heading falls back to the generic title
  }

  const createForm = h(
    'form',
    { novalidate: true, id: 'new-mediator' },
    formAlert(),
    h(
      'div',
      { class: 'inline-fields' },
      field({ label: t('org.display_name'), name: 'display_name', required: true, attrs: { maxlength: 100 } }),
      field({ label: t('org.username'), name: 'username', required: true, hint: t('org.username_hint'), attrs: { autocapitalize: 'none', spellcheck: 'false', maxlength: 40 } }),
      field({ label: t('party.phone'), name: 'phone', type: 'tel', attrs: { inputmode: 'tel' } }),
      field({ label: t('org.email'), name: 'email', type: 'email' }),
    ),
    field({ label: t('org.initial_password'), name: 'password', type: 'text', required: true, hint: t('org.password_hint'), attrs: { autocomplete: 'off', minlength: 12 } }),
    h('button', { type: 'submit', class: 'btn' }, t('org.create')),
  );
  onSubmit(
    createForm,
    () => post('/accounts', { org_id: me.org_id, role: 'mediator', username: createForm.username.value.trim(), display_name: createForm.display_name.value.trim(), phone: createForm.phone.value.trim() || undefined, email: createForm.email.value.trim() || undefined, password: createForm.password.value }),
    (acc) => {
      toast(t('org.created', { name: acc.display_name }));
      createForm.reset();
      loadMediators();
    },
  );

  mount(
    main,
    h('h1', null, orgInfo ? orgInfo.name : t('org.title')),
    h('p', { class: 'lead' }, orgInfo ? `${label('medkind', orgInfo.mediation_kind)} · ${orgInfo.region}` : t('org.lead')),
    h(
      'div',
      { class: 'layout' },
      h('div', null, section(t('org.waiting'), h('p', { class: 'small muted' }, t('org.waiting_hint')), casesBox)),
      h('div', null, section(t('org.mediators'), mediatorsBox), section(t('org.new_mediator'), createForm)),
    ),
  );

  async function loadCases() {
    try {
      const [reg, ref, ret] = await Promise.all(['registered', 'referred', 'returned'].map((s) => get(`/cases${qs({ state: s, limit: 100 })}`)));
      // Referred to the organisation with nobody named yet: the admin assigns.
      const items = [
        ...reg.cases.filter((c) => c.source === 'direct').map((c) => [c, 'refer']),
        ...ref.cases.filter((c) => !c.mediator).map((c) => [c, 'assign']),
        ...ret.cases.filter((c) => c.source === 'direct').map((c) => [c, 'refer']),
      ];
      mount(casesBox, items.length ? h('ul', { class: 'caselist' }, items.map(([c, a]) => caseItem(c, h('div', { class: 'actions-row' }, h('a', { class: 'btn small', href: `/cases/${c.id}?action=${a}` }, actionName(a, c)))))) : empty(t('org.nothing_waiting')));
    } catch (e) {
      mount(casesBox, alertBox(e));
    }
  }

  async function loadMediators() {
    let accounts;
    let profiles;
    try {
      [accounts, profiles] = await Promise.all([get(`/accounts${qs({ role: 'mediator' })}`), get(`/mediators${qs({ org_id: me.org_id })}`)]);
    } catch (e) {
      mount(mediatorsBox, alertBox(e));
      return;
    }
    const byId = new Map(profiles.map((p) => [p.account_id, p]));
    if (!accounts.length) {
      mount(mediatorsBox, empty(t('org.no_mediators')));
      return;
    }
    mount(
      mediatorsBox,
      h(
        'ul',
        { class: 'caselist' },
        accounts.map((a) => {
          const p = byId.get(a.id);
          const out = h('div', { 'aria-live': 'polite' });
          const toggle = h('button', { type: 'button', class: ['btn', 'small', a.disabled ? 'secondary' : 'quiet-danger'] }, a.disabled ? t('org.enable') : t('org.disable'));
          toggle.addEventListener('click', async () => {
            out.replaceChildren();
            try {
              await busy(toggle, () => post(`/accounts/${enc(a.id)}/${a.disabled ? 'enable' : 'disable'}`));
              toast(a.disabled ? t('org.enabled', { name: a.display_name }) : t('org.disabled', { name: a.display_name }));
              loadMediators();
            } catch (e) {
              out.replaceChildren(alertBox(e));
            }
          });
          return h(
            'li',
            { class: 'caseitem', dataset: { account: a.id } },
            h('div', { class: 'top-line' }, h('strong', null, a.display_name), a.disabled ? h('span', { class: 'chip s-failed' }, t('org.is_disabled')) : h('span', { class: 'chip s-settled' }, t('org.is_active'))),
            h('div', { class: 'meta' }, h('span', null, a.username), a.phone ? h('span', null, a.phone) : null),
            p && p.specialties.length ? h('div', { class: 'tags' }, p.specialties.map((s) => h('span', { class: 'tag' }, label('specialty', s)))) : null,
            h('details', { class: 'disclosure' }, h('summary', null, t('org.edit_profile')), profileForm(a, p)),
            h('div', { class: 'row' }, toggle),
            out,
          );
        }),
      ),
    );
  }

  function profileForm(a, p) {
    p = p || { specialties: [], background: '', case_scope: '', free: true, fee_note: '' };
    const legend = uid('sp');
    const form = h(
      'form',
      { novalidate: true },
      formAlert(),
      h('fieldset', { name: 'specialties', 'aria-labelledby': legend }, h('legend', { id: legend }, t('profile.specialties')), h('div', { class: 'choices' }, SPECIALTIES.map((s) => field({ label: label('specialty', s), name: `spec-${s}`, type: 'checkbox', value: p.specialties.includes(s), attrs: { 'data-spec': s } })))),
      field({ label: t('profile.background'), name: 'background', type: 'textarea', value: p.background, attrs: { maxlength: 4000 } }),
      field({ label: t('profile.scope'), name: 'case_scope', value: p.case_scope, attrs: { maxlength: 1000 } }),
      field({ label: t('profile.free'), name: 'free', type: 'checkbox', value: p.free }),
      field({ label: t('profile.fee_note'), name: 'fee_note', value: p.fee_note, attrs: { maxlength: 500 } }),
      h('button', { type: 'submit', class: 'btn small' }, t('profile.save')),
    );
    onSubmit(
      form,
      () =>
        put(`/mediators/${enc(a.id)}/profile`, {
          specialties: Array.from(form.querySelectorAll('[data-spec]')).filter((x) => x.checked).map((x) => x.dataset.spec),
          background: form.background.value,
          case_scope: form.case_scope.value,
          free: form.free.checked,
          fee_note: form.fee_note.value,
        }),
      () => {
        toast(t('profile.saved', { name: a.display_name }));
        loadMediators();
      },
    );
    return form;
  }

  await Promise.all([loadCases(), loadMediators()]);
}
