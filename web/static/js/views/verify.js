// The public verification page (the QR code on every page of a Parley document leads here with ?doc=<id>):
// anyone uploads a PDF and reads a report per signature; with ?doc= it also lists the versions Parley keeps of
// that document, so the file in hand can be compared with them by its SHA-256.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get, enc } from '../api.js';
import { alertBox, section, errorTitle, errorDetail } from '../ui.js';
import { verifyPDF, reportView } from '../sign/report.js';

async function sha256Hex(buf) {
  if (!window.crypto || !crypto.subtle) return '';
  const d = await crypto.subtle.digest('SHA-256', buf);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

export default async function verify(main, { query }) {
  const docId = query.get('doc') || '';
  const versionsBox = h('div', { 'aria-live': 'polite' });
  const resultBox = h('div', { 'aria-live': 'polite', id: 'verify-result' });
  let versions = null;

  const input = h('input', { type: 'file', id: 'verify-file', accept: 'application/pdf,.pdf', class: 'file-input' });
  const pick = h('label', { for: 'verify-file', class: 'btn block', id: 'verify-pick' }, t('verify.choose'));
  const drop = h('div', { class: 'dropzone', id: 'verify-drop' }, input, pick, h('p', { class: 'small muted' }, t('verify.drop_hint')));

  async function check(file) {
    resultBox.replaceChildren(h('p', { role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', t('verify.checking', { name: file.name || '' })));
    try {
      const buf = await file.arrayBuffer();
      const [out, sha] = await Promise.all([verifyPDF(buf), sha256Hex(buf)]);
      const hash = sha || out.report.sha256;
      let match = null;
      if (versions) {
        const v = versions.versions.find((x) => x.sha256 === hash);
        match = v
          ? h('div', { class: 'alert ok', id: 'version-match' }, t('verify.matches_version', { v: v.version, latest: versions.versions.length }))
          : h('div', { class: 'alert warn', id: 'version-match' }, t('verify.matches_none'));
      }
      mount(resultBox, h('h2', null, t('verify.result_for', { name: file.name || '' })), match, reportView(out));
      markVersion(hash);
    } catch (e) {
      resultBox.replaceChildren(
        h('div', { class: 'alert error', role: 'alert' }, h('p', null, h('strong', null, e.code === 'unprocessable' ? t('verify.not_pdf') : e.code === 'too_large' ? t('verify.too_large') : errorTitle(e))), errorDetail(e) ? h('p', { class: 'detail' }, errorDetail(e)) : null, h('p', null, t('verify.fix'))),
      );
    }
  }

  input.addEventListener('change', () => {
    if (input.files && input.files[0]) check(input.files[0]);
  });
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const f = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (f) check(f);
  });

  function markVersion(hash) {
    for (const li of versionsBox.querySelectorAll('li[data-sha]')) li.classList.toggle('match', li.dataset.sha === hash);
  }

  mount(
    main,
    h('h1', null, t('verify.title')),
    h('p', { class: 'lead' }, t('verify.lead')),
    h('div', { class: 'layout' }, h('div', null, section(t('verify.upload'), drop), resultBox), h('div', null, docId ? section(t('verify.versions'), versionsBox) : null, section(t('verify.about'), h('p', { class: 'small' }, t('verify.about_text')), h('div', { class: 'actions-row' }, h('a', { class: 'btn secondary', href: '/api/v1/ca/root.pem', download: 'parley-root-ca.pem', id: 'root-cert' }, t('verify.root_cert'))), h('p', { class: 'small muted' }, t('verify.tools'))))),
  );

  if (docId) {
    versionsBox.replaceChildren(h('p', { class: 'small muted' }, t('common.loading')));
    try {
      versions = await get(`/verify/${enc(docId)}`);
      versionsBox.replaceChildren(
        h('p', { class: 'small' }, t('verify.doc_is', { kind: label('dockind', versions.kind), status: label('docstatus', versions.status) })),
        h('ol', { class: 'plain-list versions', id: 'version-list' }, versions.versions.map((v) => h('li', { dataset: { sha: v.sha256, version: String(v.version) } }, h('strong', null, t('verify.version_n', { v: v.version })), ' ', v.signer_role ? label('sigrole', v.signer_role) : t('verify.generated'), ' · ', fmtDateTime(v.created_at), h('div', { class: 'small break mono' }, v.sha256)))),
        h('p', { class: 'small muted' }, t('verify.versions_hint')),
      );
    } catch (e) {
      versionsBox.replaceChildren(alertBox(e, e.status === 404 ? h('p', null, t('verify.doc_unknown')) : null));
    }
  }
}
