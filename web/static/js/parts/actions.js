// Workflow actions: one call, and the forms staff use for each action the case offers them.

import { h } from '../dom.js';
import { t, label, fromLocalInput, paren } from '../i18n.js';
import { post, enc } from '../api.js';
import { field, options, onSubmit, formAlert, toast, confirmSheet, cancelled, serverText } from '../ui.js';
import { GROUNDS, entrusted } from './casebits.js';
import { rosterPicker, orgMediatorPicker } from './roster.js';

// act takes a workflow action on a case.
export const act = (caseId, action, params) => post(`/cases/${enc(caseId)}/actions/${enc(action)}`, params || {});

const partyOptions = (c) => c.parties.map((p) => ({ value: p.id, label: `${p.name}${paren(label('side', p.side))}` }));

// The inputs of each action a staff member may take (see GET /api/v1/workflow). Each returns the fields and a
// function reading them into the action's parameters.
const forms = {
  accept: () => ({ intro: t('actionhelp.accept'), read: () => ({}) }),
  decline: () => ({
    intro: t('actionhelp.decline'),
    fields: [field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true })],
    read: (f) => ({ reason: f.reason.value }),
  }),
  disclose: () => ({
    intro: t('actionhelp.disclose'),
    fields: [field({ label: t('fieldname.text'), name: 'text', type: 'textarea', required: true, hint: t('actionhelp.disclose_hint') })],
    read: (f) => ({ text: f.text.value }),
  }),
  withdraw: () => ({
    intro: t('actionhelp.withdraw'),
    fields: [field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true })],
    read: (f) => ({ reason: f.reason.value }),
  }),
  request_extension: () => ({
    intro: t('actionhelp.request_extension'),
    fields: [
      field({ label: t('fieldname.days'), name: 'days', type: 'number', required: true, value: 15, attrs: { min: 1, max: 60, inputmode: 'numeric' } }),
      field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true }),
    ],
    read: (f) => ({ days: Number(f.days.value), reason: f.reason.value }),
  }),
  consent_extension: (c) => ({
    intro: t('actionhelp.consent_extension_staff'),
    fields: [
      field({ label: t('fieldname.party_id'), name: 'party_id', type: 'select', required: true, options: partyOptions(c).filter((o) => !c.pending?.extension?.consents?.[o.value]) }),
      field({ label: t('fieldname.note'), name: 'note', type: 'textarea', required: true, hint: t('actionhelp.note_how') }),
    ],
    read: (f) => ({ party_id: f.party_id.value, note: f.note.value }),
  }),
  consent_online: (c) => ({
    intro: t('actionhelp.consent_online_staff'),
    fields: [
      field({ label: t('fieldname.party_id'), name: 'party_id', type: 'select', required: true, options: partyOptions(c) }),
      field({ label: t('fieldname.consent'), name: 'consent', type: 'select', required: true, options: [{ value: 'true', label: t('consent.yes') }, { value: 'false', label: t('consent.no') }] }),
      field({ label: t('fieldname.note'), name: 'note', type: 'textarea', required: true, hint: t('actionhelp.note_how') }),
    ],
    read: (f) => ({ party_id: f.party_id.value, consent: f.consent.value === 'true', note: f.note.value }),
  }),
  pause_for_appraisal: () => ({
    intro: t('actionhelp.pause_for_appraisal'),
    fields: [field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true })],
    read: (f) => ({ reason: f.reason.value }),
  }),
  resume: () => ({ intro: t('actionhelp.resume'), read: () => ({}) }),
  end: (c) => ({
    intro: t('actionhelp.end'),
    fields: [
      field({
        label: t('fieldname.ground'),
        name: 'ground',
        type: 'select',
        required: true,
        // Ending with an agreement is its own green action (end_agreement); here are the other endings.
        options: options(c.state === 'signing' ? ['party_refused_to_sign', 'applicant_withdrew', 'other'] : GROUNDS.filter((g) => g !== 'agreement_reached' && (g !== 'time_limit_passed' || new Date(c.due_at) < new Date())), 'ground', t('common.choose')),
      }),
      field({ label: t('fieldname.note'), name: 'note', type: 'textarea', hint: t('actionhelp.end_note') }),
      field({ label: t('fieldname.report_facts'), name: 'report_facts', type: 'textarea', hint: t('actionhelp.end_report') }),
      field({ label: t('fieldname.report_reasons'), name: 'report_reasons', type: 'textarea' }),
      field({ label: t('fieldname.report_suggestions'), name: 'report_suggestions', type: 'textarea' }),
    ],
    read: (f) => {
      const body = { ground: f.ground.value, note: f.note.value };
      // A failure needs the mediator's report for the court (OMR Art. 21): facts, reasons, suggestions.
      if (f.ground.value && f.ground.value !== 'agreement_reached') body.report = { facts: f.report_facts.value, reasons: f.report_reasons.value, suggestions: f.report_suggestions.value };
      return body;
    },
  }),
  end_agreement: () => ({
    intro: t('actionhelp.end_agreement'),
    fields: [field({ label: t('fieldname.note'), name: 'note', type: 'textarea', hint: t('actionhelp.end_agreement_note') })],
    read: (f) => ({ ground: 'agreement_reached', note: f.note.value }),
  }),
  confirm: () => ({
    intro: t('actionhelp.confirm'),
    fields: [field({ label: t('fieldname.note'), name: 'note', type: 'textarea', hint: t('actionhelp.confirm_note') })],
    read: (f) => ({ note: f.note.value }),
  }),
  reject_confirmation: () => ({
    intro: t('actionhelp.reject_confirmation'),
    fields: [field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true })],
    read: (f) => ({ reason: f.reason.value }),
  }),
  remediate: () => ({
    intro: t('actionhelp.remediate'),
    fields: [field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true })],
    read: (f) => ({ reason: f.reason.value }),
  }),
  issue_statement: () => noteForm('issue_statement'),
  withdraw_suit: () => noteForm('withdraw_suit'),
  file: () => noteForm('file'),
  resume_trial: () => noteForm('resume_trial'),
  push_to_court: (c, ctx) => ({
    intro: t('actionhelp.push_to_court'),
    fields: [field({ label: t('fieldname.court_id'), name: 'court_id', type: 'select', required: true, options: [{ value: '', label: t('common.choose') }, ...(ctx.courts || []).map((o) => ({ value: o.id, label: o.name }))] })],
    read: (f) => ({ court_id: f.court_id.value }),
  }),
  refer: (c, ctx) => {
    const picker = c.source === 'direct' ? orgMediatorPicker(c.organisation_id) : rosterPicker(ctx.me.org_id || c.court_id);
    return { intro: c.source === 'direct' ? t('actionhelp.refer_direct') : t('actionhelp.refer', { kind: entrusted(c) ? t('source.kind_entrusted') : t('source.kind_delegated') }), fields: [picker.el], read: () => picker.read() };
  },
  replace_mediator: (c, ctx) => {
    const picker = c.source === 'direct' || ctx.me.role === 'org_admin' ? orgMediatorPicker(c.organisation_id) : rosterPicker(ctx.me.org_id || c.court_id);
    return {
      intro: t('actionhelp.replace_mediator'),
      fields: [picker.el, field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true })],
      read: (f) => ({ ...picker.read(), reason: f.reason.value }),
    };
  },
  waive_choice: (c) => ({
    intro: t('actionhelp.waive_choice_staff'),
    fields: [
      field({ label: t('fieldname.party_id'), name: 'party_id', type: 'select', required: true, options: partyOptions(c).filter((o) => !c.pending?.choice_waivers?.[o.value]) }),
      field({ label: t('fieldname.note'), name: 'note', type: 'textarea', required: true, hint: t('actionhelp.note_how') }),
    ],
    read: (f) => ({ party_id: f.party_id.value, note: f.note.value }),
  }),
  accept_confirmation_request: () => noteForm('accept_confirmation_request'),
  refuse_confirmation_request: () => ({
    intro: t('actionhelp.refuse_confirmation_request'),
    fields: [field({ label: t('fieldname.reason'), name: 'reason', type: 'textarea', required: true })],
    read: (f) => ({ reason: f.reason.value }),
  }),
  assign: (c) => {
    const picker = orgMediatorPicker(c.organisation_id);
    return { intro: t('actionhelp.assign'), fields: [picker.el], read: () => picker.read() };
  },
};

function noteForm(action) {
  return {
    intro: t(`actionhelp.${action}`),
    fields: [field({ label: t('fieldname.note'), name: 'note', type: 'textarea' })],
    read: (f) => ({ note: f.note.value }),
  };
}

// actionName names an action on this case: referring a direct application is assigning its mediators.
export const actionName = (a, c) => (a === 'refer' && c.source === 'direct' ? label('action', 'assign') : a === 'end_agreement' ? t('action.end_agreement') : label('action', a));

// Actions a party takes on the party page, and actions nobody takes by hand.
const notHere = new Set(['choose_mediator', 'answer_disclosure', 'apply_confirmation', 'return_unanswered']);

const dangerous = new Set(['decline', 'withdraw', 'end', 'reject_confirmation', 'file', 'resume_trial', 'refuse_confirmation_request']);

// The good outcome: a green action of its own, first in the list.
const good = new Set(['end_agreement']);

// Irreversible legal acts: a sheet states the consequence before the act is taken.
const sheets = new Set(['end_agreement', 'end', 'confirm', 'reject_confirmation']);

// apiAction is the workflow action behind a panel (end_agreement is end with the ground agreement_reached).
const apiAction = (a) => (a === 'end_agreement' ? 'end' : a);

// sheetFor asks before an irreversible act; it answers whether to go on.
function sheetFor(a, c, params) {
  if (!sheets.has(a)) return Promise.resolve(true);
  const consequence = a === 'end' ? t('sheet.end', { ground: label('ground', params.ground) }) : t(`sheet.${a}`);
  return confirmSheet({ title: actionName(a, c), consequence, ok: t(`actionbtn.${a}`), danger: dangerous.has(a) });
}

// actionPanel lists the actions the case offers the caller, each as a panel with its form; after one succeeds
// done(result) is called. open names an action whose panel starts open.
export function actionPanel(c, actions, ctx, done, open) {
  const offered = actions.includes('end') && c.state === 'in_mediation' ? ['end_agreement', ...actions] : actions;
  const list = offered.filter((a) => !notHere.has(a) && forms[a]);
  if (!list.length) return h('p', { class: 'muted' }, t('case.no_actions'));
  return h(
    'div',
    null,
    list.map((a) => {
      // An action a rule refuses now says why (and who must act) instead of offering a form.
      const why = ctx && ctx.blocked && ctx.blocked[apiAction(a)];
      if (why) {
        return h('details', { class: 'action', id: `action-${a}`, dataset: { blocked: 'true' } }, h('summary', null, actionName(a, c)), h('div', { class: 'body' }, h('p', { class: 'alert info', role: 'note' }, serverText(why.key, why.params, why.param_kinds) || t('case.action_blocked'))));
      }
      const spec = forms[a](c, ctx);
      const form = h(
        'form',
        { novalidate: true, dataset: { action: a } },
        formAlert(),
        spec.intro ? h('p', { class: 'small muted' }, spec.intro) : null,
        spec.fields || [],
        h('button', { type: 'submit', class: ['btn', dangerous.has(a) ? 'danger' : '', good.has(a) ? 'success' : ''] }, t(`actionbtn.${a}`)),
      );
      onSubmit(
        form,
        async () => {
          const params = spec.read(form);
          if (!(await sheetFor(a, c, params))) throw cancelled();
          return act(c.id, apiAction(a), params);
        },
        (out) => {
          toast(t('case.action_done', { action: actionName(a, c) }));
          done(out);
        },
      );
      return h('details', { class: ['action', good.has(a) ? 'good' : ''], open: a === open, id: `action-${a}` }, h('summary', null, actionName(a, c)), h('div', { class: 'body' }, form));
    }),
  );
}

// scheduleForm schedules or starts a session.
export function scheduleForm(c, done) {
  const form = h(
    'form',
    { novalidate: true },
    formAlert(),
    field({ label: t('session.title_label'), name: 'title', value: t('session.default_title'), attrs: { maxlength: 200 } }),
    field({ label: t('session.when'), name: 'scheduled_at', type: 'datetime-local', hint: t('session.when_hint') }),
    field({ label: t('session.start_now'), name: 'start', type: 'checkbox' }),
    h('button', { type: 'submit', class: 'btn' }, t('session.schedule')),
  );
  onSubmit(
    form,
    () => post(`/cases/${enc(c.id)}/sessions`, { title: form.title.value, scheduled_at: fromLocalInput(form.scheduled_at.value) || undefined, start: form.start.checked }),
    (s) => {
      toast(s.status === 'live' ? t('session.started') : t('session.scheduled'));
      done(s);
    },
  );
  return form;
}
