// A respondent answers the whole questionnaire (version 3, 7 pages) on a phone, in
// Debian's headless Chromium: signs up, lands on page 1, types an age under 18 (refused,
// 422), follows the error summary's link to the field, corrects it; answers the screener
// (page 2) "Sim"; answers pages 3 and 4 with the keyboard only (Tab to each question,
// Space to choose and tick, arrows within a radio group, Enter on the button), ticking 4
// factors where at most 3 are allowed (refused, 422), unticks one by tapping; on page 5
// gives amounts that contradict each other, sees the soft check `gasto_mensal_baixo`
// once and confirms it; answers pages 6 and 7 (Critério Brasil) by tapping labels and
// typing; reviews and sends the answers; sees the thank-you page; comes back to /survey
// and finds the answers sent, and the home page's "Ver ou alterar minhas respostas";
// changes an answer of page 5 through "Alterar", which saves straight back to the review,
// and sees the new value; looks at a page in English (?lang=en).
// Page 4 also holds the grid `importancia_fatores` (five items on a 1-5 scale with "Não
// sei"): at 360 px each item is a fieldset with its own legend and points, nothing wider
// than the screen; it is answered by tapping, and the factors' options (shuffled per
// respondent, "Outro" and "Nenhum destes" anchored last) are ticked in the order shown.
// Page 6's optional scale is answered by a tap (the shopper) or left empty.
// Two more respondents, each in a fresh browser context at 360 px:
//  - a non-shopper ("Não compro em supermercado"): page 4 (distance, factors) and the
//    trip and spend questions of page 5 never appear, the progress total is 6, the review
//    lists only the questions asked;
//  - a screened-out respondent (screener "Não"): lands on /survey/screened with the
//    polite message, can go back to page 2, change the answer and carry on.
// The progress counts the pages the respondent will see and, ahead of the current page,
// those still undecided: until the frequency (page 3) is answered, page 4 (its condition
// reads that unanswered question) is counted, so a shopper sees 7 throughout and a
// non-shopper 7, then 6 once the answer rules page 4 out. The total never grows.
//
// On every page: a full-page screenshot (qNN-name.png), no horizontal scrolling, touch
// targets big enough (every link and button 44 x 44 px, targets.mjs), axe-core (WCAG
// 2.0/2.1 A and AA) clean, no console errors; pages 1 and 5 and the review also at
// 1280 px wide. Error summary links name the question ("Quantas pessoas…: …").
//
// Environment: BASE_URL, CHROMIUM, SCREENSHOT_DIR (see lib.mjs).
//
// Prints one line per check ("ok" / "FAIL" with details), then "N passed, M failed"
// alone on a line; exits 1 when any check failed, 2 on a crash or time-out.

import {
  BASE_URL, check, step, pageChecks as basePageChecks, focusInfo, focusVisible, focusName, actAndWait, tapAndWait,
  describeChain, fillRegister, newRespondent, run, confirmSignUp,
} from './lib.mjs';
import { checkTargetBoxes, checkDesktop } from './targets.mjs';

// Every page also gets the 44 x 44 px box of every link and button (targets.mjs).
async function pageChecks(page, name, label) {
  await basePageChecks(page, name, label);
  await checkTargetBoxes(page, label);
}

const PAGES = 7;
// Progress total per page for a shopper (see the header): 7 throughout.
const SHOPPER_TOTAL = { 1: 7, 2: 7, 3: 7, 4: 7, 5: 7, 6: 7, 7: 7 };
const FIRST_TITLE = 'Sobre você e seu domicílio';
const TYPED_MARKET = 'Supermercado Bom Preço & Cia (Vila Industrial)';

// What the review must show: question text -> answer text, filled in as the respondent
// answers (from the page's own legends and labels, so wording changes in the
// questionnaire file do not break the test).
const shopperExpected = new Map();
let expected = shopperExpected;

const path = (page) => new URL(page.url()).pathname;

// ---------------------------------------------------------------- helpers

// The question text of a key: the legend's own text, without "(opcional)".
async function questionText(page, key) {
  return page.evaluate((k) => {
    const input = document.querySelector(`[name="${k}"]`);
    const legend = input && input.closest('fieldset') && input.closest('fieldset').querySelector('legend');
    return legend ? legend.childNodes[0].textContent.trim() : null;
  }, key);
}

// Tap the label of a radio or checkbox; the box must then be in the wanted state.
// Returns the label's text.
async function tapChoice(page, key, value, want = true) {
  const id = `${key}-${value}`;
  const label = page.locator(`label[for="${id}"]`);
  await label.tap();
  const now = await page.locator(`#${id}`).isChecked();
  if (now !== want) throw new Error(`tapping the label of #${id} left it ${now ? 'ticked' : 'unticked'}`);
  return (await label.innerText()).trim();
}

// Tap a text or number field, clear it and type like a person.
async function typeInto(page, id, text) {
  await page.locator(`#${id}`).tap();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text, { delay: 10 });
  const value = await page.locator(`#${id}`).inputValue();
  if (value !== text) throw new Error(`#${id} holds "${value}" after typing "${text}"`);
}

async function remember(page, key, answer) {
  const q = await questionText(page, key);
  if (!q) throw new Error(`no legend for the question "${key}"`);
  expected.set(q, answer);
}

// A question page: where we are, the progress indicator, the buttons.
async function expectSurveyPage(page, n, what, { pos = n, total = SHOPPER_TOTAL[n], back = n - 1, last = n === PAGES, fromReview = false } = {}) {
  await step(`${what}: /survey/${n} shows "Etapa ${pos} de ${total}", its questions and buttons`, async () => {
    if (path(page) !== `/survey/${n}`) throw new Error(`at ${page.url()}`);
    const info = await page.evaluate(() => ({
      h1: (document.querySelector('h1') || {}).innerText,
      progressLabel: (document.querySelector('.progress-label') || {}).innerText,
      progress: document.querySelector('progress') && [document.querySelector('progress').value, document.querySelector('progress').max],
      fieldsets: document.querySelectorAll('main form fieldset').length,
      submit: [...document.querySelectorAll('main form button[type=submit]')].map((b) => b.innerText.trim()),
      back: [...document.querySelectorAll('main form .actions a')].map((a) => [a.innerText.trim(), a.getAttribute('href')]),
    }));
    const bad = [];
    if (n === 1 && info.h1 !== FIRST_TITLE) bad.push(`h1 "${info.h1}", expected "${FIRST_TITLE}"`);
    if (!info.h1) bad.push('no h1');
    if (info.progressLabel !== `Etapa ${pos} de ${total}`) bad.push(`progress label "${info.progressLabel}"`);
    if (!info.progress || info.progress[0] !== pos || info.progress[1] !== total) bad.push(`<progress> ${JSON.stringify(info.progress)}`);
    if (!info.fieldsets) bad.push('no fieldset');
    // Opened from the review ("Alterar"), the page saves back to the review.
    const wantButton = fromReview ? 'Salvar e voltar à revisão' : last ? 'Salvar e revisar' : 'Salvar e continuar';
    const backHref = fromReview ? '/survey/review' : `/survey/${back}`;
    if (info.submit.length !== 1 || info.submit[0] !== wantButton) bad.push(`submit buttons ${JSON.stringify(info.submit)}, expected ["${wantButton}"]`);
    if ((n > 1 || fromReview) && !info.back.some(([, href]) => href === backHref)) bad.push(`no link back to ${backHref}: ${JSON.stringify(info.back)}`);
    if (bad.length) throw new Error(bad.join('; '));
    return [`h1 "${info.h1}", ${info.fieldsets} questions, button "${info.submit[0]}"`];
  });
}

// Submit by tapping the page's button: 303 to `to`, which answers 200.
async function tapSubmit(page, buttonName, to, what) {
  await step(`${what}: "${buttonName}" saves (303) and leads to ${to}`, async () => {
    const nav = await tapAndWait(page, page.getByRole('button', { name: buttonName, exact: true }));
    const via = describeChain(nav);
    if (nav.redirectStatus !== 303) throw new Error(`expected a 303, got ${via}`);
    if (path(page) !== to || nav.response.status() !== 200) throw new Error(`expected 200 ${to}, got ${via}`);
    return [via];
  });
}

// A refused page: 422, the error summary with one link per wrong question to its first
// input, the message inside the question's fieldset, tied by aria-describedby.
// `wrong`: [{ key, first, message }].
async function checkRefused(page, nav, n, wrong, what) {
  await step(`${what}: the page is refused (422) and shown again at /survey/${n}`, async () => {
    const status = nav.response.status();
    if (status !== 422 || path(page) !== `/survey/${n}`) throw new Error(`got ${describeChain(nav)}`);
    return [describeChain(nav)];
  });
  const info = await page.evaluate(() => {
    const summary = document.querySelector('.error-summary');
    const links = summary ? [...summary.querySelectorAll('a')].map((a) => {
      const href = a.getAttribute('href') || '';
      const target = href.startsWith('#') ? document.getElementById(decodeURIComponent(href.slice(1))) : null;
      return {
        href,
        text: a.innerText.trim(),
        target: target ? `${target.tagName.toLowerCase()}${target.type ? `[type=${target.type}]` : ''}#${target.id}` : null,
        control: !!target && ['input', 'select', 'textarea'].includes(target.tagName.toLowerCase()),
      };
    }) : [];
    return {
      summaryVisible: !!summary && summary.getBoundingClientRect().height > 0,
      summaryBeforeForm: !!summary && !!document.querySelector('main form')
        && !!(summary.compareDocumentPosition(document.querySelector('main form')) & Node.DOCUMENT_POSITION_FOLLOWING),
      heading: summary && summary.querySelector('h2') ? summary.querySelector('h2').innerText.trim() : null,
      links,
      fieldErrors: [...document.querySelectorAll('p.field-error')].map((p) => p.id),
    };
  });
  check(`${what}: an error summary above the form, headed "${info.heading}"`, info.summaryVisible && info.summaryBeforeForm && !!info.heading,
    [`visible: ${info.summaryVisible}, before the form: ${info.summaryBeforeForm}`]);
  const linkLines = info.links.map((l) => `link ${l.href} "${l.text}" -> ${l.target || 'NO SUCH ELEMENT'}`);
  check(`${what}: the error summary has one link per wrong question (${wrong.length})`, info.links.length === wrong.length, linkLines);
  const broken = info.links.filter((l) => !l.control);
  check(`${what}: every error summary link points to a form field on the page`, broken.length === 0,
    broken.map((l) => `link ${l.href} "${l.text}" points to ${l.target || 'no element (no such id on the page)'}`));
  for (const w of wrong) {
    // "Quantas pessoas moram no seu domicílio…: digite um número …": the question's text
    // (cut at a word when long), then the message.
    const question = await questionText(page, w.key);
    const lower = w.message.charAt(0).toLowerCase() + w.message.slice(1);
    const names = (l) => {
      const [label, ...rest] = l.text.split(': ');
      const stem = label.replace(/…$/, '');
      return rest.join(': ') === lower && stem.length >= 10 && !!question
        && (label.endsWith('…') ? question.startsWith(stem) : question.replace(/[?:.]$/, '') === stem);
    };
    check(`${what}: the summary links "${w.message}" to #${w.first}, the first input of "${w.key}", naming the question`,
      info.links.some((l) => l.href === `#${w.first}` && names(l)), [...linkLines, `question: "${question}"`]);
    const errId = `${w.key}-erro`;
    const own = await page.evaluate(({ key, errId }) => {
      const p = document.getElementById(errId);
      const input = document.querySelector(`[name="${key}"]`);
      const fs = input && input.closest('fieldset');
      return {
        text: p ? p.innerText.trim() : null,
        visible: !!p && p.getBoundingClientRect().height > 0,
        inFieldset: !!p && !!fs && fs.contains(p),
        fieldsetDescribedBy: fs ? fs.getAttribute('aria-describedby') || '' : null,
        invalidClass: !!fs && !!fs.closest('.field.invalid'),
        inputType: input ? input.type : null,
        inputInvalid: input ? input.getAttribute('aria-invalid') : null,
        inputDescribedBy: input ? input.getAttribute('aria-describedby') || '' : null,
      };
    }, { key: w.key, errId });
    const ids = (s) => (s || '').split(/\s+/);
    check(`${what}: p.field-error#${errId} says "${w.message}" inside the question's fieldset`,
      own.text === w.message && own.visible && own.inFieldset && own.invalidClass,
      [`text "${own.text}", visible ${own.visible}, in the fieldset ${own.inFieldset}, .field.invalid ${own.invalidClass}`]);
    check(`${what}: the fieldset of "${w.key}" has aria-describedby including ${errId}`, ids(own.fieldsetDescribedBy).includes(errId),
      [`aria-describedby="${own.fieldsetDescribedBy}"`]);
    if (['number', 'text'].includes(own.inputType)) {
      check(`${what}: #${w.key} has aria-invalid="true" and aria-describedby including ${errId}`,
        own.inputInvalid === 'true' && ids(own.inputDescribedBy).includes(errId),
        [`aria-invalid=${own.inputInvalid}, aria-describedby="${own.inputDescribedBy}"`]);
    }
  }
  check(`${what}: no error shown by the questions answered correctly`,
    info.fieldErrors.length === wrong.length, [`p.field-error: ${info.fieldErrors.join(', ')}`]);
}

// Activating the summary link of a wrong question moves focus to its first input, which
// is then on screen.
async function checkSummaryLinkFocus(page, first, how, what) {
  const link = page.locator(`.error-summary a[href="#${first}"]`).first();
  if (!(await link.count())) {
    check(`${what}: activating the error summary link (${how}) moves focus to #${first}`, false, [`no link to #${first}`]);
    return;
  }
  if (how === 'tap') {
    await link.tap();
  } else {
    await link.focus();
    await page.keyboard.press('Enter');
  }
  await page.waitForFunction((id) => document.activeElement && document.activeElement.id === id, first, { timeout: 3000 }).catch(() => {});
  await page.waitForTimeout(100); // let the scroll to the fragment settle
  const f = await focusInfo(page);
  const onScreen = f.top >= -1 && f.bottom <= f.viewportH + 1;
  check(`${what}: activating the error summary link (${how}) moves focus to #${first}, on screen`, f.id === first && onScreen,
    [`focused: ${focusName(f)}, y=${Math.round(f.top)}..${Math.round(f.bottom)} of ${f.viewportH}`]);
  // The point of the jump is to see what to fix: the question (legend) and its message
  // must be on screen with the field, not scrolled off above it.
  const ctx = await page.evaluate((id) => {
    const input = document.getElementById(id);
    const fs = input && input.closest('fieldset');
    const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom }; };
    return { legend: box(fs && fs.querySelector('legend')), error: box(fs && fs.querySelector('.field-error')), vh: window.innerHeight };
  }, first);
  const seen = (b) => !!b && b.top >= -1 && b.bottom <= ctx.vh + 1;
  const where = (b) => (b ? `y=${Math.round(b.top)}..${Math.round(b.bottom)}` : 'missing');
  check(`${what}: after the jump to #${first}, the question and its error message are on screen too`,
    seen(ctx.legend) && seen(ctx.error),
    [`legend ${where(ctx.legend)}, error message ${where(ctx.error)}, field ${where(f)} (viewport 0..${ctx.vh})`]);
}

// Keyboard: Tab until `want(focus)`; every stop on the way must show focus.
const keyboardStops = [];
const keyboardInvisible = [];
async function tabTo(page, want, what, max = 40) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    const f = await focusInfo(page);
    keyboardStops.push(focusName(f));
    if (!focusVisible(f)) keyboardInvisible.push(`${focusName(f)} (outline-style: ${f.outlineStyle}, width: ${f.outlineWidth})`);
    if (want(f)) return f;
  }
  throw new Error(`${what} not reached with ${max} Tabs; stops: ${keyboardStops.slice(-max).join(' -> ')}`);
}

async function press(page, key, expectId, expectChecked = true) {
  await page.keyboard.press(key);
  const f = await focusInfo(page);
  if (f.id !== expectId || f.checked !== expectChecked) {
    throw new Error(`after ${key}: focus on ${focusName(f)} (checked ${f.checked}), expected #${expectId} ${expectChecked ? 'ticked' : 'unticked'}`);
  }
}

// The review: question -> answer, from the dl.answers lists.
async function readReview(page) {
  return page.evaluate(() => {
    const pairs = [];
    for (const dt of document.querySelectorAll('dl.answers dt')) {
      const dd = dt.nextElementSibling && dt.nextElementSibling.tagName === 'DD' ? dt.nextElementSibling : null;
      pairs.push([dt.innerText.trim(), dd ? dd.innerText.trim() : null]);
    }
    return pairs;
  });
}

async function checkReviewAnswers(page, what, expected = shopperExpected, pages = Array.from({ length: PAGES }, (_, i) => i + 1)) {
  const shown = new Map(await readReview(page));
  const wrong = [];
  for (const [q, a] of expected) {
    if (shown.get(q) !== a) wrong.push(`"${q}": shows "${shown.get(q)}", expected "${a}"`);
  }
  check(`${what}: all ${expected.size} answers shown as given`, wrong.length === 0 && shown.size === expected.size,
    [...wrong, ...(shown.size !== expected.size ? [`${shown.size} questions shown, ${expected.size} answered`] : [])]);
  const edits = await page.evaluate(() => [...document.querySelectorAll('main a')]
    .filter((a) => a.innerText.trim() === 'Alterar')
    .map((a) => [a.getAttribute('href'), a.getAttribute('aria-label')]));
  const want = pages.map((i) => `/survey/${i}?voltar=revisao`);
  check(`${what}: an "Alterar" link for each of the ${pages.length} pages shown (${pages.join(', ')})`,
    JSON.stringify(edits.map(([h]) => h)) === JSON.stringify(want), edits.map(([h, l]) => `${h} (aria-label "${l}")`));
}

async function textVisible(page, text) {
  return page.getByText(text, { exact: false }).first().isVisible().catch(() => false);
}

// Page 7, Critério Brasil (CCEB 2026): one tap per question, "1" for the counts and
// the yes/no items of a middle household (54 points, C1), in the page's order.
const CCEB = [
  ['cceb_banheiros', '1'], ['cceb_automoveis', '1'], ['cceb_microcomputador', '1'], ['cceb_geladeira', '1'],
  ['cceb_tem_lava_loucas', 'nao'], ['cceb_tem_lava_roupas', 'sim'], ['cceb_tem_micro_ondas', 'sim'],
  ['cceb_agua_encanada', 'sim'], ['cceb_servico_domestico', 'nao'], ['cceb_instrucao_chefe_2026', 'medio_completo'],
];
async function answerCriterioBrasil(page, what) {
  await step(`${what}: tap one answer for each of the ${CCEB.length} Critério Brasil questions`, async () => {
    const keys = await page.evaluate(() => [...new Set([...document.querySelectorAll('main form input[type=radio]')].map((i) => i.name))]);
    if (JSON.stringify(keys) !== JSON.stringify(CCEB.map(([k]) => k))) throw new Error(`questions on the page: ${keys.join(', ')}`);
    for (const [key, value] of CCEB) await remember(page, key, await tapChoice(page, key, value));
  });
}

// Log out by forgetting the cookies: the next respondent starts afresh in this browser.
async function freshRespondent(page, nome, sobrenome, what) {
  await page.context().clearCookies();
  const who = newRespondent(nome, sobrenome);
  await step(`${what}: sign-up, then the mailed link, lead (303) to /survey/1`, async () => {
    await page.goto(`${BASE_URL}/register`, { waitUntil: 'load' });
    await fillRegister(page, who, who.password);
    await tapAndWait(page, page.getByRole('button', { name: 'Criar conta', exact: true }));
    const nav = await confirmSignUp(page, who);
    if (nav.redirectStatus !== 303 || path(page) !== '/survey/1' || nav.response.status() !== 200) throw new Error(describeChain(nav));
    return [describeChain(nav)];
  });
  return who;
}

async function answerPage1(page, what, age) {
  await step(`${what}: page 1, age ${age}, 2 residents, "Até 2 salários mínimos"`, async () => {
    await typeInto(page, 'idade', String(age));
    await remember(page, 'idade', String(age));
    await typeInto(page, 'moradores', '2');
    await remember(page, 'moradores', '2');
    await remember(page, 'renda_familiar', await tapChoice(page, 'renda_familiar', 'ate_2sm'));
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/2', `${what}, page 1`);
}

// ---------------------------------------------------------------- a non-shopper

const SKIPPED = ['distancia_supermercado', 'fatores_escolha', 'valor_compra', 'gasto_mensal'];

async function nonShopperJourney(page) {
  const what = 'non-shopper';
  expected = new Map();
  const mine = expected;
  await freshRespondent(page, 'Otávio', 'Nunes Prado', what);
  await expectSurveyPage(page, 1, `${what}, page 1`, { pos: 1, total: 7 });
  await answerPage1(page, what, 67);
  await expectSurveyPage(page, 2, `${what}, page 2`, { pos: 2, total: 7 });
  await step(`${what}, page 2: tap "Sim" and "Masculino"`, async () => {
    await remember(page, 'responsavel_compras', await tapChoice(page, 'responsavel_compras', 'sim'));
    await remember(page, 'sexo', await tapChoice(page, 'sexo', 'masculino'));
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/3', `${what}, page 2`);
  await expectSurveyPage(page, 3, `${what}, page 3`, { pos: 3, total: 7 });
  await step(`${what}, page 3: tap "Não compro em supermercado"`, async () => {
    await remember(page, 'frequencia_supermercado', await tapChoice(page, 'frequencia_supermercado', 'nao_compro'));
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/5', `${what}, page 3 (page 4 skipped)`);
  await expectSurveyPage(page, 5, `${what}, page 5`, { pos: 4, total: 6, back: 3 });
  await step(`${what}, page 5: only the neighbourhood-shops question, not the trip and spend ones`, async () => {
    const names = await page.evaluate(() => [...new Set([...document.querySelectorAll('main form input[name]')].map((i) => i.name))]
      .filter((n) => n !== 'csrf_token' && !n.startsWith('_')));
    const shown = SKIPPED.filter((k) => names.includes(k));
    if (shown.length || !names.includes('gasto_bairro')) throw new Error(`fields: ${names.join(', ')}`);
    if (await page.locator('main form fieldset').count() !== 1) throw new Error(`${await page.locator('main form fieldset').count()} questions`);
    return [`fields: ${names.join(', ')}`];
  });
  await pageChecks(page, 'nonshopper-page5', `${what}, page 5`);
  await step(`${what}, page 5: tap "De R$ 101 a R$ 500"`, async () => {
    await remember(page, 'gasto_bairro', await tapChoice(page, 'gasto_bairro', '101a500'));
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/6', `${what}, page 5`);
  await expectSurveyPage(page, 6, `${what}, page 6`, { pos: 5, total: 6 });
  await step(`${what}, page 6: tap "Talvez", leave the optional text empty`, async () => {
    await remember(page, 'interesse_novo', await tapChoice(page, 'interesse_novo', 'talvez'));
    await remember(page, 'satisfacao_atual', 'Não respondida');
    await remember(page, 'mercado_atual', 'Não respondida');
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/7', `${what}, page 6`);
  await expectSurveyPage(page, 7, `${what}, page 7`, { pos: 6, total: 6 });
  await answerCriterioBrasil(page, `${what}, page 7`);
  await tapSubmit(page, 'Salvar e revisar', '/survey/review', `${what}, page 7`);
  await checkReviewAnswers(page, `${what}, review`, mine, [1, 2, 3, 5, 6, 7]);
  await step(`${what}, review: none of the skipped questions is listed`, async () => {
    const dts = await page.evaluate(() => [...document.querySelectorAll('dl.answers dt')].map((d) => d.innerText.trim()));
    const leaked = dts.filter((t) => /distância|escolha de supermercado|cada compra|por mês, em média/i.test(t));
    if (leaked.length) throw new Error(`listed: ${leaked.join(' | ')}`);
    return [`${dts.length} questions listed`];
  });
  await pageChecks(page, 'nonshopper-review', `${what}, review`);
  await step(`${what}: /survey/4 (not asked) redirects (303) to /survey/5`, async () => {
    const r = await page.goto(`${BASE_URL}/survey/4`, { waitUntil: 'load' });
    const first = r.request().redirectedFrom();
    const via = `${first ? `${(await first.response()).status()} /survey/4 -> ` : ''}${r.status()} ${path(page)}`;
    if (!first || (await first.response()).status() !== 303 || path(page) !== '/survey/5') throw new Error(via);
    return [via];
  });
  await step(`${what}: back to the review and send`, async () => {
    await page.goto(`${BASE_URL}/survey/review`, { waitUntil: 'load' });
  });
  await tapSubmit(page, 'Enviar respostas', '/survey/thanks', `${what}, review`);
}

// ---------------------------------------------------------------- screened out

const SCREENED_MESSAGE = 'Esta pesquisa é com quem faz ou divide as compras de supermercado da casa. Obrigado pelo seu tempo!';

async function screenedJourney(page) {
  const what = 'screened out';
  expected = new Map();
  await freshRespondent(page, 'Caio', 'Moreira Dias', what);
  await answerPage1(page, what, 23);
  await step(`${what}, page 2: tap "Não" (does not do the shopping), "Outro"`, async () => {
    await tapChoice(page, 'responsavel_compras', 'nao');
    await tapChoice(page, 'sexo', 'outro');
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/screened', `${what}, page 2`);
  await step(`${what}: /survey/screened thanks politely with the screener's message`, async () => {
    const info = await page.evaluate(() => ({
      h1: (document.querySelector('h1') || {}).innerText,
      lead: (document.querySelector('main p.lead') || {}).innerText,
      links: [...document.querySelectorAll('main .actions a')].map((a) => [a.innerText.trim(), a.getAttribute('href')]),
      forms: document.querySelectorAll('main form').length,
    }));
    const bad = [];
    if (info.h1 !== 'Obrigado pela sua participação') bad.push(`h1 "${info.h1}"`);
    if ((info.lead || '').trim() !== SCREENED_MESSAGE) bad.push(`lead "${info.lead}"`);
    if (!info.links.some(([t, h]) => h === '/survey/2' && t === 'Respondi errado: alterar minha resposta')) bad.push(`links ${JSON.stringify(info.links)}`);
    if (info.forms) bad.push(`${info.forms} forms`);
    if (bad.length) throw new Error(bad.join('; '));
    return [`h1 "${info.h1}", links ${JSON.stringify(info.links)}`];
  });
  await pageChecks(page, 'screened', `${what}, /survey/screened`);
  await step(`${what}: /survey and /survey/3 lead (303) to /survey/screened`, async () => {
    const out = [];
    for (const p of ['/survey', '/survey/3']) {
      const r = await page.goto(`${BASE_URL}${p}`, { waitUntil: 'load' });
      out.push(`${p} -> ${r.status()} ${path(page)}`);
      if (path(page) !== '/survey/screened' || !r.request().redirectedFrom()) throw new Error(out.join('; '));
    }
    return out;
  });
  await step(`${what}: "Respondi errado: alterar minha resposta" opens /survey/2 with "Não" chosen`, async () => {
    await tapAndWait(page, page.getByRole('link', { name: 'Respondi errado: alterar minha resposta' }));
    if (path(page) !== '/survey/2') throw new Error(`at ${page.url()}`);
    if (!(await page.isChecked('#responsavel_compras-nao'))) throw new Error('"Não" not chosen');
  });
  await pageChecks(page, 'screened-change', `${what}, page 2 again`);
  // While screened out, page 2 is the last page shown, so the server labels its button
  // "Salvar e revisar" and counts "Etapa 2 de 2"; saving "Sim" goes on to page 3.
  await step(`${what}, page 2 again: tap "Sim" and save: 303 to /survey/3`, async () => {
    await tapChoice(page, 'responsavel_compras', 'sim');
    const button = page.locator('main form button[type=submit]');
    const label = (await button.innerText()).trim();
    const progress = (await page.locator('.progress-label').innerText()).trim();
    const nav = await tapAndWait(page, button);
    const via = describeChain(nav);
    if (nav.redirectStatus !== 303 || path(page) !== '/survey/3' || nav.response.status() !== 200) throw new Error(via);
    return [`button "${label}", progress "${progress}"`, via];
  });
  await expectSurveyPage(page, 3, `${what}, page 3 after the change`, { pos: 3, total: 7 });
}

// ---------------------------------------------------------------- the journey

async function shopperJourney(page) {
  const who = newRespondent('Joana', 'Ferreira Lima');

  // 1. Sign up (the sign-up page itself is the respondent test's subject).
  await step('sign-up, then the mailed link, lead (303) to the questionnaire, page 1', async () => {
    await page.goto(`${BASE_URL}/register`, { waitUntil: 'load' });
    await fillRegister(page, who, who.password);
    await tapAndWait(page, page.getByRole('button', { name: 'Criar conta', exact: true }));
    const nav = await confirmSignUp(page, who);
    if (nav.redirectStatus !== 303 || path(page) !== '/survey/1' || nav.response.status() !== 200) throw new Error(describeChain(nav));
    return [describeChain(nav)];
  });

  // 2. Page 1, first with an age under 18.
  await expectSurveyPage(page, 1, 'page 1');
  await pageChecks(page, 'page1', 'page 1');
  await checkDesktop(page, 'page1', 'page 1');
  let nav;
  await step('page 1: type age 15 and 3 residents, tap "De 2 a 4 salários mínimos"', async () => {
    await typeInto(page, 'idade', '15');
    await typeInto(page, 'moradores', '3');
    const label = await tapChoice(page, 'renda_familiar', '2a4sm');
    if (!label.startsWith('De 2 a 4 salários mínimos')) throw new Error(`label "${label}"`);
    await remember(page, 'moradores', '3');
    await remember(page, 'renda_familiar', label);
    return [`income label: "${label}"`];
  });
  await step('page 1: tap "Salvar e continuar" with age 15', async () => {
    nav = await tapAndWait(page, page.getByRole('button', { name: 'Salvar e continuar', exact: true }));
  });
  await checkRefused(page, nav, 1, [{ key: 'idade', first: 'idade', message: 'Digite um número de 18 a 120.' }], 'page 1 refused');
  await step('page 1 refused: what was typed and chosen is kept', async () => {
    const kept = [await page.inputValue('#idade'), await page.inputValue('#moradores'), await page.isChecked('#renda_familiar-2a4sm')];
    if (JSON.stringify(kept) !== JSON.stringify(['15', '3', true])) throw new Error(`idade, moradores, 2a4sm: ${JSON.stringify(kept)}`);
  });
  await pageChecks(page, 'page1-error', 'page 1 refused');
  await checkSummaryLinkFocus(page, 'idade', 'tap', 'page 1 refused');
  await step('page 1: correct the age to 42 and save', async () => {
    await typeInto(page, 'idade', '42');
    await remember(page, 'idade', '42');
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/2', 'page 1');

  // 3. Page 2: the screener, by tapping.
  await expectSurveyPage(page, 2, 'page 2');
  await pageChecks(page, 'page2', 'page 2 (screener)');
  await step('page 2: tap "Sim" (does the shopping) and "Feminino"', async () => {
    await remember(page, 'responsavel_compras', await tapChoice(page, 'responsavel_compras', 'sim'));
    await remember(page, 'sexo', await tapChoice(page, 'sexo', 'feminino'));
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/3', 'page 2');

  // 4. Page 3 with the keyboard only.
  await expectSurveyPage(page, 3, 'page 3');
  await pageChecks(page, 'page3', 'page 3');
  await step('page 3 by keyboard: Tab into the frequency, Space and arrows to "2 vezes por mês", Enter on the button', async () => {
    await page.evaluate(() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); });
    await tabTo(page, (f) => f.type === 'radio' && f.id.startsWith('frequencia_supermercado-'), 'the question');
    const firstRadio = (await focusInfo(page)).id;
    if (firstRadio !== 'frequencia_supermercado-nao_compro') throw new Error(`Tab into the group focused #${firstRadio}`);
    await press(page, 'Space', 'frequencia_supermercado-nao_compro');
    await press(page, 'ArrowDown', 'frequencia_supermercado-1x');
    await press(page, 'ArrowDown', 'frequencia_supermercado-2x');
    await remember(page, 'frequencia_supermercado', (await page.locator('label[for="frequencia_supermercado-2x"]').innerText()).trim());
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Salvar e continuar', 'the "Salvar e continuar" button', 12);
    nav = await actAndWait(page, () => page.keyboard.press('Enter'));
    if (nav.redirectStatus !== 303 || path(page) !== '/survey/4') throw new Error(describeChain(nav));
    return [describeChain(nav)];
  });

  // 5. Page 4 with the keyboard only, ticking one factor too many.
  await expectSurveyPage(page, 4, 'page 4');
  await pageChecks(page, 'page4', 'page 4');
  await step('page 4 at 360 px: the grid is one fieldset per item, each with a legend and its 6 points, none wider than the screen', async () => {
    const info = await page.evaluate(() => {
      const items = [...document.querySelectorAll('fieldset.grid-item')];
      return {
        width: document.documentElement.clientWidth,
        scroll: document.documentElement.scrollWidth,
        items: items.map((f) => ({
          legend: f.querySelector('legend') ? f.querySelector('legend').innerText.trim() : null,
          radios: f.querySelectorAll('input[type=radio]').length,
          names: [...new Set([...f.querySelectorAll('input[type=radio]')].map((i) => i.name))],
          labelled: [...f.querySelectorAll('input[type=radio]')].every((i) => !!document.querySelector(`label[for="${i.id}"]`)),
          right: Math.max(...[...f.querySelectorAll('*')].map((e) => e.getBoundingClientRect().right)),
          outer: !!f.parentElement.closest('fieldset'),
        })),
        tables: document.querySelectorAll('main table').length,
      };
    });
    const bad = [];
    if (info.width > 360) bad.push(`viewport ${info.width} px`);
    if (info.scroll > info.width) bad.push(`scrolls sideways: ${info.scroll} > ${info.width}`);
    if (info.items.length !== 5) bad.push(`${info.items.length} item fieldsets`);
    if (info.tables) bad.push('a table on the phone');
    for (const it of info.items) {
      if (!it.legend || it.radios !== 6 || it.names.length !== 1 || !it.labelled || !it.outer || it.right > info.width) bad.push(JSON.stringify(it));
    }
    if (bad.length) throw new Error(bad.join('; '));
    return info.items.map((it) => `${it.legend}: ${it.radios} points, right edge ${Math.round(it.right)} px`);
  });
  const grid = [['preco', '5'], ['distancia', '4'], ['qualidade', '5'], ['variedade', '3'], ['atendimento', 'nao_sei']];
  const POINTS = ['1', '2', '3', '4', '5', 'nao_sei'];
  await step('page 4: the factors are shown in this respondent\'s order, "Outro" (with its text field) and "Nenhum destes" last', async () => {
    const order = await page.evaluate(() => [...document.querySelectorAll('input[name=fatores_escolha]')].map((i) => i.value));
    const other = await page.evaluate(() => {
      const input = document.getElementById('fatores_escolha__outro');
      const label = input && document.querySelector('label[for="fatores_escolha__outro"]');
      const hint = document.getElementById('fatores_escolha__outro-ajuda');
      return { label: label && label.innerText.trim(), hint: hint && hint.innerText.trim(), described: input && input.getAttribute('aria-describedby') };
    });
    const bad = [];
    if (order.length !== 12 || order[10] !== 'outros' || order[11] !== 'nenhum') bad.push(`order ${order.join(', ')}`);
    if (other.label !== 'Outro: qual?' || other.hint !== 'Obrigatório se escolher “Outro”.' || other.described !== 'fatores_escolha__outro-ajuda') bad.push(JSON.stringify(other));
    if (bad.length) throw new Error(bad.join('; '));
    return [`order: ${order.join(', ')}`];
  });
  // Ticked in the order the page shows them (the options are shuffled per respondent).
  const shown = await page.evaluate(() => [...document.querySelectorAll('input[name=fatores_escolha]')].map((i) => i.value));
  const ticked = ['preco', 'proximidade', 'variedade', 'qualidade'].sort((a, b) => shown.indexOf(a) - shown.indexOf(b));
  await step('page 4 by keyboard: Tab to each question, Space/arrows to choose, 4 factors ticked, each grid item rated, Enter on the button', async () => {
    await page.evaluate(() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); });
    await tabTo(page, (f) => f.type === 'radio' && f.id.startsWith('distancia_supermercado-'), 'the first question');
    const firstRadio = (await focusInfo(page)).id;
    if (firstRadio !== 'distancia_supermercado-ate_500m') throw new Error(`Tab into the group focused #${firstRadio}`);
    await press(page, 'Space', 'distancia_supermercado-ate_500m');
    await press(page, 'ArrowDown', 'distancia_supermercado-500m_1km');
    await press(page, 'ArrowDown', 'distancia_supermercado-1a2km');
    for (const v of ticked) {
      await tabTo(page, (f) => f.id === `fatores_escolha-${v}`, `#fatores_escolha-${v}`, 13);
      await press(page, 'Space', `fatores_escolha-${v}`);
    }
    // The grid: Tab into each item's group (its first point), Space, then arrows down
    // to the point wanted.
    const parts = [];
    for (const [item, value] of grid) {
      const field = `importancia_fatores__${item}`;
      await tabTo(page, (f) => f.id === `${field}-1`, `#${field}-1`, 14);
      await press(page, 'Space', `${field}-1`);
      for (let i = 1; i <= POINTS.indexOf(value); i += 1) await press(page, 'ArrowDown', `${field}-${POINTS[i]}`);
      const legend = (await page.locator(`fieldset.grid-item:has(#${field}-${value}) legend`).innerText()).trim();
      const label = (await page.locator(`label[for="${field}-${value}"]`).innerText()).trim();
      parts.push(`${legend}: ${label}`);
    }
    const q = await page.evaluate(() => document.querySelector('fieldset:has(fieldset.grid-item) > legend').childNodes[0].textContent.trim());
    expected.set(q, parts.join('; '));
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Salvar e continuar', 'the "Salvar e continuar" button', 12);
    nav = await actAndWait(page, () => page.keyboard.press('Enter'));
    return [`checked: 1a2km, ${ticked.join(', ')}`, ...parts];
  });
  check('pages 3 and 4 by keyboard: focus visible at every Tab stop', keyboardInvisible.length === 0,
    [...keyboardInvisible.map((s) => `no visible focus: ${s}`), `stops: ${keyboardStops.join(' -> ')}`]);
  // The summary links to the first option shown (the options are shuffled).
  await checkRefused(page, nav, 4,
    [{ key: 'fatores_escolha', first: `fatores_escolha-${shown[0]}`, message: 'Escolha no máximo 3.' }], 'page 4 refused');
  await step('page 4 refused: the choices are kept (1a2km, 4 factors, the grid)', async () => {
    const kept = await page.evaluate(() => [...document.querySelectorAll('main form input:checked')].map((i) => i.id));
    const want = ['distancia_supermercado-1a2km', ...ticked.map((v) => `fatores_escolha-${v}`),
      ...grid.map(([item, value]) => `importancia_fatores__${item}-${value}`)];
    if (JSON.stringify(kept) !== JSON.stringify(want)) throw new Error(`checked: ${kept.join(', ')}`);
  });
  await pageChecks(page, 'page4-error', 'page 4 refused');
  await checkSummaryLinkFocus(page, `fatores_escolha-${shown[0]}`, 'keyboard Enter', 'page 4 refused');
  await step('page 4: untick "qualidade" by tapping its label', async () => {
    await tapChoice(page, 'fatores_escolha', 'qualidade', false);
    const labels = [];
    // The review lists them in the questionnaire's order, not the order shown.
    const kept = ['preco', 'proximidade', 'variedade', 'qualidade'].filter((v) => ticked.includes(v) && v !== 'qualidade');
    for (const v of kept) labels.push((await page.locator(`label[for="fatores_escolha-${v}"]`).innerText()).trim());
    await remember(page, 'fatores_escolha', labels.join('; '));
    await remember(page, 'distancia_supermercado', (await page.locator('label[for="distancia_supermercado-1a2km"]').innerText()).trim());
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/5', 'page 4');

  // 6. Page 5 by tapping labels: 2 trips × at least R$ 501 > R$ 1.000 a month, so the
  // soft check fires once; the respondent confirms.
  await expectSurveyPage(page, 5, 'page 5');
  await pageChecks(page, 'page5', 'page 5');
  await step('page 5: tap "De R$ 501 a R$ 1.000" per trip, "De R$ 601 a R$ 1.000" a month, "De R$ 0 a R$ 100" locally', async () => {
    for (const [key, value] of [['valor_compra', '501a1000'], ['gasto_mensal', '601a1000'], ['gasto_bairro', 'ate_100']]) {
      await remember(page, key, await tapChoice(page, key, value));
    }
  });
  await step('page 5: "Salvar e continuar" shows the page again (200) with the soft check, not a refusal', async () => {
    nav = await tapAndWait(page, page.getByRole('button', { name: 'Salvar e continuar', exact: true }));
    const via = describeChain(nav);
    if (nav.response.status() !== 200 || path(page) !== '/survey/5') throw new Error(via);
    return [via];
  });
  await step('page 5 soft check: "Confira, por favor", the message, an unticked confirmation, no error summary', async () => {
    const info = await page.evaluate(() => {
      const box = document.getElementById('checagem');
      const c = document.getElementById('confirmar-gasto_mensal_baixo');
      return {
        role: box && box.getAttribute('role'),
        h2: box && box.querySelector('h2') ? box.querySelector('h2').innerText.trim() : null,
        text: box ? box.innerText : '',
        confirm: c ? { checked: c.checked, label: (document.querySelector('label[for="confirmar-gasto_mensal_baixo"]') || {}).innerText } : null,
        errors: document.querySelectorAll('.error-summary, p.field-error').length,
        checked: [...document.querySelectorAll('main form input:checked')].map((i) => i.id),
      };
    });
    const bad = [];
    if (info.role !== 'alert') bad.push(`#checagem role=${info.role}`);
    if (info.h2 !== 'Confira, por favor') bad.push(`h2 "${info.h2}"`);
    if (!/passam do gasto mensal informado/.test(info.text)) bad.push(`message: "${info.text}"`);
    if (!info.confirm || info.confirm.checked || (info.confirm.label || '').trim() !== 'As respostas estão corretas') bad.push(`confirmation ${JSON.stringify(info.confirm)}`);
    if (info.errors) bad.push(`${info.errors} error elements`);
    const want = ['valor_compra-501a1000', 'gasto_mensal-601a1000', 'gasto_bairro-ate_100'];
    if (JSON.stringify(info.checked.filter((id) => !id.startsWith('confirmar-'))) !== JSON.stringify(want)) bad.push(`checked: ${info.checked.join(', ')}`);
    if (bad.length) throw new Error(bad.join('; '));
  });
  await pageChecks(page, 'page5-check', 'page 5 soft check');
  await step('page 5 soft check: tap "As respostas estão corretas"', async () => {
    await page.locator('label[for="confirmar-gasto_mensal_baixo"]').tap();
    if (!(await page.isChecked('#confirmar-gasto_mensal_baixo'))) throw new Error('not ticked');
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/6', 'page 5 confirmed');

  // 7. Page 6: a tap and some typing.
  await expectSurveyPage(page, 6, 'page 6');
  await step('page 6: the text question is marked "(opcional)"', async () => {
    const legend = await page.locator('fieldset:has(#mercado_atual) legend').innerText();
    if (!/\(opcional\)/.test(legend)) throw new Error(`legend "${legend}"`);
  });
  await pageChecks(page, 'page6', 'page 6');
  await step('page 6: tap "Provavelmente sim", type the market\'s name', async () => {
    await remember(page, 'interesse_novo', await tapChoice(page, 'interesse_novo', 'provavelmente_sim'));
    await remember(page, 'satisfacao_atual', await tapChoice(page, 'satisfacao_atual', '4'));
    await typeInto(page, 'mercado_atual', TYPED_MARKET);
    await remember(page, 'mercado_atual', TYPED_MARKET);
  });
  await tapSubmit(page, 'Salvar e continuar', '/survey/7', 'page 6');

  // 8. Page 7: Critério Brasil, one tap per question.
  await expectSurveyPage(page, 7, 'page 7');
  await pageChecks(page, 'page7', 'page 7 (Critério Brasil)');
  await answerCriterioBrasil(page, 'page 7');
  await tapSubmit(page, 'Salvar e revisar', '/survey/review', 'page 7');

  // 9. Review and send.
  await step('review: "Revise suas respostas" with the "Enviar respostas" button', async () => {
    const h1 = (await page.locator('h1').innerText()).trim();
    if (h1 !== 'Revise suas respostas') throw new Error(`h1 "${h1}"`);
    if (!(await page.getByRole('button', { name: 'Enviar respostas', exact: true }).isVisible())) throw new Error('no "Enviar respostas" button');
    if (await page.locator('.error-summary').count()) throw new Error(`incomplete: ${await page.locator('.error-summary').innerText()}`);
  });
  await checkReviewAnswers(page, 'review');
  await pageChecks(page, 'review', 'review');
  await checkDesktop(page, 'review', 'review');
  await tapSubmit(page, 'Enviar respostas', '/survey/thanks', 'review');
  await step('thanks: "Obrigado por participar!"', async () => {
    const h1 = (await page.locator('h1').innerText()).trim();
    if (h1 !== 'Obrigado por participar!') throw new Error(`h1 "${h1}"`);
  });
  await pageChecks(page, 'thanks', 'thanks');

  // 7. Back to /survey: the answers sent.
  await step('thanks: "Ver minhas respostas" goes to /survey, which redirects (303) to /survey/review', async () => {
    nav = await tapAndWait(page, page.getByRole('link', { name: 'Ver minhas respostas' }));
    const via = describeChain(nav);
    if (!/^303 \/survey -> 200 \/survey\/review$/.test(via)) throw new Error(via);
    return [via];
  });
  await step('answers: "Suas respostas", "Enviadas em", "De 2 a 4 salários mínimos" and the typed text', async () => {
    const h1 = (await page.locator('h1').innerText()).trim();
    const bad = [];
    if (h1 !== 'Suas respostas') bad.push(`h1 "${h1}"`);
    for (const t of ['Enviadas em', 'De 2 a 4 salários mínimos', TYPED_MARKET]) if (!(await textVisible(page, t))) bad.push(`"${t}" not shown`);
    if (await page.getByRole('button', { name: 'Enviar respostas', exact: true }).count()) bad.push('"Enviar respostas" still offered');
    if (bad.length) throw new Error(bad.join('; '));
  });
  await checkReviewAnswers(page, 'answers');
  await pageChecks(page, 'answers', 'answers sent');
  await step('home after sending: "Ver ou alterar minhas respostas" (not "Continuar") leads to the answers', async () => {
    await page.goto(`${BASE_URL}/`, { waitUntil: 'load' });
    const texts = await page.evaluate(() => [...document.querySelectorAll('main .actions a')].map((a) => a.innerText.trim()));
    if (texts.includes('Continuar o questionário')) throw new Error(`buttons: ${texts.join(', ')}`);
    const nav = await tapAndWait(page, page.getByRole('link', { name: 'Ver ou alterar minhas respostas', exact: true }));
    if (path(page) !== '/survey/review' || nav.response.status() !== 200) throw new Error(describeChain(nav));
    return [`buttons: ${texts.join(', ')}; ${describeChain(nav)}`];
  });

  // 10. Change an answer of page 5 (the soft check no longer applies).
  await step('answers: "Alterar" (etapa 5) opens /survey/5 with the answers given', async () => {
    await tapAndWait(page, page.getByRole('link', { name: 'Alterar etapa 5' }));
    if (path(page) !== '/survey/5') throw new Error(`at ${page.url()}`);
    const checked = await page.evaluate(() => [...document.querySelectorAll('main form input:checked')].map((i) => i.id));
    const want = ['valor_compra-501a1000', 'gasto_mensal-601a1000', 'gasto_bairro-ate_100'];
    if (JSON.stringify(checked) !== JSON.stringify(want)) throw new Error(`checked: ${checked.join(', ')}`);
    if (await page.locator('#checagem').count()) throw new Error('the confirmed soft check is shown again');
  });
  await expectSurveyPage(page, 5, 'page 5 again', { fromReview: true });
  await pageChecks(page, 'page5-edit', 'page 5 again');
  await checkDesktop(page, 'page5-edit', 'page 5 again');
  let newValue;
  await step('page 5 again: tap "De R$ 101 a R$ 500" for the amount per trip', async () => {
    newValue = await tapChoice(page, 'valor_compra', '101a500');
    await remember(page, 'valor_compra', newValue);
    return [`new answer "${newValue}"`];
  });
  // Saving a page opened from the review goes straight back to it (issue 20).
  await tapSubmit(page, 'Salvar e voltar à revisão', '/survey/review', 'page 5 again');
  await step('review after the change: the new amount, and "Salvar alterações" to send again', async () => {
    if (!(await page.getByRole('button', { name: 'Salvar alterações', exact: true }).isVisible())) throw new Error('no "Salvar alterações" button');
  });
  await checkReviewAnswers(page, 'review after the change');
  await pageChecks(page, 'review-edit', 'review after the change');
  await tapSubmit(page, 'Salvar alterações', '/survey/thanks', 'review after the change');
  await pageChecks(page, 'thanks-again', 'thanks again');
  await step('back at /survey: the answers sent, with the new amount', async () => {
    nav = await tapAndWait(page, page.getByRole('link', { name: 'Ver minhas respostas' }));
    if (path(page) !== '/survey/review') throw new Error(describeChain(nav));
    const h1 = (await page.locator('h1').innerText()).trim();
    if (h1 !== 'Suas respostas') throw new Error(`h1 "${h1}"`);
    if (!(await textVisible(page, 'Enviadas em'))) throw new Error('"Enviadas em" not shown');
    if (await textVisible(page, 'De R$ 501 a R$ 1.000')) throw new Error('the old answer "De R$ 501 a R$ 1.000" is still shown');
    return [describeChain(nav)];
  });
  await checkReviewAnswers(page, 'answers after the change');
  await pageChecks(page, 'answers-edit', 'answers after the change');

  // 11. English.
  await step('?lang=en: page 1 in English, with the answers given', async () => {
    const r = await page.goto(`${BASE_URL}/survey/1?lang=en`, { waitUntil: 'load' });
    if (!r || r.status() !== 200) throw new Error(`GET /survey/1?lang=en answered ${r && r.status()}`);
    const lang = await page.getAttribute('html', 'lang');
    const h1 = (await page.locator('h1').innerText()).trim();
    const button = (await page.locator('main form button[type=submit]').innerText()).trim();
    const progress = (await page.locator('.progress-label').innerText()).trim();
    const idade = await page.inputValue('#idade');
    const bad = [];
    if (!/^en/.test(lang || '')) bad.push(`<html lang="${lang}">`);
    if (h1 === FIRST_TITLE) bad.push(`h1 still Portuguese: "${h1}"`);
    if (button !== 'Save and continue') bad.push(`button "${button}"`);
    if (progress !== `Step 1 of ${PAGES}`) bad.push(`progress "${progress}"`);
    if (idade !== '42') bad.push(`#idade holds "${idade}"`);
    if (!(await page.isChecked('#renda_familiar-2a4sm'))) bad.push('income answer not checked');
    if (bad.length) throw new Error(bad.join('; '));
    return [`<html lang="${lang}">, h1 "${h1}"`];
  });
  await pageChecks(page, 'page1-en', 'page 1 in English');
  await step('?lang=en: the answers page in English', async () => {
    const r = await page.goto(`${BASE_URL}/survey/review`, { waitUntil: 'load' });
    if (!r || r.status() !== 200) throw new Error(`GET /survey/review answered ${r && r.status()}`);
    const h1 = (await page.locator('h1').innerText()).trim();
    if (h1 === 'Suas respostas') throw new Error(`h1 still Portuguese: "${h1}"`);
    if (!(await textVisible(page, TYPED_MARKET))) throw new Error('the typed text is not shown');
    return [`h1 "${h1}"`];
  });
  await pageChecks(page, 'answers-en', 'answers in English');
}

async function journey(page) {
  await shopperJourney(page);
  await nonShopperJourney(page);
  await screenedJourney(page);
}

await run({ title: 'questionnaire', prefix: 'q', timeoutMs: 290_000, journey });
