// The video room, portrait phone first: a pre-join screen (camera preview, join), the lobby ("waiting for the
// mediator"), then the room: speaker view or grid, microphone/camera/flip switches, connection quality, a
// "reconnecting…" banner that clears by itself, chat, the judge's badge, the caucus indicators, and the
// mediator's controls (lobby with the identity check, mute, remove, caucus, end). The protocol lives in
// room/session.js; this file only draws it.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime, getLang, setLang } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { alertBox, loadingBox, toast, setTitle } from '../ui.js';
import { RoomSession, FINAL } from '../room/session.js';
import { LocalMedia, mediaErrorKey, dataSaver, setDataSaver } from '../room/media.js';
import { Tiles } from '../room/tiles.js';
import { chatPanel, peoplePanel, failText } from '../room/panels.js';
import { icon } from '../room/icons.js';
import { signCard } from '../room/signcard.js';
import { wechatGuide } from '../parts/wechat.js';

const isParty = (me) => me.kind === 'party' || me.kind === 'agent';

// debugHook exposes the session to the browser tests when this browser asked for it (localStorage
// parley.debug = 1); it changes nothing else.
function debugHook(value) {
  try {
    if (localStorage.getItem('parley.debug') === '1') window.__parley = value;
  } catch {
    // no storage: no hook
  }
}

export default async function room(main, { params, query, me }) {
  const sessionId = params.id;
  document.body.classList.add('room-mode');
  mount(main, loadingBox());
  let info;
  try {
    info = await get(`/sessions/${enc(sessionId)}`);
  } catch (e) {
    mount(main, h('h1', null, t('room.title')), alertBox(e), backLink());
    return () => document.body.classList.remove('room-mode');
  }
  setTitle(info.title || t('room.title'));
  // Whether the session is recorded: told before joining, and shown in the room the whole time (issue 14).
  let recorded = false;
  try {
    recorded = !!(await get(`/sessions/${enc(sessionId)}/recordings`)).recorded;
  } catch {
    // an older server: no recording
  }

  function backLink() {
    const href = isParty(me) ? '/party' : info ? `/cases/${info.case_id}` : '/';
    return h('div', { class: 'actions-row' }, h('a', { class: 'btn secondary', href, id: 'room-back' }, isParty(me) ? t('room.back_party') : t('room.back_case')));
  }

  let local = new LocalMedia();
  let mode = query.get('mode') === 'voice' || query.get('mode') === 'text' ? query.get('mode') : 'video';
  let session = null;
  let tiles = null;
  let layout = 'speaker';
  let panel = ''; // '', 'chat' or 'people'
  let focusId = '';
  let unread = 0;
  let seenChat = 0;
  let wakeLock = null;
  let pollTimer = 0;
  let offSession = null;
  let destroyed = false;

  // The pre-join screen: who this is, a preview, the switches, and the join button.
  const preview = h('video', { playsInline: true, playsinline: true, autoplay: true, muted: true, class: 'mirror', id: 'prejoin-preview', 'aria-label': t('room.preview') });
  preview.muted = true;

  async function prejoin() {
    if (!local.tracks().length || local.tracks().some((tr) => tr.readyState === 'ended')) local = new LocalMedia();
    if (info.status !== 'live') {
      mount(
        main,
        h('div', { class: 'narrow card room-card' }, h('h1', null, info.title || t('room.title')), h('p', null, info.status === 'ended' ? t('room.not_live_ended') : t('room.not_live_scheduled')), info.scheduled_at ? h('p', { class: 'muted' }, t('session.at', { at: fmtDateTime(info.scheduled_at) })) : null, info.status === 'scheduled' ? h('p', { class: 'small muted', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('room.waiting_start')) : null, backLink()),
      );
      if (info.status === 'scheduled') {
        pollTimer = setTimeout(async () => {
          try {
            info = await get(`/sessions/${enc(sessionId)}`);
          } catch {
            // keep waiting
          }
          if (!destroyed) prejoin();
        }, 5000);
      }
      return;
    }
    const guide = wechatGuide();
    if (guide) {
      mount(main, h('div', { class: 'narrow card room-card' }, h('h1', null, info.title || t('room.title')), guide, backLink()));
      return;
    }
    const status = h('div', { 'aria-live': 'polite', id: 'prejoin-status' }, h('p', { class: 'small muted' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('room.opening_devices')));
    const joinBtn = h('button', { type: 'button', class: 'btn block', id: 'join-room', disabled: true }, t('room.join'));
    const saver = h('input', { type: 'checkbox', id: 'data-saver', checked: dataSaver() });
    saver.addEventListener('change', () => setDataSaver(saver.checked));
    // How to take part (OMR Art. 18): video, voice only (no camera) or text only.
    const modeBox = h('fieldset', { class: 'plain choices', id: 'join-mode' }, h('legend', null, t('room.mode_label')),
      ['video', 'voice', 'text'].map((m) => h('label', { class: 'check', for: `mode-${m}` }, h('input', { type: 'radio', name: 'join-mode', value: m, id: `mode-${m}`, checked: m === mode, onchange: () => { mode = m; } }), h('span', null, t(`room.mode_${m}`)))));
    mount(
      main,
      h(
        'div',
        { class: 'narrow room-card card' },
        h('p', { class: 'muted small' }, t('room.kicker')),
        h('h1', null, info.title || t('room.title')),
        recorded ? h('p', { class: 'alert warn', id: 'recording-notice', role: 'note' }, t('room.recording_notice')) : null,
        h('div', { class: 'preview' }, preview),
        status,
        h('label', { class: 'check', for: 'data-saver' }, saver, h('span', null, t('room.data_saver'))),
        me.kind === 'account' && me.role === 'clerk' ? null : modeBox,
        h('p', { class: 'small muted' }, isParty(me) ? t('room.prejoin_party') : me.role === 'judge' ? t('room.prejoin_judge') : t('room.prejoin_staff')),
        joinBtn,
        h('p', { class: 'small' }, h('a', { href: `/device?session=${encodeURIComponent(sessionId)}` }, t('room.device_check'))),
      ),
    );
    // A court clerk watches (no publishing): no camera or microphone to open.
    if (!(me.kind === 'account' && me.role === 'clerk')) await local.open();
    if (destroyed) return;
    preview.srcObject = local.video ? local.stream : null;
    if (local.video) preview.play().catch(() => {});
    if (me.kind === 'account' && me.role === 'clerk') {
      status.replaceChildren(h('p', { class: 'small muted' }, t('room.watch_only')));
    } else if (local.error) {
      const key = mediaErrorKey(local.error);
      status.replaceChildren(
        h('div', { class: 'alert warn', role: 'alert' }, h('p', null, h('strong', null, t(`device.err_${key}`))), h('p', null, t(`device.fix_${key}`)), h('p', null, local.tracks().length ? t('room.join_partial') : t('room.join_text_only'))),
      );
    } else {
      status.replaceChildren(h('p', { class: 'small ok-text' }, t('room.devices_ready')));
    }
    joinBtn.disabled = false;
    joinBtn.addEventListener('click', () => start());
    if (query.get('join') === '1') start();
  }

  async function start() {
    if (session) return;
    // Voice only: the camera is closed, not just switched off; text only: nothing is published.
    if (mode !== 'video' && local.video) {
      local.stream.removeTrack(local.video);
      local.video.stop();
      local.video = null;
    }
    if (mode === 'text') {
      local.stop();
      local = new LocalMedia();
    }
    if (mode === 'video' && !local.video) mode = local.audio ? 'voice' : 'text';
    if (mode === 'voice' && !local.audio) mode = 'text';
    preview.srcObject = local.video ? local.stream : null;
    session = new RoomSession({ getJoin: () => post(`/sessions/${enc(sessionId)}/join`), local: local.tracks().length ? local : null, mode });
    debugHook({ session, local });
    tiles = new Tiles(session, {
      onFrame: () => session.noteFrame(),
      onAudioBlocked: (blocked) => {
        audioBlocked = blocked;
        drawBanners();
      },
    });
    offSession = session.on(onChange);
    drawScreen();
    session.start();
    try {
      if (navigator.wakeLock) wakeLock = await navigator.wakeLock.request('screen');
    } catch {
      // the screen may dim; nothing else depends on it
    }
  }

  // Room elements, built once and updated in place.
  let audioBlocked = false;
  let signing = null; // the agreement's card in the room (room/signcard.js)
  const title = h('h1', { class: 'room-title' }, info.title || t('room.title'));
  const barChips = h('div', { class: 'room-chips' });
  const banners = h('div', { class: 'banners', 'aria-live': 'polite' });
  const stage = h('div', { class: 'stage', id: 'stage', dataset: { layout } });
  const strip = h('div', { class: 'strip' });
  const focusBox = h('div', { class: 'focus' });
  const controls = h('div', { class: 'room-controls', role: 'toolbar', 'aria-label': t('room.controls') });
  const panelBox = h('aside', { class: 'room-panel', id: 'room-panel', hidden: true });
  let chat = null;
  let people = null;

  function ctrl(id, iconEl, text, onclick, extra = {}) {
    return h('button', { type: 'button', class: ['ctrl', extra.class], id, onclick, 'aria-pressed': extra.pressed === undefined ? null : String(extra.pressed), 'aria-expanded': extra.expanded === undefined ? null : String(extra.expanded) }, iconEl, h('span', { class: 'ctrl-label' }, text), extra.count ? h('span', { class: 'count', 'aria-label': t('room.new_count', { n: extra.count }) }, String(extra.count)) : null);
  }

  function drawControls() {
    const micOn = local.enabled('audio');
    const camOn = local.enabled('video');
    const mod = session.self?.can_moderate;
    mount(
      controls,
      local.audio ? ctrl('toggle-mic', icon('mic', !micOn), micOn ? t('room.mic_on') : t('room.mic_off'), () => toggle('audio'), { pressed: !micOn, class: micOn ? '' : 'off' }) : null,
      local.video ? ctrl('toggle-cam', icon('cam', !camOn), camOn ? t('room.cam_on') : t('room.cam_off'), () => toggle('video'), { pressed: !camOn, class: camOn ? '' : 'off' }) : null,
      local.video && (local.cameras > 1 || /Android|iPhone|iPad/.test(navigator.userAgent)) ? ctrl('flip-cam', icon('flip'), t('room.flip'), flip) : null,
      ctrl('toggle-layout', icon(layout === 'speaker' ? 'grid' : 'speaker'), layout === 'speaker' ? t('room.grid') : t('room.speaker_view'), () => {
        layout = layout === 'speaker' ? 'grid' : 'speaker';
        drawStage();
        drawControls();
      }),
      ctrl('open-chat', icon('chat'), t('room.chat'), () => openPanel('chat'), { expanded: panel === 'chat', count: panel === 'chat' ? 0 : unread }),
      ctrl('open-people', icon('people'), mod ? t('room.manage') : t('room.people'), () => openPanel('people'), { expanded: panel === 'people', count: mod ? session.lobby.length : 0 }),
      ctrl('leave-room', icon('leave'), t('room.leave'), leave, { class: 'leave' }),
    );
  }

  async function toggle(kind) {
    try {
      await session.setEnabled(kind, !local.enabled(kind));
    } catch (e) {
      toast(failText(e), 'error');
    }
    drawControls();
    drawStage();
  }

  async function flip() {
    const btn = document.getElementById('flip-cam');
    if (btn) btn.disabled = true;
    try {
      await session.flipCamera();
    } catch (e) {
      toast(t(`device.err_${mediaErrorKey(e)}`), 'error');
    } finally {
      if (btn) btn.disabled = false;
    }
    drawStage();
  }

  function openPanel(which) {
    panel = panel === which ? '' : which;
    if (panel === 'chat') {
      unread = 0;
      seenChat = session.chat.length;
    }
    drawPanel();
    drawControls();
    drawBanners();
    if (panel === 'chat') chat.focus();
  }

  function drawPanel() {
    panelBox.hidden = !panel;
    if (!panel) return;
    if (!chat) chat = chatPanel(session);
    if (!people) people = peoplePanel(session, { onEnd: () => session.endSession() });
    const body = panel === 'chat' ? chat : people;
    body.draw();
    const close = h('button', { type: 'button', class: 'btn ghost small', id: 'close-panel', onclick: () => openPanel(panel) }, t('room.close_panel'));
    panelBox.replaceChildren(h('div', { class: 'panel-head' }, h('h2', null, panel === 'chat' ? t('room.chat') : session.self?.can_moderate ? t('room.manage') : t('room.people')), close), body.el);
  }

  // The chips beside the title: judge present, our scope, our connection, how many are here.
  function drawBar() {
    const selfQ = session.self ? session.quality.get(session.self.participant_id) : null;
    const pc = session.status === 'reconnecting' ? 'lost' : selfQ ? selfQ.quality : '';
    mount(
      barChips,
      recorded ? h('span', { class: 'chip rec-chip', id: 'recording-indicator', title: t('room.recording_title') }, h('span', { class: 'rec-dot', 'aria-hidden': 'true' }), t('room.recording')) : null,
      session.judgePresent ? h('span', { class: 'chip judge-badge', id: 'judge-badge' }, t('room.judge_present')) : null,
      session.scope ? h('span', { class: 'chip caucus-chip' }, t('room.private_chip')) : null,
      pc ? h('span', { class: ['chip', 'quality', `q-${pc}`], id: 'quality', title: selfQ && selfQ.rtt_ms ? t('room.rtt', { ms: Math.round(selfQ.rtt_ms) }) : null }, h('span', { class: 'bars', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), label('quality', pc)) : null,
      h('span', { class: 'chip' }, t('room.here', { n: session.participants.size })),
      // On a phone the site header (with its language button) gives the call the whole screen: the bar has one.
      h('button', { type: 'button', class: 'lang-btn room-lang', id: 'room-lang', lang: getLang() === 'zh-CN' ? 'en' : 'zh-CN', 'aria-label': t('nav.switch_lang'), onclick: () => setLang(getLang() === 'zh-CN' ? 'en' : 'zh-CN').catch(() => toast(t('err.network'), 'error')) }, t('nav.other_lang')),
    );
  }

  // caucusRecording: in a recorded session, a caucus is recorded (apart, for its members and mediators only)
  // only once everyone in it consented here; until then each is asked, and told who has.
  function caucusRecording() {
    const c = session.caucuses.find((x) => x.caucus_id === session.scope);
    if (!c) return null;
    if (c.recording) return h('span', { class: 'caucus-rec', id: 'caucus-recording' }, ' ', t('room.caucus_recording_on'));
    if ((c.record_consents || []).includes(session.myId)) return h('span', { class: 'caucus-rec', id: 'caucus-recording' }, ' ', t('room.caucus_recording_waiting'));
    return h(
      'span',
      { class: 'caucus-rec', id: 'caucus-recording' },
      ' ',
      t('room.caucus_recording_ask'),
      ' ',
      h('button', {
        type: 'button',
        class: 'btn small',
        id: 'caucus-record-consent',
        onclick: () =>
          session.consentCaucusRecording(c.caucus_id).catch((e) => toast(failText(e), 'error')),
      }, t('room.caucus_recording_consent')),
    );
  }

  function drawBanners() {
    const list = [];
    if (session.status === 'reconnecting') list.push(h('div', { class: 'banner warn', id: 'reconnecting', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('room.reconnecting')));
    // A party left in the joint room waits for the other side's caucus; anyone else (a judge, a clerk) is told
    // what happens without taking a side.
    if (session.privateSession) list.push(h('div', { class: 'banner caucus-away', id: 'caucus-away', role: 'status' }, isParty(me) ? t('room.caucus_away') : t('room.caucus_away_neutral')));
    if (session.scope) list.push(h('div', { class: 'banner caucus-in', id: 'caucus-in', role: 'status' }, t('room.caucus_in'), recorded ? caucusRecording() : null));
    if (session.moderatedBy && !local.enabled('audio')) list.push(h('div', { class: 'banner info', id: 'moderated' }, t('room.moderated_mute')));
    if (audioBlocked) {
      list.push(h('div', { class: 'banner info' }, h('button', { type: 'button', class: 'btn small', id: 'tap-to-hear', onclick: () => tiles.unblockAudio() }, icon('sound'), t('room.tap_to_hear'))));
    }
    if (session.self?.can_moderate && session.lobby.length && panel !== 'people') {
      list.push(h('div', { class: 'banner lobby', id: 'lobby-banner' }, h('span', null, t('room.lobby_waiting', { names: session.lobby.map((p) => p.name).join(t('common.list_sep')) })), h('button', { type: 'button', class: 'btn small', onclick: () => openPanel('people') }, t('room.lobby_handle'))));
    }
    banners.replaceChildren(...list);
  }

  // scopeOf says where someone is now: '' (joint room) or the caucus they are present in.
  const scopeOf = (pid) => (session.caucuses.find((c) => (c.present || []).includes(pid)) || {}).caucus_id || '';

  function trackMuted(id) {
    const tr = id && session.tracks.get(id);
    return !!(tr && tr.muted);
  }

  function drawStage() {
    if (!session.self) return;
    const selfId = session.self.participant_id;
    const mine = session.scope;
    const others = [...session.participants.values()].filter((p) => p.participant_id !== selfId);
    const keep = new Set(['self', ...others.map((p) => p.participant_id)]);
    for (const id of [...tiles.tiles.keys()]) if (!keep.has(id)) tiles.drop(id);

    const selfTile = tiles.get('self');
    const camOn = local.enabled('video');
    tiles.setVideo(selfTile, camOn ? local.video : null, local.facing === 'user');
    const selfNote = local.video ? (camOn ? '' : t('room.cam_off')) : session.mode === 'voice' ? t('room.voice_only') : session.mode === 'text' ? t('room.text_only') : t('room.no_camera');
    tiles.update(selfTile, { person: session.participant(selfId) || { name: me.name, role: session.self.role }, isSelf: true, videoOn: camOn && !!local.video, note: selfNote, quality: session.quality.get(selfId)?.quality, micOff: !local.enabled('audio') });

    for (const p of others) {
      const id = p.participant_id;
      const tile = tiles.get(id);
      const r = session.remote.get(id) || {};
      const away = scopeOf(id) !== mine;
      const vMuted = trackMuted(r.videoId);
      const vPaused = !!r.videoId && session.paused.has(r.videoId);
      tiles.setVideoId(tile, r.videoId || '');
      tiles.setVideo(tile, r.video || null, false);
      tiles.setAudio(tile, r.audio || null);
      let note = '';
      const hasVideo = [...session.tracks.values()].some((tr) => tr.participant_id === id && tr.kind === 'video');
      if (away) note = t('room.away_in_caucus');
      else if (!hasVideo && p.mode === 'voice') note = t('room.voice_only');
      else if (!hasVideo && p.mode === 'text') note = t('room.text_only');
      else if (!r.video) note = hasVideo ? t('room.connecting_video') : t('room.no_video');
      else if (vMuted) note = t('room.cam_off');
      else if (vPaused) note = t('room.video_paused');
      tile.el.classList.toggle('paused', vPaused && !away && !vMuted);
      tiles.update(tile, { person: p, videoOn: !!r.video && !away && !vMuted && !vPaused, note, speaking: session.speaker === id, quality: session.quality.get(id)?.quality, micOff: trackMuted(r.audioId), judge: p.role === 'judge' });
      tile.el.classList.toggle('away', away);
    }

    // The speaker view shows the active speaker large (staying on the last one through silence), preferring
    // someone we can see and hear now over someone in another caucus.
    if (session.speaker && session.speaker !== selfId && session.participants.has(session.speaker)) focusId = session.speaker;
    const visible = others.filter((p) => scopeOf(p.participant_id) === mine);
    if (!session.participants.has(focusId) || focusId === selfId || (visible.length && scopeOf(focusId) !== mine)) focusId = ((visible[0] || others[0]) || {}).participant_id || '';
    stage.dataset.layout = layout;
    stage.dataset.count = String(others.length + 1);
    if (layout === 'speaker') {
      const big = focusId ? tiles.get(focusId) : selfTile;
      const small = [selfTile, ...others.filter((p) => p.participant_id !== focusId).map((p) => tiles.get(p.participant_id))].filter((x) => x !== big);
      big.el.classList.add('big');
      for (const x of small) x.el.classList.remove('big');
      if (focusBox.firstChild !== big.el || focusBox.childNodes.length !== 1) focusBox.replaceChildren(big.el);
      syncChildren(strip, small.map((x) => x.el));
      if (stage.firstChild !== focusBox || stage.childNodes.length !== 2) stage.replaceChildren(focusBox, strip);
    } else {
      const all = [...others.map((p) => tiles.get(p.participant_id)), selfTile];
      for (const x of all) x.el.classList.remove('big');
      syncChildren(stage, all.map((x) => x.el));
    }
  }

  // syncChildren puts nodes into parent in order, moving only what must move (moving a playing <video> can
  // pause it in some browsers).
  function syncChildren(parent, nodes) {
    nodes.forEach((n, i) => {
      if (parent.childNodes[i] !== n) parent.insertBefore(n, parent.childNodes[i] || null);
    });
    while (parent.childNodes.length > nodes.length) parent.lastChild.remove();
    for (const n of nodes) {
      const v = n.querySelector('video');
      if (v && v.srcObject && v.paused) v.play().catch(() => {});
    }
  }

  // drawScreen chooses the screen for the session's status.
  function drawScreen() {
    const st = session.status;
    if (st === 'idle' || st === 'connecting') {
      mount(main, h('div', { class: 'narrow card room-card', role: 'status' }, h('h1', null, info.title || t('room.title')), h('p', null, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('room.connecting'))));
      return;
    }
    if (st === 'lobby') {
      preview.srcObject = local.video ? local.stream : null;
      const leaveBtn = h('button', { type: 'button', class: 'btn secondary', id: 'leave-lobby', onclick: leave }, t('room.leave_lobby'));
      mount(main, h('div', { class: 'narrow card room-card', id: 'lobby' }, h('h1', null, t('room.lobby_heading')), h('p', { class: 'lobby-wait', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('room.lobby_text')), local.video ? h('div', { class: 'preview' }, preview) : null, session.preview ? h('p', { class: 'alert info', id: 'lobby-preview-note' }, t(local.video ? 'room.lobby_preview' : 'room.lobby_preview_voice')) : null, h('p', { class: 'small muted' }, t('room.lobby_help')), h('div', { class: 'actions-row' }, leaveBtn)));
      if (local.video) preview.play().catch(() => {});
      return;
    }
    if (FINAL.has(st)) {
      endScreen(st);
      return;
    }
    // joined or reconnecting: the room.
    if (!main.querySelector('.room')) {
      if (!signing && info.case_id) signing = signCard({ caseId: info.case_id, me });
      mount(main, h('div', { class: 'room' }, h('div', { class: 'room-bar' }, title, barChips), banners, signing ? signing.el : null, h('div', { class: 'room-body' }, stage, panelBox), controls));
    }
    drawAll();
  }

  // drawAll redraws the room; the people panel only when what it lists changed (it holds forms).
  function drawAll(what) {
    drawBar();
    drawBanners();
    drawStage();
    drawControls();
    if (panel === 'chat' || (panel === 'people' && (!['quality', 'speaker', 'remote', 'local'].includes(what) || (what === 'remote' && session.lobby.length)))) drawPanel();
  }

  function endScreen(st) {
    tiles.clear();
    local.stop();
    releaseWake();
    const rejoin = h('button', { type: 'button', class: 'btn', id: 'rejoin' }, t('room.rejoin'));
    rejoin.addEventListener('click', () => {
      cleanupSession();
      info.status = 'live';
      prejoin();
    });
    let heading;
    let text;
    let offerRejoin = true;
    if (st === 'ended') {
      heading = t('room.ended');
      text = session.endReason === 'shutdown' ? t('room.ended_shutdown') : session.endReason === 'closed' ? t('room.ended_closed') : t('room.ended_text');
      offerRejoin = session.endReason === 'shutdown';
    } else if (st === 'removed') {
      heading = t('room.removed');
      text = session.endReason === 'refused' ? t('room.refused_text') : t('room.removed_text');
      offerRejoin = false;
    } else if (st === 'replaced') {
      heading = t('room.replaced');
      text = t('room.replaced_text');
    } else if (st === 'left') {
      heading = t('room.left');
      text = t('room.left_text');
    } else {
      heading = t('room.failed');
      const e = session.error || {};
      const code = e.code === 'token_expired' || e.code === 'bad_token' || e.code === 'forbidden' || e.code === 'network' || e.code === 'timeout' ? e.code : e.status === 403 ? 'forbidden' : 'other';
      text = t(`roomfail.${code}`);
    }
    mount(main, h('div', { class: 'narrow card room-card', id: 'room-end', dataset: { status: st } }, h('h1', null, heading), h('p', { role: 'alert' }, text), h('div', { class: 'actions-row' }, offerRejoin ? rejoin : null, backLink().firstChild)));
  }

  function onChange(what) {
    if (destroyed) return;
    if (what === 'status') {
      drawScreen();
      return;
    }
    if (what === 'case_changed') {
      if (signing) signing.changed(); // the agreement's card looks again at once
      return;
    }
    if (!main.querySelector('.room')) return;
    switch (what) {
      case 'chat':
        if (panel === 'chat') seenChat = session.chat.length;
        else unread = session.chat.length - seenChat;
        if (panel === 'chat') chat.draw();
        drawControls();
        break;
      case 'lobby':
        drawBanners();
        drawControls();
        if (panel === 'people') people.draw();
        break;
      case 'error':
        toast(failText(session.lastError), 'error');
        break;
      case 'local':
        if (session.moderatedBy) toast(t('room.moderated_mute'));
        drawAll(what);
        break;
      case 'connection':
        break;
      default:
        drawAll(what);
    }
  }

  function leave() {
    if (session) session.leave();
  }

  function releaseWake() {
    if (wakeLock) wakeLock.release().catch(() => {});
    wakeLock = null;
  }

  function cleanupSession() {
    if (signing) signing.stop();
    signing = null;
    if (offSession) offSession();
    offSession = null;
    if (session && !FINAL.has(session.status)) session.leave();
    if (tiles) tiles.clear();
    session = null;
    tiles = null;
    chat = null;
    people = null;
    panel = '';
    unread = 0;
    seenChat = 0;
    main.querySelector('.room')?.remove();
  }

  const onPageHide = () => {
    if (session && !FINAL.has(session.status)) session.leave();
  };
  window.addEventListener('pagehide', onPageHide);

  await prejoin();

  const cleanup = () => {
    destroyed = true;
    clearTimeout(pollTimer);
    window.removeEventListener('pagehide', onPageHide);
    cleanupSession();
    local.stop();
    releaseWake();
    document.body.classList.remove('room-mode');
  };
  // relabel redraws in a new language without leaving the call.
  cleanup.relabel = () => {
    setTitle(info.title || t('room.title'));
    controls.setAttribute('aria-label', t('room.controls'));
    preview.setAttribute('aria-label', t('room.preview'));
    if (!session) {
      clearTimeout(pollTimer);
      prejoin();
      return;
    }
    chat = null;
    people = null;
    drawScreen();
  };
  return cleanup;
}
