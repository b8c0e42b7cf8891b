// A respondent on a phone, in Debian's headless Chromium: opens the home page, signs up
// (first with a too-short password, to see the refused form, then correctly), lands on
// "Minha conta", logs out, logs back in. On every page: a full-page screenshot, no
// horizontal scrolling, touch targets big enough, axe-core (WCAG 2.0/2.1 A and AA) clean,
// no console errors. On /login: the keyboard path (skip link first, e-mail field
// reachable, focus always visible).
//
// Environment:
//   BASE_URL        the running server (default http://127.0.0.1:8088); run.sh sets it
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR  where the PNGs go (default tests/browser/screenshots/)
//
// Prints one line per check ("ok" / "FAIL" with details), then "N passed, M failed"
// alone on a line; exits 1 when any check failed, 2 on a crash or time-out.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8088').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT_DIR = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, 'screenshots'));
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const PHONE = { width: 360, height: 740 };
const MIN_TARGET = 44; // px, CSS pixels
const STEP_TIMEOUT_MS = 15_000;
const WHOLE_RUN_TIMEOUT_MS = 180_000;

// ---------------------------------------------------------------- check bookkeeping

let passed = 0;
let failed = 0;
const failures = [];

function check(name, ok, details = []) {
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

// A step that may throw (a missing element, a time-out): a throw is a failed check, and
// the journey stops there because the next steps depend on this one.
async function step(name, fn) {
  try {
    const details = await fn();
    return check(name, true, details || []);
  } catch (e) {
    check(name, false, [String(e && e.message ? e.message : e).split('\n').slice(0, 6).join(' | ')]);
    throw new JourneyStopped(name);
  }
}

class JourneyStopped extends Error {}

// ---------------------------------------------------------------- per-page checks

let shotNumber = 0;
const screenshots = [];

async function screenshot(page, name) {
  shotNumber += 1;
  const file = path.join(SCREENSHOT_DIR, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  return file;
}

// No horizontal scrolling at phone width. With isMobile, Chromium may zoom a page out to
// fit content wider than the layout viewport, which would widen window.innerWidth too, so
// the width is also compared with the phone's 360 px.
async function checkNoHorizontalScroll(page, label) {
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
async function checkTargetSizes(page, label) {
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
async function checkAxe(page, label) {
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
function checkConsole(label) {
  const errs = consoleErrors.splice(0);
  check(`${label}: no console errors`, errs.length === 0, errs.map((e) => `console: ${e}`));
}

async function pageChecks(page, name, label) {
  const file = await screenshot(page, name);
  console.log(`--- ${label} (${new URL(page.url()).pathname}${new URL(page.url()).search}) -> ${path.relative(process.cwd(), file)}`);
  await checkNoHorizontalScroll(page, label);
  await checkTargetSizes(page, label);
  await checkAxe(page, label);
  checkConsole(label);
}

// ---------------------------------------------------------------- keyboard (on /login)

async function focusInfo(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body' };
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      cls: el.className,
      text: (el.innerText || '').trim().slice(0, 40),
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

const focusVisible = (f) => f.outlineStyle !== 'none' && parseFloat(f.outlineWidth) > 0;
const focusName = (f) => `${f.tag}${f.id ? `#${f.id}` : ''}${f.cls ? `.${String(f.cls).split(/\s+/).join('.')}` : ''}${f.text ? ` "${f.text}"` : ''}`;

async function keyboardChecks(page) {
  // Start from a fresh load so focus is at the document start.
  await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
  await page.keyboard.press('Tab');
  const first = await focusInfo(page);
  check('keyboard /login: first Tab reaches the skip link', first.tag === 'a' && /skip-link/.test(first.cls),
    [`focused: ${focusName(first)}`]);
  check('keyboard /login: focus on the skip link is visible (outline)', focusVisible(first),
    [`outline-style: ${first.outlineStyle}, outline-width: ${first.outlineWidth}`]);
  const onScreen = first.left >= 0 && first.top >= 0 && first.right <= first.viewportW && first.bottom <= first.viewportH;
  check('keyboard /login: focused skip link is on screen', onScreen,
    [`box: x=${Math.round(first.left)}..${Math.round(first.right)}, y=${Math.round(first.top)}..${Math.round(first.bottom)}`]);
  check(`keyboard /login: focused skip link is >= ${MIN_TARGET}px tall`, first.height >= MIN_TARGET - 0.5,
    [`height: ${Math.round(first.height * 10) / 10}px`]);

  // Keep tabbing: the e-mail field must come, and every stop on the way shows focus.
  const stops = [];
  const invisible = [];
  let email = null;
  for (let i = 0; i < 25; i += 1) {
    await page.keyboard.press('Tab');
    const f = await focusInfo(page);
    stops.push(focusName(f));
    if (!focusVisible(f)) invisible.push(`${focusName(f)} (outline-style: ${f.outlineStyle}, width: ${f.outlineWidth})`);
    if (f.tag === 'input' && f.id === 'email') {
      email = f;
      break;
    }
  }
  check('keyboard /login: the e-mail field is reachable with Tab', email !== null,
    [`tab stops after the skip link: ${stops.join(' -> ')}`]);
  if (email) {
    check('keyboard /login: focus on the e-mail field is visible (outline)', focusVisible(email),
      [`outline-style: ${email.outlineStyle}, outline-width: ${email.outlineWidth}`]);
  }
  check('keyboard /login: focus is visible at every Tab stop up to the e-mail field', invisible.length === 0,
    invisible.map((s) => `no visible focus: ${s}`));

  // Following the skip link: Enter moves focus into <main>, the next Tab is the e-mail field.
  await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  const inMain = await page.evaluate(() => !!document.activeElement && !!document.activeElement.closest('main'));
  await page.keyboard.press('Tab');
  const afterSkip = await focusInfo(page);
  check('keyboard /login: skip link moves focus to the content; next Tab is the e-mail field',
    inMain && afterSkip.tag === 'input' && afterSkip.id === 'email',
    [`focus in <main> after Enter: ${inMain}; next Tab: ${focusName(afterSkip)}`]);
  consoleErrors.splice(0);
}

// ---------------------------------------------------------------- the journey

// Submit a form by tapping its button; returns the main-frame response of the page that
// was finally loaded, and the redirect (if any) that led there.
async function tapAndWait(page, locator) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    locator.tap(),
  ]);
  // The chain of redirects, first (the form's own answer) to last.
  const chain = [];
  for (let r = response && response.request().redirectedFrom(); r; r = r.redirectedFrom()) {
    const rr = await r.response();
    chain.unshift({ status: rr ? rr.status() : null, url: r.url() });
  }
  return { response, redirectStatus: chain.length ? chain[0].status : null, chain };
}

// Signing up and logging in land on /account, or (since the questionnaire exists) on the
// questionnaire (/survey, which redirects to the page to answer). Either is accepted; from
// the questionnaire the respondent then taps "Minha conta" in the header.
const LANDINGS = /^\/(account|survey(\/.*)?)$/;

async function toAccount(page, who) {
  if (new URL(page.url()).pathname !== '/account') {
    await tapAndWait(page, page.getByRole('navigation').getByRole('link', { name: 'Minha conta' }));
  }
  const where = new URL(page.url()).pathname;
  if (where !== '/account') throw new Error(`"Minha conta" led to ${page.url()}`);
  const h1 = (await page.locator('h1').innerText()).trim();
  if (h1 !== 'Minha conta') throw new Error(`h1 is "${h1}"`);
  if (!(await page.getByText(`Olá, ${who.nome}.`, { exact: true }).isVisible())) throw new Error(`greeting "Olá, ${who.nome}." not visible`);
  if (!(await page.getByText(who.email).isVisible())) throw new Error('own e-mail not shown');
}

async function fillRegister(page, who, password) {
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

async function journey(page) {
  const stamp = Date.now().toString(36);
  const who = {
    nome: 'Maria',
    sobrenome: 'Aparecida dos Santos',
    email: `maria.santos+${stamp}@example.com`,
    telefone: '(12) 99876-5432',
    bairro: 'JARDIM SÃO JOSÉ',
    password: 'feira de domingo no bairro',
  };

  // 1. Home
  await step('home page opens (200)', async () => {
    const r = await page.goto(`${BASE_URL}/`, { waitUntil: 'load' });
    if (!r || r.status() !== 200) throw new Error(`GET / answered ${r && r.status()}`);
    const lang = await page.getAttribute('html', 'lang');
    return [`<html lang="${lang}">`];
  });
  await pageChecks(page, 'home', 'home');

  // 2. Register, reached by tapping the home page's call to action
  await step('tapping "Participar da pesquisa" opens /register', async () => {
    await tapAndWait(page, page.getByRole('link', { name: 'Participar da pesquisa' }));
    if (new URL(page.url()).pathname !== '/register') throw new Error(`landed on ${page.url()}`);
  });
  await pageChecks(page, 'register', 'register');

  // 3. Register with a too-short password: refused, with the error state
  await step('sign-up with a too-short password is refused (422) with an error summary', async () => {
    await fillRegister(page, who, 'curta123');
    const { response } = await tapAndWait(page, page.getByRole('button', { name: 'Criar conta', exact: true }));
    if (response.status() !== 422) throw new Error(`POST /register answered ${response.status()}, expected 422`);
    if (!(await page.locator('.error-summary').isVisible())) throw new Error('no visible .error-summary');
    const summary = (await page.locator('.error-summary').innerText()).replace(/\s+/g, ' ');
    return [`summary: ${summary}`];
  });
  await step('the password field shows its error next to it, tied by aria-describedby', async () => {
    const err = page.locator('.field:has(#password) p.field-error');
    if (!(await err.isVisible())) throw new Error('no p.field-error in the password field');
    const text = await err.innerText();
    const invalid = await page.getAttribute('#password', 'aria-invalid');
    const describedBy = (await page.getAttribute('#password', 'aria-describedby')) || '';
    const errId = await err.getAttribute('id');
    if (invalid !== 'true') throw new Error(`#password aria-invalid=${invalid}`);
    if (!describedBy.split(/\s+/).includes(errId)) throw new Error(`aria-describedby="${describedBy}" lacks "${errId}"`);
    return [`message: ${text}`];
  });
  await step('the refused form keeps what was typed (except the password)', async () => {
    const kept = {
      nome: await page.inputValue('#nome'),
      email: await page.inputValue('#email'),
      bairro: await page.inputValue('#bairro'),
      adult: await page.isChecked('#adult'),
      accept_terms: await page.isChecked('#accept_terms'),
      password: await page.inputValue('#password'),
    };
    const bad = [];
    if (kept.nome !== who.nome) bad.push(`nome="${kept.nome}"`);
    if (kept.email !== who.email) bad.push(`email="${kept.email}"`);
    if (kept.bairro !== who.bairro) bad.push(`bairro="${kept.bairro}"`);
    if (!kept.adult || !kept.accept_terms) bad.push(`adult=${kept.adult} accept_terms=${kept.accept_terms}`);
    if (kept.password !== '') bad.push('password shown again');
    if (bad.length) throw new Error(bad.join(', '));
  });
  await pageChecks(page, 'register-errors', 'register with errors');

  // 4. Register correctly: 303 to /account (or the questionnaire), then "Minha conta"
  let landed;
  await step('sign-up with valid data redirects (303) to /account or the questionnaire', async () => {
    await fillRegister(page, who, who.password);
    const { response, redirectStatus, chain } = await tapAndWait(page, page.getByRole('button', { name: 'Criar conta', exact: true }));
    landed = new URL(page.url()).pathname;
    const via = chain.map((c) => `${c.status} ${new URL(c.url).pathname}`).join(' -> ');
    if (!LANDINGS.test(landed)) throw new Error(`landed on ${page.url()} (status ${response.status()}) via ${via}`);
    if (redirectStatus !== 303) throw new Error(`redirect status ${redirectStatus}, expected 303 (${via})`);
    if (response.status() !== 200) throw new Error(`${landed} answered ${response.status()}`);
    return [`${via} -> ${response.status()} ${landed}`];
  });
  if (landed !== '/account') await pageChecks(page, 'survey-after-signup', `questionnaire after sign-up (${landed})`);
  await step(`/account shows "Minha conta", "Olá, ${who.nome}." and the e-mail`, async () => toAccount(page, who));
  await pageChecks(page, 'account', 'account');

  // 5. Log out with the header's "Sair"
  await step('"Sair" logs out to the home page with "Você saiu da sua conta."', async () => {
    await tapAndWait(page, page.getByRole('button', { name: 'Sair' }));
    if (new URL(page.url()).pathname !== '/') throw new Error(`landed on ${page.url()}`);
    const notice = page.getByText('Você saiu da sua conta.');
    if (!(await notice.isVisible())) throw new Error('no logout notice');
    if (await page.getByRole('button', { name: 'Sair' }).count()) throw new Error('"Sair" still in the header');
  });
  await pageChecks(page, 'home-logged-out', 'home after logout');

  // 6. Log in again
  await step('tapping "Entrar" in the header opens /login', async () => {
    await tapAndWait(page, page.getByRole('navigation').getByRole('link', { name: 'Entrar' }));
    if (new URL(page.url()).pathname !== '/login') throw new Error(`landed on ${page.url()}`);
  });
  await pageChecks(page, 'login', 'login');
  await keyboardChecks(page);
  await step('log-in with the new account redirects (303) to /account or the questionnaire', async () => {
    await page.locator('#email').fill(who.email);
    await page.locator('#password').fill(who.password);
    const { response, redirectStatus, chain } = await tapAndWait(page, page.getByRole('button', { name: 'Entrar', exact: true }));
    landed = new URL(page.url()).pathname;
    const via = chain.map((c) => `${c.status} ${new URL(c.url).pathname}`).join(' -> ');
    if (!LANDINGS.test(landed)) throw new Error(`landed on ${page.url()} (status ${response.status()}) via ${via}`);
    if (redirectStatus !== 303) throw new Error(`redirect status ${redirectStatus}, expected 303 (${via})`);
    if (response.status() !== 200) throw new Error(`${landed} answered ${response.status()}`);
    return [`${via} -> ${response.status()} ${landed}`];
  });
  await step('after log-in, "Minha conta" greets the respondent again', async () => toAccount(page, who));
  await pageChecks(page, 'account-after-login', 'account after login');
}

// ---------------------------------------------------------------- main

async function main() {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const f of fs.readdirSync(SCREENSHOT_DIR)) {
    if (/^\d\d-.*\.png$/.test(f)) fs.rmSync(path.join(SCREENSHOT_DIR, f));
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
      // Chromium logs every non-2xx document as "Failed to load resource"; the status of
      // the page itself (422 for a refused form) is asserted by the journey's steps, so
      // only failures of other resources (CSS, images, ...) count here.
      if (/^Failed to load resource/.test(m.text()) && m.location().url === page.url()) return;
      consoleErrors.push(`${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    console.log(`respondent on a ${PHONE.width}x${PHONE.height} phone (DPR 2, touch) at ${BASE_URL}`);
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
}

const watchdog = setTimeout(() => {
  console.log(`TIME-OUT: the run took more than ${WHOLE_RUN_TIMEOUT_MS / 1000}s`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(2);
}, WHOLE_RUN_TIMEOUT_MS);

try {
  await main();
} catch (e) {
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
process.exit(failed === 0 ? 0 : 1);
