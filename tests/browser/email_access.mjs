// Getting in through the mailbox, on a phone in Debian's headless Chromium: a respondent
// signs up, resets the password through "Esqueci minha senha" (refused short
// password first), logs in with the new one, then signs in with an e-mail code (a wrong
// code first, then the right one), and once more through the link of a code message
// (GET shows a button, the tap logs in). Every page gets the checks of lib.mjs (screenshot,
// no horizontal scroll, touch targets, axe-core, console).
//
// The messages are read as the loopback SMTP server received them (run.sh, waitForMail).
//
// Environment: BASE_URL, CHROMIUM, SCREENSHOT_DIR, MAIL_DIR (see lib.mjs). Screenshots:
// mail-NN-name.png.

import {
  check, step, pageChecks, tapAndWait, fillRegister, newRespondent, run, BASE_URL, waitForMail,
} from './lib.mjs';

const NEW_PASSWORD = 'girafa azul trompete janela';
const LANDINGS = /^\/(account|survey(\/.*)?)$/;

// The next message of `kind` to `email`, as the loopback SMTP server received it (each
// message once, in arrival order: a second call after a resend gives the newer one).
async function newestMail(email, kind) {
  const m = await waitForMail(email, { kind });
  return { text: m.text };
}

const linkIn = (text) => {
  const m = text.match(new RegExp(`${BASE_URL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S+`));
  if (!m) throw new Error(`no link to ${BASE_URL} in the message`);
  return m[0];
};
const codeIn = (text) => {
  const m = text.match(/^\s*(\d{6})\s*$/m);
  if (!m) throw new Error('no 6-digit code in the message');
  return m[1];
};

async function logOut(page) {
  await tapAndWait(page, page.getByRole('button', { name: 'Sair' }));
}

async function expectLanding(page, result, what) {
  const landed = new URL(page.url()).pathname;
  const via = result.chain.map((c) => `${c.status} ${new URL(c.url).pathname}`).join(' -> ');
  if (!LANDINGS.test(landed)) throw new Error(`${what} landed on ${page.url()} via ${via}`);
  if (result.redirectStatus !== 303) throw new Error(`redirect status ${result.redirectStatus}, expected 303 (${via})`);
  return [`${via} -> ${result.response.status()} ${landed}`];
}

async function journey(page) {
  const who = newRespondent('Joana', 'Ferreira');

  await step('sign up (the page then says to check the e-mail)', async () => {
    await page.goto(`${BASE_URL}/register`, { waitUntil: 'load' });
    await fillRegister(page, who, who.password);
    await tapAndWait(page, page.getByRole('button', { name: 'Criar conta', exact: true }));
    if (new URL(page.url()).pathname !== '/register/sent') throw new Error(`sign-up landed on ${page.url()}`);
  });

  // Password reset.
  await step('/login links to "Esqueci minha senha", which opens /password/forgot', async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
    await tapAndWait(page, page.getByRole('link', { name: 'Esqueci minha senha' }));
    if (new URL(page.url()).pathname !== '/password/forgot') throw new Error(`landed on ${page.url()}`);
  });
  await pageChecks(page, 'forgot', 'forgot password');
  await step('asking for a link answers "Verifique seu e-mail"', async () => {
    await page.locator('#email').fill(who.email);
    const { response } = await tapAndWait(page, page.getByRole('button', { name: 'Enviar link' }));
    if (response.status() !== 200) throw new Error(`answered ${response.status()}`);
    if ((await page.locator('h1').innerText()).trim() !== 'Verifique seu e-mail') throw new Error('wrong h1');
  });
  await pageChecks(page, 'forgot-sent', 'reset link sent');
  let resetLink;
  await step('the reset message carries a link to /password/reset', async () => {
    resetLink = linkIn((await newestMail(who.email, 'password_reset')).text);
    if (!resetLink.includes('/password/reset?token=')) throw new Error(resetLink);
  });
  await step('the link opens the new-password form, sent with Referrer-Policy: strict-origin', async () => {
    const r = await page.goto(resetLink, { waitUntil: 'load' });
    if (r.status() !== 200) throw new Error(`answered ${r.status()}`);
    const policy = r.headers()['referrer-policy'];
    if (policy !== 'strict-origin') throw new Error(`referrer-policy: ${policy}`);
  });
  await pageChecks(page, 'reset', 'new password');
  await step('a too-short password is refused (422), the error by the field', async () => {
    await page.locator('#password').fill('curta');
    await page.locator('#password_confirm').fill('curta');
    const { response } = await tapAndWait(page, page.getByRole('button', { name: 'Salvar nova senha' }));
    if (response.status() !== 422) throw new Error(`answered ${response.status()}`);
    if (!(await page.locator('#password-erro').isVisible())) throw new Error('no #password-erro');
  });
  await pageChecks(page, 'reset-errors', 'new password refused');
  await step('a good password lands on /login with "Senha redefinida"', async () => {
    await page.locator('#password').fill(NEW_PASSWORD);
    await page.locator('#password_confirm').fill(NEW_PASSWORD);
    await tapAndWait(page, page.getByRole('button', { name: 'Salvar nova senha' }));
    if (new URL(page.url()).pathname !== '/login') throw new Error(`landed on ${page.url()}`);
    if (!(await page.getByText('Senha redefinida. Entre com a nova senha.').isVisible())) throw new Error('no notice');
  });
  await pageChecks(page, 'login-after-reset', 'log-in after reset');
  await step('the new password logs in', async () => {
    await page.locator('#email').fill(who.email);
    await page.locator('#password').fill(NEW_PASSWORD);
    const result = await tapAndWait(page, page.getByRole('button', { name: 'Entrar', exact: true }));
    const lines = await expectLanding(page, result, 'log-in');
    await logOut(page);
    return lines;
  });

  // Sign-in by e-mail code.
  await step('/login links to "Entrar com código por e-mail", which opens /login/code', async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
    await tapAndWait(page, page.getByRole('link', { name: 'Entrar com código por e-mail' }));
    if (new URL(page.url()).pathname !== '/login/code') throw new Error(`landed on ${page.url()}`);
  });
  await pageChecks(page, 'code-request', 'ask for a code');
  await step('asking for a code shows the code field (numeric keypad, one-time-code)', async () => {
    await page.locator('#email').fill(who.email);
    const { response } = await tapAndWait(page, page.getByRole('button', { name: 'Enviar código' }));
    if (response.status() !== 200) throw new Error(`answered ${response.status()}`);
    const attrs = await page.locator('#code').evaluate((el) => [el.inputMode, el.autocomplete]);
    if (attrs[0] !== 'numeric' || attrs[1] !== 'one-time-code') throw new Error(`inputmode/autocomplete: ${attrs}`);
  });
  await pageChecks(page, 'code-enter', 'type the code');
  const first = await newestMail(who.email, 'sign_in_code');
  const code = codeIn(first.text);
  await step('a wrong code is refused (422): "Restam 4 tentativas" by the field', async () => {
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await page.locator('#code').fill(wrong);
    const { response } = await tapAndWait(page, page.getByRole('button', { name: 'Entrar', exact: true }));
    if (response.status() !== 422) throw new Error(`answered ${response.status()}`);
    const msg = await page.locator('#code-erro').innerText();
    if (!msg.includes('Restam 4 tentativas')) throw new Error(`message: ${msg}`);
    return [`message: ${msg}`];
  });
  await pageChecks(page, 'code-wrong', 'wrong code');
  await step('the right code logs in', async () => {
    await page.locator('#code').fill(code);
    const result = await tapAndWait(page, page.getByRole('button', { name: 'Entrar', exact: true }));
    const lines = await expectLanding(page, result, 'code sign-in');
    await logOut(page);
    return lines;
  });

  await step('the link of a new code message opens a page with a button, the tap logs in', async () => {
    await page.goto(`${BASE_URL}/login/code`, { waitUntil: 'load' });
    await page.locator('#email').fill(who.email);
    await tapAndWait(page, page.getByRole('button', { name: 'Enviar código' }));
    const link = linkIn((await newestMail(who.email, 'sign_in_code')).text);
    const r = await page.goto(link, { waitUntil: 'load' });
    if (r.status() !== 200) throw new Error(`GET link answered ${r.status()}`);
    await pageChecks(page, 'code-link', 'sign-in link');
    const result = await tapAndWait(page, page.getByRole('button', { name: 'Entrar', exact: true }));
    return expectLanding(page, result, 'link sign-in');
  });
  check('journey finished', true);
}

await run({ title: 'e-mail access', prefix: 'mail-', timeoutMs: 180_000, journey });
