// The analysts' report in Debian's headless Chromium:
//  1. the standalone HTML file of `pesquisa report` (REPORT_FILE), opened from disk at
//     phone and desktop widths: it renders (sections, SVG charts, market figures) and
//     makes NO network request at all — every request the page makes is recorded, and
//     the only one allowed is the file itself;
//  2. the /admin/results dashboard (BASE_URL), logged in as the analyst ANALYST_EMAIL /
//     ANALYST_PASSWORD: same sections, the CSV download links, and the usual page checks
//     (width, touch targets, axe-core, console).
// run.sh creates the data (pesquisa dev generate-responses), the report file and the
// analyst account before starting the server. Either part is skipped with a note when
// its variables are not set, so a report of any size can be checked by hand:
//   REPORT_FILE=/tmp/relatorio.html node report.mjs
//
// Prints one line per check, then "N passed, M failed"; exits 1 when a check failed.

import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

import { check, step, pageChecks, screenshot, tapAndWait, run, BASE_URL, enrolSecondFactor } from './lib.mjs';

const REPORT_FILE = process.env.REPORT_FILE || '';
const ANALYST_EMAIL = process.env.ANALYST_EMAIL || '';
const ANALYST_PASSWORD = process.env.ANALYST_PASSWORD || '';

async function reportFile(page) {
  if (!REPORT_FILE) {
    console.log('note: REPORT_FILE not set; the standalone report is not checked');
    return;
  }
  const url = pathToFileURL(REPORT_FILE).href;
  const requests = [];
  const onRequest = (r) => requests.push(r.url());
  page.on('request', onRequest);
  await step('open the report file', async () => {
    await page.goto(url, { waitUntil: 'load' });
    // Give late requests (fonts, images from CSS) a chance to show up.
    await page.waitForTimeout(500);
  });
  const size = fs.statSync(REPORT_FILE).size;
  const others = requests.filter((u) => u !== url);
  check(`report file (${Math.round(size / 1024)} KiB): no network requests besides the file itself`,
    others.length === 0, others.map((u) => `requested: ${u}`));
  const facts = await page.evaluate(() => ({
    h1: document.querySelector('h1')?.textContent || '',
    sections: [...document.querySelectorAll('h2')].map((h) => h.textContent),
    svgs: document.querySelectorAll('svg.report-chart').length,
    market: document.querySelector('.report-market')?.innerText || '',
    scripts: document.querySelectorAll('script').length,
  }));
  check('report file: title and the four sections', facts.h1 === 'Relatório da pesquisa'
    && ['Estimativa do mercado', 'Respostas por pergunta', 'Classe de renda × hábitos de compra', 'Resultados por bairro']
      .every((s) => facts.sections.includes(s)), [`h1: ${facts.h1}`, `h2: ${facts.sections.join(' | ')}`]);
  check(`report file: charts drawn (${facts.svgs} inline SVG)`, facts.svgs >= 8);
  check('report file: the market estimate shows reais', /R\$\s?[\d.]+/.test(facts.market), [facts.market.slice(0, 200)]);
  check('report file: no script', facts.scripts === 0);
  await pageChecks(page, 'relatorio-celular', 'report file (phone)');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'relatorio-desktop');
  await page.setViewportSize({ width: 360, height: 740 });
  page.off('request', onRequest);
}

async function dashboard(page) {
  if (!ANALYST_EMAIL) {
    console.log('note: ANALYST_EMAIL not set; /admin/results is not checked');
    return;
  }
  await step('log in as the analyst', async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'load' });
    await page.fill('#email', ANALYST_EMAIL);
    await page.fill('#password', ANALYST_PASSWORD);
    await tapAndWait(page, page.locator('main button[type=submit]'));
  });
  await step('open /admin/results', async () => {
    await page.goto(`${BASE_URL}/admin/results`, { waitUntil: 'load' });
  });
  // A staff account created on the command line accepts the current terms on its first
  // visit, like everyone else; the consent page then leads back to the results.
  if (new URL(page.url()).pathname === '/consent') {
    await step('accept the terms as the analyst', async () => {
      for (const box of await page.locator('main form[action="/consent"] input[type=checkbox]').all()) {
        await box.check();
      }
      await tapAndWait(page, page.locator('main form[action="/consent"] button[type=submit]'));
    });
  }
  // Staff set up two-step verification before any staff page (accounts.staff_require_2fa).
  if (new URL(page.url()).pathname === '/account/2fa') {
    await step('set up two-step verification as the analyst', async () => {
      const { codes } = await enrolSecondFactor(page);
      if (codes.length !== 10) throw new Error(`${codes.length} recovery codes`);
      await page.goto(`${BASE_URL}/admin/results`, { waitUntil: 'load' });
    });
  }
  check('/admin/results reached', new URL(page.url()).pathname === '/admin/results', [`at ${page.url()}`]);
  const facts = await page.evaluate(() => ({
    sections: [...document.querySelectorAll('h2')].map((h) => h.textContent),
    downloads: [...document.querySelectorAll('.report-downloads a')].map((a) => a.getAttribute('href')),
    svgs: document.querySelectorAll('svg.report-chart').length,
  }));
  check('/admin/results: the report sections', facts.sections.includes('Estimativa do mercado')
    && facts.sections.includes('Resultados por bairro'), [facts.sections.join(' | ')]);
  check('/admin/results: both CSV downloads linked', facts.downloads.length === 2, facts.downloads);
  check(`/admin/results: charts drawn (${facts.svgs})`, facts.svgs >= 8);
  await pageChecks(page, 'resultados', '/admin/results');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'resultados-desktop');
  await page.setViewportSize({ width: 360, height: 740 });
  const csv = await page.evaluate(async (href) => {
    const r = await fetch(href);
    const text = await r.text();
    return { status: r.status, type: r.headers.get('content-type'), lines: text.split('\r\n').length - 1 };
  }, facts.downloads[0]);
  check(`CSV download: 200 text/csv with ${csv.lines} lines`, csv.status === 200 && /^text\/csv/.test(csv.type) && csv.lines > 1,
    [`status ${csv.status}, content-type ${csv.type}`]);
}

async function journey(page) {
  await reportFile(page);
  await dashboard(page);
}

await run({ title: 'analysts: report file and results dashboard', prefix: 'r', timeoutMs: 180_000, journey });
