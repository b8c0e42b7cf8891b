// Quota fill (docs/quotas.md), in Debian's headless Chromium: run.sh configures two
// `warn` quotas (by bairro; by sex × age band), generates the synthetic responses and
// recounts the fill (`pesquisa quotas --recount`). An admin of its own (made by run.sh)
// logs in, enrols two-step verification, and finds the quota table
//  1. on the dashboard /admin, at 360 px (screenshot, no horizontal page scrolling, touch
//     targets, axe-core 0 violations) and at 1280 px (screenshot, axe, no scrolling);
//  2. on /admin/results, likewise at both widths.
// Each time the table must list every configured cell with its target, a count and a
// status, and its header cells must be column headers.
//
// Environment: BASE_URL, CHROMIUM; QUOTA_ADMIN_EMAIL / QUOTA_ADMIN_PASSWORD.

import {
  check, step, pageChecks, screenshot, checkAxe, tapAndWait, run, BASE_URL, JourneyStopped,
  enrolSecondFactor,
} from './lib.mjs';

const ADMIN = { email: process.env.QUOTA_ADMIN_EMAIL || '', password: process.env.QUOTA_ADMIN_PASSWORD || '' };
const CELLS = Number(process.env.QUOTA_CELLS || 5);
const path = (page) => new URL(page.url()).pathname;

async function logIn(page) {
  await step('admin: log in with the password', async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
    await page.fill('#email', ADMIN.email);
    await page.fill('#password', ADMIN.password);
    await tapAndWait(page, page.locator('main button[type=submit]'));
  });
  if (path(page) === '/consent') {
    await step('admin: accept the terms', async () => {
      for (const box of await page.locator('main form[action="/consent"] input[type=checkbox]').all()) await box.check();
      await tapAndWait(page, page.locator('main form[action="/consent"] button[type=submit]'));
    });
  }
  if (!check('admin: sent to set up two-step verification first', path(page) === '/account/2fa', [`at ${page.url()}`])) {
    throw new JourneyStopped('admin enrolment');
  }
  await step('admin: two-step verification on, "Continuar" leads to /admin', async () => {
    await enrolSecondFactor(page);
    await tapAndWait(page, page.locator('main a.button'));
    if (path(page) !== '/admin') throw new Error(`at ${page.url()}`);
  });
}

// The quota table: every configured cell, numbers, a status; column headers.
async function tableChecks(page, label) {
  await step(`${label}: the quota table lists ${CELLS} cells with target, count and status`, async () => {
    const info = await page.evaluate(() => {
      const table = document.querySelector('section.quotas table');
      if (!table) return null;
      return {
        heading: (document.querySelector('#cotas') || {}).innerText,
        headers: [...table.querySelectorAll('thead th')].map((th) => [th.innerText.trim(), th.getAttribute('scope')]),
        rows: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())),
        region: table.closest('.table-wrap[role=region][tabindex="0"]') !== null,
      };
    });
    if (!info) throw new Error('no quota table');
    if (info.heading !== 'Cotas') throw new Error(`heading "${info.heading}"`);
    if (info.headers.some(([, scope]) => scope !== 'col')) throw new Error('a header without scope=col');
    if (info.rows.length !== CELLS) throw new Error(`${info.rows.length} rows`);
    const bad = info.rows.filter((r) => r.length !== 6 || !/^\d+$/.test(r[2]) || !/^\d+$/.test(r[3]) || !/%$/.test(r[4])
      || !['Aberta', 'Completa', 'Acima da meta'].includes(r[5]));
    if (bad.length) throw new Error(`rows ${JSON.stringify(bad)}`);
    if (!info.region) throw new Error('not in a focusable, named scrolling region');
    const counted = info.rows.reduce((n, r) => n + Number(r[3]), 0);
    if (counted === 0) throw new Error('nothing counted: was the fill recounted?');
    return info.rows.map((r) => r.join(' | '));
  });
}

async function bothWidths(page, name, label) {
  await tableChecks(page, `${label} at 360 px`);
  await pageChecks(page, `${name}-360`, `${label} at 360 px`);
  await page.setViewportSize({ width: 1280, height: 900 });
  await tableChecks(page, `${label} at 1280 px`);
  await screenshot(page, `${name}-1280`);
  await checkAxe(page, `${label} at 1280 px`);
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  check(`${label} at 1280 px: no horizontal scrolling (scrollWidth ${m.scroll} <= ${m.inner})`, m.scroll <= m.inner);
  const cut = await page.evaluate(() => {
    const w = document.querySelector('section.quotas .table-wrap');
    return w ? w.scrollWidth - w.clientWidth : -1;
  });
  check(`${label} at 1280 px: the quota table fits without its own scrolling (${cut} px over)`, cut >= 0 && cut <= 1);
  await page.setViewportSize({ width: 360, height: 740 });
}

async function journey(page) {
  await logIn(page);
  await bothWidths(page, 'dashboard', '/admin');
  await step('/admin/results opens', async () => {
    await page.goto(`${BASE_URL}/admin/results`, { waitUntil: 'load' });
    if (path(page) !== '/admin/results') throw new Error(`at ${page.url()}`);
  });
  await bothWidths(page, 'results', '/admin/results');
}

await run({ title: 'quotas: the fill on the dashboard and the results page', prefix: 'cota-', timeoutMs: 240_000, journey });
