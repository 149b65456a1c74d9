// The recordings of a session (issue 14): each recorded track plays in the browser from the server, which checks
// on every request who may watch (the case's mediators, the court's judges, the parties if the organisation
// allows) and puts each viewing into the case's trail. Beside them, the session's events and the chat the caller
// may read, at their time from the start of the recording; choosing one seeks every player there.

import { h, mount } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { get, enc } from '../api.js';
import { alertBox, loadingBox, setTitle } from '../ui.js';

// clock shows a time from the start of the recording as h:mm:ss.
function clock(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const two = (n) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

export default async function recordings(main, { params, me }) {
  const id = params.id;
  mount(main, loadingBox());
  let info;
  let list;
  try {
    [info, list] = await Promise.all([get(`/sessions/${enc(id)}`), get(`/sessions/${enc(id)}/recordings`)]);
  } catch (e) {
    mount(main, h('h1', null, t('recordings.title')), alertBox(e));
    return;
  }
  setTitle(t('recordings.title'));
  const party = me && (me.kind === 'party' || me.kind === 'agent');
  const back = h('p', null, h('a', { href: party ? '/party' : `/cases/${enc(info.case_id)}`, id: 'recordings-back' }, t('recordings.back')));
  if (!list.may_view) {
    mount(main, h('h1', null, t('recordings.title')), h('p', { class: 'alert info', id: 'recordings-none' }, list.recorded ? t('recordings.not_allowed') : t('recordings.not_recorded')), back);
    return;
  }
  // The composed view first (when there is one), then the per-track originals.
  const recs = (list.recordings || []).slice().sort((a, b) => (a.kind === 'composed' ? 0 : 1) - (b.kind === 'composed' ? 0 : 1));
  const start = recs.length ? Math.min(...recs.map((r) => Date.parse(r.started_at) - r.offset_ms)) : 0;
  // Each track under its participant's name, from the session's attendance.
  const names = new Map((info.attendance || []).map((a) => [a.participant_id, a.name]));
  const players = [];
  const items = recs.map((r) => {
    const player = h(r.kind === 'audio' ? 'audio' : 'video', { controls: true, preload: 'metadata', src: `/api/v1/recordings/${enc(r.id)}/media`, class: 'rec-player', dataset: { recording: r.id, offset: String(r.offset_ms) } });
    if (r.kind !== 'audio') player.playsInline = true;
    players.push(player);
    return h(
      'li',
      { class: 'caseitem rec-item', dataset: { recording: r.id } },
      h(
        'div',
        { class: 'top-line' },
        h('strong', null, t(`recordings.kind_${r.kind}`, { who: names.get(r.participant_id) || r.participant_id })),
        // A caucus's own recording (every member consented): as confidential as the caucus.
        r.caucus_id ? h('span', { class: 'badge caucus', title: t('recordings.caucus_title') }, t('recordings.caucus')) : null,
        h('span', { class: 'chip' }, clock(r.duration_ms)),
      ),
      player,
      h('div', { class: 'meta small' }, h('span', null, t('recordings.from', { at: fmtDateTime(r.started_at) })), h('span', { class: 'hash' }, t('recordings.sha256', { hash: r.sha256 }))),
    );
  });
  // seek puts every player at the same moment of the session (each track starts at its own offset).
  function seek(ms) {
    for (const p of players) {
      const at = (ms - Number(p.dataset.offset)) / 1000;
      if (at >= 0) p.currentTime = at;
    }
  }
  const events = [];
  for (const a of info.attendance || []) {
    events.push({ at: a.joined_at, text: t(a.role === 'judge' ? 'recordings.ev_judge_joined' : 'recordings.ev_joined', { who: a.name }) });
    if (a.left_at) events.push({ at: a.left_at, text: t('recordings.ev_left', { who: a.name }) });
  }
  for (const k of info.caucuses || []) {
    events.push({ at: k.opened_at, text: t('recordings.ev_caucus_open') });
    if (k.closed_at) events.push({ at: k.closed_at, text: t('recordings.ev_caucus_close') });
  }
  for (const m of info.messages || []) events.push({ at: m.at, text: t('recordings.ev_chat', { who: m.sender_name, text: m.body }) });
  events.sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
  const timeline = events.map((ev) => {
    const ms = Date.parse(ev.at) - start;
    return h('li', null, h('button', { type: 'button', class: 'btn ghost small', disabled: !recs.length || ms < 0, onclick: () => seek(ms) }, ms >= 0 ? clock(ms) : '–'), ' ', h('span', null, ev.text));
  });
  mount(
    main,
    h('h1', null, t('recordings.title')),
    h('p', { class: 'muted small' }, t('recordings.intro')),
    recs.length ? h('ul', { class: 'caselist', id: 'recordings' }, items) : h('p', { class: 'muted', id: 'recordings-empty' }, t('recordings.empty')),
    h('h2', null, t('recordings.timeline')),
    h('ol', { class: 'rec-timeline', id: 'recordings-timeline' }, timeline),
    back,
  );
}
