// Device check before a session: camera and microphone preview (getUserMedia), a speaker test tone (WebAudio)
// and a network check (timed requests to this server). Nothing leaves the device but the timing requests.

import { h, mount } from '../dom.js';
import { t, fmtNumber } from '../i18n.js';
import { busy, section } from '../ui.js';
import { wechatGuide } from '../parts/wechat.js';

const MARKS = { ok: '✓', bad: '✗', warn: '!', todo: '·' };

export default function device(main, { query, me } = {}) {
  // Where the check was opened from: a live session's room (?session=), else the caller's own page.
  const sessionId = query && /^[A-Za-z0-9_-]{1,80}$/.test(query.get('session') || '') ? query.get('session') : '';
  const home = !me ? '/' : me.kind === 'account' ? '/desk' : '/party';
  let stream = null;
  let audioCtx = null;
  let raf = 0;
  let heardLevel = false;
  let facing = 'user';

  const status = { camera: 'todo', mic: 'todo', speaker: 'todo', network: 'todo' };
  const notes = { camera: t('device.camera_todo'), mic: t('device.mic_todo'), speaker: t('device.speaker_todo'), network: t('device.network_todo') };
  const checklist = h('ul', { class: 'checklist', id: 'device-results', 'aria-live': 'polite' });
  function drawChecklist() {
    checklist.replaceChildren(
      ...['camera', 'mic', 'speaker', 'network'].map((k) =>
        h(
          'li',
          { dataset: { check: k, status: status[k] } },
          h('span', { class: ['mark', status[k]], 'aria-hidden': 'true' }, MARKS[status[k]]),
          h('div', null, h('strong', null, t(`device.${k}`)), ' ', h('span', { class: 'sr-only' }, t(`device.status_${status[k]}`)), h('div', { class: 'small' }, notes[k])),
        ),
      ),
    );
  }
  // The way on: once every check has a result, "进入调解室" (when opened for a live session) or back to the
  // caller's page; the check is never a dead end.
  const exit = h('div', { id: 'device-exit', 'aria-live': 'polite' });
  function drawExit() {
    const done = Object.values(status).every((s) => s !== 'todo');
    mount(
      exit,
      done ? h('p', { class: 'alert ok', id: 'device-done' }, Object.values(status).every((s) => s === 'ok') ? t('device.all_ok') : t('device.all_checked')) : null,
      h(
        'div',
        { class: 'actions-row' },
        sessionId ? h('a', { class: ['btn', done ? '' : 'secondary'], href: `/rooms/${encodeURIComponent(sessionId)}`, id: 'device-enter' }, t('device.enter_room')) : null,
        h('a', { class: ['btn', sessionId || !done ? 'secondary' : ''], href: home, id: 'device-back' }, t('device.back')),
      ),
    );
  }
  const set = (k, st, note) => {
    status[k] = st;
    notes[k] = note;
    drawChecklist();
    drawExit();
  };

  // Camera and microphone.
  const video = h('video', { id: 'preview', playsInline: true, muted: true, autoplay: true, 'aria-label': t('device.preview_label') });
  const previewBox = h('div', { class: 'preview' }, h('span', null, t('device.no_preview')));
  const level = h('span');
  const levelBar = h('div', { class: 'level', role: 'meter', 'aria-label': t('device.mic_level'), 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, level);
  const camSelect = h('select', { id: 'cam-select', 'aria-label': t('device.choose_camera') });
  const camRow = h('div', { class: 'row', hidden: true }, h('label', { for: 'cam-select', class: 'sr-only' }, t('device.choose_camera')), camSelect, h('button', { type: 'button', class: 'btn secondary small', onclick: flip }, t('device.flip')));
  const startBtn = h('button', { type: 'button', class: 'btn', id: 'start-media' }, t('device.start'));
  const mediaError = h('div', { 'aria-live': 'polite' });

  function stopStream() {
    if (stream) for (const tr of stream.getTracks()) tr.stop();
    stream = null;
  }

  async function startMedia(constraints) {
    mediaError.replaceChildren();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      set('camera', 'bad', t('device.insecure'));
      set('mic', 'bad', t('device.insecure'));
      mediaError.replaceChildren(h('div', { class: 'alert error' }, h('p', null, t('device.insecure'))));
      return;
    }
    stopStream();
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints || { video: { facingMode: facing, width: { ideal: 640 }, height: { ideal: 480 } }, audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (e) {
      const key = { NotAllowedError: 'denied', SecurityError: 'denied', NotFoundError: 'missing', OverconstrainedError: 'missing', NotReadableError: 'busy', AbortError: 'busy' }[e.name] || 'other';
      set('camera', 'bad', t(`device.err_${key}`));
      set('mic', 'bad', t(`device.err_${key}`));
      mediaError.replaceChildren(h('div', { class: 'alert error', role: 'alert' }, h('p', null, h('strong', null, t(`device.err_${key}`))), h('p', null, t(`device.fix_${key}`))));
      return;
    }
    video.srcObject = stream;
    video.classList.toggle('back', facing === 'environment');
    previewBox.replaceChildren(video);
    try {
      await video.play();
    } catch {
      // Autoplay of a muted preview is allowed everywhere; if not, the first tap starts it.
    }
    const vt = stream.getVideoTracks()[0];
    const at = stream.getAudioTracks()[0];
    if (vt) {
      const s = vt.getSettings ? vt.getSettings() : {};
      set('camera', 'ok', t('device.camera_ok', { name: vt.label || t('device.camera'), size: s.width ? `${s.width}×${s.height}` : '' }));
    } else set('camera', 'bad', t('device.err_missing'));
    if (at) {
      set('mic', 'warn', t('device.mic_speak'));
      meter(stream);
    } else set('mic', 'bad', t('device.err_missing'));
    await listCameras(vt);
  }

  async function listCameras(current) {
    try {
      const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
      camRow.hidden = devices.length < 2;
      camSelect.replaceChildren(...devices.map((d, i) => h('option', { value: d.deviceId, selected: current && current.getSettings && current.getSettings().deviceId === d.deviceId }, d.label || t('device.camera_n', { n: i + 1 }))));
    } catch {
      camRow.hidden = true;
    }
  }

  camSelect.addEventListener('change', () => startMedia({ video: { deviceId: { exact: camSelect.value } }, audio: true }));

  function flip() {
    facing = facing === 'user' ? 'environment' : 'user';
    startMedia();
  }

  function context() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    if (!audioCtx) audioCtx = new AC();
    if (audioCtx.state === 'suspended') audioCtx.resume();
    return audioCtx;
  }

  function meter(s) {
    const ctx = context();
    if (!ctx) return;
    const src = ctx.createMediaStreamSource(s);
    const an = ctx.createAnalyser();
    an.fftSize = 1024;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    cancelAnimationFrame(raf);
    const loop = () => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      const pct = Math.min(100, Math.round(rms * 400));
      level.style.width = `${pct}%`;
      levelBar.setAttribute('aria-valuenow', String(pct));
      if (pct > 4 && !heardLevel) {
        heardLevel = true;
        set('mic', 'ok', t('device.mic_ok'));
      }
      raf = requestAnimationFrame(loop);
    };
    loop();
  }

  startBtn.addEventListener('click', () => busy(startBtn, () => startMedia(), t('device.starting')));

  // Speaker.
  const heard = h('div', { class: 'actions-row', hidden: true }, h('button', { type: 'button', class: 'btn secondary', id: 'heard-yes', onclick: () => { heard.hidden = true; set('speaker', 'ok', t('device.speaker_ok')); } }, t('device.heard_yes')), h('button', { type: 'button', class: 'btn secondary', id: 'heard-no', onclick: () => { heard.hidden = true; set('speaker', 'bad', t('device.speaker_bad')); } }, t('device.heard_no')));
  const toneBtn = h('button', { type: 'button', class: 'btn', id: 'play-tone' }, t('device.play_tone'));
  toneBtn.addEventListener('click', () =>
    busy(
      toneBtn,
      () =>
        new Promise((resolve) => {
          const ctx = context();
          if (!ctx) {
            set('speaker', 'bad', t('device.no_audio'));
            resolve();
            return;
          }
          const gain = ctx.createGain();
          gain.connect(ctx.destination);
          const now = ctx.currentTime;
          // Three rising notes, each faded in and out so the speaker does not click.
          [523.25, 659.25, 783.99].forEach((f, i) => {
            const o = ctx.createOscillator();
            o.type = 'sine';
            o.frequency.value = f;
            const g = ctx.createGain();
            g.gain.setValueAtTime(0, now + i * 0.35);
            g.gain.linearRampToValueAtTime(0.3, now + i * 0.35 + 0.05);
            g.gain.linearRampToValueAtTime(0, now + i * 0.35 + 0.33);
            o.connect(g).connect(gain);
            o.start(now + i * 0.35);
            o.stop(now + i * 0.35 + 0.35);
          });
          setTimeout(() => {
            heard.hidden = false;
            set('speaker', 'warn', t('device.speaker_ask'));
            resolve();
          }, 1100);
        }),
      t('device.playing'),
    ),
  );

  // Network.
  const netOut = h('div', { 'aria-live': 'polite' });
  const netBtn = h('button', { type: 'button', class: 'btn', id: 'check-network' }, t('device.check_network'));
  netBtn.addEventListener('click', () =>
    busy(
      netBtn,
      async () => {
        netOut.replaceChildren();
        // navigator.onLine is only a hint (it is false on some networks that work), so measure anyway and
        // use it to explain a failure.
        try {
          const rtts = [];
          for (let i = 0; i < 5; i++) {
            const t0 = performance.now();
            const r = await fetch(`/healthz?n=${Date.now()}-${i}`, { cache: 'no-store', credentials: 'omit' });
            await r.arrayBuffer();
            rtts.push(performance.now() - t0);
          }
          rtts.sort((a, b) => a - b);
          const rtt = rtts[2];
          const bytes = 512 * 1024;
          const t0 = performance.now();
          const r = await fetch(`/netcheck?bytes=${bytes}&n=${Date.now()}`, { cache: 'no-store', credentials: 'omit' });
          const got = (await r.arrayBuffer()).byteLength;
          const secs = Math.max(0.001, (performance.now() - t0 - rtt) / 1000);
          const mbps = (got * 8) / secs / 1e6;
          const verdict = rtt < 150 && mbps >= 1.5 ? 'ok' : rtt < 400 && mbps >= 0.5 ? 'warn' : 'bad';
          const text = t('device.network_result', { rtt: fmtNumber(rtt), mbps: fmtNumber(mbps, 1) });
          set('network', verdict, `${text} ${t(`device.network_${verdict}`)}`);
          netOut.replaceChildren(h('p', { class: 'small', id: 'network-figures', dataset: { rtt: rtt.toFixed(1), mbps: mbps.toFixed(2) } }, text));
        } catch {
          set('network', 'bad', navigator.onLine === false ? t('device.offline') : t('device.network_failed'));
        }
      },
      t('device.checking'),
    ),
  );

  // WeChat's browser without the camera API or WebRTC: how to open the page in the phone's own browser, and
  // the way back, instead of checks that cannot work.
  const guide = wechatGuide();
  if (guide) {
    mount(main, h('h1', null, t('device.title')), guide, h('div', { class: 'actions-row' }, h('a', { class: 'btn secondary', href: home, id: 'device-back' }, t('device.back'))));
    return () => {};
  }

  drawChecklist();
  drawExit();
  mount(
    main,
    h('h1', null, t('device.title')),
    h('p', { class: 'lead' }, t('device.lead')),
    h(
      'div',
      { class: 'layout' },
      h(
        'div',
        null,
        section(t('device.camera_mic'), h('p', { class: 'small muted' }, t('device.camera_explain')), previewBox, h('div', { class: 'stack' }, camRow, h('p', { class: 'small' }, t('device.mic_level')), levelBar, h('div', { class: 'actions-row' }, startBtn), mediaError)),
        section(t('device.speaker'), h('p', { class: 'small muted' }, t('device.speaker_explain')), h('div', { class: 'actions-row' }, toneBtn), heard),
        section(t('device.network'), h('p', { class: 'small muted' }, t('device.network_explain')), h('div', { class: 'actions-row' }, netBtn), netOut),
      ),
      section(t('device.results'), checklist, exit, h('p', { class: 'small muted' }, t('device.privacy'))),
    ),
  );

  return () => {
    cancelAnimationFrame(raf);
    stopStream();
    if (audioCtx) audioCtx.close().catch(() => {});
  };
}
