// Staff log in with a user name and password.

import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { post, setSession, loadSession } from '../api.js';
import { field, onSubmit, formAlert } from '../ui.js';
import { homeFor } from '../routes.js';

export default function login(main, { me, query, navigate }) {
  const next = query.get('next');
  const safeNext = next && next.startsWith('/') && !next.startsWith('//') ? next : '';
  if (me && me.kind === 'account') {
    navigate(safeNext || homeFor(me), { replace: true });
    return;
  }
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'login-h' },
    formAlert(),
    field({ label: t('login.username'), name: 'username', required: true, attrs: { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' } }),
    field({ label: t('login.password'), name: 'password', type: 'password', required: true, attrs: { autocomplete: 'current-password' } }),
    h('button', { type: 'submit', class: 'btn block' }, t('login.submit')),
    h('p', { class: 'hint' }, t('login.party_hint')),
  );
  onSubmit(
    form,
    () => post('/auth/login', { username: form.username.value.trim(), password: form.password.value }),
    async (out) => {
      setSession({ kind: 'account', id: out.account.id, name: out.account.display_name, role: out.account.role, org_id: out.account.org_id }, out.csrf_token);
      // The full principal (organisation kind and region) comes from /auth/me.
      const me = (await loadSession()) || { kind: 'account', role: out.account.role };
      navigate(safeNext || homeFor(me), { replace: true });
    },
  );
  mount(main, h('div', { class: 'narrow' }, h('h1', { id: 'login-h' }, t('login.title')), safeNext ? h('p', { class: 'alert info' }, t('login.need')) : null, form));
  form.username.focus();
}
