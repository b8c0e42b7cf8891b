// A respondent on a phone, in Debian's headless Chromium: opens the home page, signs up
// (first with a too-short password, to see the refused form, then correctly), lands on
// "Minha conta", opens "Meus dados" (the readable, printable page of its data), logs out,
// logs back in and finds the home page's "Responder o questionário". On the home page:
// one time estimate and who runs the study with a contact link; on the refused sign-up:
// an error summary naming each field. On every page: a full-page screenshot, no
// horizontal scrolling, touch targets big enough (every link and button 44 x 44 px,
// targets.mjs), axe-core (WCAG 2.0/2.1 A and AA) clean, no console errors, and the same
// at 1280 px wide (NN-name-1280.png). On /login: the keyboard path (skip link first, e-mail field
// reachable, focus always visible).
//
// Environment: BASE_URL, CHROMIUM, SCREENSHOT_DIR (see lib.mjs). Screenshots:
// NN-name.png.
//
// Prints one line per check ("ok" / "FAIL" with details), then "N passed, M failed"
// alone on a line; exits 1 when any check failed, 2 on a crash or time-out.

import {
  MIN_TARGET, check, step, pageChecks as basePageChecks, clearConsoleErrors, focusInfo, focusVisible, focusName,
  tapAndWait, fillRegister, newRespondent, run, BASE_URL, confirmSignUp, describeChain,
} from './lib.mjs';
import { checkTargetBoxes, checkDesktop } from './targets.mjs';

// Every respondent page: lib.mjs's checks at 360 px, every link and button 44 x 44 px,
// and the same page at 1280 px (screenshot, width, targets, axe).
async function pageChecks(page, name, label) {
  await basePageChecks(page, name, label);
  await checkTargetBoxes(page, label);
  await checkDesktop(page, name, label);
}

// ---------------------------------------------------------------- keyboard (on /login)

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
  clearConsoleErrors();
}

// ---------------------------------------------------------------- the journey

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

async function journey(page) {
  const who = newRespondent();

  // 1. Home
  await step('home page opens (200)', async () => {
    const r = await page.goto(`${BASE_URL}/`, { waitUntil: 'load' });
    if (!r || r.status() !== 200) throw new Error(`GET / answered ${r && r.status()}`);
    const lang = await page.getAttribute('html', 'lang');
    return [`<html lang="${lang}">`];
  });
  await pageChecks(page, 'home', 'home');
  await step('home: one time estimate, and who runs the study with a contact link', async () => {
    const info = await page.evaluate(() => ({
      text: document.querySelector('main').innerText,
      who: (document.querySelector('#quem-realiza') || {}).innerText || '',
      mailto: [...document.querySelectorAll('#quem-realiza a[href^="mailto:"]')].map((a) => a.getAttribute('href')),
    }));
    const minutes = [...info.text.matchAll(/(\d+) minutos/g)].map((m) => m[1]);
    const bad = [];
    if (minutes.length !== 1) bad.push(`estimates on the page: ${JSON.stringify(minutes)}`);
    if (!/Quem realiza esta pesquisa/.test(info.who)) bad.push(`who: "${info.who}"`);
    if (info.mailto.length !== 1) bad.push(`contact links: ${JSON.stringify(info.mailto)}`);
    if (bad.length) throw new Error(bad.join('; '));
    return [`"cerca de ${minutes[0]} minutos"; ${info.who}`];
  });

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
  await step('the error summary names the field of each error and links to it', async () => {
    const links = await page.evaluate(() => [...document.querySelectorAll('.error-summary a')].map((a) => ({
      text: a.innerText.trim(),
      href: a.getAttribute('href'),
      target: !!document.getElementById((a.getAttribute('href') || '').slice(1)),
    })));
    const bad = links.filter((l) => !l.target || !/^[^:]{3,}: \S/.test(l.text));
    if (!links.some((l) => l.href === '#password' && l.text.startsWith('Senha: '))) bad.push({ missing: '#password "Senha: …"' });
    if (!links.length || bad.length) throw new Error(JSON.stringify(bad.length ? bad : links));
    return links.map((l) => `${l.href} "${l.text}"`);
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

  // 4. Register correctly: "Confira seu e-mail", then the mailed link logs in (303 to the
  //    questionnaire), then "Minha conta"
  await step('sign-up with valid data ends (303) on "Confira seu e-mail"', async () => {
    await fillRegister(page, who, who.password);
    const nav = await tapAndWait(page, page.getByRole('button', { name: 'Criar conta', exact: true }));
    if (nav.redirectStatus !== 303 || new URL(page.url()).pathname !== '/register/sent') throw new Error(describeChain(nav));
    return [describeChain(nav)];
  });
  await pageChecks(page, 'register-sent', 'check your e-mail');
  let landed;
  await step('the verification mail arrives; its link and "Confirmar e continuar" log in (303)', async () => {
    const { response, redirectStatus, chain } = await confirmSignUp(page, who);
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

  // "Meus dados": the readable page, printable without the site's frame.
  await step('"Ver meus dados" opens /account/data/html with the account\'s data and consents', async () => {
    await tapAndWait(page, page.getByRole('link', { name: 'Ver meus dados (para ler ou imprimir)' }));
    if (new URL(page.url()).pathname !== '/account/data/html') throw new Error(`landed on ${page.url()}`);
    const text = await page.locator('main').innerText();
    const bad = ['Meus dados', who.email, who.nome, 'Consentimentos', 'Aceito em', 'UTC'].filter((t) => !text.includes(t));
    if (bad.length) throw new Error(`missing: ${bad.join(', ')}`);
  });
  await pageChecks(page, 'my-data', 'my data');
  await step('my data, printed: no header, menu or footer, the data still there', async () => {
    await page.emulateMedia({ media: 'print' });
    const shown = await page.evaluate(() => ({
      header: getComputedStyle(document.querySelector('.site-header')).display,
      footer: getComputedStyle(document.querySelector('.site-footer')).display,
      h1: document.querySelector('h1').getBoundingClientRect().height > 0,
    }));
    await page.emulateMedia({ media: 'screen' });
    if (shown.header !== 'none' || shown.footer !== 'none' || !shown.h1) throw new Error(JSON.stringify(shown));
  });
  await step('my data: "Voltar para Minha conta" returns to /account', async () => {
    await tapAndWait(page, page.getByRole('link', { name: 'Voltar para Minha conta' }));
    if (new URL(page.url()).pathname !== '/account') throw new Error(`landed on ${page.url()}`);
  });

  // 5. Log out with the header's "Sair"
  await step('"Sair" logs out to the home page with "Você saiu da sua conta."', async () => {
    await tapAndWait(page, page.getByRole('button', { name: 'Sair' }));
    if (new URL(page.url()).pathname !== '/') throw new Error(`landed on ${page.url()}`);
    const notice = page.getByText('Você saiu da sua conta.');
    if (!(await notice.isVisible())) throw new Error('no logout notice');
    // A success, said in words and an icon, not by colour alone.
    const kind = await page.evaluate(() => {
      const n = document.querySelector('main .notice[role=status]');
      return n && { cls: n.className, word: (n.querySelector('.notice-kind') || {}).innerText, icon: !!n.querySelector('.notice-icon') };
    });
    if (!kind || kind.cls !== 'notice ok' || kind.word !== 'Pronto:' || !kind.icon) throw new Error(`notice ${JSON.stringify(kind)}`);
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
  await step('home, logged in before answering: "Responder o questionário"', async () => {
    await tapAndWait(page, page.locator('a.brand'));
    const buttons = await page.evaluate(() => [...document.querySelectorAll('main .actions a')].map((a) => [a.innerText.trim(), a.getAttribute('href')]));
    if (JSON.stringify(buttons[0]) !== JSON.stringify(['Responder o questionário', '/survey'])) throw new Error(JSON.stringify(buttons));
  });
  await pageChecks(page, 'home-logged-in', 'home logged in');
}

// ---------------------------------------------------------------- main

await run({ title: 'respondent', prefix: '', timeoutMs: 180_000, journey });
