// A small client-side router: path patterns with {name} segments, the History API, and links that stay in
// the application without reloading.

const compiled = new WeakMap();

function compile(route) {
  let c = compiled.get(route);
  if (!c) {
    const names = [];
    const re = route.path
      .split('/')
      .map((seg) => {
        const m = /^\{(\w+)\}$/.exec(seg);
        if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]);
        return '([^/]+)';
      })
      .join('/');
    c = { re: new RegExp(`^${re}$`), names };
    compiled.set(route, c);
  }
  return c;
}

// match finds the route for a path (a trailing slash is ignored) and its decoded parameters.
export function match(routes, pathname) {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  for (const route of routes) {
    const { re, names } = compile(route);
    const m = re.exec(path);
    if (!m) continue;
    const params = {};
    try {
      names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1]);
      });
    } catch {
      return null;
    }
    return { route, params };
  }
  return null;
}

let render = () => {};

// navigate goes to an address inside the application.
export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render({ nav: true });
}

function onClick(ev) {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.dataset.external !== undefined) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (/^\/(api|assets)\//.test(url.pathname) || url.pathname === '/qr.svg' || url.pathname === '/netcheck') return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page anchor
  ev.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

// startRouter renders the current address and every later one.
export function startRouter(fn) {
  render = fn;
  window.addEventListener('popstate', () => render({ nav: true }));
  document.addEventListener('click', onClick);
  render({ nav: false });
}
