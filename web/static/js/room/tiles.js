// Video tiles: one per participant, kept across renders so their <video> and <audio> elements keep playing. A
// remote tile plays its video muted (autoplay is always allowed then) and its voice through its own <audio>
// element, which a browser may refuse to start until the user taps (iOS): the page then offers "tap to hear".

import { h } from '../dom.js';
import { t, label } from '../i18n.js';
import { icon } from './icons.js';

// middleCut shortens a long name in its middle (北京星云…有限公司), keeping its start and its end, which tell
// companies apart; the full name stays in the tile's title.
export function middleCut(name, max = 14) {
  const chars = [...(name || '')];
  if (chars.length <= max) return name || '';
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

export class Tiles {
  constructor(session, { onFrame, onAudioBlocked }) {
    this.session = session;
    this.onFrame = onFrame;
    this.onAudioBlocked = onAudioBlocked;
    this.tiles = new Map();
    this.audioBlocked = false;
    this.resize = typeof ResizeObserver === 'function' ? new ResizeObserver((entries) => this.resized(entries)) : null;
    this.sizes = new Map();
  }

  // get returns the tile of a participant ('self' for our own), creating it.
  get(id) {
    let tile = this.tiles.get(id);
    if (tile) return tile;
    const self = id === 'self';
    const video = h('video', { playsInline: true, playsinline: true, autoplay: true, muted: true, 'aria-hidden': 'true' });
    video.muted = true;
    const audio = self ? null : h('audio', { autoplay: true, class: 'sr-only' });
    const initial = h('span', { class: 'avatar', 'aria-hidden': 'true' });
    const note = h('span', { class: 'tile-note' });
    const name = h('span', { class: 'tile-name' });
    const who = h('span', { class: 'tile-who' });
    const whoShort = h('span', { class: 'tile-who-short' });
    const meMark = h('span', { class: 'tile-me', hidden: !self }, t('room.me_mark'));
    name.append(who, whoShort, meMark);
    const badges = h('span', { class: 'tile-badges' });
    const el = h('div', { class: ['tile', self ? 'self' : ''], dataset: { participant: id } }, video, h('div', { class: 'tile-placeholder' }, initial, note), h('div', { class: 'tile-label' }, name, badges), audio);
    tile = { id, el, video, audio, initial, note, name, who, whoShort, meMark, badges, videoTrack: null, audioTrack: null, videoId: '' };
    if (!self) {
      const first = () => {
        if (video.videoWidth > 0) {
          el.classList.add('has-frame');
          this.onFrame(id);
        }
      };
      video.addEventListener('loadeddata', first);
      video.addEventListener('resize', first);
      if (this.resize) this.resize.observe(el);
    }
    this.tiles.set(id, tile);
    return tile;
  }

  drop(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    if (this.resize) this.resize.unobserve(tile.el);
    tile.video.srcObject = null;
    if (tile.audio) tile.audio.srcObject = null;
    tile.el.remove();
    this.tiles.delete(id);
  }

  // setVideo attaches a track (or none) to a tile's <video>.
  setVideo(tile, track, mirror) {
    if (tile.videoTrack !== track) {
      tile.videoTrack = track;
      tile.el.classList.remove('has-frame');
      tile.video.srcObject = track ? new MediaStream([track]) : null;
      if (track) tile.video.play().catch(() => {});
    }
    tile.video.classList.toggle('mirror', !!mirror);
  }

  setAudio(tile, track) {
    if (!tile.audio || tile.audioTrack === track) return;
    tile.audioTrack = track;
    tile.audio.srcObject = track ? new MediaStream([track]) : null;
    if (track) this.playAudio(tile.audio);
  }

  playAudio(el) {
    const p = el.play();
    if (p && p.catch) {
      p.catch((e) => {
        if (e && e.name === 'NotAllowedError' && !this.audioBlocked) {
          this.audioBlocked = true;
          this.onAudioBlocked(true);
        }
      });
    }
  }

  // unblockAudio starts every remote voice after the user tapped.
  unblockAudio() {
    this.audioBlocked = false;
    this.onAudioBlocked(false);
    for (const tile of this.tiles.values()) if (tile.audio && tile.audio.srcObject) this.playAudio(tile.audio);
  }

  // update fills a tile from the participant's state.
  update(tile, { person, isSelf, videoOn, note, speaking, quality, micOff, judge }) {
    const name = person ? person.name : '';
    // The name may be cut in its middle, never the "（我）" after it (its own span).
    tile.who.textContent = middleCut(name);
    tile.whoShort.textContent = middleCut(name, 6); // the strip's small tiles
    tile.meMark.textContent = t('room.me_mark');
    tile.meMark.hidden = !isSelf;
    tile.name.title = isSelf ? t('room.you', { name }) : name;
    tile.initial.textContent = (name || '?').trim().slice(0, 1);
    tile.note.textContent = note || '';
    tile.el.classList.toggle('video-on', !!videoOn);
    tile.el.classList.toggle('speaking', !!speaking);
    tile.el.dataset.role = person ? person.role : '';
    const badges = [];
    // Every tile says who it is: 申请人 / 被申请人 for a party, 代理人 with its side, 调解员, 法官.
    if (person && person.role && person.role !== 'party') badges.push(h('span', { class: ['badge', judge ? 'judge' : '', 'role'] }, label('roomrole', person.role)));
    if (person && person.side) badges.push(h('span', { class: 'badge side' }, label('side', person.side)));
    if (micOff) badges.push(h('span', { class: 'badge mute', title: t('room.mic_off') }, icon('mic', true), h('span', { class: 'sr-only' }, t('room.mic_off'))));
    if (quality) badges.push(h('span', { class: ['qdot', quality], title: label('quality', quality) }, h('span', { class: 'sr-only' }, label('quality', quality))));
    tile.badges.replaceChildren(...badges);
  }

  // setVideoId records which room track a tile shows and tells the server the size it is shown at.
  setVideoId(tile, id) {
    if (tile.videoId === id) return;
    tile.videoId = id;
    if (id) this.report(tile, tile.el.clientWidth, tile.el.clientHeight);
  }

  // report sends the size a remote video is shown at (render), in device pixels, when it changed; the server
  // picks the simulcast layer from it.
  report(tile, width, height) {
    if (!tile.videoId) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(width * dpr);
    const hgt = Math.round(height * dpr);
    const key = `${w}x${hgt}`;
    if (this.sizes.get(tile.videoId) === key) return;
    this.sizes.set(tile.videoId, key);
    this.session.render(tile.videoId, w, hgt);
  }

  resized(entries) {
    for (const e of entries) {
      const tile = this.tiles.get(e.target.dataset.participant);
      if (tile) this.report(tile, e.contentRect.width, e.contentRect.height);
    }
  }

  clear() {
    if (this.resize) this.resize.disconnect();
    for (const id of [...this.tiles.keys()]) this.drop(id);
  }
}
