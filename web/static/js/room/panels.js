// The room's side panels: chat (joint room or caucus, as the server scopes it) and people, which for a mediator
// holds the lobby with the identity check, muting and removing, the caucus controls and the end of the session.

import { h, uid } from '../dom.js';
import { t, has, label, fmtDateTime, list } from '../i18n.js';
import { toast } from '../ui.js';

const METHODS = ['id_card_on_camera', 'face_match', 'sms_code', 'known_to_mediator', 'court_verified', 'other'];

// The identity-check method a mediator chose last in a session is offered first for the next person waiting
// (the method is usually the same for everyone in one session).
const methodKey = (session) => `parley.idmethod.${session.join?.session_id || ''}`;
function lastMethod(session) {
  try {
    const m = sessionStorage.getItem(methodKey(session)) || localStorage.getItem(methodKey(session));
    return METHODS.includes(m) ? m : '';
  } catch {
    return '';
  }
}
function rememberMethod(session, m) {
  try {
    localStorage.setItem(methodKey(session), m);
  } catch {
    // the choice is not kept
  }
}

// failText turns a refused room request into words.
export function failText(e) {
  // Every code the signalling server sends has its words (TestEveryRoomErrorIsTranslated); an unknown one
  // never shows as the raw code.
  const key = `roomerr.${e && e.code}`;
  return e && e.code && has(key) ? t(key) : t('roomerr.other');
}

// act runs a room request from a button, showing progress and the outcome.
async function act(btn, fn, done) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    await fn();
    if (done) toast(done);
  } catch (e) {
    toast(failText(e), 'error');
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}

export function chatPanel(session) {
  const listEl = h('ol', { class: 'chat-list', id: 'chat-list', 'aria-live': 'polite' });
  const scopeNote = h('p', { class: 'small muted chat-scope', id: 'chat-scope' });
  const input = h('textarea', { name: 'text', rows: 2, maxlength: 4000, id: uid('chat'), 'aria-label': t('room.chat_input') });
  const send = h('button', { type: 'submit', class: 'btn', id: 'chat-send' }, t('room.send'));
  const form = h('form', { class: 'chat-form', novalidate: true }, input, send);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    await act(send, async () => {
      await session.sendChat(text);
      input.value = '';
    });
    input.focus();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      if (form.requestSubmit) form.requestSubmit();
      else send.click(); // iOS 15 Safari has no requestSubmit
    }
  });
  let shown = 0;
  function draw() {
    scopeNote.textContent = session.scope ? t('room.chat_scope_caucus') : t('room.chat_scope_joint');
    const me = session.self?.participant_id;
    listEl.replaceChildren(
      ...session.chat.map((m) =>
        h(
          'li',
          { class: ['chat-msg', m.from === me ? 'mine' : '', m.scope && m.scope !== 'joint' ? 'caucus' : ''] },
          h('div', { class: 'chat-meta' }, h('strong', null, m.name || m.from), ' ', h('span', { class: 'muted' }, label('roomrole', m.role), ' · ', fmtDateTime(new Date(m.at))), m.scope && m.scope !== 'joint' ? h('span', { class: 'badge caucus' }, t('room.caucus_tag')) : null),
          h('div', { class: 'pre' }, m.text),
        ),
      ),
    );
    if (session.chat.length !== shown) {
      shown = session.chat.length;
      listEl.scrollTop = listEl.scrollHeight;
    }
  }
  return { el: h('div', { class: 'chat' }, scopeNote, listEl, form), draw, focus: () => input.focus() };
}

// peoplePanel lists who is in the room; moderators also get the lobby, the participants' controls, the caucus
// controls and the end of the session.
export function peoplePanel(session, { onEnd }) {
  const el = h('div', { class: 'people' });
  const admitForms = new Map(); // participant id → its form (kept across redraws so choices survive)

  function admitForm(p) {
    let f = admitForms.get(p.participant_id);
    if (f) return f;
    const id = uid('m');
    const remembered = lastMethod(session);
    const method = h('select', { name: 'method', id }, h('option', { value: '' }, t('common.choose')), METHODS.map((m) => h('option', { value: m, selected: m === remembered }, label('idmethod', m))));
    if (remembered) method.value = remembered;
    method.addEventListener('change', () => {
      if (method.value) rememberMethod(session, method.value);
    });
    const rid = uid('r');
    const passed = h('input', { type: 'radio', name: `result-${rid}`, value: 'passed', checked: true, id: `${rid}-p` });
    const failed = h('input', { type: 'radio', name: `result-${rid}`, value: 'failed', id: `${rid}-f` });
    const note = h('input', { type: 'text', name: 'note', maxlength: 1000, id: `${id}-n` });
    const err = h('div', { class: 'field-error', hidden: true, role: 'alert' });
    const admit = h('button', { type: 'submit', class: 'btn small', dataset: { admit: p.participant_id } }, t('room.admit'));
    const refuse = h('button', { type: 'button', class: 'btn quiet-danger small', dataset: { refuse: p.participant_id } }, t('room.refuse'));
    const form = h(
      'form',
      { class: 'admit-form', novalidate: true, dataset: { participant: p.participant_id } },
      h('div', { class: 'field' }, h('label', { for: id }, t('room.id_method')), method),
      h('fieldset', { class: 'plain choices' }, h('legend', { class: 'sr-only' }, t('room.id_result')), h('label', { class: 'check', for: `${rid}-p` }, passed, h('span', null, t('room.id_passed'))), h('label', { class: 'check', for: `${rid}-f` }, failed, h('span', null, t('room.id_failed')))),
      h('div', { class: 'field' }, h('label', { for: `${id}-n` }, t('room.id_note')), note),
      err,
      h('div', { class: 'row' }, admit, refuse),
    );
    form.addEventListener('change', () => {
      err.hidden = true;
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.hidden = true;
      if (!method.value) {
        err.textContent = t('room.id_choose');
        err.hidden = false;
        method.focus();
        return;
      }
      if (method.value === 'other' && !note.value.trim()) {
        err.textContent = t('room.id_note_needed');
        err.hidden = false;
        note.focus();
        return;
      }
      const result = failed.checked ? 'failed' : 'passed';
      admit.disabled = true;
      try {
        rememberMethod(session, method.value);
        await session.admit(p.participant_id, { method: method.value, result, note: note.value.trim() || undefined });
        toast(t('room.admitted', { name: p.name }));
        admitForms.delete(p.participant_id);
      } catch (e) {
        err.textContent = e.code === 'identity_check' && result === 'failed' ? t('room.id_failed_recorded', { name: p.name }) : failText(e);
        err.hidden = false;
      } finally {
        admit.disabled = false;
      }
    });
    refuse.addEventListener('click', () => act(refuse, () => session.removeParticipant(p.participant_id, 'refused'), t('room.refused', { name: p.name })));
    f = form;
    admitForms.set(p.participant_id, f);
    return f;
  }

  // scopeOf says where someone is now: '' (joint room) or the caucus they are present in.
  const scopeOf = (pid) => (session.caucuses.find((c) => (c.present || []).includes(pid)) || {}).caucus_id || '';

  function personItem(p, mod) {
    const me = p.participant_id === session.self?.participant_id;
    const sc = scopeOf(p.participant_id);
    const tracks = [...session.tracks.values()].filter((tr) => tr.participant_id === p.participant_id);
    const audioMuted = tracks.some((tr) => tr.kind === 'audio' && tr.muted);
    const videoMuted = tracks.some((tr) => tr.kind === 'video' && tr.muted);
    const controls = [];
    if (mod && !me && p.role !== 'mediator') {
      const ma = h('button', { type: 'button', class: 'btn secondary small', dataset: { mute: p.participant_id } }, audioMuted ? t('room.unmute_them') : t('room.mute_them'));
      ma.addEventListener('click', () => act(ma, () => session.muteParticipant(p.participant_id, 'audio', !audioMuted)));
      const mv = h('button', { type: 'button', class: 'btn secondary small' }, videoMuted ? t('room.video_on_them') : t('room.video_off_them'));
      mv.addEventListener('click', () => act(mv, () => session.muteParticipant(p.participant_id, 'video', !videoMuted)));
      controls.push(ma, mv);
      if (p.role !== 'judge') {
        const rm = h('button', { type: 'button', class: 'btn quiet-danger small', dataset: { remove: p.participant_id } }, t('room.remove'));
        rm.addEventListener('click', () => act(rm, () => session.removeParticipant(p.participant_id, 'removed'), t('room.removed_them', { name: p.name })));
        controls.push(rm);
      }
    }
    return h(
      'li',
      { class: 'person', dataset: { participant: p.participant_id } },
      h('div', { class: 'person-line' }, h('strong', null, me ? t('room.you', { name: p.name }) : p.name), h('span', { class: 'badge' }, label('roomrole', p.role)), p.side ? h('span', { class: 'badge side' }, label('side', p.side)) : null, sc ? h('span', { class: 'badge caucus' }, t('room.in_caucus')) : null, audioMuted ? h('span', { class: 'badge mute' }, t('room.mic_off')) : null),
      controls.length ? h('div', { class: 'row' }, controls) : null,
    );
  }

  function caucusSection() {
    const people = [...session.participants.values()];
    const out = [h('h3', null, t('room.caucus'))];
    out.push(h('p', { class: 'small muted' }, t('room.caucus_explain')));
    const inCaucus = new Set(session.caucuses.flatMap((c) => c.members || []));
    for (const side of ['applicant', 'respondent']) {
      const members = people.filter((p) => p.side === side && (p.role === 'party' || p.role === 'agent') && !inCaucus.has(p.participant_id));
      if (!members.length) continue;
      const btn = h('button', { type: 'button', class: 'btn secondary small', dataset: { caucusOpen: side } }, t('room.caucus_open', { side: label('side', side) }));
      btn.addEventListener('click', () => act(btn, () => session.openCaucus(members.map((p) => p.participant_id)), t('room.caucus_opened', { names: list(members.map((p) => p.name)) })));
      out.push(h('div', { class: 'row' }, btn));
    }
    for (const c of session.caucuses) {
      const names = list((c.members || []).map((id) => session.participant(id)?.name || id));
      const here = session.scope === c.caucus_id;
      const move = h('button', { type: 'button', class: 'btn secondary small', dataset: { caucusMove: here ? '' : c.caucus_id } }, here ? t('room.back_to_joint') : t('room.join_caucus'));
      move.addEventListener('click', () => act(move, () => session.moveTo(here ? '' : c.caucus_id)));
      const close = h('button', { type: 'button', class: 'btn quiet-danger small', dataset: { caucusClose: c.caucus_id } }, t('room.caucus_close'));
      close.addEventListener('click', () => act(close, () => session.closeCaucus(c.caucus_id), t('room.caucus_closed')));
      out.push(h('div', { class: 'caucus-item', dataset: { caucus: c.caucus_id } }, h('p', null, h('strong', null, t('room.caucus_with', { names }))), h('p', { class: 'small muted' }, here ? t('room.you_are_in_caucus') : t('room.you_are_in_joint')), h('div', { class: 'row' }, move, close)));
    }
    return out;
  }

  // The end of the session asks again before it acts; the box survives redraws.
  const endBox = h('div', { class: 'end-box' });
  const endAsk = h('button', { type: 'button', class: 'btn danger small', id: 'end-session' }, t('room.end_session'));
  endAsk.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'btn danger small', id: 'end-confirm' }, t('room.end_yes'));
    const no = h('button', { type: 'button', class: 'btn secondary small' }, t('common.cancel'));
    yes.addEventListener('click', () => act(yes, onEnd));
    no.addEventListener('click', () => endBox.replaceChildren(endAsk));
    endBox.replaceChildren(h('p', { role: 'alert' }, t('room.end_ask')), h('div', { class: 'row' }, yes, no));
    yes.focus();
  });
  endBox.replaceChildren(endAsk);
  const endSection = () => [h('h3', null, t('room.end_title')), endBox];

  // The live preview of each waiting person (docs/signaling.md §6.2): their camera reaches moderators only.
  const lobbyVideos = new Map(); // participant id → <video>
  function lobbyPreview(p) {
    let v = lobbyVideos.get(p.participant_id);
    if (!v) {
      v = h('video', { playsInline: true, playsinline: true, autoplay: true, muted: true, class: 'lobby-video', dataset: { lobbyVideo: p.participant_id }, 'aria-label': t('room.lobby_video', { name: p.name }) });
      v.muted = true;
      lobbyVideos.set(p.participant_id, v);
    }
    const track = session.remote.get(p.participant_id)?.video || null;
    const cur = v.srcObject && v.srcObject.getVideoTracks()[0];
    if (track !== cur) v.srcObject = track ? new MediaStream([track]) : null;
    if (track && v.paused) v.play().catch(() => {}); // a redraw moves the element, which may pause it
    return h('div', { class: 'lobby-preview' }, track ? v : h('p', { class: 'small muted' }, t(p.mode === 'voice' || p.mode === 'text' ? `room.${p.mode}_only` : 'room.lobby_no_video')), track ? h('p', { class: 'small' }, t('room.lobby_id_prompt')) : null);
  }

  function draw() {
    const mod = !!session.self?.can_moderate;
    const people = [...session.participants.values()].sort((a, b) => (a.role === b.role ? 0 : a.role === 'mediator' ? -1 : b.role === 'mediator' ? 1 : 0));
    const parts = [];
    if (mod) {
      for (const id of [...admitForms.keys()]) if (!session.lobby.some((p) => p.participant_id === id)) admitForms.delete(id);
      for (const [id, v] of [...lobbyVideos]) {
        if (!session.lobby.some((p) => p.participant_id === id)) {
          v.srcObject = null;
          lobbyVideos.delete(id);
        }
      }
      parts.push(
        h('section', { class: 'lobby-box', id: 'lobby-list', 'aria-labelledby': 'lobby-h' }, h('h3', { id: 'lobby-h' }, t('room.lobby_title', { n: session.lobby.length })),
          session.lobby.length
            ? h('ul', { class: 'plain-list' }, session.lobby.map((p) => h('li', { class: 'waiting', dataset: { participant: p.participant_id } }, h('p', null, h('strong', null, p.name), ' ', h('span', { class: 'badge' }, label('roomrole', p.role)), p.side ? h('span', { class: 'badge side' }, label('side', p.side)) : null), lobbyPreview(p), admitForm(p))))
            : h('p', { class: 'small muted' }, t('room.lobby_empty'))),
      );
    }
    parts.push(h('h3', null, t('room.people_title', { n: people.length })), h('ul', { class: 'plain-list', id: 'people-list' }, people.map((p) => personItem(p, mod))));
    if (mod) parts.push(...caucusSection(), ...endSection());
    // Keep the focus where it was when the list redraws under the mediator's hands.
    const active = document.activeElement && el.contains(document.activeElement) ? document.activeElement : null;
    el.replaceChildren(...parts);
    if (active && active.isConnected) active.focus();
  }
  return { el, draw };
}
