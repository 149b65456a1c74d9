// Shared pieces of the interface: labelled form fields, error display next to the right field, progress on
// long actions, toasts, countdowns.

import { h, uid, $, $$ } from './dom.js';
import { t, has, label, fmtSpan, fmtDate, fmtDateTime, fromLocalInput } from './i18n.js';

// field builds a labelled control. kind: text (default), password, tel, email, number, date, datetime-local,
// search, textarea, select, checkbox. The control gets name, id, aria-describedby for its hint and, later, its
// error.
export function field(o) {
  const id = o.id || uid('f');
  const hintId = o.hint ? `${id}-hint` : null;
  const common = {
    id,
    name: o.name,
    required: o.required,
    'aria-describedby': hintId,
    ...(o.attrs || {}),
  };
  if (o.type === 'checkbox') {
    const input = h('input', { type: 'checkbox', ...common, checked: !!o.value });
    return h('div', { class: ['field', o.class] }, h('label', { class: 'check', for: id }, input, h('span', null, o.label)), o.hint ? h('div', { class: 'hint', id: hintId }, o.hint) : null);
  }
  let control;
  if (o.type === 'textarea') {
    control = h('textarea', { ...common, rows: o.rows || 4 });
    control.value = o.value || '';
  } else if (o.type === 'select') {
    control = h('select', common, (o.options || []).map((opt) => h('option', { value: opt.value, selected: String(opt.value) === String(o.value ?? '') }, opt.label)));
  } else {
    control = h('input', { type: o.type || 'text', ...common, value: o.value ?? '' });
  }
  // A date picker draws its value in the browser's own locale: the page says it again in the page's language.
  let shown = null;
  if (o.type === 'date' || o.type === 'datetime-local') {
    shown = h('div', { class: 'hint date-shown', 'aria-hidden': 'true' });
    const say = () => {
      const v = control.value;
      shown.textContent = !v ? '' : o.type === 'date' ? fmtDate(`${v}T12:00:00Z`) : fmtDateTime(fromLocalInput(v));
    };
    control.addEventListener('input', say);
    control.addEventListener('change', say);
    say();
  }
  return h(
    'div',
    { class: ['field', o.class] },
    h('label', { for: id }, o.label, o.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, '*') : null),
    control,
    shown,
    o.hint ? h('div', { class: 'hint', id: hintId }, o.hint) : null,
  );
}

// options turns values into select options labelled by a dictionary prefix, with an optional empty first entry.
export function options(values, kind, empty) {
  const out = values.map((v) => ({ value: v, label: t(`${kind}.${v}`) }));
  if (empty !== undefined) out.unshift({ value: '', label: empty });
  return out;
}

// paramLabel shows a value the server named in an error by its label when it is a domain value.
function paramLabel(kind, v) {
  switch (kind) {
    case 'state':
      return label('state', v);
    case 'action':
      return label('action', v);
    case 'role':
      return label('role', v);
    case 'ground':
      return label('ground', v);
    case 'who':
      return label('who', v);
  }
  return v;
}

// serverText says a message or a field reason the API named by its stable code (apierr.…, apireason.…) in the
// user's language, or '' when the dictionary does not know it (the test of the Go code keeps them in step).
export function serverText(code, params, kinds) {
  const m = /^(apierr|apireason)\.([a-z0-9_]+)$/.exec(code || '');
  if (!m) return '';
  const key = m[1] === 'apierr' ? `apierr.${m[2]}` : `apireason.${m[2]}`;
  if (!has(key)) return '';
  const p = {};
  for (const [k, v] of Object.entries(params || {})) p[k] = paramLabel(kinds && kinds[k], v);
  return t(key, p);
}

// reasonText puts a field problem the server reported into the user's language: by its stable code (r, from
// the error's reasons), else by the common phrasings; a reason it cannot say reads "not valid", never the
// server's English.
export function reasonText(msg, r) {
  if (!msg) return '';
  const coded = r ? serverText(r.key, r.params) : '';
  if (coded) return coded;
  let m;
  if (msg === 'is required') return t('reason.required');
  if ((m = /^must be at most (\d+) characters$/.exec(msg))) return t('reason.max_chars', { n: m[1] });
  if (/^must be a phone number/.test(msg)) return t('reason.phone');
  if (msg === 'must be an e-mail address') return t('reason.email');
  if ((m = /^must be (\d+) to (\d+) characters$/.exec(msg))) return t('reason.length', { min: m[1], max: m[2] });
  if (msg === 'is the 6-digit code we sent') return t('reason.code');
  if (msg === 'is wrong') return t('reason.wrong');
  if (msg === 'is in the past') return t('reason.past');
  if (/^must be one of |^must be (applicant or respondent|person or company|true or false)$|^a direct application names the mediation organisation/.test(msg)) return t('reason.choose');
  if (/^an online application needs your consent/.test(msg)) return t('reason.consent');
  if (msg === 'name at least one respondent') return t('reason.respondent');
  if (msg === 'validity_ownership') return t('reason.validity_ownership');
  return t('reason.invalid');
}

// errorTitle is what went wrong, in the user's language, by error code.
export function errorTitle(err) {
  const key = `err.${err && err.code}`;
  return has(key) ? t(key) : t('err.unknown');
}

// errorDetail is the server's specific explanation when it adds something (conflicts, domain rules), in the
// user's language by its stable code; an explanation the dictionary does not know is left out.
export function errorDetail(err) {
  if (!err || !err.key || err.code === 'network' || err.code === 'internal' || err.code === 'invalid') return '';
  return serverText(err.key, err.params, err.kinds);
}

// alertBox renders an error as a block: what happened and what to do.
export function alertBox(err, extra) {
  return h('div', { class: 'alert error', role: 'alert' },
    h('p', null, h('strong', null, errorTitle(err))),
    errorDetail(err) ? h('p', { class: 'detail' }, errorDetail(err)) : null,
    extra || null);
}

// clearErrors removes the marks of an earlier failed submit.
export function clearErrors(form) {
  for (const el of $$('.field-error', form)) el.remove();
  for (const el of $$('[aria-invalid="true"]', form)) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.endsWith('-err'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  const box = $('.form-alert', form);
  if (box) box.replaceChildren();
}

// showErrors marks each field the server named next to its control (by name) and sums up the rest at the top
// of the form; focus goes to the first field at fault, or to the summary.
export function showErrors(form, err) {
  clearErrors(form);
  let box = $('.form-alert', form);
  if (!box) {
    box = h('div', { class: 'form-alert' });
    form.prepend(box);
  }
  const unmatched = [];
  let first;
  for (const [name, why] of Object.entries(err.fields || {})) {
    const el = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!el) {
      unmatched.push(h('li', null, `${fieldName(name)}: ${reasonText(why, err.reasons && err.reasons[name])}`));
      continue;
    }
    const errId = `${el.id || uid('e')}-err`;
    el.setAttribute('aria-invalid', 'true');
    el.setAttribute('aria-describedby', [el.getAttribute('aria-describedby'), errId].filter(Boolean).join(' '));
    const holder = el.closest('.field') || el.parentElement;
    holder.appendChild(h('div', { class: 'field-error', id: errId }, reasonText(why, err.reasons && err.reasons[name])));
  }
  first = form.querySelector('[aria-invalid="true"]:not(fieldset)');
  const fieldCount = Object.keys(err.fields || {}).length;
  box.replaceChildren(alertBox(err, unmatched.length ? h('ul', null, unmatched) : fieldCount ? h('p', null, t('err.fix_marked')) : null));
  const summary = box.querySelector('.alert');
  if (first) {
    first.focus();
  } else if (summary) {
    summary.setAttribute('tabindex', '-1');
    summary.focus();
  }
}

// fieldName names a field path the server reported (parties[1].phone) for the summary.
function fieldName(path) {
  const last = path.replace(/\[\d+\]/g, '').split('.').pop();
  const key = `fieldname.${last}`;
  return has(key) ? t(key) : path;
}

// busy runs fn while button shows progress and cannot be pressed twice; the error (if any) is rethrown.
export async function busy(button, fn, text) {
  if (!button) return fn();
  const saved = Array.from(button.childNodes);
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), text || t('common.working'));
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.replaceChildren(...saved);
  }
}

// submitForm wires a form: on submit it clears old errors, runs fn(form) with the submit button busy, shows
// errors next to the fields, and calls done(result) on success.
export function onSubmit(form, fn, done) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const btn = ev.submitter || form.querySelector('button[type=submit], button:not([type])');
    try {
      const out = await busy(btn, () => fn(form, ev.submitter));
      if (done) await done(out);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (!e || !e.code) console.error(e); // an answer of the API is shown to the user, not logged
      showErrors(form, e && e.code ? e : { code: 'unknown', message: String(e) });
    }
  });
  return form;
}

// formAlert is the place a form's summary of errors goes (first child of the form).
export const formAlert = () => h('div', { class: 'form-alert', 'aria-live': 'polite' });

// toast shows a short message for a few seconds.
export function toast(msg, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: ['toast', kind === 'error' ? 'error' : ''] }, msg);
  box.appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

// progress is the thin bar at the top while a page loads.
let loading = 0;
export const progress = {
  start() {
    loading += 1;
    document.getElementById('progress')?.removeAttribute('hidden');
  },
  done() {
    loading = Math.max(0, loading - 1);
    if (!loading) document.getElementById('progress')?.setAttribute('hidden', '');
  },
};

// loadingBox is a placeholder while a section loads.
export const loadingBox = () => h('div', { class: 'boot', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'sr-only' }, t('common.loading')));

export const empty = (text) => h('p', { class: 'empty' }, text);

// Countdowns update themselves every 30 seconds while they are on the page.
const ticking = new Set();
let timer = null;
function tick() {
  for (const fn of ticking) {
    if (!fn.el.isConnected) ticking.delete(fn);
    else fn();
  }
  if (!ticking.size) {
    clearInterval(timer);
    timer = null;
  }
}

// countdown shows the time left until due (or how long it is overdue); paused freezes it.
export function countdown(due, { paused = false } = {}) {
  const el = h('span', { class: 'countdown' });
  const update = () => {
    if (paused) {
      el.textContent = t('deadline.paused');
      return;
    }
    const left = new Date(due).getTime() - Date.now();
    el.classList.toggle('overdue', left < 0);
    el.classList.toggle('soon', left >= 0 && left < 24 * 3600 * 1000);
    el.textContent = left < 0 ? t('deadline.overdue_by', { span: fmtSpan(-left) }) : t('deadline.left', { span: fmtSpan(left) });
  };
  update.el = el;
  update();
  ticking.add(update);
  if (!timer) timer = setInterval(tick, 30000);
  return el;
}

// section is a card with a heading.
export function section(title, ...children) {
  const id = uid('s');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

// copyButton copies text and says so.
export function copyButton(getText) {
  const btn = h('button', { type: 'button', class: 'btn secondary small' }, t('common.copy'));
  btn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(getText());
      toast(t('common.copied'));
    } catch {
      toast(t('common.copy_failed'), 'error');
    }
  });
  return btn;
}

// setTitle names the browser tab.
export function setTitle(text) {
  document.title = text ? `${text} · ${t('app.name')}` : t('app.name');
}

// confirmSheet asks before an irreversible legal act: a sheet (a bottom sheet on a phone) that names the act and
// states its consequence in one sentence. It resolves true when the user confirms, false when they go back
// (the button, Escape or a tap outside).
export function confirmSheet({ title, consequence, ok, danger = false }) {
  return new Promise((resolve) => {
    const okBtn = h('button', { type: 'button', class: ['btn', danger ? 'danger' : ''], id: 'sheet-ok' }, ok);
    const backBtn = h('button', { type: 'button', class: 'btn secondary', id: 'sheet-back' }, t('sheet.back'));
    const titleId = uid('sheet');
    const textId = uid('sheet');
    const dlg = h(
      'dialog',
      { class: 'sheet', 'aria-labelledby': titleId, 'aria-describedby': textId },
      h('h2', { id: titleId }, title),
      h('p', { id: textId, class: 'sheet-consequence' }, consequence),
      h('div', { class: 'actions-row' }, okBtn, backBtn),
    );
    let answered = false;
    const finish = (v) => {
      if (answered) return;
      answered = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    okBtn.addEventListener('click', () => finish(true));
    backBtn.addEventListener('click', () => finish(false));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      finish(false);
    });
    dlg.addEventListener('click', (ev) => {
      if (ev.target === dlg) finish(false);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    backBtn.focus();
  });
}

// cancelled is what a submit handler throws when the user went back from a confirmation sheet: the form shows
// nothing.
export const cancelled = () => new DOMException('', 'AbortError');
