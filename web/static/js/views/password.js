// A staff member changes their own password.

import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { post } from '../api.js';
import { field, onSubmit, formAlert, toast } from '../ui.js';
import { homeFor } from '../routes.js';

export default function password(main, { me, navigate }) {
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    formAlert(),
    field({ label: t('password.current'), name: 'current_password', type: 'password', required: true, attrs: { autocomplete: 'current-password' } }),
    field({ label: t('password.new'), name: 'new_password', type: 'password', required: true, hint: t('password.rule'), attrs: { autocomplete: 'new-password', minlength: 10, maxlength: 200 } }),
    field({ label: t('password.repeat'), name: 'repeat', type: 'password', required: true, attrs: { autocomplete: 'new-password' } }),
    h('button', { type: 'submit', class: 'btn' }, t('password.submit')),
  );
  onSubmit(
    form,
    async () => {
      if (form.new_password.value !== form.repeat.value) {
        throw { code: 'invalid', fields: { repeat: t('password.mismatch') } };
      }
      return post('/auth/password', { current_password: form.current_password.value, new_password: form.new_password.value });
    },
    () => {
      toast(t('password.done'));
      navigate(homeFor(me));
    },
  );
  mount(main, h('div', { class: 'narrow' }, h('h1', null, t('password.title')), form));
}
