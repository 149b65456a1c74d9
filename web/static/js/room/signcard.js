// Signing without leaving the call: while the room is open it looks at the case's agreement when the server says
// the case changed (case_changed) and, in case such a message is lost, now and then by itself; when
// the caller may sign it, a card in the room offers it and the signing page opens in a bottom sheet over the
// call (the call goes on underneath). The mediator's card shows who has signed, live.

import { h, mount } from '../dom.js';
import { t, label } from '../i18n.js';
import { get, enc } from '../api.js';
import { hasFeature } from '../env.js';

const AGREEMENTS = new Set(['agreement', 'confirmation_sheet']);
// FALLBACK_MS is how often the card looks by itself, should a case_changed message be lost (a node restarting).
const FALLBACK_MS = 15000;

// signCard watches caseId for me; el goes into the room, stop ends the watching (and closes the sheet).
export function signCard({ caseId, me }) {
  const el = h('div', { class: 'room-sign', id: 'room-sign', 'aria-live': 'polite', hidden: true });
  let timer = 0;
  let stopped = false;
  let sheet = null;
  let closeSheet = null;
  let last = '';
  let looking = false;
  let again = false;

  async function look() {
    if (stopped || !hasFeature('signing')) return;
    if (looking) {
      again = true; // a change came while a look was under way: look once more after it
      return;
    }
    looking = true;
    clearTimeout(timer);
    try {
      const docs = await get(`/cases/${enc(caseId)}/documents`);
      const ag = docs.filter((d) => AGREEMENTS.has(d.document.kind) && d.document.status !== 'superseded').pop();
      draw(ag);
    } catch {
      // the card is a convenience: try again at the next look
    }
    looking = false;
    if (again) {
      again = false;
      look();
      return;
    }
    if (!stopped) timer = setTimeout(look, sheet ? 4000 : FALLBACK_MS);
  }

  function draw(ag) {
    const key = ag ? JSON.stringify([ag.document.id, ag.document.status, ag.next, ag.fields.map((f) => f.signed)]) : '';
    if (key === last) return;
    last = key;
    const mine = ag && ag.next && ag.document.status === 'signing';
    const staff = me.kind === 'account';
    if (!ag || (!mine && !staff)) {
      el.hidden = true;
      el.replaceChildren();
      return;
    }
    el.hidden = false;
    const signed = ag.fields.filter((f) => f.signed).length;
    mount(
      el,
      h('div', { class: 'room-sign-text' }, h('strong', null, mine ? t('room.sign_ready') : t('room.sign_progress', { n: signed, total: ag.fields.length })), ' ', h('span', { class: 'small' }, ag.document.title)),
      staff ? h('ul', { class: 'sig-chips', id: 'room-sign-chips' }, ag.fields.map((f) => h('li', { class: ['sig-chip', f.signed ? 'done' : ''], dataset: { field: f.field } }, f.signed ? '✓ ' : '○ ', f.name || label('sigrole', f.role)))) : null,
      mine ? h('button', { type: 'button', class: 'btn small success', id: 'room-sign-open', onclick: () => open(ag.document.id) }, t('room.sign_open')) : null,
    );
  }

  async function open(docId) {
    if (sheet) return;
    const body = h('div', { class: 'room-sign-body' });
    const close = h('button', { type: 'button', class: 'btn secondary small', id: 'room-sign-close' }, t('room.sign_close'));
    sheet = h('div', { class: 'room-sign-sheet', id: 'room-sign-sheet', role: 'dialog', 'aria-modal': 'true', 'aria-label': t('room.sign_sheet') }, h('div', { class: 'panel-head' }, h('h2', null, t('room.sign_sheet')), close), body);
    document.body.appendChild(sheet);
    close.addEventListener('click', () => shut());
    try {
      const mod = await import('../views/sign.js');
      const ret = await mod.default(body, { params: { id: docId }, me });
      closeSheet = typeof ret === 'function' ? ret : null;
    } catch (e) {
      console.error(e);
    }
    clearTimeout(timer);
    timer = setTimeout(look, 4000);
  }

  function shut() {
    if (closeSheet) closeSheet();
    closeSheet = null;
    if (sheet) sheet.remove();
    sheet = null;
    last = '';
    clearTimeout(timer);
    look();
  }

  look();
  return {
    el,
    changed: look,
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (closeSheet) closeSheet();
      if (sheet) sheet.remove();
      sheet = null;
    },
  };
}
