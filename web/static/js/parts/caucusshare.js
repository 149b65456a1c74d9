// A party's caucus messages of one session, each with the party's own consent to move it into the shared record
// (OMR Art. 18: what was said in a caucus stays there unless the party agrees). Nothing is shared without that
// click; when several parties were in the caucus, every one of them must agree.

import { h, mount } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { alertBox, busy, loadingBox, toast } from '../ui.js';

export function caucusShare(sessionId, me) {
  const box = h('div', { 'aria-live': 'polite' });
  const el = h('details', { class: 'caucus-share', id: `caucus-share-${sessionId}` }, h('summary', null, t('caucus.share_title')), box);
  let loaded = false;
  async function load() {
    mount(box, loadingBox());
    let d;
    try {
      d = await get(`/sessions/${enc(sessionId)}`);
    } catch (e) {
      mount(box, alertBox(e));
      return;
    }
    const msgs = d.messages.filter((m) => m.caucus_ref);
    if (!msgs.length) {
      mount(box, h('p', { class: 'muted small' }, t('caucus.share_none')));
      return;
    }
    mount(
      box,
      h('p', { class: 'small muted' }, t('caucus.share_explain')),
      h(
        'ul',
        { class: 'plain-list' },
        msgs.map((m) => {
          const mine = (m.consents || []).some((x) => x.party_id === me.party_id);
          const btn = h('button', { type: 'button', class: 'btn small secondary', dataset: { share: String(m.id) } }, t('caucus.share_button'));
          btn.addEventListener('click', async () => {
            try {
              const out = await busy(btn, () => post(`/sessions/${enc(sessionId)}/messages/${m.id}/share`));
              toast(out.shared ? t('caucus.shared') : t('caucus.share_waiting'));
              load();
            } catch (e) {
              btn.after(alertBox(e));
            }
          });
          return h(
            'li',
            { class: 'chat-msg caucus' },
            h('div', { class: 'chat-meta' }, h('strong', null, m.sender_name), ' ', h('span', { class: 'muted' }, fmtDateTime(m.at))),
            h('p', { class: 'pre' }, m.body),
            m.shared ? h('p', { class: 'small ok' }, t('caucus.is_shared')) : mine ? h('p', { class: 'small muted' }, t('caucus.share_waiting')) : btn,
          );
        }),
      ),
    );
  }
  el.addEventListener('toggle', () => {
    if (el.open && !loaded) {
      loaded = true;
      load();
    }
  });
  return el;
}
