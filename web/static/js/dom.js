// Building DOM without innerHTML: every string becomes a text node, so data from the API can never turn into
// markup. h('a', {href: '/x', onclick: fn, class: 'btn'}, 'text', child, [more]) returns the element.

const SVG_NS = 'http://www.w3.org/2000/svg';
const BOOL_PROPS = new Set(['disabled', 'checked', 'required', 'hidden', 'selected', 'multiple', 'readOnly', 'open', 'autofocus', 'muted', 'playsInline', 'autoplay', 'indeterminate']);

function apply(el, attrs, svg) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (!svg && (BOOL_PROPS.has(k) || k === 'value')) {
      el[k] = v;
    } else if (k === 'ref') {
      v(el);
    } else {
      el.setAttribute(k === 'htmlFor' ? 'for' : k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// h creates an HTML element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs && (attrs instanceof Node || Array.isArray(attrs) || typeof attrs !== 'object')) {
    children.unshift(attrs);
    attrs = null;
  }
  apply(el, attrs, false);
  append(el, children);
  return el;
}

// s creates an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs, true);
  append(el, children);
  return el;
}

// mount replaces el's children.
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let seq = 0;
// uid returns a fresh id for label/aria wiring.
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix}-${seq}`;
}

// $ and $$ query inside a root.
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
