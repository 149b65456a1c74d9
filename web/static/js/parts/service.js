// Electronic service (issue 12 §2): the party confirms its own service address and consents (送达地址确认书), and
// reads what was served on it; staff read every service with its states. Each service has a certificate
// (送达证明), a PDF signed by the platform.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get, post, enc } from '../api.js';
import { field, options, onSubmit, formAlert, alertBox, toast } from '../ui.js';

const CHANNELS = ['sms', 'email', 'in_app'];

function times(r) {
  const parts = [
    ['sent_at', 'service.t_sent'],
    ['accepted_at', 'service.t_accepted'],
    ['reached_at', 'service.t_reached'],
    ['opened_at', 'service.t_opened'],
  ]
    .filter(([k]) => r[k])
    .map(([k, key]) => t(key, { at: fmtDateTime(r[k]) }));
  return parts.length ? h('p', { class: 'small muted' }, parts.join(' · ')) : null;
}

function record(r, party, reload) {
  const open =
    party && r.status !== 'opened' && r.status !== 'withheld' && r.status !== 'failed'
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn secondary small',
            onclick: async () => {
              try {
                await post(`/service-records/${enc(r.id)}/open`);
                await reload();
              } catch (e) {
                toast(e.message || t('err.unknown'), 'error');
              }
            },
          },
          t('service.mark_read'),
        )
      : null;
  return h(
    'li',
    { dataset: { service: r.id, status: r.status } },
    h('p', null, h('strong', null, r.title), ' ', h('span', { class: 'chip' }, label('servicestatus', r.status))),
    party ? h('p', { class: 'small pre' }, r.body) : null,
    times(r),
    r.effective_at ? h('p', { class: 'small' }, t('service.effective', { at: fmtDateTime(r.effective_at) })) : null,
    h(
      'div',
      { class: 'actions-row' },
      open,
      // A court document served itself (a ruling, a mediation statement): the stored PDF the record names.
      r.document_id ? h('a', { class: 'btn secondary small', href: `/api/v1/court-documents/${enc(r.document_id)}`, download: '' }, t('service.document')) : null,
      h('a', { class: 'btn secondary small', href: `/api/v1/service-records/${enc(r.id)}/certificate`, download: '' }, t('service.certificate')),
    ),
  );
}

// serviceSection shows the caller's side of electronic service; it loads what it shows.
export function serviceSection(c, me) {
  const party = me.kind === 'party' || me.kind === 'agent';
  const box = h('div', { class: 'stack', id: 'service' });
  async function load() {
    try {
      const [confs, recs] = await Promise.all([get(`/cases/${enc(c.id)}/service-address`).catch(() => []), get(`/cases/${enc(c.id)}/service-records`)]);
      const mine = party ? confs.find((x) => x.party_id === me.party_id) : null;
      const current = party
        ? h('p', { id: 'service-current' }, mine ? t(mine.consent ? 'service.current' : 'service.withdrawn', { channel: label('svcchannel', mine.channel), address: mine.address || '', at: fmtDateTime(mine.confirmed_at) }) : t('service.none'))
        : null;
      mount(
        box,
        h('p', { class: 'small muted' }, t(party ? 'service.explain_party' : 'service.explain_staff')),
        current,
        party ? form(mine) : null,
        recs.length ? h('ul', { class: 'plain-list', id: 'service-records' }, recs.map((r) => record(r, party, load))) : h('p', { class: 'muted' }, t('service.no_records')),
      );
    } catch (e) {
      mount(box, alertBox(e));
    }
  }
  function form(mine) {
    const channel = field({ label: t('service.channel'), name: 'channel', type: 'select', value: (mine && mine.channel) || 'sms', options: options(CHANNELS, 'svcchannel') });
    const address = field({ label: t('service.address'), name: 'address', value: (mine && mine.address) || '', hint: t('service.address_hint') });
    // Service on the page itself needs no address: the field goes away rather than wait for an answer it ignores.
    const sel = channel.querySelector('select');
    const showAddress = () => {
      address.hidden = sel.value === 'in_app';
    };
    sel.addEventListener('change', showAddress);
    showAddress();
    const f = h(
      'form',
      { novalidate: true, id: 'service-form' },
      formAlert(),
      channel,
      address,
      field({ label: t('service.consent'), name: 'consent', type: 'checkbox', value: !mine || mine.consent }),
      h('button', { type: 'submit', class: 'btn' }, t('service.confirm')),
    );
    onSubmit(
      f,
      (x) => post(`/cases/${enc(c.id)}/service-address`, { channel: x.channel.value, address: x.channel.value === 'in_app' ? '' : x.address.value.trim(), consent: x.consent.checked }),
      async () => {
        toast(t('service.saved'));
        await load();
      },
    );
    return h('details', { class: 'action', id: 'service-confirm' }, h('summary', null, t('service.confirm_title')), h('div', { class: 'body' }, f));
  }
  load();
  return box;
}
