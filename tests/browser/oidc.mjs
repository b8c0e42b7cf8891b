// Log-in through a real OpenID Connect provider (tests/oidc: oidc-provider, started by
// run.sh on loopback and configured as "Provedor Teste"), on a phone:
//   1. a new person taps "Entrar com Provedor Teste" on /login, logs in on the
//      provider's own page, completes the sign-up (names prefilled, bairro, adult,
//      terms) and lands in the questionnaire;
//   2. a person who signed up with a password logs in through the provider with the
//      same address: the account is linked, no second sign-up.
// Our pages get the usual checks (screenshot, no horizontal scrolling, touch targets,
// axe-core clean, console); the provider's development log-in page is not ours and gets
// a screenshot only.
//
// Environment: BASE_URL, OIDC_ISSUER, CHROMIUM, SCREENSHOT_DIR (see lib.mjs).

import {
  check, step, pageChecks, screenshot, clearConsoleErrors, tapAndWait, fillRegister,
  newRespondent, run, BASE_URL, describeChain,
  confirmSignUp,
} from './lib.mjs';

const ISSUER = (process.env.OIDC_ISSUER || '').replace(/\/+$/, '');

// From our /login, through the provider's log-in form as `email`, back to us.
async function logInAtProvider(page, email, name) {
  await step(`${name}: /login offers the provider`, async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
    await page.getByRole('link', { name: 'Entrar com Provedor Teste' }).waitFor();
  });
  await pageChecks(page, `${name}-login`, `${name}: /login with the provider button`);
  await step(`${name}: the button leads to the provider's log-in page`, async () => {
    await tapAndWait(page, page.getByRole('link', { name: 'Entrar com Provedor Teste' }));
    if (!page.url().startsWith(ISSUER)) throw new Error(`at ${page.url()}, not at ${ISSUER}`);
    await page.locator('input[name="login"]').waitFor();
  });
  await screenshot(page, `${name}-provider`);
  let result;
  await step(`${name}: logging in at the provider comes back to the site`, async () => {
    await page.locator('input[name="login"]').fill(email);
    await page.locator('input[name="password"]').fill('qualquer');
    result = await tapAndWait(page, page.locator('button[type="submit"]'));
    if (!page.url().startsWith(BASE_URL)) throw new Error(`at ${page.url()}`);
    return [describeChain(result)];
  });
  clearConsoleErrors(); // anything the provider's page logged is not ours
  return result;
}

async function journey(page) {
  // 1. A new person.
  const ana = newRespondent('Ana', 'Souza');
  const email = `ana.souza@n${Date.now().toString(36)}.example.com`;
  await logInAtProvider(page, email, 'new');
  await step('new: the sign-up is completed here, names prefilled from the provider', async () => {
    const path = new URL(page.url()).pathname;
    if (path !== '/auth/complete') throw new Error(`at ${path}`);
    const nome = await page.locator('#nome').inputValue();
    if (nome !== 'Ana') throw new Error(`nome is "${nome}"`);
    if (!(await page.getByText(email).count())) throw new Error('the address is not shown');
    if (await page.locator('#password').count()) throw new Error('asks for a password');
  });
  await pageChecks(page, 'new-complete', 'new: complete the sign-up');
  await step('new: finishing the sign-up opens the questionnaire', async () => {
    await page.locator('#telefone').fill(ana.telefone);
    await page.locator('#bairro').selectOption(ana.bairro);
    for (const id of ['adult', 'accept_terms']) {
      if (!(await page.locator(`#${id}`).isChecked())) await page.locator(`label[for="${id}"]`).tap();
    }
    const r = await tapAndWait(page, page.getByRole('button', { name: 'Concluir cadastro' }));
    const path = new URL(page.url()).pathname;
    if (!path.startsWith('/survey')) throw new Error(`at ${path}: ${describeChain(r)}`);
    return [describeChain(r)];
  });
  await pageChecks(page, 'new-survey', 'new: the questionnaire');

  // 2. A person with a password account logs in through the provider.
  await page.context().clearCookies();
  const bia = newRespondent('Bia', 'Lima');
  await step('existing: signs up with a password, confirms the e-mail, then logs out', async () => {
    await page.goto(`${BASE_URL}/register`, { waitUntil: 'load' });
    await fillRegister(page, bia, bia.password);
    await tapAndWait(page, page.getByRole('button', { name: 'Criar conta' }));
    await confirmSignUp(page, bia);
    await page.context().clearCookies();
  });
  await logInAtProvider(page, bia.email, 'existing');
  await step('existing: the account is linked and the questionnaire opens, no second sign-up', async () => {
    const path = new URL(page.url()).pathname;
    if (!path.startsWith('/survey')) throw new Error(`at ${path}`);
  });
  await pageChecks(page, 'existing-survey', 'existing: the questionnaire');
  await step('existing: "Minha conta" shows the same person', async () => {
    await page.goto(`${BASE_URL}/account`, { waitUntil: 'load' });
    if (!(await page.getByText(bia.email).count())) throw new Error('another account');
  });
  check('provider issuer given', ISSUER.length > 0, [`OIDC_ISSUER=${ISSUER}`]);
}

await run({ title: 'OpenID Connect log-in', prefix: 'oidc-', timeoutMs: 180_000, journey });
