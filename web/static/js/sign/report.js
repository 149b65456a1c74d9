// The verification report of a PDF (POST /api/v1/verify), in words: the verdict, whether Parley stores this very
// file, and per signature who signed, in which role, when, with which timestamp, whether it covers the document,
// whether anything but signatures came after it, and whether the certificate chains to Parley's root; the PAdES
// level of every signature and of the document, the document timestamps, and every change after signing that
// PAdES does not allow, worded from its code.

import { h } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { getCSRF } from '../api.js';

// verifyPDF sends a PDF (Blob or ArrayBuffer) to the verification endpoint and returns its answer.
export async function verifyPDF(body) {
  const headers = { 'Content-Type': 'application/pdf', Accept: 'application/json' };
  const csrf = getCSRF();
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let resp;
  try {
    resp = await fetch('/api/v1/verify', { method: 'POST', body, headers, credentials: 'same-origin' });
  } catch (e) {
    const err = new Error(e.message);
    err.code = 'network';
    throw err;
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new Error((data && data.error && data.error.message) || resp.statusText);
    err.code = (data && data.error && data.error.code) || `http_${resp.status}`;
    err.status = resp.status;
    throw err;
  }
  return data;
}

const levelText = (level) => level || t('verify.level_none');

// modText words one modification ({code, revision, kind, page, field, key, subtype, rect, offset}).
export function modText(m) {
  const parts = [m.field ? t('verify.where_field', { field: m.field }) : '', m.page ? t('verify.where_page', { page: m.page }) : ''].filter(Boolean);
  const where = parts.length ? t('verify.where_wrap', { parts: parts.join(t('verify.list_sep')) }) : '';
  return t(`modcode.${m.code}`, {
    revision: m.revision,
    kind: label('modkind', m.kind) || label('modkind', 'object'),
    where,
    key: m.key ? `/${m.key}` : '—',
    subtype: m.subtype || '—',
    rect: m.rect ? `[${m.rect.map((n) => Math.round(n)).join(' ')}]` : '—',
    offset: m.offset || 0,
  });
}

const codeList = (codes) => (codes && codes.length ? h('ul', { class: 'small problems codes' }, codes.map((c) => h('li', { dataset: { code: c } }, label('sigcode', c)))) : null);

const englishDetail = (problems) =>
  problems && problems.length ? h('details', { class: 'disclosure small' }, h('summary', null, t('verify.english_detail')), h('ul', { class: 'small problems', lang: 'en' }, problems.map((p) => h('li', null, p)))) : null;

const yesNo = (ok, good, bad) => h('span', { class: ['verdict', ok ? 'good' : 'bad'] }, ok ? '✓ ' : '✗ ', ok ? good : bad);

function signatureCard(s, i) {
  const ts = s.timestamp && !s.timestamp.startsWith('0001') ? s.timestamp : '';
  const rows = [
    [t('verify.signer'), h('span', null, s.signer_name || '—', s.organisation ? ` · ${s.organisation}` : '')],
    [t('verify.role'), label('sigrole', s.role)],
    s.case_number ? [t('verify.case_number'), s.case_number] : null,
    [t('verify.signed_at'), fmtDateTime(s.signing_time)],
    [t('verify.level'), h('span', { class: 'level', dataset: { level: s.level || '' } }, h('strong', null, levelText(s.level)), ' ', yesNo(s.policy_ok, t('verify.policy_ok'), t('verify.policy_bad')))],
    [t('verify.timestamp'), ts ? h('span', null, fmtDateTime(ts), s.timestamp_authority ? ` · ${s.timestamp_authority}` : '', ' ', yesNo(s.timestamp_valid && s.timestamp_trusted, t('verify.ts_ok'), s.timestamp_valid ? t('verify.ts_untrusted') : t('verify.ts_bad'))) : t('verify.no_timestamp')],
    [t('verify.integrity'), yesNo(s.cms_valid, t('verify.cms_ok'), t('verify.cms_bad'))],
    [t('verify.coverage'), yesNo(s.covers_revision, s.total_document ? t('verify.covers_all') : t('verify.covers_then', { n: s.later_revisions }), t('verify.covers_bad'))],
    [t('verify.after'), yesNo(!s.modified_after, t('verify.after_ok'), t('verify.after_bad'))],
    [t('verify.chain'), yesNo(s.chain_valid && !s.revoked, t('verify.chain_ok'), s.revoked ? t('verify.revoked') : t('verify.chain_bad'))],
  ].filter(Boolean);
  return h(
    'li',
    { class: ['card', 'sig-report', s.valid ? 'valid' : 'invalid'], dataset: { field: s.field, valid: String(!!s.valid) } },
    h('div', { class: 'top-line' }, h('strong', null, t('verify.signature_n', { n: i + 1 }), ' · ', s.signer_name || s.field), h('span', { class: ['chip', s.valid ? 's-confirmed' : 's-failed'] }, s.valid ? t('verify.valid') : t('verify.invalid'))),
    h('dl', { class: 'facts small' }, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    codeList(s.codes),
    englishDetail(s.problems),
    h('details', { class: 'disclosure small' }, h('summary', null, t('verify.details')), h('p', { class: 'break' }, t('verify.cert_sha', { sha: s.cert_sha256 })), h('p', null, t('verify.issuer', { issuer: s.issuer || '—' })), s.reason ? h('p', null, t('verify.reason', { reason: s.reason })) : null),
  );
}

// reportView draws a verification answer ({report, known, document_id, version, latest_version}).
export function reportView(out) {
  const r = out.report;
  const sigs = r.signatures || [];
  const mods = r.modifications || [];
  const dts = r.document_timestamps || [];
  return h(
    'div',
    { class: 'report', id: 'verify-report', dataset: { valid: String(!!r.valid), signatures: String(sigs.length) } },
    h(
      'div',
      { class: ['alert', r.valid ? 'ok' : 'error'], role: 'status' },
      h('p', null, h('strong', null, r.valid ? t('verify.all_valid', { n: sigs.length }) : sigs.length ? t('verify.not_valid') : t('verify.no_signatures'))),
      out.known
        ? h('p', null, out.version === out.latest_version ? t('verify.known_latest', { v: out.version }) : t('verify.known_older', { v: out.version, latest: out.latest_version }))
        : h('p', null, t('verify.unknown')),
      h('p', { id: 'verify-level', dataset: { level: r.level || '' } }, t('verify.level_doc', { level: levelText(r.level) })),
      h('p', { class: 'small break' }, t('verify.sha', { sha: r.sha256 })),
      codeList(r.codes),
      englishDetail(r.problems),
    ),
    mods.length
      ? h('div', { class: 'card', id: 'verify-modifications' }, h('h3', null, t('verify.modifications')), h('ul', { class: 'small problems' }, mods.map((m) => h('li', { dataset: { code: m.code, revision: String(m.revision) } }, modText(m)))))
      : null,
    sigs.length ? h('ol', { class: 'plain-list sig-list' }, sigs.map(signatureCard)) : null,
    dts.length
      ? h(
          'div',
          { class: 'card', id: 'verify-doc-timestamps' },
          h('h3', null, t('verify.doc_timestamps')),
          h('ul', { class: 'plain-list small' }, dts.map((d) => h('li', { dataset: { valid: String(!!d.valid) } }, yesNo(d.valid, t('verify.valid'), t('verify.invalid')), ' ', t('verify.doc_ts_line', { time: fmtDateTime(d.time), authority: d.authority || '—', revision: d.revision }), codeList(d.codes)))),
        )
      : null,
  );
}
