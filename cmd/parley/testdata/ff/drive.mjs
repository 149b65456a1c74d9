// Test-only bridge between cmd/parley's Go browser tests and Debian's firefox-esr: it launches Firefox with
// puppeteer-core over WebDriver BiDi (no browser download, no CDP) with a fake camera and microphone, opens one
// page, and then obeys one JSON command per line on stdin, answering one JSON line on stdout:
//   {"id": 1, "op": "goto", "url": "http://127.0.0.1:…/join/…"}        → {"id": 1, "ok": true}
//   {"id": 2, "op": "eval", "expr": "document.title"}                  → {"id": 2, "ok": true, "value": …}
//   {"id": 3, "op": "shot", "path": "/…/x.png"}                          → {"id": 3, "ok": true}
// The expression is awaited (a promise resolves first). Errors come back as {"id", "ok": false, "error"}.
// The first line it prints is {"ready": true, "version": "<browser version>"}. It exits when stdin closes.

import puppeteer from 'puppeteer-core';
import readline from 'node:readline';

const exe = process.env.PARLEY_FIREFOX || '/usr/bin/firefox-esr';
const width = Number(process.env.PARLEY_FF_WIDTH || 390);
const height = Number(process.env.PARLEY_FF_HEIGHT || 844);

const browser = await puppeteer.launch({
  browser: 'firefox',
  protocol: 'webDriverBiDi',
  executablePath: exe,
  headless: true,
  timeout: 120000, // a shared, busy test machine starts Firefox slowly
  args: [`--width=${width}`, `--height=${height}`],
  extraPrefsFirefox: {
    // A fake camera (a moving test pattern) and microphone (a tone), granted without asking.
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    'media.autoplay.default': 0,
    'media.autoplay.blocking_policy': 0,
    // The test's network has only loopback: let ICE use it.
    'media.peerconnection.ice.loopback': true,
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    'media.peerconnection.ice.default_address_only': false,
    'media.peerconnection.ice.no_host': false,
    'media.peerconnection.ice.link_local': true,
    'media.peerconnection.ice.force_interface': process.env.PARLEY_FF_ICE_IFACE || '',
    'intl.accept_languages': 'zh-CN, zh',
    'browser.shell.checkDefaultBrowser': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.reportingpolicy.firstRun': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
  },
});
const page = (await browser.pages())[0] || (await browser.newPage());
await page.setViewport({ width, height });
const errors = [];
page.on('pageerror', (e) => errors.push(String(e && e.message ? e.message : e)));
page.on('console', (m) => {
  if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
});

const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
say({ ready: true, version: await browser.version() });

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch {
      return;
    }
    try {
      switch (cmd.op) {
        case 'goto':
          await page.goto(cmd.url, { waitUntil: 'load' });
          say({ id: cmd.id, ok: true });
          break;
        case 'eval': {
          // eslint-disable-next-line no-new-func
          const value = await page.evaluate(new Function(`return (async () => (${cmd.expr}))()`));
          say({ id: cmd.id, ok: true, value: value === undefined ? null : value });
          break;
        }
        case 'shot':
          await page.screenshot({ path: cmd.path });
          say({ id: cmd.id, ok: true });
          break;
        case 'errors':
          say({ id: cmd.id, ok: true, value: errors.splice(0) });
          break;
        default:
          say({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` });
      }
    } catch (e) {
      say({ id: cmd.id, ok: false, error: String(e && e.message ? e.message : e) });
    }
  });
});
rl.on('close', async () => {
  await chain;
  await browser.close();
  process.exit(0);
});
