// A court clerk registers a referral (委派 before filing, 委托 after): the dispute, the parties with their
// agents; then the case page opens on the referral to a mediator or organisation of the roster.

import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { post } from '../api.js';
import { field, options, onSubmit, formAlert, toast } from '../ui.js';
import { DISPUTES, SOURCES } from '../parts/casebits.js';
import { partyItem, renumberParty, readParty } from '../parts/partyform.js';

export default function referral(main, { navigate }) {
  const parties = h('div', { id: 'parties' });
  const renumber = () => {
    parties.querySelectorAll(':scope > .party').forEach((item, i) => {
      renumberParty(item, `parties[${i}].`);
      item.querySelector('.party-heading').textContent = t('referral.party_n', { n: i + 1 });
    });
  };
  parties.addEventListener('renumber', renumber);
  const add = (side) => {
    const item = partyItem({ heading: '', onRemove: renumber });
    item.querySelector('[data-part=side]').value = side;
    parties.appendChild(item);
    renumber();
    return item;
  };

  const courtNo = field({ label: t('case.court_case_number'), name: 'court_case_number', required: true, hint: t('referral.court_no_hint'), attrs: { maxlength: 100 } });
  const source = field({ label: t('case.source'), name: 'source', type: 'select', value: 'delegated', options: options(SOURCES, 'source'), hint: t('referral.source_hint') });
  const syncSource = () => {
    courtNo.hidden = source.querySelector('select').value === 'delegated';
  };
  source.querySelector('select').addEventListener('change', syncSource);

  const form = h(
    'form',
    { novalidate: true, id: 'referral-form' },
    formAlert(),
    h(
      'section',
      { class: 'card' },
      h('h2', null, t('referral.dispute')),
      h('div', { class: 'inline-fields' }, source, courtNo),
      field({ label: t('case.case_title'), name: 'title', required: true, hint: t('referral.title_hint'), attrs: { maxlength: 200 } }),
      h(
        'div',
        { class: 'inline-fields' },
        field({ label: t('case.dispute_type'), name: 'dispute_type', type: 'select', required: true, options: options(DISPUTES, 'dispute', t('common.choose')) }),
        field({ label: t('referral.claim_yuan'), name: 'claim_amount_fen', type: 'number', hint: t('referral.claim_hint'), attrs: { min: 0, step: '0.01', inputmode: 'decimal' } }),
      ),
      field({ label: t('case.summary'), name: 'summary', type: 'textarea', required: true, rows: 5, hint: t('referral.summary_hint'), attrs: { maxlength: 10000 } }),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, t('case.parties')),
      h('p', { class: 'small muted' }, t('referral.parties_hint')),
      h('fieldset', { class: 'plain', name: 'parties' }, h('legend', { class: 'sr-only' }, t('case.parties')), parties),
      h(
        'div',
        { class: 'actions-row' },
        h('button', { type: 'button', class: 'btn secondary', onclick: () => add('applicant').querySelector('input').focus() }, t('referral.add_applicant')),
        h('button', { type: 'button', class: 'btn secondary', onclick: () => add('respondent').querySelector('input').focus() }, t('referral.add_respondent')),
      ),
    ),
    h('div', { class: 'actions-row' }, h('button', { type: 'submit', class: 'btn', id: 'register' }, t('referral.submit'))),
  );
  add('applicant');
  add('respondent');
  syncSource();

  onSubmit(
    form,
    () => {
      const src = form.source.value;
      const yuan = form.claim_amount_fen.value;
      return post('/cases', {
        title: form.elements.title.value.trim(),
        dispute_type: form.dispute_type.value,
        summary: form.summary.value.trim(),
        claim_amount_fen: yuan ? Math.round(Number(yuan) * 100) : 0,
        source: src,
        court_case_number: src === 'delegated' ? undefined : form.court_case_number.value.trim(),
        parties: Array.from(parties.querySelectorAll(':scope > .party')).map((item) => readParty(item)),
      });
    },
    (out) => {
      toast(t('referral.done', { number: out.case.number }));
      navigate(`/cases/${out.case.id}?action=refer`);
    },
  );

  mount(main, h('h1', null, t('referral.title')), h('p', { class: 'lead' }, t('referral.lead')), form);
}
