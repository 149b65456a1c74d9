// WeChat's built-in browser (its user agent says MicroMessenger), where most parties open their invitation
// link: no popups and no new tabs (every link of the path opens in place), no downloads (a file opens in place
// instead), and on some phones no camera API or no WebRTC: there the party is told how to open the page in the
// phone's own browser instead of meeting a device check or a call that cannot work.

import { h } from '../dom.js';
import { t } from '../i18n.js';

export const inWeChat = () => /MicroMessenger/i.test(navigator.userAgent || '');

// canCall reports whether this browser has what a call needs: the camera API and WebRTC.
export const canCall = () => !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) && typeof window.RTCPeerConnection === 'function';

// wechatGuide is the guidance shown instead of the device check or the pre-join screen when WeChat's browser
// cannot call, else null (a WeChat browser that can call goes on as any other).
export function wechatGuide() {
  if (!inWeChat() || canCall()) return null;
  return h(
    'div',
    { class: 'alert warn', id: 'wechat-guide', role: 'alert' },
    h('p', null, t('wechat.cannot_call')),
    h('p', { class: 'wechat-step' }, h('strong', null, t('wechat.open_in_browser'))),
    h('p', { class: 'small' }, t('wechat.why')),
  );
}

// pdfLink is the address and attributes of a link to a document's PDF: saved as a download, or in WeChat's
// browser (which saves none) shown in place.
export function pdfLink(href) {
  return inWeChat() ? { href: `${href}${href.includes('?') ? '&' : '?'}inline=1` } : { href, download: '' };
}
