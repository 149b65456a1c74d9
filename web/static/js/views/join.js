// A party's invitation link: who it is for → consent to online mediation (OMR Art. 4) → a one-time code to the
// party's phone → the party's case page.

import { h, mount } from '../dom.js';
import { t, label, fmtDateTime } from '../i18n.js';
import { get, post, setSession, enc } from '../api.js';
import { field, onSubmit, formAlert, alertBox, busy, loadingBox, setTitle } from '../ui.js';

const RESEND_AFTER = 60; // seconds before another code may be asked for

export default async function join(main, { params, me, navigate }) {
  const token = params.token;
  mount(main, loadingBox());
  let info;
  try {
    info = await get(`/invitations/${enc(token)}`);
  } catch (e) {
    mount(
      main,
      h('h1', null, t('join.title')),
      e.status === 404
        ? h('div', { class: 'alert error', role: 'alert' }, h('p', null, h('strong', null, t('join.invalid'))), h('p', null, t('join.invalid_help')))
        : alertBox(e, h('p', null, t('common.try_again'))),
      h('a', { class: 'btn secondary', href: '/' }, t('notfound.home')),
    );
    return;
  }
  setTitle(info.case_number);
  let step = 1;
  let consent = null; // true, false, or null when not asked
  let timer = null;

  const steps = () =>
    h(
      'ol',
      { class: 'steps', 'aria-label': t('join.steps') },
      [t('join.step_info'), t('join.step_consent'), t('join.step_code')].map((name, i) =>
        h('li', { class: i + 1 < step ? 'done' : '', 'aria-current': i + 1 === step ? 'step' : null }, name),
      ),
    );

  const caseCard = () =>
    h(
      'section',
      { class: 'card attention', id: 'join-info', 'aria-labelledby': 'join-case' },
      h('h2', { id: 'join-case' }, info.case_number),
      h('p', null, info.case_title),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, t('join.for')),
        h('dd', null, info.name, ' · ', label('side', info.side)),
        h('dt', null, t('join.phone')),
        h('dd', null, info.masked_phone),
        info.court ? [h('dt', null, t('case.court')), h('dd', null, info.court)] : null,
        info.organisation ? [h('dt', null, t('case.organisation')), h('dd', null, info.organisation)] : null,
        h('dt', null, t('join.valid_until')),
        h('dd', null, fmtDateTime(info.expires_at)),
      ),
    );

  function draw() {
    clearInterval(timer);
    const already = me && (me.kind === 'party' || me.kind === 'agent');
    let body;
    if (step === 1) {
      body = h(
        'div',
        null,
        caseCard(),
        already ? h('div', { class: 'alert info' }, h('p', null, t('join.already', { name: me.name })), h('a', { class: 'btn secondary', href: '/party' }, t('join.go_case'))) : null,
        h('p', null, t('join.is_this_you')),
        h(
          'div',
          { class: 'actions-row' },
          h('button', { type: 'button', class: 'btn', id: 'join-continue', onclick: () => go(2) }, t('join.yes_me')),
        ),
        h('p', { class: 'hint' }, t('join.not_me')),
      );
    } else if (step === 2) {
      body = h(
        'section',
        { class: 'card', 'aria-labelledby': 'consent-h' },
        h('h2', { id: 'consent-h' }, t('consent.title')),
        h('p', null, t('consent.what')),
        h('ul', null, h('li', null, t('consent.p1')), h('li', null, t('consent.p2')), h('li', null, t('consent.p3')), h('li', null, t('consent.p4')), h('li', { id: 'consent-recording' }, t('consent.p5'))),
        h('p', { class: 'small muted' }, t('consent.basis')),
        h(
          'div',
          { class: 'actions-row' },
          h('button', { type: 'button', class: 'btn', id: 'consent-yes', onclick: () => { consent = true; go(3); } }, t('consent.agree')),
          h('button', { type: 'button', class: 'btn secondary', id: 'consent-no', onclick: () => { consent = false; go(3); } }, t('consent.decline')),
        ),
      );
    } else {
      body = codeStep();
    }
    mount(main, h('h1', null, t('join.title')), steps(), body);
    const focus = main.querySelector('h2, h1');
    if (focus) {
      focus.setAttribute('tabindex', '-1');
      focus.focus({ preventScroll: true });
    }
  }

  function go(n) {
    // The consent question only while the case still asks it (not once it is settled or ended).
    if (n === 2 && info.consent_open === false) n = 3;
    step = n;
    draw();
  }

  function codeStep() {
    const status = h('div', { 'aria-live': 'polite' });
    const sendBtn = h('button', { type: 'button', class: 'btn', id: 'send-code' }, t('code.send', { phone: info.masked_phone }));
    const form = h(
      'form',
      { novalidate: true, hidden: true, id: 'code-form' },
      formAlert(),
      field({
        label: t('code.label'),
        name: 'code',
        required: true,
        class: 'code-field',
        hint: t('code.hint'),
        attrs: { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]*', maxlength: 6, class: 'code-input' },
      }),
      h('button', { type: 'submit', class: 'btn block' }, t('code.verify')),
    );
    let wait = 0;
    const tickResend = () => {
      if (wait > 0) {
        sendBtn.disabled = true;
        sendBtn.textContent = t('code.resend_in', { s: wait });
        wait -= 1;
      } else {
        clearInterval(timer);
        sendBtn.disabled = false;
        sendBtn.textContent = t('code.resend');
      }
    };
    sendBtn.addEventListener('click', async () => {
      status.replaceChildren();
      try {
        const out = await busy(sendBtn, () => post(`/invitations/${enc(token)}/code`), t('code.sending'));
        status.replaceChildren(h('p', { class: 'alert ok' }, t('code.sent', { to: out.sent_to, at: fmtDateTime(out.expires_at) })));
        form.hidden = false;
        form.code.focus();
        wait = RESEND_AFTER;
        clearInterval(timer);
        tickResend();
        timer = setInterval(tickResend, 1000);
      } catch (e) {
        status.replaceChildren(alertBox(e, h('p', null, e.code === 'rate_limited' ? t('code.wait') : t('common.try_again'))));
      }
    });
    onSubmit(
      form,
      () => post(`/invitations/${enc(token)}/verify`, { code: form.code.value.trim() }),
      async (out) => {
        setSession(out.principal, out.csrf_token);
        try {
          sessionStorage.setItem('parley.join', token);
        } catch {
          // the QR code will point at this page instead
        }
        if (consent !== null) {
          try {
            await post(`/cases/${enc(out.principal.case_id)}/actions/consent_online`, { consent });
          } catch (e) {
            // The case page shows the consent question again; the party is in.
            console.warn('consent', e);
          }
        }
        navigate('/party', { replace: true });
      },
    );
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'code-h' },
      h('h2', { id: 'code-h' }, t('code.title')),
      consent === false ? h('p', { class: 'alert warn' }, t('consent.declined_note')) : null,
      h('p', null, t('code.explain', { phone: info.masked_phone })),
      h('div', { class: 'actions-row' }, sendBtn),
      status,
      form,
    );
  }

  draw();
  return () => clearInterval(timer);
}
