// A signature pad: the signer draws with a finger, a pen or a mouse (pointer events, one stroke per contact),
// can undo, redo and clear, and the drawing is exported as a PNG with a transparent background.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { b64 } from './devicekey.js';

const INK = '#13235b';
const MAX_W = 3000;
const MAX_H = 1500;

// Unsubmitted drawings by key (document and field), kept while the page is drawn again (a language switch).
const kept = new Map();

// touchScreen reports whether the device has a touch screen (the hint then says finger, else mouse too).
const touchScreen = () => (window.matchMedia && window.matchMedia('(pointer: coarse)').matches) || navigator.maxTouchPoints > 0;

// signaturePad draws a pad; keep names the drawing so that it survives the page being drawn again.
export function signaturePad({ onChange, keep } = {}) {
  const canvas = h('canvas', { class: 'sigpad-canvas', id: 'sigpad', role: 'img', 'aria-label': t('sign.pad_label') });
  const hint = h('span', { class: 'sigpad-hint', 'aria-hidden': 'true' }, touchScreen() ? t('sign.pad_hint') : t('sign.pad_hint_mouse'));
  const undoBtn = h('button', { type: 'button', class: 'btn secondary small', id: 'pad-undo' }, t('sign.undo'));
  const redoBtn = h('button', { type: 'button', class: 'btn secondary small', id: 'pad-redo' }, t('sign.redo'));
  const clearBtn = h('button', { type: 'button', class: 'btn secondary small', id: 'pad-clear' }, t('sign.clear'));
  const el = h('div', { class: 'sigpad' }, h('div', { class: 'sigpad-box' }, canvas, hint), h('div', { class: 'row' }, undoBtn, redoBtn, clearBtn));
  const ctx = canvas.getContext('2d');
  let strokes = keep && kept.has(keep) ? kept.get(keep) : []; // each: [{x, y, p}] in CSS pixels
  let redo = [];
  let current = null;
  let scale = 1;

  function changed() {
    if (keep) {
      if (strokes.length) kept.set(keep, strokes);
      else kept.delete(keep);
    }
    hint.hidden = strokes.length > 0;
    undoBtn.disabled = !strokes.length;
    redoBtn.disabled = !redo.length;
    clearBtn.disabled = !strokes.length;
    if (onChange) onChange(strokes.length > 0);
  }

  // size matches the canvas's pixels to its box (sharp on high-density screens, within the server's limits).
  function size() {
    const r = canvas.getBoundingClientRect();
    if (!r.width) return;
    const dpr = window.devicePixelRatio || 1;
    scale = Math.min(dpr, MAX_W / r.width, MAX_H / r.height);
    canvas.width = Math.round(r.width * scale);
    canvas.height = Math.round(r.height * scale);
    redraw();
  }

  function lineWidth(p) {
    return (1.6 + 2.2 * (p || 0.5)) * scale;
  }

  function segment(a, b) {
    ctx.strokeStyle = INK;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = lineWidth(b.p);
    ctx.beginPath();
    ctx.moveTo(a.x * scale, a.y * scale);
    ctx.lineTo(b.x * scale, b.y * scale);
    ctx.stroke();
  }

  function drawStroke(s) {
    if (s.length === 1) {
      ctx.fillStyle = INK;
      ctx.beginPath();
      ctx.arc(s[0].x * scale, s[0].y * scale, lineWidth(s[0].p) / 2, 0, Math.PI * 2);
      ctx.fill();
      return;
    }
    for (let i = 1; i < s.length; i++) segment(s[i - 1], s[i]);
  }

  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (const s of strokes) drawStroke(s);
  }

  function point(ev) {
    const r = canvas.getBoundingClientRect();
    const p = ev.pressure && ev.pointerType !== 'mouse' ? ev.pressure : 0.5;
    return { x: ev.clientX - r.left, y: ev.clientY - r.top, p };
  }

  canvas.addEventListener('pointerdown', (ev) => {
    if ((ev.button !== 0 && ev.pointerType === 'mouse') || canvas.classList.contains('disabled')) return;
    ev.preventDefault();
    if (canvas.width === 0 || canvas.width !== Math.round(canvas.getBoundingClientRect().width * scale)) size();
    try {
      canvas.setPointerCapture(ev.pointerId);
    } catch {
      // synthetic pointers cannot be captured; drawing still works
    }
    current = { id: ev.pointerId, points: [point(ev)] };
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!current || ev.pointerId !== current.id) return;
    ev.preventDefault();
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [];
    for (const e of events.length ? events : [ev]) {
      const pt = point(e);
      const last = current.points[current.points.length - 1];
      if (Math.abs(pt.x - last.x) + Math.abs(pt.y - last.y) < 0.5) continue;
      current.points.push(pt);
      segment(last, pt);
    }
  });
  const end = (ev) => {
    if (!current || ev.pointerId !== current.id) return;
    if (current.points.length === 1) drawStroke(current.points);
    strokes.push(current.points);
    redo = [];
    current = null;
    changed();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  undoBtn.addEventListener('click', () => {
    if (strokes.length) redo.push(strokes.pop());
    redraw();
    changed();
  });
  redoBtn.addEventListener('click', () => {
    if (redo.length) strokes.push(redo.pop());
    redraw();
    changed();
  });
  clearBtn.addEventListener('click', () => {
    strokes = [];
    redo = [];
    redraw();
    changed();
  });

  const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => size()) : null;
  if (ro) ro.observe(canvas);
  else window.addEventListener('resize', size);
  changed();

  return {
    el,
    isEmpty: () => strokes.length === 0,
    strokes: () => strokes.length,
    // png returns the drawing as a base64 PNG.
    png: () =>
      new Promise((resolve, reject) => {
        canvas.toBlob(async (blob) => {
          if (!blob) {
            reject(new Error('canvas export'));
            return;
          }
          resolve(b64(await blob.arrayBuffer()));
        }, 'image/png');
      }),
    disable(on) {
      canvas.classList.toggle('disabled', on);
      for (const b of [undoBtn, redoBtn, clearBtn]) b.disabled = on || b.disabled;
      if (!on) changed();
    },
    // forget drops the kept drawing (once it was signed).
    forget() {
      if (keep) kept.delete(keep);
    },
    stop() {
      if (ro) ro.disconnect();
      else window.removeEventListener('resize', size);
    },
  };
}
