// A party's personal consent link from a served notice (an extension of the time limit, OMR Art. 24): what is
// asked, and one button that gives the party's own consent. The link works once.

import { h, mount } from '../dom.js';
import { t, fmtDateTime } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { alertBox, loadingBox, busy } from '../ui.js';

export default async function consent(main, { params }) {
  const token = params.token;
  mount(main, loadingBox());
  let info;
  try {
    info = await get(`/consent-links/${enc(token)}`);
  } catch (e) {
    mount(main, h('div', { class: 'narrow' }, h('h1', null, t('consentlink.title')), alertBox(e)));
    return;
  }
  const out = h('div', { 'aria-live': 'polite', id: 'consent-result' });
  const btn = h('button', { type: 'button', class: 'btn block', id: 'consent-give' }, t('consentlink.give'));
  btn.addEventListener('click', async () => {
    try {
      const res = await busy(btn, () => post(`/consent-links/${enc(token)}`));
      btn.remove();
      out.replaceChildren(h('p', { class: 'alert ok', role: 'status' }, res.extended ? t('consentlink.done_extended') : t('consentlink.done')));
    } catch (e) {
      out.replaceChildren(alertBox(e));
    }
  });
  mount(
    main,
    h(
      'div',
      { class: 'narrow card' },
      h('h1', null, t('consentlink.title')),
      h('p', null, t('consentlink.for', { name: info.party_name, number: info.case_number })),
      info.days ? h('p', { class: 'lead' }, t('consentlink.extension', { days: info.days })) : null,
      info.reason ? h('p', { class: 'pre' }, t('consentlink.reason', { text: info.reason })) : null,
      h('p', { class: 'small muted' }, t('consentlink.explain', { at: fmtDateTime(info.expires_at) })),
      info.used_at ? h('p', { class: 'alert warn' }, t('consentlink.used', { at: fmtDateTime(info.used_at) })) : btn,
      out,
    ),
  );
}
