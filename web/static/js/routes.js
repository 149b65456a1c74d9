// Every page of the application. path: {name} matches one segment (web/web.go keeps the same list for the
// server). who: 'public' (anyone), 'party' (a party or agent who entered through an invitation), 'staff' (any
// staff account), 'any' (anyone logged in) or a list of staff roles. feature: an optional server feature the
// page needs; such pages are hidden until the server lists the feature.

export const routes = [
  { path: '/', who: 'public', view: () => import('./views/home.js') },
  { path: '/login', who: 'public', title: 'login.title', view: () => import('./views/login.js') },
  { path: '/password', who: 'staff', title: 'password.title', view: () => import('./views/password.js') },
  { path: '/join/{token}', who: 'public', title: 'join.title', view: () => import('./views/join.js') },
  { path: '/consent/{token}', who: 'public', title: 'consentlink.title', view: () => import('./views/consent.js') },
  { path: '/party', who: 'party', title: 'party.title', view: () => import('./views/party.js') },
  { path: '/device', who: 'public', title: 'device.title', view: () => import('./views/device.js') },
  { path: '/desk', who: ['mediator', 'org_admin', 'admin', 'clerk', 'judge'], title: 'desk.title', view: () => import('./views/desk.js') },
  { path: '/cases/{id}', who: 'staff', title: 'case.title', view: () => import('./views/case.js') },
  { path: '/sessions/{id}/record', who: 'staff', title: 'record.title', view: () => import('./views/record.js') },
  { path: '/sessions/{id}/recordings', who: 'any', title: 'recordings.title', view: () => import('./views/recordings.js') },
  { path: '/clerk', who: ['clerk'], title: 'clerk.title', view: () => import('./views/clerk.js') },
  { path: '/clerk/new', who: ['clerk'], title: 'referral.title', view: () => import('./views/referral.js') },
  { path: '/org', who: ['org_admin'], title: 'org.title', view: () => import('./views/org.js') },
  { path: '/ipoffice', who: ['ip_officer'], title: 'ipo.title', view: () => import('./views/ipoffice.js') },
  { path: '/judge', who: ['judge'], title: 'judge.title', view: () => import('./views/judge.js') },
  { path: '/stats', who: 'staff', title: 'stats.title', view: () => import('./views/stats.js') },
  { path: '/apply', who: 'public', title: 'apply.title', view: () => import('./views/apply.js') },
  // Pages of optional features: the video room, and signing and verification. A server that does not list the
  // feature shows "page not found" at these addresses and no link leads to them.
  { path: '/rooms/{id}', who: 'any', feature: 'rooms', title: 'room.title', view: () => import('./views/room.js') },
  { path: '/sign/{id}', who: 'any', feature: 'signing', title: 'sign.title', view: () => import('./views/sign.js') },
  { path: '/verify', who: 'public', feature: 'signing', title: 'verify.title', view: () => import('./views/verify.js') },
];

// nav lists the header links for each kind of visitor; entries with a feature appear once it is wired.
export const nav = {
  anonymous: [
    { path: '/', key: 'nav.home' },
    { path: '/apply', key: 'nav.apply' },
    { path: '/verify', key: 'nav.verify', feature: 'signing' },
    { path: '/device', key: 'nav.device' },
  ],
  party: [
    { path: '/party', key: 'nav.my_case' },
    { path: '/device', key: 'nav.device' },
  ],
  mediator: [
    { path: '/desk', key: 'nav.my_cases' },
    { path: '/stats', key: 'nav.stats' },
    { path: '/device', key: 'nav.device' },
  ],
  clerk: [
    { path: '/clerk', key: 'nav.clerk' },
    { path: '/clerk/new', key: 'nav.register' },
    { path: '/desk', key: 'nav.cases' },
    { path: '/stats', key: 'nav.stats' },
  ],
  judge: [
    { path: '/judge', key: 'nav.judge' },
    { path: '/desk', key: 'nav.cases' },
    { path: '/stats', key: 'nav.stats' },
  ],
  org_admin: [
    { path: '/org', key: 'nav.org' },
    { path: '/desk', key: 'nav.cases' },
    { path: '/stats', key: 'nav.stats' },
  ],
  ip_officer: [
    { path: '/ipoffice', key: 'nav.ipoffice' },
    { path: '/stats', key: 'nav.stats' },
  ],
  admin: [
    { path: '/desk', key: 'nav.cases' },
    { path: '/stats', key: 'nav.stats' },
  ],
};

// home is where each kind of visitor starts.
export function homeFor(me) {
  if (!me) return '/';
  if (me.kind === 'party' || me.kind === 'agent') return '/party';
  return { mediator: '/desk', clerk: '/clerk', judge: '/judge', org_admin: '/org', ip_officer: '/ipoffice', admin: '/desk' }[me.role] || '/';
}

// navFor returns the header links for a principal.
export function navFor(me) {
  if (!me) return nav.anonymous;
  if (me.kind === 'party' || me.kind === 'agent') return nav.party;
  return nav[me.role] || [];
}

// allowed reports whether me may open a route.
export function allowed(route, me) {
  const who = route.who;
  if (who === 'public') return true;
  if (!me) return false;
  const isParty = me.kind === 'party' || me.kind === 'agent';
  if (who === 'any') return true;
  if (who === 'party') return isParty;
  if (who === 'staff') return me.kind === 'account';
  return me.kind === 'account' && who.includes(me.role);
}
