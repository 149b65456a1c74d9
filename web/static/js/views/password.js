// A staff member changes their own password. The change ends the account's other sessions; the form asks
// whether its API tokens should be revoked too (an integration using one stops working).

import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { post } from '../api.js';
import { field, onSubmit, formAlert, toast } from '../ui.js';
import { homeFor } from '../routes.js';

export default function password(main, { me, navigate }) {
  const choice = (value, text) =>
    h('label', { class: 'check', for: `revoke-${value}` }, h('input', { type: 'radio', name: 'revoke_tokens', value, id: `revoke-${value}` }), h('span', null, text));
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    formAlert(),
    field({ label: t('password.current'), name: 'current_password', type: 'password', required: true, attrs: { autocomplete: 'current-password' } }),
    field({ label: t('password.new'), name: 'new_password', type: 'password', required: true, hint: t('password.rule'), attrs: { autocomplete: 'new-password', minlength: 12, maxlength: 200 } }),
    field({ label: t('password.repeat'), name: 'repeat', type: 'password', required: true, attrs: { autocomplete: 'new-password' } }),
    h(
      'fieldset',
      { name: 'revoke_tokens', id: 'revoke-tokens' },
      h('legend', null, t('password.tokens_question')),
      h('p', { class: 'hint' }, t('password.tokens_hint')),
      choice('no', t('password.tokens_keep')),
      choice('yes', t('password.tokens_revoke')),
    ),
    h('p', { class: 'small muted' }, t('password.sessions_note')),
    h('button', { type: 'submit', class: 'btn' }, t('password.submit')),
  );
  onSubmit(
    form,
    async () => {
      if (form.new_password.value !== form.repeat.value) {
        throw { code: 'invalid', fields: { repeat: t('password.mismatch') } };
      }
      const revoke = form.querySelector('[name=revoke_tokens]:checked');
      if (!revoke) throw { code: 'invalid', fields: { revoke_tokens: t('password.tokens_choose') } };
      return post('/auth/password', { current_password: form.current_password.value, new_password: form.new_password.value, revoke_tokens: revoke.value === 'yes' });
    },
    (out) => {
      toast(t('password.done_detail', { sessions: out?.sessions_ended ?? 0, tokens: out?.tokens_revoked ?? 0 }));
      navigate(homeFor(me));
    },
  );
  mount(main, h('div', { class: 'narrow' }, h('h1', null, t('password.title')), form));
}
