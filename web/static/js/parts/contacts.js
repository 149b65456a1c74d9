// A party's contact and identity (issue 8 §1) on the staff case page and the party page: correction requests and
// their confirmation (a code from the old contact, or a second staff member), the party's own change of contact
// (a code to the new contact), the case's invitation links with their revocation, and identity checks recorded
// outside a session.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime, list, paren } from '../i18n.js';
import { get, post, del, enc } from '../api.js';
import { field, onSubmit, formAlert, alertBox, busy, toast, empty } from '../ui.js';

// mayCorrect mirrors cases.CorrectionAuthority: a clerk of the court (referred cases) or an admin of the
// organisation (direct applications) asks; a judge of the court may be the second pair of eyes.
function mayCorrect(c, me, asking) {
  if (me.kind !== 'account') return false;
  if (c.source === 'direct') return me.role === 'org_admin' && me.org_id === c.organisation_id;
  if (!c.court_id || me.org_id !== c.court_id) return false;
  return me.role === 'clerk' || (!asking && me.role === 'judge');
}

const mayCheck = (c, me) => ['clerk', 'org_admin'].includes(me.role) || (me.role === 'mediator' && c.mediators.some((m) => m.account_id === me.id && m.status === 'accepted'));

function changeLine(cc) {
  const bits = [];
  if (cc.old_phone !== cc.new_phone) bits.push(t('trail.contact_phone', { from: cc.old_phone || '—', to: cc.new_phone || '—' }));
  if (cc.old_service_address !== cc.new_service_address) bits.push(t('trail.contact_address', { from: cc.old_service_address || '—', to: cc.new_service_address || '—' }));
  return list(bits);
}

// correctionItem shows one request and what the caller may do with it.
function correctionItem(c, me, cc, reload) {
  const out = h('div', { 'aria-live': 'polite' });
  const controls = [];
  if (cc.status === 'pending' && cc.kind === 'staff' && mayCorrect(c, me, false)) {
    const code = h('form', { class: 'inline-form', novalidate: true, dataset: { confirm: cc.id } }, formAlert(), field({ label: t('contact.old_code'), name: 'code', attrs: { inputmode: 'numeric', maxlength: 6, autocomplete: 'one-time-code' }, hint: t('contact.old_code_hint') }), h('button', { type: 'submit', class: 'btn small' }, t('contact.confirm')));
    onSubmit(
      code,
      (f) => post(`/cases/${enc(c.id)}/contact-corrections/${enc(cc.id)}/confirm`, { code: f.code.value.trim() }),
      () => {
        toast(t('contact.applied'));
        reload();
      },
    );
    controls.push(code);
    if (me.id !== cc.requested_by) {
      const approve = h('button', { type: 'button', class: 'btn small', dataset: { approve: cc.id } }, t('contact.approve'));
      approve.addEventListener('click', async () => {
        try {
          await busy(approve, () => post(`/cases/${enc(c.id)}/contact-corrections/${enc(cc.id)}/approve`));
          toast(t('contact.applied'));
          reload();
        } catch (e) {
          out.replaceChildren(alertBox(e));
        }
      });
      controls.push(approve);
    }
    const reject = h('button', { type: 'button', class: 'btn secondary small', dataset: { reject: cc.id } }, me.id === cc.requested_by ? t('contact.withdraw') : t('contact.reject'));
    reject.addEventListener('click', async () => {
      try {
        await busy(reject, () => post(`/cases/${enc(c.id)}/contact-corrections/${enc(cc.id)}/reject`, {}));
        reload();
      } catch (e) {
        out.replaceChildren(alertBox(e));
      }
    });
    controls.push(reject);
  }
  return h(
    'li',
    { class: 'caseitem', dataset: { correction: cc.id, status: cc.status } },
    h('div', { class: 'top-line' }, h('strong', null, cc.party_name), h('span', { class: 'chip' }, label('corrstatus', cc.status))),
    h('p', { class: 'small' }, changeLine(cc)),
    h(
      'p',
      { class: 'small muted' },
      t('contact.asked', { name: cc.requested_by_name, at: fmtDateTime(cc.requested_at) }),
      cc.reason ? ` · ${t('trail.reason', { text: cc.reason })}` : '',
      cc.confirmed_by_name && cc.status === 'applied' ? ` · ${t('trail.confirmed_by', { name: cc.confirmed_by_name, how: label('confirmation', cc.confirmation) })}` : '',
    ),
    cc.status === 'pending' && cc.kind === 'staff' ? h('p', { class: 'small' }, me.id === cc.requested_by ? t('contact.pending_mine') : t('contact.pending_other')) : null,
    controls.length ? h('div', { class: 'actions-row' }, controls) : null,
    out,
  );
}

// requestForm asks for a correction of one party's contact, with a reason.
function requestForm(c, party, reload) {
  const form = h(
    'form',
    { novalidate: true, dataset: { correct: party.id } },
    formAlert(),
    field({ label: t('party.phone'), name: 'phone', type: 'tel', value: party.phone || '', attrs: { autocomplete: 'off' } }),
    field({ label: t('party.service_address'), name: 'service_address', value: party.service_address || '' }),
    field({ label: t('contact.reason'), name: 'reason', type: 'textarea', rows: 2, required: true, hint: t('contact.reason_hint') }),
    h('button', { type: 'submit', class: 'btn small' }, t('contact.ask')),
  );
  onSubmit(
    form,
    (f) => {
      const body = { reason: f.reason.value.trim() };
      if (f.phone.value.trim() !== (party.phone || '')) body.phone = f.phone.value.trim();
      if (f.service_address.value.trim() !== (party.service_address || '')) body.service_address = f.service_address.value.trim();
      return post(`/cases/${enc(c.id)}/parties/${enc(party.id)}/contact-corrections`, body);
    },
    (res) => {
      toast(t('contact.asked_toast', { to: list(res.sent_to) || '—' }));
      reload();
    },
  );
  return h('details', { class: 'action' }, h('summary', null, t('contact.correct', { name: party.name })), h('div', { class: 'body' }, form));
}

// identityForm records an identity check made outside a session.
function identityForm(c, reload) {
  const people = [];
  for (const p of c.parties) {
    people.push({ value: p.id, label: p.name });
    for (const a of p.agents || []) people.push({ value: a.id, label: `${a.name}${paren(p.name)}` });
  }
  const methods = ['id_card_on_camera', 'face_match', 'court_verified', 'known_to_mediator', 'other'];
  const form = h(
    'form',
    { novalidate: true, id: 'identity-check-form' },
    formAlert(),
    field({ label: t('contact.person'), name: 'participant_id', type: 'select', options: people, value: people[0]?.value }),
    field({ label: t('contact.method'), name: 'method', type: 'select', options: methods.map((m) => ({ value: m, label: label('idmethod', m) })), value: methods[0] }),
    field({ label: t('contact.result'), name: 'result', type: 'select', options: ['passed', 'failed'].map((r) => ({ value: r, label: t(`trail.check_${r}`) })), value: 'passed' }),
    field({ label: t('contact.note'), name: 'note', type: 'textarea', rows: 2 }),
    h('button', { type: 'submit', class: 'btn small' }, t('contact.record_check')),
  );
  onSubmit(
    form,
    (f) => post(`/cases/${enc(c.id)}/identity-checks`, { participant_id: f.participant_id.value, method: f.method.value, result: f.result.value, note: f.note.value.trim() || undefined }),
    () => {
      toast(t('contact.check_recorded'));
      reload();
    },
  );
  return h('details', { class: 'action' }, h('summary', null, t('contact.check_title')), h('div', { class: 'body' }, h('p', { class: 'small muted' }, t('contact.check_hint')), form));
}

// invitationList lists the case's links; open ones can be revoked.
function invitationList(c, list, reload) {
  if (!list.length) return empty(t('contact.no_links'));
  return h(
    'ul',
    { class: 'plain-list', id: 'invitation-list' },
    list.slice(0, 20).map((inv) => {
      const out = h('span', { 'aria-live': 'polite' });
      const revoke = inv.open ? h('button', { type: 'button', class: 'btn ghost small', dataset: { revoke: inv.id } }, t('contact.revoke')) : null;
      if (revoke) {
        revoke.addEventListener('click', async () => {
          try {
            await busy(revoke, () => del(`/cases/${enc(c.id)}/invitations/${enc(inv.id)}`));
            reload();
          } catch (e) {
            out.replaceChildren(alertBox(e));
          }
        });
      }
      const state = inv.open ? t('contact.link_open', { at: fmtDateTime(inv.expires_at) }) : inv.revoked_at ? t('contact.link_revoked', { why: label('revoked', inv.revoked_reason || 'revoked_by_staff') }) : t('contact.link_expired');
      return h('li', { class: 'small', dataset: { invitation: inv.id, open: String(inv.open) } }, h('strong', null, inv.name), ' · ', fmtDateTime(inv.created_at), ' · ', state, ' ', revoke, out);
    }),
  );
}

// staffContacts is the section of the staff case page; it loads what it shows.
export function staffContacts(c, me) {
  const box = h('div', { class: 'stack', id: 'contacts' });
  async function load() {
    try {
      const [corrections, links] = await Promise.all([get(`/cases/${enc(c.id)}/contact-corrections`), get(`/cases/${enc(c.id)}/invitations`).catch(() => null)]);
      const fresh = (await get(`/cases/${enc(c.id)}`)).case;
      mount(
        box,
        h('p', { class: 'small muted' }, t('contact.explain')),
        corrections.length ? h('ul', { class: 'caselist', id: 'correction-list' }, [...corrections].reverse().map((cc) => correctionItem(fresh, me, cc, load))) : null,
        mayCorrect(fresh, me, true) ? fresh.parties.map((p) => requestForm(fresh, p, load)) : null,
        mayCheck(fresh, me) ? identityForm(fresh, load) : null,
        links ? [h('h3', null, t('contact.links')), invitationList(fresh, links, load)] : null,
      );
    } catch (e) {
      mount(box, alertBox(e));
    }
  }
  load();
  return box;
}

// ownContact lets a party change its own phone or service address: a code goes to the new contact and the old
// one is told.
export function ownContact(c, me) {
  const p = c.parties.find((x) => x.id === me.party_id);
  if (me.kind !== 'party' || !p) return null;
  const box = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { novalidate: true, id: 'own-contact-form' },
    formAlert(),
    field({ label: t('party.phone'), name: 'phone', type: 'tel', value: p.phone || '', hint: t('party.phone_hint') }),
    field({ label: t('party.service_address'), name: 'service_address', value: p.service_address || '', hint: t('party.service_hint') }),
    h('button', { type: 'submit', class: 'btn small' }, t('contact.change')),
  );
  onSubmit(
    form,
    (f) => {
      const body = {};
      if (f.phone.value.trim() !== (p.phone || '')) body.phone = f.phone.value.trim();
      if (f.service_address.value.trim() !== (p.service_address || '')) body.service_address = f.service_address.value.trim();
      return post(`/cases/${enc(c.id)}/contact-changes`, body);
    },
    (res) => {
      const code = h('form', { novalidate: true, id: 'own-contact-code' }, formAlert(), field({ label: t('contact.new_code', { to: list(res.sent_to) }), name: 'code', attrs: { inputmode: 'numeric', maxlength: 6, autocomplete: 'one-time-code' } }), h('button', { type: 'submit', class: 'btn small' }, t('contact.confirm')));
      onSubmit(
        code,
        (f) => post(`/cases/${enc(c.id)}/contact-corrections/${enc(res.correction.id)}/confirm`, { code: f.code.value.trim() }),
        () => {
          mount(box, h('div', { class: 'alert ok', role: 'status' }, t('contact.changed')));
        },
      );
      mount(box, code);
    },
  );
  return h('details', { class: 'action', id: 'own-contact' }, h('summary', null, t('contact.own_title')), h('div', { class: 'body' }, h('p', { class: 'small muted' }, t('contact.own_hint')), form, box));
}
