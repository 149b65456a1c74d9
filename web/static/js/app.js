// The application: load the language and the session, draw the header and footer, and render each page the
// router matches into <main>.

import { h, mount } from './dom.js';
import { t, setLang, initialLang, getLang, onLangChange } from './i18n.js';
import { loadSession, principal, setSession, onUnauthorized, post } from './api.js';
import { hasFeature } from './env.js';
import { match, navigate, startRouter } from './router.js';
import { routes, navFor, homeFor, allowed } from './routes.js';
import { alertBox, progress, toast, setTitle } from './ui.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
const foot = document.getElementById('foot');
let cleanup = null;
let renderSeq = 0;
let menuOpen = false;

const isParty = (me) => me && (me.kind === 'party' || me.kind === 'agent');

// qrPath is the page a phone should open to continue here: for a party, their invitation link (the phone has
// no session yet), otherwise this page.
function qrPath() {
  const here = location.pathname + location.search;
  if (location.pathname === '/party') {
    try {
      const tok = sessionStorage.getItem('parley.join');
      if (tok) return `/join/${encodeURIComponent(tok)}`;
    } catch {
      // no storage: fall back to this page
    }
  }
  return here;
}

function renderHeader() {
  const me = principal();
  const links = navFor(me).filter((l) => hasFeature(l.feature));
  const otherLang = getLang() === 'zh-CN' ? 'en' : 'zh-CN';
  const navEl = h(
    'nav',
    { class: ['nav', menuOpen ? 'open' : ''], id: 'nav', 'aria-label': t('nav.label') },
    links.map((l) => h('a', { class: 'navlink', href: l.path, 'aria-current': location.pathname === l.path ? 'page' : null }, t(l.key))),
    me ? h('span', { class: 'who' }, isParty(me) ? t('nav.who_party', { name: me.name }) : t('nav.who_staff', { name: me.name, role: t(`role.${me.role}`) })) : null,
    me && me.kind === 'account' ? h('a', { class: 'navlink', href: '/password' }, t('nav.password')) : null,
    me ? h('button', { type: 'button', id: 'logout', onclick: logout }, t('nav.logout')) : h('a', { class: 'navlink', href: '/login' }, t('nav.login')),
  );
  mount(
    top,
    h(
      'div',
      { class: 'top-inner' },
      h('a', { class: 'brand', href: homeFor(me) }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '' }), h('span', null, t('app.brand')), h('span', { class: 'brand-sub' }, t('app.brand_sub'))),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'lang-btn', lang: otherLang, 'aria-label': t('nav.switch_lang'), onclick: () => switchLang(otherLang) }, t('nav.other_lang')),
      h(
        'button',
        {
          type: 'button',
          class: 'menu-btn',
          'aria-expanded': menuOpen ? 'true' : 'false',
          'aria-controls': 'nav',
          onclick: () => {
            menuOpen = !menuOpen;
            renderHeader();
          },
        },
        h('span', { class: 'bars', 'aria-hidden': 'true' }),
        h('span', { class: 'sr-only' }, t('nav.menu')),
      ),
      navEl,
    ),
  );
  document.getElementById('skip').textContent = t('a11y.skip');
}

// qrOpen keeps the footer's QR panel open across redraws of the footer (a language switch, a new page).
let qrOpen = false;

function renderFooter() {
  // Not loading: 'lazy': the source is set only when the panel opens, and Chromium may keep deferring a lazy image
  // that appears inside a <details> until the page scrolls again (the clerk's panel stayed blank in a test run).
  const img = h('img', { alt: t('qr.alt'), width: 148, height: 148 });
  const qrSrc = () => `/qr.svg?path=${encodeURIComponent(qrPath())}`;
  if (qrOpen) img.src = qrSrc();
  const details = h(
    'details',
    {
      open: qrOpen,
      ontoggle: (ev) => {
        qrOpen = ev.target.open;
        if (ev.target.open && !img.getAttribute('src')) img.src = qrSrc();
      },
    },
    h('summary', null, t('qr.summary')),
    h('div', { class: 'qr-box' }, img, h('p', { class: 'small' }, t('qr.explain'))),
  );
  mount(
    foot,
    h('div', { class: 'foot-inner' }, h('span', null, t('app.footer')), h('div', { class: 'qr-panel' }, details), h('a', { href: '/device' }, t('nav.device'))),
  );
}

async function switchLang(l) {
  progress.start();
  try {
    await setLang(l);
  } catch (e) {
    toast(t('err.network'), 'error');
  } finally {
    progress.done();
  }
}

async function logout() {
  const me = principal();
  try {
    await post('/auth/logout');
  } catch (e) {
    if (e.status !== 401) {
      toast(t('err.network'), 'error');
      return;
    }
  }
  setSession(null, '');
  try {
    sessionStorage.removeItem('parley.join');
  } catch {
    // nothing kept
  }
  menuOpen = false;
  toast(isParty(me) ? t('nav.logged_out_party') : t('nav.logged_out'));
  navigate('/');
}

function notFound(kind) {
  setTitle(t(`notfound.${kind}`));
  mount(
    main,
    h('div', { class: 'card' }, h('h1', { tabindex: '-1' }, t(`notfound.${kind}`)), h('p', null, t(`notfound.${kind}_text`)), h('div', { class: 'actions-row' }, h('a', { class: 'btn', href: homeFor(principal()) }, t('notfound.home')))),
  );
}

// render draws the page for the current address.
async function render({ nav } = {}) {
  const seq = ++renderSeq;
  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      console.error(e);
    }
    cleanup = null;
  }
  menuOpen = false;
  renderHeader();
  renderFooter();
  const me = principal();
  const m = match(routes, location.pathname);
  if (!m || !hasFeature(m.route.feature)) {
    notFound('page');
    return;
  }
  if (!allowed(m.route, me)) {
    if (!me && m.route.who === 'party') {
      notFound('party');
    } else if (!me) {
      navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    } else {
      notFound('forbidden');
    }
    return;
  }
  setTitle(m.route.title ? t(m.route.title) : '');
  progress.start();
  try {
    const mod = await m.route.view();
    if (seq !== renderSeq) return;
    main.replaceChildren();
    const ret = await mod.default(main, { params: m.params, query: new URLSearchParams(location.search), me, navigate });
    if (seq !== renderSeq) {
      if (typeof ret === 'function') ret();
      return;
    }
    cleanup = typeof ret === 'function' ? ret : null;
  } catch (e) {
    if (seq !== renderSeq) return;
    console.error(e);
    mount(main, h('h1', { tabindex: '-1' }, t('err.page_failed')), alertBox(e && e.code ? e : { code: 'unknown' }), h('button', { type: 'button', class: 'btn', onclick: () => render({ nav: true }) }, t('common.retry')));
  } finally {
    progress.done();
  }
  if (nav && seq === renderSeq) {
    window.scrollTo(0, 0);
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    } else {
      main.focus({ preventScroll: true });
    }
  }
}

async function boot() {
  try {
    await setLang(initialLang(), { remember: false });
  } catch (e) {
    mount(main, h('p', { class: 'alert error' }, 'Parley: ', String(e)));
    return;
  }
  try {
    await loadSession();
  } catch (e) {
    // The server did not answer: pages that need it will say so; public pages still work.
    console.error(e);
  }
  onLangChange(() => {
    // A page with something live (a video call) relabels itself instead of being drawn again from scratch.
    if (cleanup && typeof cleanup.relabel === 'function') {
      renderHeader();
      renderFooter();
      cleanup.relabel();
      return;
    }
    render({ nav: false });
  });
  onUnauthorized(() => {
    const me = principal();
    setSession(null, '');
    toast(isParty(me) ? t('auth.expired_party') : t('auth.expired'), 'error');
    if (isParty(me)) navigate('/');
    else navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  });
  startRouter(render);
}

boot();
