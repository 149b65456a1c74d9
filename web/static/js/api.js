// The JSON API client: same-origin requests with the session cookie, the CSRF token on unsafe methods, and
// error answers ({"error": {code, message, fields}}) turned into ApiError.

export class ApiError extends Error {
  constructor(status, code, message, fields, detail) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
    // The stable code of the message and of each field's reason, with their params: what the page shows.
    this.key = (detail && detail.key) || '';
    this.params = (detail && detail.params) || {};
    this.kinds = (detail && detail.param_kinds) || {};
    this.reasons = (detail && detail.reasons) || {};
  }
}

let csrf = '';
let me = null;
const unauthorized = new Set();

// setSession records who is logged in and the CSRF token for unsafe requests (from the login, the code
// verification or /auth/me answer).
export function setSession(principal, token) {
  me = principal || null;
  csrf = token || '';
}

export const principal = () => me;

// onUnauthorized registers a callback for a 401 on a request made while logged in (the session ended).
export function onUnauthorized(fn) {
  unauthorized.add(fn);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// api sends one request to /api/v1<path>. It resolves with the decoded body (null for 204) or rejects with an
// ApiError; code "network" means the request never got an answer.
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method) && csrf) headers['X-CSRF-Token'] = csrf;
  let resp;
  try {
    resp = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e.message);
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const err = data && data.error ? data.error : {};
    const code = err.code || (resp.status === 413 ? 'too_large' : resp.status >= 500 ? 'internal' : 'http_' + resp.status);
    const e = new ApiError(resp.status, code, err.message, err.fields, err);
    if (resp.status === 401 && me) for (const fn of unauthorized) fn(e);
    throw e;
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

// loadSession asks the server who is logged in; it answers null for nobody.
export async function loadSession() {
  try {
    const out = await get('/auth/me');
    setSession(out.principal, out.csrf_token);
    return out.principal;
  } catch (e) {
    if (e.status === 401) {
      setSession(null, '');
      return null;
    }
    throw e;
  }
}

// qs builds a query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '' && v !== false) u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

// enc escapes one path segment.
export const enc = encodeURIComponent;

// getCSRF returns the CSRF token for requests made outside api() (a file upload).
export const getCSRF = () => csrf;
