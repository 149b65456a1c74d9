// Line icons for the room's controls, drawn with the SVG helper (stroke in the current text colour).

import { s } from '../dom.js';

const shapes = {
  mic: () => [s('rect', { x: 9, y: 3, width: 6, height: 11, rx: 3 }), s('path', { d: 'M6 11a6 6 0 0 0 12 0M12 17v4M8 21h8' })],
  cam: () => [s('rect', { x: 3, y: 7, width: 12, height: 10, rx: 2 }), s('path', { d: 'M15 11l6-3v8l-6-3' })],
  flip: () => [s('path', { d: 'M4 12a8 8 0 0 1 14-5.3M20 12a8 8 0 0 1-14 5.3M18 3v4h-4M6 21v-4h4' })],
  grid: () => [s('rect', { x: 4, y: 4, width: 7, height: 7, rx: 1 }), s('rect', { x: 13, y: 4, width: 7, height: 7, rx: 1 }), s('rect', { x: 4, y: 13, width: 7, height: 7, rx: 1 }), s('rect', { x: 13, y: 13, width: 7, height: 7, rx: 1 })],
  speaker: () => [s('rect', { x: 3, y: 3, width: 18, height: 12, rx: 2 }), s('path', { d: 'M4 19h4M10 19h4M16 19h4' })],
  chat: () => [s('path', { d: 'M4 5h16v11H9l-5 4z' })],
  people: () => [s('circle', { cx: 9, cy: 8, r: 3.5 }), s('path', { d: 'M2.5 20a6.5 6.5 0 0 1 13 0' }), s('circle', { cx: 17, cy: 9, r: 2.5 }), s('path', { d: 'M16 14a5 5 0 0 1 6 6' })],
  leave: () => [s('path', { d: 'M3 14c2.5-2.7 5.6-4 9-4s6.5 1.3 9 4l-2.5 2.5-3-1.5v-2.3a12 12 0 0 0-7 0V15l-3 1.5z' })],
  sound: () => [s('path', { d: 'M4 9h4l5-4v14l-5-4H4zM16 9a4 4 0 0 1 0 6M18.5 6.5a8 8 0 0 1 0 11' })],
};

// icon returns an SVG icon; off draws a slash through it (microphone or camera switched off).
export function icon(name, off = false) {
  return s('svg', { class: 'icon', viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' }, shapes[name](), off ? s('path', { d: 'M4 4l16 16', class: 'slash' }) : null);
}
