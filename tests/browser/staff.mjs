// Staff landings and the admin dashboard (/admin), in Debian's headless Chromium:
//  1. an admin (its own account, made by run.sh, so that two_factor.mjs keeps its
//     first-time enrolment) logs in, accepts the terms, sets up two-step verification
//     and "Continuar" leads to /admin; the dashboard at 360 px (screenshot, no horizontal
//     scroll, touch targets, axe-core 0 violations) and at 1280 px (screenshot, axe);
//  2. the admin logs out and in again with password and code: lands on /admin;
//  3. the admin's staff pages, each at 360 px (screenshot, no horizontal scroll, touch
//     targets, axe) and 1280 px (screenshot, axe, no horizontal scroll): the respondent
//     list filtered by role (the form keeps it), an account's page with its questionnaire
//     status, the deletion confirmation (and its refusal without a reason: the errors by
//     the fields, nothing deleted), a document's new version started from its text in
//     force and its preview (nothing published), the audit log filtered by action with
//     its CSV download;
//  4. an analyst (also its own account) logs in and, after the code, lands on
//     /admin/results, and is refused the admin dashboard and every staff page above.
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
  await step('/admin: the sample flow, sign-ups to responses used', async () => {
    const rows = await page.evaluate(() => [...document.querySelectorAll('#r-flow ~ table th[scope=row]')]
      .map((th) => `${th.innerText.trim()}: ${th.nextElementSibling && th.nextElementSibling.innerText.trim()}`));
    const heading = await page.evaluate(() => (document.getElementById('r-flow') || {}).innerText);
    if (heading !== 'Fluxo da amostra') throw new Error(`heading "${heading}"`);
    if (!rows.some((r) => r.startsWith('Usados nos resultados'))) throw new Error(rows.join('; '));
    return rows;
  });
  await pageChecks(page, 'dashboard-360', '/admin at 360 px');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'dashboard-1280');
  await checkAxe(page, '/admin at 1280 px');
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  check(`/admin at 1280 px: no horizontal scrolling (scrollWidth ${m.scroll} <= ${m.inner})`, m.scroll <= m.inner);
  await page.setViewportSize({ width: 360, height: 740 });
}

// The page at 1280 px: screenshot, axe, no horizontal scrolling; then back to the phone.
async function wideChecks(page, name, label) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, name);
  await checkAxe(page, `${label} at 1280 px`);
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  check(`${label} at 1280 px: no horizontal scrolling (scrollWidth ${m.scroll} <= ${m.inner})`, m.scroll <= m.inner);
  // Tables sit in a scrolling box for phones; on a desktop none may need it.
  const cut = await page.evaluate(() => [...document.querySelectorAll('.table-wrap')]
    .filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => `${w.getAttribute('aria-label')}: ${w.scrollWidth} > ${w.clientWidth}`));
  check(`${label} at 1280 px: every table fits without its own scrolling${cut.length ? ` (${cut.join('; ')})` : ''}`, cut.length === 0);
  await page.setViewportSize({ width: 360, height: 740 });
}

async function bothWidths(page, name, label) {
  await pageChecks(page, `${name}-360`, `${label} at 360 px`);
  await wideChecks(page, `${name}-1280`, label);
}

// The admin's staff pages; returns the paths an analyst must be refused.
async function staffPages(page) {
  let accountPath = '';
  await step('/admin/users: filtered by role "analista", the form keeps the choice', async () => {
    await page.goto(`${BASE_URL}/admin/users`, { waitUntil: 'load' });
    await page.selectOption('#role', 'analyst');
    await tapAndWait(page, page.locator('main form[role=search] button[type=submit]'));
    const info = await page.evaluate(() => ({
      role: document.querySelector('#role').value,
      roles: [...document.querySelectorAll('main tbody tr td:nth-child(4)')].map((td) => td.innerText.trim()),
      emails: [...document.querySelectorAll('main tbody tr td:first-child a')].map((a) => a.innerText.trim()),
      headers: [...document.querySelectorAll('main thead th')].map((th) => th.innerText.trim()),
    }));
    if (info.role !== 'analyst') throw new Error(`role select shows "${info.role}"`);
    if (!info.roles.length || info.roles.some((r) => r !== 'analista')) throw new Error(`roles ${info.roles.join(', ')}`);
    if (!info.headers.includes('Questionário')) throw new Error(`headers ${info.headers.join(', ')}`);
    if (!info.emails.includes(ANALYST.email)) throw new Error(`${ANALYST.email} not listed: ${info.emails.join(', ')}`);
    return [`${info.emails.length} analysts listed`, `columns: ${info.headers.join(' | ')}`];
  });
  await bothWidths(page, 'users', '/admin/users?role=analyst');

  await step(`/admin/users/{id}: ${ANALYST.email} with the questionnaire status`, async () => {
    await tapAndWait(page, page.getByRole('link', { name: ANALYST.email, exact: true }));
    accountPath = path(page);
    const status = await page.locator('#situacao').innerText();
    if (status.trim() !== 'não iniciado') throw new Error(`status "${status}"`);
    return [`${accountPath}: ${status}`];
  });
  await bothWidths(page, 'user', accountPath);

  await step('"Excluir esta conta" opens the confirmation page with what will be removed', async () => {
    await tapAndWait(page, page.getByRole('link', { name: 'Excluir esta conta' }));
    if (path(page) !== `${accountPath}/delete`) throw new Error(`at ${page.url()}`);
    const items = await page.locator('#a-remover li').allInnerTexts();
    if (items.length < 5) throw new Error(`${items.length} items`);
    return items;
  });
  await bothWidths(page, 'delete', `${accountPath}/delete`);
  await step('deleting without a reason or confirmation: 422, errors by the fields, nothing deleted', async () => {
    const { response } = await tapAndWait(page, page.locator('main form button.danger'));
    if (!response || response.status() !== 422) throw new Error(`status ${response && response.status()}`);
    const errs = await page.locator('.field-error').allInnerTexts();
    if (errs.length !== 2) throw new Error(`errors: ${errs.join(' | ')}`);
    return errs;
  });
  await bothWidths(page, 'delete-refused', `${accountPath}/delete refused`);

  await step('/admin/documents: "Política de privacidade" starts from its text in force', async () => {
    await page.goto(`${BASE_URL}/admin/documents`, { waitUntil: 'load' });
    await page.selectOption('#kind', 'privacy');
    await tapAndWait(page, page.getByRole('button', { name: 'Começar pelo texto atual' }));
    const title = await page.locator('#title_pt').inputValue();
    const body = await page.locator('#body_pt').inputValue();
    if (title !== 'Política de privacidade') throw new Error(`title "${title}"`);
    if (!body.includes('Controlador dos dados')) throw new Error(`body "${body.slice(0, 60)}"`);
    return [`title "${title}", ${body.length} characters of text`];
  });
  await bothWidths(page, 'documents', '/admin/documents?kind=privacy');
  await step('"Ver prévia" shows the new version as respondents will see it, unpublished', async () => {
    await page.locator('#title_pt').fill('Política de privacidade (revisão)');
    await tapAndWait(page, page.getByRole('button', { name: 'Ver prévia' }));
    const heading = await page.locator('#previa').innerText();
    const docs = await page.locator('section details.document summary').allInnerTexts();
    if (!docs.some((d) => d.includes('Política de privacidade (revisão)'))) throw new Error(`previews: ${docs.join(' | ')}`);
    return [heading, ...docs];
  });
  await bothWidths(page, 'documents-preview', '/admin/documents preview');

  let csvHref = '';
  await step('/admin/audit: column headers, readable actions, filtered by "Entrada na conta"', async () => {
    await page.goto(`${BASE_URL}/admin/audit`, { waitUntil: 'load' });
    await page.selectOption('#action', 'auth.login');
    await tapAndWait(page, page.locator('main form[role=search] button[type=submit]'));
    const info = await page.evaluate(() => ({
      headers: [...document.querySelectorAll('main thead th')].map((th) => th.innerText.trim()),
      actions: [...document.querySelectorAll('main tbody tr td:nth-child(2)')].map((td) => td.innerText.split('\n')[0].trim()),
      csv: (document.querySelector('a[href^="/admin/audit/auditoria.csv"]') || {}).href || '',
    }));
    if (info.headers.join('|') !== 'Quando|Ação|Quem|Conta afetada|Detalhe') throw new Error(`headers ${info.headers.join('|')}`);
    if (!info.actions.length || info.actions.some((a) => a !== 'Entrada na conta')) throw new Error(`actions ${info.actions.join(', ')}`);
    if (!info.csv.includes('action=auth.login')) throw new Error(`csv link ${info.csv}`);
    csvHref = info.csv;
    return [`${info.actions.length} log-ins`, `CSV: ${info.csv}`];
  });
  await bothWidths(page, 'audit', '/admin/audit?action=auth.login');
  await step('the CSV download holds the filtered entries', async () => {
    const r = await page.request.get(csvHref);
    const text = await r.text();
    const lines = text.trim().split(/\r?\n/);
    if (r.status() !== 200 || !r.headers()['content-type'].startsWith('text/csv')) throw new Error(`${r.status()} ${r.headers()['content-type']}`);
    if (lines.length < 2 || lines.slice(1).some((l) => !l.includes(',auth.login,'))) throw new Error(lines.slice(0, 3).join(' / '));
    return [`${lines.length - 1} rows`];
  });
  return ['/admin/users', accountPath, `${accountPath}/delete`, '/admin/documents', '/admin/audit'];
}

async function journey(page) {
  if (!ADMIN.email) {
    console.log('note: STAFF_ADMIN_EMAIL not set; nothing to check');
    return;
  }
  const admin = await firstLogIn(page, ADMIN, 'admin', '/admin');
  await dashboardChecks(page);
  await logInAgain(page, ADMIN, 'admin', admin, '/admin');
  const refused = ANALYST.email ? await staffPages(page) : [];
  await step('admin: log out', async () => { await tapAndWait(page, page.getByRole('button', { name: 'Sair' })); });

  if (!ANALYST.email) {
    console.log('note: STAFF_ANALYST_EMAIL not set; the analyst landing is not checked');
    return;
  }
  const analyst = await firstLogIn(page, ANALYST, 'analyst', '/admin/results');
  await logInAgain(page, ANALYST, 'analyst', analyst, '/admin/results');
  for (const p of ['/admin', ...refused]) {
    await step(`analyst: ${p} is refused`, async () => {
      const r = await page.goto(`${BASE_URL}${p}`, { waitUntil: 'load' });
      if (r.status() !== 403) throw new Error(`${r.status()} at ${path(page)}`);
      return [`${r.status()} ${path(page)}`];
    });
  }
}

await run({ title: 'staff: admin dashboard, staff pages and landings', prefix: 'd', timeoutMs: 280_000, journey });
