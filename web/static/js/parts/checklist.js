// The mediator's checklist: what each party still has to do before the mediation can go on (open its link,
// consent to online mediation, give a service address, pass an identity check), with a button that sends its
// invitation again, and what blocks a session from starting.

import { h, mount } from '../dom.js';
import { t, label, list } from '../i18n.js';
import { get, enc } from '../api.js';
import { alertBox } from '../ui.js';

// todoMark shows one item of a party's list: done, missing, declined or failed.
function todoMark(item, state) {
  const ok = state === 'done' || state === true;
  const st = state === true ? 'done' : state === false ? 'missing' : state;
  return h(
    'li',
    { class: ['todo', ok ? 'done' : 'open'], dataset: { item, state: st } },
    h('span', { class: 'todo-mark', 'aria-hidden': 'true' }, ok ? '✓' : '○'),
    h('span', null, t(`checklist.${item}`), ' · ', t(`checklist.state_${st}`)),
  );
}

// checklistSection loads and draws the checklist of case c; invite(party) gives the resend control of a party
// (or undefined when the caller may not invite). It answers the element and the checklist's promise.
export function checklistSection(c, invite) {
  const el = h('div', { id: 'checklist', 'aria-live': 'polite' }, h('p', { class: 'muted small' }, t('common.loading')));
  const ready = get(`/cases/${enc(c.id)}/checklist`).then(
    (cl) => {
      const open = cl.parties.filter((p) => !p.done);
      const noConsent = cl.parties.filter((p) => p.consent !== 'done');
      mount(
        el,
        cl.session_ready
          ? h('p', { class: 'alert ok', id: 'checklist-ready' }, t('checklist.session_ready'))
          : h('p', { class: 'alert warn', id: 'checklist-blocked' }, t('checklist.session_blocked', { names: list(noConsent.map((p) => p.name)) })),
        open.length ? null : h('p', { class: 'small muted' }, t('checklist.all_done')),
        h(
          'ul',
          { class: 'plain-list party-checklist' },
          cl.parties.map((p) => {
            const party = c.parties.find((q) => q.id === p.party_id);
            return h(
              'li',
              { class: 'repeat-item', dataset: { party: p.party_id, done: String(p.done) } },
              h('div', { class: 'repeat-head' }, h('strong', null, p.name), h('span', { class: 'chip' }, label('side', p.side))),
              h('ul', { class: 'todo-list' }, todoMark('entered', p.entered), todoMark('consent', p.consent), todoMark('service_address', p.service_address), todoMark('identity', p.identity)),
              !p.done && party && invite ? invite(party) : null,
            );
          }),
        ),
        h('p', { class: 'small muted' }, t('checklist.hint')),
      );
      return cl;
    },
    (e) => {
      el.replaceChildren(alertBox(e));
      return null;
    },
  );
  return { el, ready };
}
