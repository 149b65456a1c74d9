// The signing page (party or mediator, on a phone): the document's pages (zoomable), who signs which field and
// who has, the caller's field with a signature pad, then the device signing of docs/signing.md — a
// non-extractable P-256 key kept in IndexedDB, the key proof, prepare, sign what the server prepared, finish
// — and the signed PDF to download. What you see is what you sign: the signer's pages are rendered from the very
// PDF revision the page downloaded, and the device signs only after checking that the prepared signature's message
// digest is the SHA-256 of that revision's byte ranges (sign/wysiwys.js). When the document changed meanwhile
// (someone else signed), the new version is shown and the party signs again by their own gesture: never silently.
// Others who may see the document (a judge, the organisation) read it here.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { alertBox, loadingBox, section, setTitle, toast, errorTitle, errorDetail } from '../ui.js';
import { pageViewer } from '../sign/pages.js';
import { signaturePad } from '../sign/pad.js';
import { deviceKey, sign, keyProof, unb64, available, KeyError } from '../sign/devicekey.js';
import { fetchRevision, checkPrepared, DigestMismatch } from '../sign/wysiwys.js';
import { pdfLink } from '../parts/wechat.js';

const STEPS = ['key', 'prepare', 'check', 'device', 'finish'];

export default async function signPage(main, { params, me }) {
  const id = params.id;
  let out;
  let c = null;
  let pad = null;
  let poll = 0;
  let gone = false;
  let shown = null; // {version, bytes, sha256}: the revision the signer reads and signs
  let changed = false; // the document changed under the signer: they read the new version and sign again

  async function load() {
    out = await get(`/documents/${enc(id)}`);
    shown = null;
    if (out.next && out.document.status === 'signing') shown = await fetchRevision(out.document.id, out.document.current_version);
    try {
      c = (await get(`/cases/${enc(out.document.case_id)}`)).case;
    } catch {
      c = null; // the document is readable; its case's header is only a nicety
    }
  }

  mount(main, loadingBox());
  try {
    await load();
  } catch (e) {
    mount(main, h('h1', null, t('sign.title')), alertBox(e, e.status === 404 ? h('p', null, t('sign.not_found_help')) : null));
    return undefined;
  }

  function fieldList(d) {
    return h(
      'ul',
      { class: 'plain-list fields', id: 'sign-fields' },
      d.fields.map((f) =>
        h(
          'li',
          { class: ['field-item', f.signed ? 'done' : '', f.caller_signs && !f.signed ? 'mine' : ''], dataset: { field: f.field, signed: String(f.signed) } },
          h('span', { class: ['mark', f.signed ? 'ok' : 'todo'], 'aria-hidden': 'true' }, f.signed ? '✓' : '·'),
          h(
            'div',
            null,
            h('strong', null, f.name || label('sigrole', f.role)),
            ' ',
            h('span', { class: 'badge' }, label('sigrole', f.role)),
            h('div', { class: 'small muted' }, f.signed ? t('sign.signed_by', { name: f.signed_by, at: fmtDateTime(f.signed_at) }) : f.caller_signs ? t('sign.yours') : f.device ? t('sign.awaiting') : t('sign.awaiting_seal')),
          ),
        ),
      ),
    );
  }

  function downloads(d) {
    const doc = d.document;
    return h(
      'div',
      { class: 'actions-row' },
      h('a', { class: 'btn', ...pdfLink(`/api/v1/documents/${enc(doc.id)}/pdf`), id: 'download-pdf' }, doc.status === 'complete' ? t('sign.download_signed') : t('sign.download_current')),
      h('a', { class: 'btn secondary', href: `/verify?doc=${enc(doc.id)}` }, t('sign.verify_link')),
    );
  }

  function signBox(d) {
    const f = d.fields.find((x) => x.field === d.next);
    if (!f) return null;
    if (!available()) {
      return section(t('sign.your_signature'), h('div', { class: 'alert error', role: 'alert' }, h('p', null, h('strong', null, t('sign.err_insecure'))), h('p', null, t('sign.fix_insecure'))));
    }
    const progress = h('ol', { class: 'sign-steps', id: 'sign-steps', hidden: true }, STEPS.map((s) => h('li', { dataset: { step: s } }, t(`sign.step_${s}`))));
    const box = h('div', { 'aria-live': 'polite' });
    const agree = h('input', { type: 'checkbox', id: 'sign-agree' });
    const go = h('button', { type: 'button', class: 'btn block', id: 'sign-submit' }, t('sign.submit'));
    pad = signaturePad({
      keep: `${d.document.id}:${f.field}`,
      onChange: (drawn) => {
        if (drawn && box.querySelector('.field-error')) box.replaceChildren();
      },
    });
    go.addEventListener('click', () => signNow(f, { go, agree, box, progress }));
    return h(
      'section',
      { class: 'card attention', id: 'sign-box', 'aria-labelledby': 'sign-h' },
      h('h2', { id: 'sign-h' }, t('sign.your_signature')),
      h('p', null, t('sign.explain', { role: label('sigrole', f.role), name: f.name })),
      pad.el,
      h('label', { class: 'check', for: 'sign-agree' }, agree, h('span', null, d.document.kind === 'session_record' ? t('sign.agree_record') : d.document.kind === 'confirmation_sheet' ? t('sign.agree_sheet') : t('sign.agree_agreement'))),
      h('p', { class: 'small muted' }, t('sign.key_note')),
      go,
      progress,
      box,
    );
  }

  function step(progress, name) {
    progress.hidden = false;
    const at = STEPS.indexOf(name);
    for (const li of progress.children) {
      const i = STEPS.indexOf(li.dataset.step);
      li.className = i < at ? 'done' : i === at ? 'now' : '';
      li.setAttribute('aria-current', i === at ? 'step' : 'false');
    }
  }

  async function signNow(f, { go, agree, box, progress }) {
    box.replaceChildren();
    if (pad.isEmpty()) {
      box.replaceChildren(h('p', { class: 'field-error', role: 'alert' }, t('sign.err_blank')));
      return;
    }
    if (!agree.checked) {
      box.replaceChildren(h('p', { class: 'field-error', role: 'alert' }, t('sign.err_agree')));
      agree.focus();
      return;
    }
    go.disabled = true;
    go.setAttribute('aria-busy', 'true');
    pad.disable(true);
    try {
      const doc = out.document;
      step(progress, 'key');
      const key = await deviceKey(doc.case_id, me.id);
      const proof = await sign(key.privateKey, keyProof(doc.case_id, me.id, key.spki));
      const image = await pad.png();
      step(progress, 'prepare');
      const p = await post(`/documents/${enc(doc.id)}/prepare`, { field: f.field, public_key: key.spki, proof, image });
      step(progress, 'check');
      // Nothing is signed unless the prepared signature covers exactly the revision shown on this page.
      await checkPrepared(shown, p);
      step(progress, 'device');
      const signature = await sign(key.privateKey, unb64(p.to_be_signed));
      step(progress, 'finish');
      let done;
      try {
        done = await post(`/documents/${enc(doc.id)}/finish`, { field: f.field, signature });
      } catch (e) {
        // Someone else's signature landed first: the document changed, so show it and let the party sign again.
        if (e.status === 409) throw new DigestMismatch('stale');
        throw e;
      }
      out = done;
      pad.forget();
      shown = null;
      changed = false;
      toast(t('sign.done_toast'));
      draw(true);
    } catch (err) {
      let e = err;
      console.warn('sign:', e);
      if (e instanceof DigestMismatch && e.code === 'stale') {
        // A newer version: read it and sign again, with a new drawing (a gesture of its own). Nothing was signed.
        try {
          pad.forget();
          await load();
          changed = true;
          draw(false);
          return;
        } catch (e2) {
          e = e2;
        }
      }
      let msg;
      if (e instanceof DigestMismatch) msg = [h('p', null, h('strong', null, t('sign.err_mismatch'))), h('p', null, t('sign.fix_mismatch'))];
      else if (e.fields && e.fields.identity) msg = [h('p', null, h('strong', null, t(`sign.err_identity_${e.fields.identity}`))), h('p', null, t('sign.fix_identity'))];
      else if (e instanceof KeyError) msg = [h('p', null, h('strong', null, t(`sign.err_${e.code}`))), h('p', null, t('sign.fix_key'))];
      else if (e.fields && e.fields.image) msg = [h('p', null, h('strong', null, t('sign.err_blank')))];
      else msg = [h('p', null, h('strong', null, errorTitle(e))), errorDetail(e) ? h('p', { class: 'detail' }, errorDetail(e)) : null, h('p', null, t('sign.fix_retry'))];
      box.replaceChildren(h('div', { class: 'alert error', role: 'alert' }, msg));
      progress.hidden = true;
      go.disabled = false;
      pad.disable(false);
    } finally {
      go.removeAttribute('aria-busy');
    }
  }

  function draw(justSigned) {
    if (pad) pad.stop();
    pad = null;
    const d = out;
    const doc = d.document;
    setTitle(doc.title);
    const mineSigned = d.fields.some((f) => f.caller_signs === false && f.signed && doc.versions.some((v) => v.field === f.field && v.signer_id === me.id));
    const waitingFor = d.waiting ? d.fields.find((f) => f.field === d.waiting) : null;
    const signedCount = d.fields.filter((f) => f.signed).length;
    mount(
      main,
      h('p', { class: 'muted small' }, c ? h('a', { href: me.kind === 'account' ? `/cases/${c.id}` : '/party' }, c.number, ' ', c.title) : null),
      h('div', { class: 'page-head' }, h('h1', null, doc.title), h('span', { class: ['chip', doc.status === 'complete' ? 's-confirmed' : 's-signing'], id: 'doc-status', dataset: { status: doc.status } }, label('docstatus', doc.status))),
      h('p', { class: 'lead' }, t('sign.progress', { n: signedCount, total: d.fields.length }), ' · ', t('sign.version', { v: doc.current_version })),
      justSigned || mineSigned ? h('div', { class: 'alert ok', id: 'sign-done', role: 'status' }, h('p', null, h('strong', null, t('sign.done'))), h('p', null, doc.status === 'complete' ? t('sign.done_complete') : t('sign.done_others'))) : null,
      waitingFor ? h('div', { class: 'alert info', id: 'sign-waiting' }, t('sign.waiting_order', { name: waitingFor.name })) : null,
      d.blocked ? h('div', { class: 'alert info', id: 'sign-blocked', role: 'status' }, t(`sign.blocked_${d.blocked}`)) : null,
      doc.status === 'superseded' ? h('div', { class: 'alert warn' }, t('sign.superseded')) : null,
      changed ? h('div', { class: 'alert warn', id: 'sign-changed', role: 'alert' }, h('p', null, h('strong', null, t('sign.changed'))), h('p', null, t('sign.changed_hint', { v: doc.current_version }))) : null,
      // A confirmation sheet confirms a scan of an agreement signed on paper: the scan is one tap away.
      doc.kind === 'confirmation_sheet' && doc.parent_id
        ? h('div', { class: 'alert info', id: 'sheet-scan' }, h('p', null, t('sign.sheet_scan')), h('p', null, h('a', { href: `/api/v1/documents/${enc(doc.parent_id)}/pdf`, download: '' }, t('offline.scan'))))
        : null,
      h(
        'div',
        { class: 'layout' },
        h('div', null, section(
            t('sign.read'),
            h('p', { class: 'small muted' }, t('sign.read_hint')),
            shown ? h('p', { class: 'small muted', id: 'shown-revision', dataset: { version: String(shown.version), sha256: shown.sha256 } }, t('sign.shown_revision', { v: shown.version, fp: shown.sha256.slice(0, 16) })) : null,
            pageViewer(doc, shown ? { version: shown.version, pdf: shown.bytes } : {}).el,
          ), signBox(d)),
        h('div', null, section(t('sign.who'), fieldList(d), doc.ordered ? h('p', { class: 'small muted' }, t('sign.ordered')) : null), section(t('sign.files'), downloads(d), h('p', { class: 'small muted' }, t('sign.files_hint')))),
      ),
    );
    // While someone else must sign first, or others are still signing, look again now and then.
    clearTimeout(poll);
    if (doc.status === 'signing' && (d.waiting || !d.next)) schedulePoll();
  }

  function schedulePoll() {
    poll = setTimeout(async () => {
      if (gone) return;
      try {
        const before = JSON.stringify(out.fields);
        const fresh = await get(`/documents/${enc(id)}`);
        if (gone) return;
        if (JSON.stringify(fresh.fields) !== before) {
          out = fresh;
          draw(false);
          return;
        }
      } catch {
        // try again later
      }
      if (!gone) schedulePoll();
    }, 8000);
  }

  draw(false);
  return () => {
    gone = true;
    clearTimeout(poll);
    if (pad) pad.stop();
  };
}
