// The case file's materials (issue 12 §1): the list of what the caller may see, each downloaded as an
// attachment, and the upload form. The file goes to the server as the request body, streamed by the browser;
// the server decides what it is from its bytes.

import { h, mount, uid } from '../dom.js';
import { t, label, fmtDateTime, fmtNumber } from '../i18n.js';
import { get, enc, qs, getCSRF, ApiError } from '../api.js';
import { field, options, onSubmit, formAlert, alertBox, toast } from '../ui.js';

const KINDS = ['evidence', 'application', 'ip_certificate', 'comparison', 'appraisal', 'seal_image', 'authority_letter', 'other'];
const VISIBILITIES = ['shared', 'mediators', 'court'];
const IP_KINDS = ['patent', 'utility_model', 'design', 'trademark', 'copyright', 'layout_design', 'plant_variety', 'other'];
const ACCEPT = '.pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx,.ppt,.pptx';

export const size = (n) => (n >= 1048576 ? t('material.size_mb', { n: fmtNumber(n / 1048576, 1) }) : t('material.size_kb', { n: fmtNumber(Math.max(1, Math.round(n / 1024))) }));

// uploadMaterial sends one file with its description; it resolves with the stored material or rejects with an
// ApiError carrying the server's code (material_too_large, material_type, material_bomb…).
export function uploadMaterial(caseId, file, meta) {
  return uploadFile(`/api/v1/cases/${enc(caseId)}/materials`, file, meta);
}

// uploadFile sends one file as the body of a POST to path (the materials of a case, or a thread's attachments).
export async function uploadFile(path, file, meta) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/octet-stream' };
  const csrf = getCSRF();
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let resp;
  try {
    resp = await fetch(`${path}${qs({ filename: file.name, ...meta })}`, { method: 'POST', body: file, headers, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(resp.status, err.code || (resp.status === 413 ? 'material_too_large' : `http_${resp.status}`), err.message, err.fields);
  }
  return data;
}

function item(m) {
  const ip = m.ip_right ? h('p', { class: 'small' }, t('material.ip_line', { kind: label('iprkind', m.ip_right.kind), number: m.ip_right.number, holder: m.ip_right.holder })) : null;
  return h(
    'li',
    { dataset: { material: m.id, visibility: m.visibility } },
    h('p', null, h('a', { href: `/api/v1/materials/${enc(m.id)}/content`, download: m.filename }, m.filename), ' ', h('span', { class: ['chip', `vis-${m.visibility}`] }, label('matvis', m.visibility))),
    h('p', { class: 'small muted' }, t('material.meta', { kind: label('matkind', m.kind), owner: m.owner_name, size: size(m.size), at: fmtDateTime(m.created_at) })),
    m.description ? h('p', { class: 'small' }, m.description) : null,
    ip,
    h('p', { class: 'small muted mono' }, t('material.sha', { sha: m.sha256 })),
  );
}

// filePicker is the file field: the browser's own control draws in the browser's language and is too small to
// touch on a phone, so a button-sized label opens it and the chosen file's name is shown in the page's language.
export function filePicker(name, hint, accept) {
  const id = uid('f');
  const chosen = h('span', { class: 'small muted file-chosen', 'aria-live': 'polite' }, t('material.no_file'));
  const input = h('input', { type: 'file', id, name, required: true, accept, class: 'file-input', 'aria-describedby': `${id}-hint` });
  const show = () => {
    chosen.textContent = input.files && input.files[0] ? input.files[0].name : t('material.no_file');
  };
  input.addEventListener('change', show);
  return h(
    'div',
    { class: 'field file-field' },
    h('span', { class: 'label' }, t('material.file'), h('span', { class: 'req', 'aria-hidden': 'true' }, '*')),
    h('div', { class: 'file-row' }, input, h('label', { for: id, class: 'btn secondary' }, t('material.choose')), chosen),
    h('div', { class: 'hint', id: `${id}-hint` }, hint),
  );
}

// materialsSection lists the case's materials and offers the upload; it loads what it shows.
export function materialsSection(c) {
  const list = h('div', { id: 'material-list', 'aria-live': 'polite' });
  async function load() {
    try {
      const ms = await get(`/cases/${enc(c.id)}/materials`);
      mount(list, ms.length ? h('ul', { class: 'plain-list' }, ms.map(item)) : h('p', { class: 'muted' }, t('material.none')));
    } catch (e) {
      mount(list, alertBox(e));
    }
  }
  const kind = field({ label: t('material.kind'), name: 'kind', type: 'select', value: 'evidence', options: options(KINDS, 'matkind') });
  const ipBox = h(
    'div',
    { class: 'stack', hidden: true, id: 'material-ip' },
    field({ label: t('material.ip_kind'), name: 'ip_kind', type: 'select', value: 'patent', options: options(IP_KINDS, 'iprkind') }),
    field({ label: t('material.ip_number'), name: 'ip_number', hint: t('material.ip_number_hint') }),
    field({ label: t('material.ip_holder'), name: 'ip_holder' }),
  );
  // A seal picture goes on the agreement beside the company's signature once its letter of authority is
  // uploaded too (issue 13 §8); the hint says so, and that it is a picture, not a digital seal.
  const sealHint = h('p', { class: 'small muted', id: 'material-seal-hint', hidden: true }, t('material.seal_hint'));
  kind.querySelector('select').addEventListener('change', (ev) => {
    ipBox.hidden = ev.target.value !== 'ip_certificate';
    sealHint.hidden = ev.target.value !== 'seal_image' && ev.target.value !== 'authority_letter';
  });
  const form = h(
    'form',
    { novalidate: true, id: 'material-form' },
    formAlert(),
    filePicker('file', t('material.file_hint'), ACCEPT),
    kind,
    sealHint,
    field({ label: t('material.visibility'), name: 'visibility', type: 'select', value: 'shared', options: options(VISIBILITIES, 'matvis'), hint: t('material.visibility_hint') }),
    field({ label: t('material.description'), name: 'description', attrs: { maxlength: 500 } }),
    ipBox,
    h('button', { type: 'submit', class: 'btn' }, t('material.upload')),
  );
  onSubmit(
    form,
    (f) => {
      const file = f.file.files && f.file.files[0];
      if (!file) throw new ApiError(400, 'material_empty', '', {});
      const meta = { kind: f.kind.value, visibility: f.visibility.value, description: f.description.value.trim() };
      if (f.kind.value === 'ip_certificate') Object.assign(meta, { ip_kind: f.ip_kind.value, ip_number: f.ip_number.value.trim(), ip_holder: f.ip_holder.value.trim() });
      return uploadMaterial(c.id, file, meta);
    },
    async (m) => {
      form.reset();
      form.file.dispatchEvent(new Event('change')); // the chosen name goes with the reset
      ipBox.hidden = true;
      sealHint.hidden = true;
      toast(t('material.uploaded', { name: m.filename }));
      await load();
    },
  );
  load();
  return h('div', { class: 'stack', id: 'materials' }, h('p', { class: 'small muted' }, t('material.explain')), list, h('details', { class: 'action', id: 'material-upload' }, h('summary', null, t('material.add')), h('div', { class: 'body' }, form)));
}
