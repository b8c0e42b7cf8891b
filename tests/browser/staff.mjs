// Staff landings and the admin dashboard (/admin), in Debian's headless Chromium:
//  1. an admin (its own account, made by run.sh, so that two_factor.mjs keeps its
//     first-time enrolment) logs in, accepts the terms, sets up two-step verification
//     and "Continuar" leads to /admin; the dashboard at 360 px (screenshot, no horizontal
//     scroll, touch targets, axe-core 0 violations) and at 1280 px (screenshot, axe);
//  2. the admin logs out and in again with password and code: lands on /admin;
//  3. an analyst (also its own account) logs in and, after the code, lands on
//     /admin/results, and is refused the admin dashboard.
//
// Environment: BASE_URL, CHROMIUM; STAFF_ADMIN_EMAIL / STAFF_ADMIN_PASSWORD and
// STAFF_ANALYST_EMAIL / STAFF_ANALYST_PASSWORD, accounts made before the server started.

import {
  check, step, pageChecks, screenshot, checkAxe, tapAndWait, run, BASE_URL, JourneyStopped,
  enrolSecondFactor, totpCode, totpStep,
} from './lib.mjs';

const ADMIN = { email: process.env.STAFF_ADMIN_EMAIL || '', password: process.env.STAFF_ADMIN_PASSWORD || '' };
const ANALYST = { email: process.env.STAFF_ANALYST_EMAIL || '', password: process.env.STAFF_ANALYST_PASSWORD || '' };
const path = (page) => new URL(page.url()).pathname;

async function passwordLogIn(page, who) {
  await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  return tapAndWait(page, page.locator('main button[type=submit]'));
}

// First log-in: password, terms, enrolment; returns the key and the step of the code used.
async function firstLogIn(page, who, role, home) {
  await step(`${role}: log in with the password`, async () => { await passwordLogIn(page, who); });
  if (path(page) === '/consent') {
    await step(`${role}: accept the terms`, async () => {
      for (const box of await page.locator('main form[action="/consent"] input[type=checkbox]').all()) await box.check();
      await tapAndWait(page, page.locator('main form[action="/consent"] button[type=submit]'));
    });
  }
  if (!check(`${role}: sent to set up two-step verification first`, path(page) === '/account/2fa', [`at ${page.url()}`])) {
    throw new JourneyStopped(`${role} enrolment`);
  }
  let enrolled;
  await step(`${role}: two-step verification turned on`, async () => {
    enrolled = await enrolSecondFactor(page);
    if (enrolled.codes.length !== 10) throw new Error(`${enrolled.codes.length} recovery codes`);
  });
  await step(`${role}: "Continuar" leads to ${home}`, async () => {
    await tapAndWait(page, page.locator('main a.button'));
    if (path(page) !== home) throw new Error(`at ${page.url()}`);
  });
  return enrolled;
}

// Log out, then in again with the password and the next code: lands on `home`.
async function logInAgain(page, who, role, enrolled, home) {
  await step(`${role}: log out`, async () => {
    await tapAndWait(page, page.getByRole('button', { name: 'Sair' }));
  });
  await step(`${role}: the password leads to /login/2fa, the next code to ${home}`, async () => {
    await passwordLogIn(page, who);
    if (path(page) !== '/login/2fa') throw new Error(`after the password: at ${page.url()}`);
    await page.locator('#code').fill(totpCode(enrolled.key, Math.max(totpStep(), enrolled.step + 1)));
    await tapAndWait(page, page.locator('main form[action="/login/2fa"] button[type=submit]'));
    if (path(page) !== home) throw new Error(`after the code: at ${page.url()}`);
    return [`landed on ${path(page)}`];
  });
}

async function dashboardChecks(page) {
  await step('/admin: "Painel da pesquisa" with the response counts', async () => {
    const info = await page.evaluate(() => ({
      h1: (document.querySelector('h1') || {}).innerText,
      rows: [...document.querySelectorAll('main table.summary th[scope=row]')].map((th) => [th.innerText.trim(), th.nextElementSibling && th.nextElementSibling.innerText.trim()]),
    }));
    if (info.h1 !== 'Painel da pesquisa') throw new Error(`h1 "${info.h1}"`);
    if (!info.rows.length) throw new Error('no summary table');
    return info.rows.map(([k, v]) => `${k}: ${v}`);
  });
  await pageChecks(page, 'dashboard-360', '/admin at 360 px');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'dashboard-1280');
  await checkAxe(page, '/admin at 1280 px');
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  check(`/admin at 1280 px: no horizontal scrolling (scrollWidth ${m.scroll} <= ${m.inner})`, m.scroll <= m.inner);
  await page.setViewportSize({ width: 360, height: 740 });
}

async function journey(page) {
  if (!ADMIN.email) {
    console.log('note: STAFF_ADMIN_EMAIL not set; nothing to check');
    return;
  }
  const admin = await firstLogIn(page, ADMIN, 'admin', '/admin');
  await dashboardChecks(page);
  await logInAgain(page, ADMIN, 'admin', admin, '/admin');
  await step('admin: log out', async () => { await tapAndWait(page, page.getByRole('button', { name: 'Sair' })); });

  if (!ANALYST.email) {
    console.log('note: STAFF_ANALYST_EMAIL not set; the analyst landing is not checked');
    return;
  }
  const analyst = await firstLogIn(page, ANALYST, 'analyst', '/admin/results');
  await logInAgain(page, ANALYST, 'analyst', analyst, '/admin/results');
  await step('analyst: /admin (the admin dashboard) is refused', async () => {
    const r = await page.goto(`${BASE_URL}/admin`, { waitUntil: 'load' });
    if (r.status() === 200 && path(page) === '/admin') throw new Error('the analyst sees /admin');
    return [`${r.status()} ${path(page)}`];
  });
}

await run({ title: 'staff: admin dashboard and landings', prefix: 'd', timeoutMs: 150_000, journey });
