// Checks the respondent's pages get beyond lib.mjs's per-page checks (issue 20):
//  - every link and button is a 44 x 44 px target: the bounding box of every rendered
//    a[href], button, summary and input[type=submit] is at least 44 px wide AND tall,
//    inline text links included (lib.mjs's check measures height only and exempts them);
//  - the page at 1280 px wide too: a screenshot (NN-name-1280.png), no horizontal
//    scrolling, the 44 px boxes, axe-core clean; then back to the phone's 360 px.

import { MIN_TARGET, PHONE, check, checkAxe, screenshot } from './lib.mjs';

export const DESKTOP = { width: 1280, height: 800 };

export async function checkTargetBoxes(page, label) {
  const r = await page.evaluate((min) => {
    const small = [];
    let measured = 0;
    for (const el of document.querySelectorAll('a[href], button, summary, input[type=submit]')) {
      // Off-screen until focused; measured when focused by respondent.mjs's keyboard check.
      if (el.classList.contains('skip-link')) continue;
      const s = getComputedStyle(el);
      const b = el.getBoundingClientRect();
      if (s.display === 'none' || s.visibility === 'hidden' || b.width === 0 || b.height === 0) continue;
      measured += 1;
      if (b.width < min - 0.5 || b.height < min - 0.5) {
        const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 40);
        const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
        small.push(`${el.tagName.toLowerCase()}${cls} "${text}": ${Math.round(b.width * 10) / 10} x ${Math.round(b.height * 10) / 10} px (display: ${s.display})`);
      }
    }
    return { small, measured };
  }, MIN_TARGET);
  check(`${label}: every link and button is at least ${MIN_TARGET} x ${MIN_TARGET} px (${r.measured} measured)`,
    r.measured > 0 && r.small.length === 0, r.small.map((s) => `too small: ${s}`));
}

export async function checkDesktop(page, name, label) {
  const what = `${label} at ${DESKTOP.width} px`;
  await page.setViewportSize(DESKTOP);
  try {
    await screenshot(page, `${name}-${DESKTOP.width}`);
    const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
    check(`${what}: no horizontal scrolling (scrollWidth ${m.sw} <= ${m.iw})`, m.sw <= m.iw && m.iw === DESKTOP.width,
      [`window.innerWidth ${m.iw}`]);
    await checkTargetBoxes(page, what);
    await checkAxe(page, what);
  } finally {
    await page.setViewportSize(PHONE);
  }
}
