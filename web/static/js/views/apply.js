// A party applies online, directly to a mediation organisation (OMR Art. 8): identity, the dispute, phone and
// electronic-service address, the other side, and consent to online mediation.

import { h, mount } from '../dom.js';
import { t, label, paren } from '../i18n.js';
import { get, post } from '../api.js';
import { field, options, onSubmit, formAlert, alertBox, loadingBox } from '../ui.js';
import { DISPUTES } from '../parts/casebits.js';
import { partyItem, renumberParty, readParty } from '../parts/partyform.js';

export default async function apply(main, { query }) {
  mount(main, h('h1', null, t('apply.title')), loadingBox());
  let orgs;
  try {
    orgs = await get('/directory/organisations');
  } catch (e) {
    mount(main, h('h1', null, t('apply.title')), alertBox(e, h('p', null, t('common.try_again'))));
    return;
  }

  const applicant = partyItem({ side: 'applicant', heading: null, removable: false, person: true });
  renumberParty(applicant, 'applicant.');
  const respondents = h('div', { id: 'respondents' });
  const renumber = () => {
    respondents.querySelectorAll(':scope > .party').forEach((item, i) => {
      renumberParty(item, `respondents[${i}].`);
      item.querySelector('.party-heading').textContent = t('apply.respondent_n', { n: i + 1 });
    });
  };
  respondents.addEventListener('renumber', renumber);
  applicant.addEventListener('renumber', () => renumberParty(applicant, 'applicant.'));
  const addRespondent = () => {
    // The most common respondent is an individual or a shop (个体工商户), whose phone the applicant may not know.
    respondents.appendChild(partyItem({ side: 'respondent', heading: '', onRemove: renumber, agents: false, person: true, phoneOptional: true }));
    renumber();
  };
  addRespondent();

  const preset = query.get('org');
  const form = h(
    'form',
    { novalidate: true, id: 'apply-form' },
    formAlert(),
    h(
      'section',
      { class: 'card' },
      h('h2', null, t('apply.to')),
      field({
        label: t('apply.organisation'),
        name: 'organisation_id',
        type: 'select',
        required: true,
        value: preset || '',
        options: [{ value: '', label: orgs.length ? t('common.choose') : t('apply.no_orgs') }, ...orgs.map((o) => ({ value: o.id, label: `${o.name}${paren([o.region, label('medkind', o.mediation_kind)].filter(Boolean).join(' · '))}` }))],
      }),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, t('apply.dispute')),
      field({ label: t('case.case_title'), name: 'title', required: true, hint: t('apply.title_hint'), attrs: { maxlength: 200 } }),
      h(
        'div',
        { class: 'inline-fields' },
        field({ label: t('case.dispute_type'), name: 'dispute_type', type: 'select', required: true, options: options(DISPUTES, 'dispute', t('common.choose')) }),
        field({ label: t('referral.claim_yuan'), name: 'claim_amount_fen', type: 'number', hint: t('referral.claim_hint'), attrs: { min: 0, step: '0.01', inputmode: 'decimal' } }),
      ),
      field({ label: t('apply.summary'), name: 'summary', type: 'textarea', required: true, rows: 5, hint: t('apply.summary_hint'), attrs: { maxlength: 10000 } }),
    ),
    h('section', { class: 'card' }, h('h2', null, t('apply.you')), h('p', { class: 'small muted' }, t('apply.you_hint')), applicant),
    h(
      'section',
      { class: 'card' },
      h('h2', null, t('apply.respondents')),
      h('p', { class: 'small muted' }, t('apply.respondents_hint')),
      h('fieldset', { class: 'plain', name: 'respondents' }, h('legend', { class: 'sr-only' }, t('apply.respondents')), respondents),
      h('button', { type: 'button', class: 'btn secondary', onclick: addRespondent }, t('apply.add_respondent')),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, t('consent.title')),
      h('p', null, t('consent.what')),
      h('ul', null, h('li', null, t('consent.p1')), h('li', null, t('consent.p2')), h('li', null, t('consent.p3'))),
      field({ label: t('apply.consent'), name: 'consent_online', type: 'checkbox', required: true, class: 'consent-check' }),
      h('p', { class: 'small muted' }, t('apply.next')),
      h('button', { type: 'submit', class: 'btn', id: 'submit-application' }, t('apply.submit')),
    ),
  );

  onSubmit(
    form,
    () => {
      const yuan = form.claim_amount_fen.value;
      return post('/applications', {
        organisation_id: form.organisation_id.value,
        title: form.elements.title.value.trim(),
        dispute_type: form.dispute_type.value,
        summary: form.summary.value.trim(),
        claim_amount_fen: yuan ? Math.round(Number(yuan) * 100) : 0,
        applicant: readParty(applicant, 'applicant'),
        respondents: Array.from(respondents.querySelectorAll(':scope > .party')).map((item) => readParty(item, 'respondent')),
        consent_online: form.consent_online.checked,
      });
    },
    (out) => {
      mount(
        main,
        h('h1', null, t('apply.title')),
        h(
          'section',
          { class: 'card attention', role: 'status', id: 'apply-done' },
          h('h2', null, t('apply.done_title')),
          h('p', null, t('apply.done', { number: out.case_number, to: out.sent_to })),
          h('p', null, t('apply.done_next')),
        ),
        h('a', { class: 'btn secondary', href: '/' }, t('notfound.home')),
      );
      main.querySelector('h2').setAttribute('tabindex', '-1');
      main.querySelector('h2').focus();
    },
  );

  mount(main, h('h1', null, t('apply.title')), h('p', { class: 'lead' }, t('apply.lead')), form);
}
