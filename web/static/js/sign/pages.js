// A document's pages, zoomable with buttons or a two-finger pinch. Given the PDF's bytes (the signing page), the
// pages are rendered in the browser from those very bytes with pdf.js, so the party reads exactly the revision
// it signs (wysiwys.js); otherwise they are images the server renders for the screen's width. Either way they
// are rendered again at the new size when a zoom settles.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { assetURL } from '../env.js';

let pdfjsLib = null;

// pdfjs loads the vendored pdf.js once (web/static/vendor/pdfjs, served from this origin).
async function pdfjs() {
  if (!pdfjsLib) {
    pdfjsLib = await import(assetURL('vendor/pdfjs/pdf.min.mjs'));
    pdfjsLib.GlobalWorkerOptions.workerSrc = assetURL('vendor/pdfjs/pdf.worker.min.mjs');
  }
  return pdfjsLib;
}

// openPDF parses PDF bytes with pdf.js (a copy: pdf.js hands its buffer to the worker). No eval, no font
// faces (glyphs are drawn as paths, so the Content-Security-Policy needs nothing more).
export async function openPDF(bytes) {
  const lib = await pdfjs();
  return lib.getDocument({ data: bytes.slice(), isEvalSupported: false, disableFontFace: true, useSystemFonts: false, enableXfa: false }).promise;
}

const MIN = 1;
const MAX = 3;

export function pageViewer(doc, { version, pdf } = {}) {
  let zoom = 1;
  let timer = 0;
  const v = version || doc.current_version;
  const imgs = [];
  const box = h('div', { class: 'pages', id: 'pages', tabindex: '0', 'aria-label': t('sign.pages_label'), dataset: { source: pdf ? 'pdf' : 'server', version: String(v) } });
  for (let n = 1; n <= doc.pages; n++) {
    const img = pdf
      ? h('canvas', { role: 'img', 'aria-label': t('sign.page_n', { n, total: doc.pages }), class: 'page-img', dataset: { page: String(n) } })
      : h('img', { alt: t('sign.page_n', { n, total: doc.pages }), loading: n > 1 ? 'lazy' : 'eager', decoding: 'async', class: 'page-img', dataset: { page: String(n) } });
    imgs.push(img);
    box.appendChild(h('figure', { class: 'page' }, img, h('figcaption', { class: 'small muted' }, t('sign.page_n', { n, total: doc.pages }))));
  }
  const failed = h('p', { class: 'alert error', role: 'alert', hidden: true }, t('sign.render_failed'));
  let parsed = null;
  let drawing = 0;

  // draw renders every page from the PDF's bytes at the given pixel width; a newer call supersedes an older one.
  async function draw(px) {
    const my = ++drawing;
    try {
      parsed = parsed || (await openPDF(pdf));
      for (let i = 0; i < imgs.length && i < parsed.numPages; i++) {
        if (my !== drawing) return;
        const page = await parsed.getPage(i + 1);
        const base = page.getViewport({ scale: 1 });
        const viewport = page.getViewport({ scale: px / base.width });
        const canvas = imgs[i];
        if (canvas.dataset.width === String(px)) continue;
        const off = document.createElement('canvas');
        off.width = Math.ceil(viewport.width);
        off.height = Math.ceil(viewport.height);
        await page.render({ canvas: off, canvasContext: off.getContext('2d'), viewport }).promise;
        if (my !== drawing) return;
        canvas.width = off.width;
        canvas.height = off.height;
        canvas.getContext('2d').drawImage(off, 0, 0);
        canvas.dataset.width = String(px);
        canvas.dataset.rendered = 'true';
        box.dataset.rendered = 'true'; // readable from the first page on
      }
    } catch (e) {
      console.warn('pdf.js:', e);
      failed.hidden = false;
    }
  }
  const level = h('span', { class: 'zoom-level', 'aria-live': 'polite' });
  const out = h('button', { type: 'button', class: 'btn secondary small', id: 'zoom-out', 'aria-label': t('sign.zoom_out') }, '−');
  const inn = h('button', { type: 'button', class: 'btn secondary small', id: 'zoom-in', 'aria-label': t('sign.zoom_in') }, '+');
  const fit = h('button', { type: 'button', class: 'btn secondary small', id: 'zoom-fit' }, t('sign.zoom_fit'));
  const bar = h('div', { class: 'zoom-bar row' }, out, level, inn, fit);

  // load asks for images as wide as they are shown (in device pixels), in steps of 200 so the server's cache helps.
  function load() {
    const w = box.clientWidth || 360;
    const px = Math.min(2400, Math.max(200, Math.ceil((w * zoom * (window.devicePixelRatio || 1)) / 200) * 200));
    if (pdf) {
      draw(px);
      return;
    }
    for (let i = 0; i < imgs.length; i++) {
      const src = `/api/v1/documents/${encodeURIComponent(doc.id)}/pages/${i + 1}?width=${px}&version=${v}`;
      if (imgs[i].getAttribute('src') !== src) imgs[i].src = src;
    }
  }

  function set(z, settle = true) {
    const before = zoom;
    zoom = Math.min(MAX, Math.max(MIN, Math.round(z * 100) / 100));
    // Keep the point in the middle of the view where it was.
    const cx = (box.scrollLeft + box.clientWidth / 2) / before;
    const cy = (box.scrollTop + box.clientHeight / 2) / before;
    box.style.setProperty('--zoom', String(zoom));
    box.classList.toggle('zoomed', zoom > 1);
    box.scrollLeft = cx * zoom - box.clientWidth / 2;
    box.scrollTop = cy * zoom - box.clientHeight / 2;
    level.textContent = `${Math.round(zoom * 100)}%`;
    out.disabled = zoom <= MIN;
    inn.disabled = zoom >= MAX;
    clearTimeout(timer);
    if (settle) timer = setTimeout(load, 300);
  }
  out.addEventListener('click', () => set(zoom / 1.25));
  inn.addEventListener('click', () => set(zoom * 1.25));
  fit.addEventListener('click', () => set(1));

  // Pinch: two pointers on the pages (the browser still scrolls with one).
  const pointers = new Map();
  let startDist = 0;
  let startZoom = 1;
  const dist = () => {
    const [a, b] = [...pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y);
  };
  box.addEventListener('pointerdown', (ev) => {
    if (ev.pointerType !== 'touch') return;
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    if (pointers.size === 2) {
      startDist = dist();
      startZoom = zoom;
    }
  });
  box.addEventListener('pointermove', (ev) => {
    if (!pointers.has(ev.pointerId)) return;
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    if (pointers.size === 2 && startDist > 0) set((startZoom * dist()) / startDist, false);
  });
  const up = (ev) => {
    if (!pointers.delete(ev.pointerId)) return;
    if (pointers.size < 2 && startDist) {
      startDist = 0;
      set(zoom);
    }
  };
  box.addEventListener('pointerup', up);
  box.addEventListener('pointercancel', up);

  const el = h('div', { class: 'viewer' }, bar, failed, box);
  set(1, false);
  requestAnimationFrame(load);
  return { el, load };
}
