// Languages, the dictionaries and formatting. Every string the user sees comes from i18n/<lang>.json through
// t(key, params); the Go tests check that both dictionaries have the same keys and that the scripts hold no
// hard-coded UI text. Simplified Chinese is the default; the choice is kept in localStorage and <html lang>
// follows it.

import { assetURL, meta } from './env.js';

export const LANGS = ['zh-CN', 'en'];
const STORE_KEY = 'parley.lang';
let lang = 'zh-CN';
let dict = {};
const listeners = new Set();

function stored() {
  try {
    return localStorage.getItem(STORE_KEY);
  } catch {
    return null;
  }
}

// initialLang is the stored choice, else Chinese (the product's default, whatever the browser says).
export function initialLang() {
  const s = stored();
  return LANGS.includes(s) ? s : 'zh-CN';
}

// setLang loads a dictionary and makes it current; it tells the listeners (the app re-renders).
export async function setLang(l, { remember = true } = {}) {
  if (!LANGS.includes(l)) l = 'zh-CN';
  const resp = await fetch(assetURL(`i18n/${l}.json`), { credentials: 'same-origin' });
  if (!resp.ok) throw new Error(`dictionary ${l}: ${resp.status}`);
  dict = await resp.json();
  lang = l;
  document.documentElement.lang = l;
  if (remember) {
    try {
      localStorage.setItem(STORE_KEY, l);
    } catch {
      // Private browsing: the choice lasts for this page only.
    }
  }
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const getLang = () => lang;

// t returns the string for key with {name} placeholders filled from params. A missing key shows the key
// itself (and a console warning) rather than nothing.
export function t(key, params) {
  let v = dict[key];
  if (v === undefined) {
    console.warn('i18n: missing key', key);
    v = key;
  }
  if (params) v = v.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
  return v;
}

// has reports whether the dictionary has key.
export const has = (key) => Object.prototype.hasOwnProperty.call(dict, key);

// label names a value of the domain (state, action, ground, dispute type, source, role, …) in the current
// language: the key is `${kind}.${value}`; an unknown value shows as it is.
export function label(kind, value) {
  if (value === undefined || value === null || value === '') return '';
  const key = `${kind}.${value}`;
  return has(key) ? dict[key] : String(value);
}

const zone = () => meta('parley-timezone') || 'Asia/Shanghai';

function fmt(opts) {
  try {
    return new Intl.DateTimeFormat(lang, { timeZone: zone(), ...opts });
  } catch {
    return new Intl.DateTimeFormat(lang, opts);
  }
}

// fmtDateTime shows a time (RFC 3339 string or Date) as date and minute in the court's time zone.
export function fmtDateTime(v) {
  if (!v) return '';
  return fmt({ year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(v));
}

export function fmtDate(v) {
  if (!v) return '';
  return fmt({ year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(v));
}

// fmtMoney shows an amount in fen as yuan.
export function fmtMoney(fen) {
  const yuan = (fen || 0) / 100;
  return new Intl.NumberFormat(lang, { style: 'currency', currency: 'CNY', maximumFractionDigits: 2 }).format(yuan);
}

export function fmtNumber(n, digits = 0) {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(n || 0);
}

export function fmtPercent(x) {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(x || 0);
}

// fmtSpan says how long ms is, in days and hours (or hours and minutes when under a day).
export function fmtSpan(ms) {
  const mins = Math.max(0, Math.floor(ms / 60000));
  const days = Math.floor(mins / 1440);
  const hours = Math.floor((mins % 1440) / 60);
  const m = mins % 60;
  if (days > 0) return t('time.days_hours', { d: days, h: hours });
  if (hours > 0) return t('time.hours_minutes', { h: hours, m });
  return t('time.minutes', { m });
}

// localInputValue turns an RFC 3339 time into the value of an <input type=datetime-local> in the court's zone.
export function localInputValue(v) {
  const parts = fmt({ year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).formatToParts(new Date(v));
  const get = (type) => parts.find((p) => p.type === type)?.value || '00';
  const hour = get('hour') === '24' ? '00' : get('hour');
  return `${get('year')}-${get('month')}-${get('day')}T${hour}:${get('minute')}`;
}

// fromLocalInput reads an <input type=datetime-local> value as a time in the court's zone.
export function fromLocalInput(value) {
  if (!value) return null;
  const [d, tm] = value.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [hh, mm] = (tm || '00:00').split(':').map(Number);
  // Guess the instant as if UTC, then correct by the zone's offset at that instant (twice, for DST edges).
  let guess = Date.UTC(y, mo - 1, da, hh, mm);
  for (let i = 0; i < 2; i++) {
    const shown = localInputValue(new Date(guess).toISOString());
    const [sd, st] = shown.split('T');
    const [sy, smo, sda] = sd.split('-').map(Number);
    const [shh, smm] = st.split(':').map(Number);
    const diff = Date.UTC(sy, smo - 1, sda, shh, smm) - Date.UTC(y, mo - 1, da, hh, mm);
    guess -= diff;
  }
  return new Date(guess).toISOString();
}

// list joins names the way the language does (、 in Chinese, commas in English).
export const list = (items) => (items || []).filter(Boolean).join(t('common.list_sep'));

// paren puts an aside in the language's brackets.
export const paren = (x) => (x ? t('common.paren', { x }) : '');
