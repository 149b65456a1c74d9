// The landing page: where a party, an applicant and staff each go. Logged-in visitors go straight to their desk.

import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { homeFor } from '../routes.js';

export default function home(main, { me, navigate }) {
  if (me) {
    navigate(homeFor(me), { replace: true });
    return;
  }
  const card = (href, title, text, cta) => h('a', { class: 'card link-card', href }, h('h2', null, title), h('p', { class: 'muted' }, text), h('span', { class: 'btn secondary' }, cta));
  mount(
    main,
    h('div', { class: 'hero' }, h('h1', null, t('home.title')), h('p', null, t('home.lead'))),
    h(
      'div',
      { class: 'grid three' },
      h('div', { class: 'card' }, h('h2', null, t('home.party_title')), h('p', { class: 'muted' }, t('home.party_text')), h('a', { class: 'btn secondary', href: '/device' }, t('home.party_cta'))),
      card('/apply', t('home.apply_title'), t('home.apply_text'), t('home.apply_cta')),
      card('/login', t('home.staff_title'), t('home.staff_text'), t('home.staff_cta')),
    ),
    h('section', { class: 'card' }, h('h2', null, t('home.about_title')), h('p', null, t('home.about_1')), h('p', null, t('home.about_2'))),
  );
}
