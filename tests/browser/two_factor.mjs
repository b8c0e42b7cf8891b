// Staff two-step verification in Debian's headless Chromium, on a phone:
//  1. an admin created on the command line logs in with the password, accepts the terms
//     and is sent to set up two-step verification before any staff page;
//  2. a wrong code is refused by the field; the key read from the page gives the right
//     code (computed here as an authenticator app does), and the recovery codes appear;
//  3. after logging out, the password leads to /login/2fa, and the next code logs in.
// Every page: screenshot, no horizontal scroll, touch targets, axe-core 0 violations.
//
// Environment: BASE_URL, CHROMIUM; ADMIN_EMAIL / ADMIN_PASSWORD, an admin account made
// before the server started (run.sh makes one).

import {
  check, step, pageChecks, screenshot, checkAxe, tapAndWait, run, BASE_URL, JourneyStopped,
  enrolSecondFactor, totpCode, totpStep,
} from './lib.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL || '';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || '';
const path = (page) => new URL(page.url()).pathname;

async function logIn(page) {
  await page.goto(`${BASE_URL}/login?next=%2Fadmin%2Fusers`, { waitUntil: 'load' });
  await page.fill('#email', ADMIN_EMAIL);
  await page.fill('#password', ADMIN_PASSWORD);
  return tapAndWait(page, page.locator('main button[type=submit]'));
}

async function journey(page) {
  if (!ADMIN_EMAIL) {
    console.log('note: ADMIN_EMAIL not set; nothing to check');
    return;
  }
  await step('log in as the admin with the password', async () => { await logIn(page); });
  if (path(page) === '/consent') {
    await step('accept the terms as the admin', async () => {
      for (const box of await page.locator('main form[action="/consent"] input[type=checkbox]').all()) {
        await box.check();
      }
      await tapAndWait(page, page.locator('main form[action="/consent"] button[type=submit]'));
    });
  }
  if (!check('sent to set up two-step verification first', path(page) === '/account/2fa', [`at ${page.url()}`])) {
    throw new JourneyStopped('enrolment page');
  }
  check('enrolment: the QR code is an inline SVG with a text alternative',
    (await page.locator('main .qr svg[role=img][aria-label]').count()) === 1);
  await pageChecks(page, 'enrolment', 'enrolment');

  const key = await page.locator('#totp-key').getAttribute('data-key');
  await step('a wrong code is refused by the field', async () => {
    await page.locator('#code').fill(totpCode(key, totpStep() + 5));
    const { response } = await tapAndWait(page, page.locator('main form[action="/account/2fa"] button[type=submit]'));
    if (response.status() !== 422) throw new Error(`status ${response.status()}`);
    if (!(await page.locator('#code-erro').isVisible())) throw new Error('no message by the field');
  });
  await pageChecks(page, 'enrolment-wrong-code', 'enrolment, wrong code');

  let enrolled;
  await step('the code computed from the key turns it on; ten recovery codes shown', async () => {
    enrolled = await enrolSecondFactor(page);
    if (enrolled.codes.length !== 10) throw new Error(`${enrolled.codes.length} codes`);
  });
  await pageChecks(page, 'recovery-codes', 'recovery codes');
  // The enrolment ends on the staff member's home (the admin dashboard, /admin), not on
  // the page of the log-in's ?next=.
  await step('"Continuar" leads to the admin dashboard (/admin)', async () => {
    await tapAndWait(page, page.locator('main a.button'));
    if (path(page) !== '/admin') throw new Error(`at ${page.url()}`);
  });

  await step('log out', async () => {
    await tapAndWait(page, page.getByRole('button', { name: 'Sair' }));
  });
  await step('the password alone leads to the code page', async () => {
    await logIn(page);
    if (path(page) !== '/login/2fa') throw new Error(`at ${page.url()}`);
  });
  await pageChecks(page, 'login-code', '/login/2fa');
  await step('the next code logs in and reaches the admin pages', async () => {
    await page.locator('#code').fill(totpCode(key, Math.max(totpStep(), enrolled.step + 1)));
    await tapAndWait(page, page.locator('main form[action="/login/2fa"] button[type=submit]'));
    if (path(page) !== '/admin/users') throw new Error(`at ${page.url()}`);
  });
  // The admin list's own layout is admin.rs's (its small links are known); here only
  // that it was reached, and axe.
  await screenshot(page, 'admin-after-code');
  await checkAxe(page, 'admin after the code');
}

await run({ title: 'staff: two-step verification', prefix: 't', timeoutMs: 120_000, journey });
