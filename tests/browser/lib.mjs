// What the browser tests share: the phone (Debian's headless Chromium through
// playwright-core, 360x740, DPR 2, touch), the check bookkeeping ("ok" / "FAIL" lines and
// the final "N passed, M failed"), and the checks every page gets: a full-page
// screenshot, no horizontal scrolling, touch targets big enough, axe-core (WCAG 2.0/2.1 A
// and AA) clean, no console errors.
//
// Environment:
//   BASE_URL        the running server (default http://127.0.0.1:8088); run.sh sets it
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR  where the PNGs go (default tests/browser/screenshots/)

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8088').replace(/\/+$/, '');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, 'screenshots'));
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export const PHONE = { width: 360, height: 740 };
export const MIN_TARGET = 44; // px, CSS pixels
const STEP_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------- check bookkeeping

let passed = 0;
let failed = 0;
const failures = [];

export function check(name, ok, details = []) {
  if (ok) {
    passed += 1;
    console.log(`ok    ${name}`);
  } else {
    failed += 1;
    failures.push(name);
    console.log(`FAIL  ${name}`);
  }
  for (const line of [].concat(details)) console.log(`        ${line}`);
  return ok;
}

export class JourneyStopped extends Error {}

// A step that may throw (a missing element, a time-out): a throw is a failed check, and
// the journey stops there because the next steps depend on this one.
export async function step(name, fn) {
  try {
    const details = await fn();
    return check(name, true, details || []);
  } catch (e) {
    check(name, false, [String(e && e.message ? e.message : e).split('\n').slice(0, 6).join(' | ')]);
    throw new JourneyStopped(name);
  }
}

// ---------------------------------------------------------------- per-page checks

let shotPrefix = '';
let shotNumber = 0;
const screenshots = [];

export async function screenshot(page, name) {
  shotNumber += 1;
  const file = path.join(SCREENSHOT_DIR, `${shotPrefix}${String(shotNumber).padStart(2, '0')}-${name}.png`);
  // The weighted report is long; on a loaded machine a full-page shot takes a while.
  await page.screenshot({ path: file, fullPage: true, timeout: 60000 });
  screenshots.push(file);
  return file;
}

// No horizontal scrolling at phone width. With isMobile, Chromium may zoom a page out to
// fit content wider than the layout viewport, which would widen window.innerWidth too, so
// the width is also compared with the phone's 360 px.
export async function checkNoHorizontalScroll(page, label) {
  const m = await page.evaluate((phoneWidth) => {
    const doc = document.documentElement;
    const limit = Math.min(window.innerWidth, phoneWidth);
    const wide = [];
    if (doc.scrollWidth > limit) {
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && (r.right > limit + 0.5 || r.left < -0.5) && !el.classList.contains('skip-link')) {
          const id = el.id ? `#${el.id}` : '';
          const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
          const text = (el.innerText || '').trim().replace(/\s+/g, ' ').slice(0, 50);
          const parent = el.parentElement ? el.parentElement.tagName.toLowerCase() : '';
          wide.push(`${el.tagName.toLowerCase()}${id}${cls} in <${parent}> "${text}" spans x=${Math.round(r.left)}..${Math.round(r.right)}`);
        }
      }
    }
    return { scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, limit, wide: wide.slice(0, 8) };
  }, PHONE.width);
  check(
    `${label}: no horizontal scrolling (scrollWidth ${m.scrollWidth} <= ${m.limit})`,
    m.scrollWidth <= m.limit,
    [
      ...(m.innerWidth !== PHONE.width ? [`window.innerWidth is ${m.innerWidth}: Chromium zoomed the page out to fit content wider than the phone`] : []),
      ...m.wide.map((w) => `too wide: ${w} (the phone is ${PHONE.width}px wide)`),
    ],
  );
}

// Touch targets. The rule, per rendered element (display:none, visibility:hidden,
// zero-size and type=hidden ones are not targets):
//  - buttons, selects, textareas, text-like inputs, <summary>, and links must be at least
//    44 px tall (WCAG 2.5.5's 44 px, the size a thumb hits reliably);
//  - a checkbox or radio is tapped through its label, so the target is the label of the
//    checkbox: the box that is the union of the input and its <label>, at least 44 px tall
//    (the padding of the row around them does not toggle the box, so it does not count);
//  - exempt: inline text links, i.e. <a> whose computed display is "inline" — a link that
//    flows in a line of text, whose height is set by the line-height of the text around it
//    (the "inline" exception of WCAG 2.5.8). A link made block, inline-block or flex by
//    CSS, or blockified as an item of a flex/grid container, is a standalone target and
//    must be 44 px tall;
//  - the skip link sits off-screen until it gets keyboard focus; it is measured when
//    focused, in the keyboard check on /login.
export async function checkTargetSizes(page, label) {
  const result = await page.evaluate((min) => {
    const describe = (el) => {
      const id = el.id ? `#${el.id}` : '';
      const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
      const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ');
      return `${el.tagName.toLowerCase()}${id}${cls}${text ? ` "${text.slice(0, 40)}"` : ''}`;
    };
    const rendered = (el) => {
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0;
    };
    const union = (a, b) => {
      const top = Math.min(a.top, b.top);
      const bottom = Math.max(a.bottom, b.bottom);
      return { height: bottom - top };
    };
    const small = [];
    let measured = 0;
    let inlineLinks = 0;
    const els = document.querySelectorAll('a[href], button, input, select, textarea, summary, label');
    for (const el of els) {
      const tag = el.tagName.toLowerCase();
      if (el.classList.contains('skip-link')) continue;
      if (tag === 'input' && el.type === 'hidden') continue;
      if (!rendered(el)) continue;
      let height;
      let what = describe(el);
      if (tag === 'label') {
        const control = el.control;
        if (!control || !['checkbox', 'radio'].includes(control.type)) continue; // labels of text fields are not the target
        height = union(el.getBoundingClientRect(), control.getBoundingClientRect()).height;
        what = `label of ${control.type} #${control.id} "${el.innerText.trim().slice(0, 40)}" (label + box)`;
      } else if (tag === 'input' && ['checkbox', 'radio'].includes(el.type)) {
        if (el.labels && el.labels.length) continue; // measured through its label
        height = el.getBoundingClientRect().height;
      } else if (tag === 'a' && getComputedStyle(el).display === 'inline') {
        inlineLinks += 1;
        continue;
      } else {
        height = el.getBoundingClientRect().height;
      }
      measured += 1;
      if (height < min - 0.5) {
        const s = getComputedStyle(el);
        small.push(`${what}: ${Math.round(height * 10) / 10}px tall (display: ${s.display})`);
      }
    }
    return { small, measured, inlineLinks };
  }, MIN_TARGET);
  check(
    `${label}: touch targets >= ${MIN_TARGET}px tall (${result.measured} measured, ${result.inlineLinks} inline text links exempt)`,
    result.small.length === 0,
    result.small.map((s) => `too small: ${s}`),
  );
}

// axe-core. page.addScriptTag({path}) inserts the file as an inline <script>, which the
// app's Content-Security-Policy (script-src 'self') refuses ("Executing inline script
// violates ... script-src 'self'"), as it should. Rather than launching the context with
// bypassCSP — a whole-context switch that would turn the app's CSP off for the entire
// journey, so the test would no longer see the pages as a respondent does — axe's source
// is evaluated through the DevTools protocol (page.evaluate), which page CSP does not
// govern; the page itself keeps its CSP. This is also how @axe-core/playwright injects it.
export async function checkAxe(page, label) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  const details = [];
  // "incomplete": what axe could not decide alone (e.g. contrast over a background it
  // cannot compute); listed for a human, not failed.
  for (const v of results.incomplete) {
    details.push(`(needs review, not failed) ${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ').slice(0, 300)}`);
  }
  for (const v of results.violations) {
    details.push(`${v.id} [${v.impact}] ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes) {
      details.push(`    target ${JSON.stringify(n.target)}${n.failureSummary ? `: ${n.failureSummary.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`);
    }
  }
  check(`${label}: axe-core ${AXE_TAGS.join(',')}: ${results.violations.length} violations (${results.incomplete.length} more need manual review)`,
    results.violations.length === 0, details);
}

// Console errors and page errors seen since the last page check (a CSP refusal, a missing
// asset, a script error).
const consoleErrors = [];
export function clearConsoleErrors() {
  consoleErrors.splice(0);
}
export function checkConsole(label) {
  const errs = consoleErrors.splice(0);
  check(`${label}: no console errors`, errs.length === 0, errs.map((e) => `console: ${e}`));
}

// Everything a page gets: screenshot, width, touch targets, axe, console.
export async function pageChecks(page, name, label) {
  const file = await screenshot(page, name);
  console.log(`--- ${label} (${new URL(page.url()).pathname}${new URL(page.url()).search}) -> ${path.relative(process.cwd(), file)}`);
  await checkNoHorizontalScroll(page, label);
  await checkTargetSizes(page, label);
  await checkAxe(page, label);
  checkConsole(label);
}

// ---------------------------------------------------------------- focus

export async function focusInfo(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body' };
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      type: el.type || '',
      cls: el.className,
      text: (el.innerText || '').trim().slice(0, 40),
      checked: !!el.checked,
      outlineStyle: s.outlineStyle,
      outlineWidth: s.outlineWidth,
      boxShadow: s.boxShadow,
      top: r.top,
      left: r.left,
      right: r.right,
      bottom: r.bottom,
      height: r.height,
      viewportW: window.innerWidth,
      viewportH: window.innerHeight,
    };
  });
}

export const focusVisible = (f) => f.outlineStyle !== 'none' && parseFloat(f.outlineWidth) > 0;
export const focusName = (f) => `${f.tag}${f.id ? `#${f.id}` : ''}${f.cls ? `.${String(f.cls).split(/\s+/).join('.')}` : ''}${f.text ? ` "${f.text}"` : ''}`;

// ---------------------------------------------------------------- navigation

// Wait for the navigation that `action` starts; returns the main-frame response of the
// page finally loaded, the status of the first answer (the form's own, e.g. a 303) and
// the chain of redirects, first to last.
export async function actAndWait(page, action) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    action(),
  ]);
  const chain = [];
  for (let r = response && response.request().redirectedFrom(); r; r = r.redirectedFrom()) {
    const rr = await r.response();
    chain.unshift({ status: rr ? rr.status() : null, url: r.url() });
  }
  return { response, redirectStatus: chain.length ? chain[0].status : null, chain };
}

// Submit a form (or follow a link) by tapping.
export async function tapAndWait(page, locator) {
  return actAndWait(page, () => locator.tap());
}

// "303 /survey/1 -> 200 /survey/2"
export function describeChain({ response, chain }) {
  const via = chain.map((c) => `${c.status} ${new URL(c.url).pathname}`);
  return [...via, `${response ? response.status() : '?'} ${new URL(response ? response.url() : 'about:blank').pathname}`].join(' -> ');
}

// ---------------------------------------------------------------- sign-up

export function newRespondent(nome = 'Maria', sobrenome = 'Aparecida dos Santos') {
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return {
    nome,
    sobrenome,
    email: `${nome.toLowerCase()}.${stamp}@example.com`,
    telefone: '(12) 99876-5432',
    bairro: 'JARDIM SÃO JOSÉ',
    password: 'feira de domingo no bairro',
  };
}

export async function fillRegister(page, who, password) {
  await page.locator('#nome').fill(who.nome);
  await page.locator('#sobrenome').fill(who.sobrenome);
  await page.locator('#email').fill(who.email);
  await page.locator('#telefone').fill(who.telefone);
  await page.locator('#bairro').selectOption(who.bairro);
  await page.locator('#password').fill(password);
  await page.locator('#password_confirm').fill(password);
  // A thumb ticks a box by tapping its label.
  for (const id of ['adult', 'accept_terms']) {
    if (!(await page.locator(`#${id}`).isChecked())) await page.locator(`label[for="${id}"]`).tap();
  }
}

// ---------------------------------------------------------------- two-step verification

// The TOTP code (RFC 6238: HMAC-SHA1, 6 digits, 30 s) of a base-32 key at `step`, computed
// here as an authenticator app would.
export function totpStep(ms = Date.now()) {
  return Math.floor(ms / 1000 / 30);
}
export function totpCode(base32, step = totpStep()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/[\s=]/g, '').toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

// On /account/2fa: read the key from the page, type the current code, turn it on.
// Returns the key, the time step of the code used and the recovery codes shown once.
export async function enrolSecondFactor(page) {
  const key = await page.locator('#totp-key').getAttribute('data-key');
  const step = totpStep();
  await page.locator('#code').fill(totpCode(key, step));
  await tapAndWait(page, page.locator('main form[action="/account/2fa"] button[type=submit]'));
  const codes = await page.locator('ul.recovery-codes code').allTextContents();
  return { key, step, codes };
}

// ---------------------------------------------------------------- the run

// Launch the phone, run `journey(page)`, print the summary and exit: 0 when every check
// passed, 1 when some failed, 2 on a crash or time-out. `prefix` starts the screenshot
// names of this script (its old screenshots are removed first).
export async function run({ title, prefix = '', timeoutMs = 180_000, journey }) {
  shotPrefix = prefix;
  const watchdog = setTimeout(() => {
    console.log(`TIME-OUT: the run took more than ${timeoutMs / 1000}s`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(2);
  }, timeoutMs);

  let crashed = false;
  try {
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const mine = new RegExp(`^${prefix}\\d\\d-.*\\.png$`);
    for (const f of fs.readdirSync(SCREENSHOT_DIR)) {
      if (mine.test(f)) fs.rmSync(path.join(SCREENSHOT_DIR, f));
    }
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pesquisa-chromium-'));
    let context;
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
        ],
        viewport: PHONE,
        screen: PHONE,
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        locale: 'pt-BR',
        timeout: 30_000,
      });
      const page = context.pages()[0] || (await context.newPage());
      page.setDefaultTimeout(STEP_TIMEOUT_MS);
      page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        // Chromium logs every non-2xx document as "Failed to load resource"; the status
        // of the page itself (422 for a refused form) is asserted by the journey's steps,
        // so only failures of other resources (CSS, images, ...) count here.
        if (/^Failed to load resource/.test(m.text()) && m.location().url === page.url()) return;
        consoleErrors.push(`${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
      });
      page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
      console.log(`${title} on a ${PHONE.width}x${PHONE.height} phone (DPR 2, touch) at ${BASE_URL}`);
      try {
        await journey(page);
      } catch (e) {
        if (!(e instanceof JourneyStopped)) throw e;
        console.log(`journey stopped after the failed step "${e.message}"`);
      }
    } finally {
      if (context) await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  } catch (e) {
    crashed = true;
    check('browser run completed', false, [String(e && e.stack ? e.stack : e)]);
  }
  clearTimeout(watchdog);
  console.log('');
  console.log(`screenshots (${screenshots.length}):`);
  for (const f of screenshots) console.log(`  ${f}`);
  if (failures.length) {
    console.log('');
    console.log('failed checks:');
    for (const f of failures) console.log(`  - ${f}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(crashed ? 2 : failed === 0 ? 0 : 1);
}

// ---------------------------------------------------------------- mail

// The messages the server sent: run.sh starts a real SMTP server on loopback
// (tests/smtp/sink.py, Debian's python3-aiosmtpd), points the server's [mail] at it, and
// passes its folder as MAIL_DIR. The sink writes one JSON file per message it accepted.
export const MAIL_DIR = process.env.MAIL_DIR || '';
const mailTaken = new Set();

// Waits until a message to `to` has arrived and returns it:
//   { to, subject, kind, text, html, link, code, headers, file }
// `link` is the first link to the site (BASE_URL) in the plain-text part, else the first
// link of any kind (null when none); `code` the first 6-digit number (null when none).
// Options: `subject` (a substring or a RegExp), `kind` (the X-Pesquisa-Kind header:
// verify_email, password_reset, sign_in_code, email_change, ...), `timeoutMs` (15 s).
// Each message is returned once per script: call it again after a "resend" and you get
// the newer message, in the order they arrived. Throws (a failed step) on time-out.
export async function waitForMail(to, { subject, kind, timeoutMs = 15_000 } = {}) {
  if (!MAIL_DIR) throw new Error('MAIL_DIR is not set: run the journey through tests/browser/run.sh');
  const want = String(to).toLowerCase();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let names = [];
    try {
      names = fs.readdirSync(MAIL_DIR).filter((n) => n.endsWith('.json')).sort();
    } catch {
      // Not created yet: nothing has arrived.
    }
    for (const name of names) {
      if (mailTaken.has(name)) continue;
      const m = JSON.parse(fs.readFileSync(path.join(MAIL_DIR, name), 'utf8'));
      const rcpts = (m.rcpt_tos || []).map((r) => r.toLowerCase());
      const h = m.headers || {};
      const subj = h.subject || '';
      if (!rcpts.includes(want)) continue;
      if (kind && h['x-pesquisa-kind'] !== kind) continue;
      if (subject && !(subject instanceof RegExp ? subject.test(subj) : subj.includes(subject))) continue;
      mailTaken.add(name);
      const text = (m.text || '').replace(/\r\n/g, '\n');
      const links = text.match(/https?:\/\/[^\s<>"')]+/g) || [];
      const link = links.find((l) => l.startsWith(BASE_URL)) || links[0] || null;
      const code = (text.match(/\b\d{6}\b/) || [null])[0];
      return { to: want, subject: subj, kind: h['x-pesquisa-kind'] || null, text, html: m.html || '', link, code, headers: h, file: path.join(MAIL_DIR, name) };
    }
    if (Date.now() > deadline) {
      const what = [kind && `kind ${kind}`, subject && `subject ${subject}`].filter(Boolean).join(', ');
      throw new Error(`no mail to ${to}${what ? ` (${what})` : ''} within ${timeoutMs} ms in ${MAIL_DIR}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// After the sign-up form: the "check your e-mail" page, then the verification mail's link
// (read from the SMTP sink, see waitForMail) and its confirm button, as a respondent does
// on the phone. Returns the navigation of the confirm tap (it lands on the questionnaire).
export async function confirmSignUp(page, who) {
  const sent = new URL(page.url()).pathname;
  if (sent !== '/register/sent') throw new Error(`sign-up landed on ${page.url()}, not /register/sent`);
  if (!(await page.getByRole('heading', { name: 'Confira seu e-mail' }).isVisible())) {
    throw new Error('no "Confira seu e-mail" heading');
  }
  const mail = await waitForMail(who.email, { kind: 'verify_email' });
  if (!mail.link || !mail.link.includes('/verify?token=')) throw new Error(`no verification link in: ${mail.text}`);
  await page.goto(mail.link, { waitUntil: 'load' });
  return tapAndWait(page, page.getByRole('button', { name: 'Confirmar e continuar', exact: true }));
}
