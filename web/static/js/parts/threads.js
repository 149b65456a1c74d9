// The case's message threads outside sessions (text and asynchronous mediation, OMR Art. 18): the joint thread,
// and each side's private thread with the mediators (a standing caucus: the other side and the court never see
// it). A party can take part by text alone. The list refreshes every 20 s while it is on the page.

import { h, mount, uid } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { alertBox, busy, loadingBox, clearErrors, showErrors } from '../ui.js';
import { uploadFile, size } from './materials.js';

const REFRESH_MS = 20000;
const ACCEPT = '.pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx,.ppt,.pptx';

// attachments lists a message's attachments the reader may read (the server leaves out the others), each a
// download of the material.
function attachments(m) {
  if (!m.attachments || !m.attachments.length) return null;
  return h(
    'ul',
    { class: 'plain-list thread-attachments', 'aria-label': t('threads.attachments') },
    m.attachments.map((a) => h('li', { dataset: { material: a.material_id } }, h('a', { href: `/api/v1/materials/${enc(a.material_id)}/content`, download: a.filename }, a.filename), ' ', h('span', { class: 'small muted' }, size(a.size)))),
  );
}

function threadName(th, me) {
  if (th === 'joint') return t('threads.joint');
  if (me.kind === 'party' || me.kind === 'agent') return t('threads.own_side');
  return t('threads.side', { side: label('side', th) });
}

function authorText(m) {
  const who = m.author_kind === 'party' || m.author_kind === 'agent' ? `${label('side', m.author_side)}${m.author_kind === 'agent' ? t('threads.agent_suffix') : ''}` : label('role', m.author_role);
  return t('threads.author', { name: m.author_name, who });
}

export function threadsSection(caseId, me) {
  const tabs = h('div', { class: 'tabs thread-tabs', role: 'tablist', 'aria-label': t('threads.title') });
  const body = h('div', { class: 'thread-body', 'aria-live': 'polite' });
  const el = h('section', { class: 'card', id: 'threads' }, h('h2', null, t('threads.title')), h('p', { class: 'small muted' }, t('threads.explain')), tabs, body);
  let current = 'joint';
  let list = [];
  let timer = 0;

  async function loadList() {
    try {
      list = await get(`/cases/${enc(caseId)}/threads`);
    } catch (e) {
      mount(body, alertBox(e));
      return false;
    }
    if (!list.some((x) => x.thread === current) && list.length) current = list[0].thread;
    mount(
      tabs,
      list.map((x) =>
        h(
          'button',
          { type: 'button', role: 'tab', 'aria-selected': String(x.thread === current), dataset: { thread: x.thread }, onclick: () => open(x.thread) },
          threadName(x.thread, me),
          x.unread && x.thread !== current ? h('span', { class: 'badge', 'aria-label': t('threads.unread', { n: x.unread }) }, String(x.unread)) : null,
        ),
      ),
    );
    return true;
  }

  async function showThread() {
    const sum = list.find((x) => x.thread === current);
    if (!sum) {
      mount(body, h('p', { class: 'muted' }, t('threads.none')));
      return;
    }
    let page;
    try {
      page = await get(`/cases/${enc(caseId)}/threads/${enc(current)}/messages`);
    } catch (e) {
      mount(body, alertBox(e));
      return;
    }
    const items = page.messages.map((m) =>
      h(
        'li',
        { class: ['thread-msg', m.author_id === me.id ? 'mine' : ''], dataset: { message: String(m.id) } },
        h('div', { class: 'small muted' }, authorText(m), ' · ', h('time', { datetime: m.at }, fmtDateTime(m.at))),
        m.body ? h('p', { class: 'pre' }, m.body) : null,
        attachments(m),
      ),
    );
    const note = h('p', { class: 'small muted' }, current === 'joint' ? t('threads.joint_note') : t('threads.private_note'));
    let form = null;
    if (sum.writable) {
      const area = h('textarea', { name: 'body', rows: 3, maxlength: 4000, required: true, 'aria-label': t('threads.placeholder'), placeholder: t('threads.placeholder') });
      const send = h('button', { type: 'submit', class: 'btn', id: 'thread-send' }, t('threads.send'));
      // A file goes with the message as a material of the case, visible as the thread is (the server decides).
      const fileId = uid('f');
      const file = h('input', { type: 'file', id: fileId, name: 'file', accept: ACCEPT, class: 'file-input', 'aria-describedby': `${fileId}-hint` });
      const chosen = h('span', { class: 'small muted file-chosen', id: 'thread-file-chosen' });
      file.addEventListener('change', () => {
        chosen.textContent = file.files && file.files[0] ? file.files[0].name : '';
      });
      const attach = h(
        'div',
        { class: 'field' },
        h('div', { class: 'file-row' }, file, h('label', { for: fileId, class: 'btn secondary', id: 'thread-attach' }, t('threads.attach')), chosen),
        h('div', { class: 'hint', id: `${fileId}-hint` }, current === 'joint' ? t('threads.attach_joint') : t('threads.attach_private')),
      );
      form = h('form', { class: 'thread-form', novalidate: true }, h('div', { class: 'field' }, area), attach, h('div', { class: 'actions-row' }, send));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(form);
        try {
          await busy(send, async () => {
            const f = file.files && file.files[0];
            const ids = f ? [(await uploadFile(`/api/v1/cases/${enc(caseId)}/threads/${enc(current)}/attachments`, f, {})).id] : [];
            return post(`/cases/${enc(caseId)}/threads/${enc(current)}/messages`, { body: area.value, attachments: ids });
          });
          area.value = '';
          await refresh();
        } catch (e) {
          showErrors(form, e);
        }
      });
    }
    mount(
      body,
      note,
      items.length ? h('ol', { class: 'thread-list plain-list' }, items) : h('p', { class: 'muted', id: 'thread-empty' }, t('threads.empty')),
      form || h('p', { class: 'small muted' }, t('threads.readonly')),
    );
  }

  async function refresh() {
    if (await loadList()) await showThread();
  }

  function open(th) {
    current = th;
    refresh();
  }

  function tick() {
    if (!el.isConnected) {
      clearInterval(timer);
      return;
    }
    const draft = el.querySelector('textarea');
    const picked = el.querySelector('.thread-form input[type=file]');
    if (document.visibilityState === 'visible' && !(draft && (draft.value || draft === document.activeElement)) && !(picked && picked.files && picked.files.length)) refresh();
  }

  mount(body, loadingBox());
  refresh();
  timer = setInterval(tick, REFRESH_MS);
  return el;
}
