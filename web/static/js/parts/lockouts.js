// Login lock-outs, for the platform admin (all; it may lift one) and organisation admins (their accounts'). A
// lock-out is of a pair of account and address, or of an address that tried many accounts: the owner, from
// another address, still logs in.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get, post } from '../api.js';
import { alertBox, busy, loadingBox, section, empty, toast } from '../ui.js';

export function lockoutsSection(me) {
  const box = h('div', { 'aria-live': 'polite', id: 'lockouts' }, loadingBox());
  async function load() {
    let list;
    try {
      list = await get('/auth/lockouts');
    } catch (e) {
      mount(box, alertBox(e));
      return;
    }
    if (!list.length) {
      mount(box, empty(t('lockouts.none')));
      return;
    }
    mount(
      box,
      h(
        'ul',
        { class: 'caselist' },
        list.map((l) => {
          const lift = h('button', { type: 'button', class: 'btn small secondary', dataset: { lockout: String(l.id) } }, t('lockouts.lift'));
          lift.addEventListener('click', async () => {
            try {
              await busy(lift, () => post(`/auth/lockouts/${l.id}/clear`));
              toast(t('lockouts.lifted'));
              load();
            } catch (e) {
              lift.after(alertBox(e));
            }
          });
          return h(
            'li',
            { class: 'caseitem' },
            h('div', { class: 'top-line' }, h('strong', null, l.scope === 'address' ? l.address : `${l.username} · ${l.address}`), l.active ? h('span', { class: 'chip danger' }, t('lockouts.active')) : null),
            h('div', { class: 'meta' }, h('span', null, label('lockoutscope', l.scope)), h('span', null, t('lockouts.failures', { n: l.failures })), h('span', null, t('lockouts.when', { at: fmtDateTime(l.at), until: fmtDateTime(l.until) })), l.cleared_at ? h('span', null, t('lockouts.cleared', { by: l.cleared_by, at: fmtDateTime(l.cleared_at) })) : null),
            l.active && me.role === 'admin' ? h('div', { class: 'actions-row' }, lift) : null,
          );
        }),
      ),
    );
  }
  load();
  return section(t('lockouts.title'), h('p', { class: 'small muted' }, t('lockouts.hint')), box);
}
