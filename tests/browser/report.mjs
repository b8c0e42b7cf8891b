// The analysts' report in Debian's headless Chromium:
//  1. the standalone HTML file of `pesquisa report` (REPORT_FILE), opened from disk at
//     phone and desktop widths: it renders (sections, labelled bar charts, the executive summary, market figures) and
//     makes NO network request at all — every request the page makes is recorded, and
//     the only one allowed is the file itself;
//  2. the /admin/results dashboard (BASE_URL), logged in as the analyst ANALYST_EMAIL /
//     ANALYST_PASSWORD: same sections, the download links, and the usual page checks
//     (width, touch targets, axe-core, console);
//  3. its filter form at 360 px and 1280 px (r05, r06): filters in force and base n,
//     downloads with the filters, a wrong field shown by the field (r07).
// run.sh creates the data (pesquisa dev generate-responses), the report file and the
// analyst account before starting the server. Either part is skipped with a note when
// its variables are not set, so a report of any size can be checked by hand:
//   REPORT_FILE=/tmp/relatorio.html node report.mjs
//
// Prints one line per check, then "N passed, M failed"; exits 1 when a check failed.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { check, checkAxe, step, pageChecks, screenshot, tapAndWait, run, BASE_URL, enrolSecondFactor, SCREENSHOT_DIR } from './lib.mjs';


// A4 portrait less the print stylesheet's 12 mm margins, in CSS px (96 px per inch).
const A4_PRINTABLE_PX = Math.floor(((210 - 2 * 12) / 25.4) * 96);

// Every chart bar carries its own text and value (nobody matches bars to a table by
// order); the first section is the executive summary.
async function chartAndSummaryChecks(page, label) {
  const f = await page.evaluate(() => {
    const bars = [...document.querySelectorAll('.report-bars li')];
    return {
      bars: bars.length,
      unlabelled: bars.filter((li) => !li.querySelector('.bar-label')?.textContent.trim()
        || !/\d/.test(li.querySelector('.bar-value')?.textContent || '')).length,
      hists: document.querySelectorAll('.report-hist .hist-y').length,
      histTitled: [...document.querySelectorAll('.report-hist')].filter((h) => h.querySelector('.hist-xtitle') && h.querySelector('.hist-y')).length,
      // The report's first heading (on /admin/results the filter form, the filters in
      // force, the quota fill and the downloads come before the report).
      firstH2: [...document.querySelectorAll('h2')]
        .find((h) => !h.closest('.report-filters, .report-in-force, section.quotas, .report-downloads-box'))?.textContent || '',
      summary: document.querySelector('.report-summary')?.innerText || '',
    };
  });
  check(`${label}: ${f.bars} chart bars, each with its option text and value`, f.bars >= 20 && f.unlabelled === 0,
    [`${f.unlabelled} without text or value`]);
  check(`${label}: histograms with both axes titled (${f.histTitled})`, f.hists >= 2 && f.histTitled === f.hists);
  check(`${label}: the executive summary comes first, with intervals and caveats`, f.firstH2 === 'Resumo executivo'
    && /IC 95%: [\d.,]+\s?% – [\d.,]+\s?%/.test(f.summary)
    // With households, market and potential with intervals; without, what to provide.
    && (/R\$\s[\d.]+,\d\d \(IC 95%: R\$/.test(f.summary) || /informe o número de domicílios/.test(f.summary))
    && /autosseleção/.test(f.summary), [f.summary.slice(0, 400).replace(/\n/g, ' | ')]);
}

// The census weighting (run.sh imports the illustrative margins): weighted shares beside
// the unweighted ones, the margins' target against achieved, the assumptions, and the
// illustrative warning.
async function weightingChecks(page, label) {
  const w = await page.evaluate(() => ({
    section: document.querySelector('.report-weighting')?.innerText || '',
    weightedCols: [...document.querySelectorAll('.report-question thead')].filter((h) => /% ponderado/.test(h.textContent)).length,
    questions: document.querySelectorAll('.report-question').length,
    market: document.querySelector('.report-market')?.innerText || '',
    // Issue 19: every table with a share or a mean has its weighted figures.
    crossWeighted: [...document.querySelectorAll('.report-meta')].filter((p) => p.textContent === 'Ponderado: % da linha').length,
    cceb: [...document.querySelectorAll('h3')].filter((h) => /por classe Critério Brasil$/.test(h.textContent)).length,
    plain: [...document.querySelectorAll('.report-market h3')].filter((h) => /\(não ponderado\)$/.test(h.textContent)).length,
    bairroWeighted: [...document.querySelectorAll('table thead')].some((h) => /Intenção, ponderada/.test(h.textContent)),
    scenarios: document.querySelector('.report-weighting')?.innerText.includes('Gasto médio e mercado por cenário, ponderados') || false,
  }));
  check(`${label}: weighting section with the census target against achieved`, /Ponderação pelo censo/.test(w.section)
    && /Alvo \(%\)/.test(w.section) && /Obtido \(%\)/.test(w.section) && /efeito do delineamento/.test(w.section)
    && /ILUSTRATIVO/.test(w.section) && /prefiro não informar/.test(w.section), [w.section.slice(0, 400).replace(/\n/g, ' | ')]);
  check(`${label}: weighted % beside the unweighted one in ${w.weightedCols} question tables`, w.weightedCols >= 5);
  check(`${label}: weighted row % under ${w.crossWeighted} cross-tabs, ${w.cceb} by Critério Brasil class`,
    w.crossWeighted >= 6 && w.cceb >= 3);
  check(`${label}: the market's unweighted tables say so (${w.plain}), bairros and scenarios weighted too`,
    w.plain >= 3 && w.bairroWeighted && w.scenarios);
  check(`${label}: the households source is named`, /Fonte dos domicílios: (Censo 2022 \(importado em|número do analista)/.test(w.market),
    [w.market.slice(0, 200)]);
}

// At 1280 px no table is cut: each fits the box it sits in.
async function tablesFit(page, label) {
  const cut = await page.evaluate(() => [...document.querySelectorAll('table')]
    .map((t) => ({ t, box: t.closest('.report-scroll') || t.parentElement }))
    .filter(({ t, box }) => t.scrollWidth > box.clientWidth + 1 || t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(({ t, box }) => `${t.querySelector('th')?.textContent.slice(0, 40)}: ${t.scrollWidth} px in ${box.clientWidth} px`));
  check(`${label}: every table fits at 1280 px`, cut.length === 0, cut);
}

// Printed to A4 portrait: in print media at the printable width no table is wider than
// the page, and Chromium makes the PDF.
async function printChecks(page, label, pdfName) {
  await page.setViewportSize({ width: A4_PRINTABLE_PX, height: 1000 });
  await page.emulateMedia({ media: 'print' });
  const wide = await page.evaluate((limit) => [...document.querySelectorAll('table')]
    .filter((t) => t.scrollWidth > limit || t.getBoundingClientRect().right > limit + 1)
    .map((t) => `${t.querySelector('th')?.textContent.slice(0, 40)}: ${t.scrollWidth} px`), A4_PRINTABLE_PX);
  const headers = await page.evaluate(() => [...document.querySelectorAll('thead')]
    .filter((h) => getComputedStyle(h).display !== 'table-header-group').length);
  check(`${label} (print, A4 ${A4_PRINTABLE_PX} px): no table wider than the page`, wide.length === 0, wide);
  check(`${label} (print): table headers repeat on each page (thead display: table-header-group)`, headers === 0);
  const file = path.join(SCREENSHOT_DIR, pdfName);
  await page.pdf({ path: file, format: 'A4', preferCSSPageSize: true, printBackground: true });
  const pdf = fs.readFileSync(file, 'latin1');
  const pages = (pdf.match(/\/Type\s*\/Page[^s]/g) || []).length;
  check(`${label}: printed to PDF (${pages} A4 pages, ${Math.round(pdf.length / 1024)} KiB) -> ${pdfName}`, pages >= 3);
  await page.emulateMedia({ media: 'screen' });
  await page.setViewportSize({ width: 360, height: 740 });
}

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
    market: document.querySelector('.report-market')?.innerText || '',
    scripts: document.querySelectorAll('script').length,
  }));
  check('report file: title and the sections', facts.h1 === 'Relatório da pesquisa'
    && ['Resumo executivo', 'Onde os respondentes compram hoje', 'Estimativa do mercado', 'Respostas por pergunta', 'Classe × hábitos de compra', 'Resultados por bairro']
      .every((s) => facts.sections.includes(s)), [`h1: ${facts.h1}`, `h2: ${facts.sections.join(' | ')}`]);
  check('report file: the market estimate shows reais with cents', /R\$\s[\d.]+,\d\d/.test(facts.market), [facts.market.slice(0, 200)]);
  await chartAndSummaryChecks(page, 'report file');
  await weightingChecks(page, 'report file');
  check('report file (households given): market and potential with intervals in the summary',
    (await page.locator('.report-summary').innerText()).match(/R\$\s[\d.]+,\d\d \(IC 95%: R\$/g)?.length === 2);
  check('report file: no script', facts.scripts === 0);
  await pageChecks(page, 'relatorio-celular', 'report file (phone)');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'relatorio-desktop');
  await tablesFit(page, 'report file');
  await printChecks(page, 'report file', 'relatorio-a4.pdf');
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
  }));
  check('/admin/results: the report sections', facts.sections.includes('Estimativa do mercado')
    && facts.sections.includes('Resultados por bairro'), [facts.sections.join(' | ')]);
  check('/admin/results: seven downloads linked (HTML, XLSX, both CSV profiles, SPSS/Stata/R zips)', facts.downloads.length === 7
    && facts.downloads.filter((h) => h.startsWith('/admin/results/respostas.csv')).length === 2
    && facts.downloads.filter((h) => h.startsWith('/admin/results/respostas.zip?pacote=')).length === 3, facts.downloads);
  await chartAndSummaryChecks(page, '/admin/results');
  await weightingChecks(page, '/admin/results');
  check('/admin/results: households from the stored census', /Censo 2022 \(importado em/.test(
    await page.locator('.report-market').innerText()));
  await pageChecks(page, 'resultados', '/admin/results');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'resultados-desktop');
  const width = await page.evaluate(() => document.querySelector('main').getBoundingClientRect().width);
  check(`/admin/results at 1280 px: the report uses the width (main ${Math.round(width)} px)`, width >= 1100);
  await tablesFit(page, '/admin/results');
  await printChecks(page, '/admin/results', 'resultados-a4.pdf');
  const csv = await page.evaluate(async (href) => {
    const r = await fetch(href);
    const text = await r.text();
    return { status: r.status, type: r.headers.get('content-type'), lines: text.split('\r\n').length - 1 };
  }, facts.downloads.find((h) => h.startsWith('/admin/results/respostas.csv')));
  check(`CSV download: 200 text/csv with ${csv.lines} lines`, csv.status === 200 && /^text\/csv/.test(csv.type) && csv.lines > 1,
    [`status ${csv.status}, content-type ${csv.type}`]);
}

// The filter form at 360 px and 1280 px: a bairro, completes only, a start date and the
// households; the page says which filters are in force and the base n, every download
// carries them, and a wrong field is shown by the field (422) over the unfiltered page.
async function filters(page) {
  if (!ANALYST_EMAIL) return;
  await page.setViewportSize({ width: 360, height: 740 });
  await step('open /admin/results at 360 px', async () => {
    await page.goto(`${BASE_URL}/admin/results`, { waitUntil: 'load' });
  });
  const before = await page.locator('.report-in-force').innerText();
  const bairro = await page.evaluate(() => [...document.querySelectorAll('#bairro option')]
    .map((o) => o.value).find((v) => v !== ''));
  await step('filter: bairro, completes only, from a date, households', async () => {
    await page.selectOption('#bairro', bairro);
    await page.check('#completos');
    const from = new Date(Date.now() - 20 * 86400_000).toISOString().slice(0, 10);
    await page.fill('#de', from);
    await page.fill('#domicilios', '12000');
    await tapAndWait(page, page.locator('form.report-filters button[type=submit]'));
  });
  const url = new URL(page.url());
  check('filters: the choice is in the address (a GET form, shareable)', url.pathname === '/admin/results'
    && url.searchParams.get('bairro') === bairro && url.searchParams.get('completos') === '1'
    && url.searchParams.get('domicilios') === '12000', [page.url()]);
  const f = await page.evaluate(() => ({
    inForce: document.querySelector('.report-in-force')?.innerText || '',
    downloads: [...document.querySelectorAll('.report-downloads a')].map((a) => a.getAttribute('href')),
    summary: document.querySelector('.report-summary')?.innerText || '',
    selected: document.querySelector('#bairro')?.value,
    checked: document.querySelector('#completos')?.checked,
  }));
  const base = (t) => Number((t.match(/n = ([\d.]+) respostas/) || [])[1]?.replace(/\./g, '') || NaN);
  check(`filters in force named, base n ${base(f.inForce)} < ${base(before)} unfiltered`,
    f.inForce.includes(`Bairro: ${bairro}`) && f.inForce.includes('Só questionários completos')
    && f.inForce.includes('domicílios: 12.000') && base(f.inForce) > 0 && base(f.inForce) < base(before),
    [f.inForce.replace(/\n/g, ' | ')]);
  check('filters: the form keeps the choice', f.selected === bairro && f.checked === true);
  check('filters: the market in reais appears once households are given', /R\$\s[\d.]+,\d\d \(IC 95%: R\$/.test(f.summary),
    [f.summary.slice(0, 300)]);
  check('filters: every download carries them', f.downloads.length === 7
    && f.downloads.every((h) => h.includes(`bairro=${encodeURIComponent(bairro).replace(/%20/g, '+')}`) && h.includes('completos=1')),
    f.downloads);
  await pageChecks(page, 'resultados-filtros-celular', '/admin/results with filters (360 px)');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'resultados-filtros-desktop');
  const layout = await page.evaluate(() => {
    const tops = ['#de', '#ate', '#bairro'].map((s) => Math.round(document.querySelector(s).getBoundingClientRect().top));
    return {
      main: document.querySelector('main').getBoundingClientRect().width,
      tops,
      scroll: document.documentElement.scrollWidth,
    };
  });
  check(`filters at 1280 px: full width (main ${Math.round(layout.main)} px), fields side by side`,
    layout.main >= 1100 && layout.tops[0] === layout.tops[1] && layout.tops[1] === layout.tops[2]
    && layout.scroll <= 1280, [`tops ${layout.tops.join(', ')}, scrollWidth ${layout.scroll}`]);
  await checkAxe(page, '/admin/results with filters (1280 px)');
  const got = await page.evaluate(async (links) => Promise.all(links.map(async (href) => {
    const r = await fetch(href);
    const body = await r.arrayBuffer();
    return { href, status: r.status, type: r.headers.get('content-type'), bytes: body.byteLength };
  })), f.downloads);
  for (const d of got) {
    check(`download ${d.href.split('?')[0]}: ${d.status} ${d.type}, ${d.bytes} bytes`, d.status === 200 && d.bytes > 100
      && /text\/html|spreadsheetml|text\/csv|application\/zip/.test(d.type || ''));
  }

  await page.setViewportSize({ width: 360, height: 740 });
  await step('a wrong households value', async () => {
    await page.fill('#domicilios', 'muitos');
    await tapAndWait(page, page.locator('form.report-filters button[type=submit]'));
  });
  const bad = await page.evaluate(() => ({
    error: document.querySelector('#domicilios-erro')?.textContent || '',
    invalid: document.querySelector('#domicilios')?.getAttribute('aria-invalid'),
    describedBy: document.querySelector('#domicilios')?.getAttribute('aria-describedby') || '',
    summary: document.querySelector('.error-summary a[href="#domicilios"]')?.textContent || '',
    inForce: document.querySelector('.report-in-force')?.innerText || '',
    kept: document.querySelector('#domicilios')?.value,
  }));
  check('wrong households: the message is by the field, tied to it, and in the summary',
    /número inteiro de domicílios/.test(bad.error) && bad.invalid === 'true' && bad.describedBy.includes('domicilios-erro')
    && bad.summary === bad.error && bad.kept === 'muitos', [JSON.stringify(bad)]);
  check('wrong households: the page shows every response, unfiltered', /nenhum: todas as respostas/.test(bad.inForce)
    && base(bad.inForce) === base(before), [bad.inForce.replace(/\n/g, ' | ')]);
  await pageChecks(page, 'resultados-filtro-errado', '/admin/results with a wrong filter (360 px)');
}

async function journey(page) {
  await reportFile(page);
  await dashboard(page);
  await filters(page);
}

await run({ title: 'analysts: report file and results dashboard', prefix: 'r', timeoutMs: 180_000, journey });
