// What the lab's browser benchmarks measure on an open lab page (bench/browser.mjs,
// bench/workers.mjs), through the page's own User Timing entries and readouts.
import { openPage, sleep } from '../e2e/harness.mjs';

export const TIMEOUT = 120_000;

export const quantile = (values, q) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

export async function openLab(browser, url) {
  const opened = await openPage(browser, url);
  await opened.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: TIMEOUT });
  return opened;
}

export const marks = (page) =>
  page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])));

/** Moves a slider `count` times with real key presses, `gap` ms apart; returns the measures. */
export async function sliderLatency(page, count, gap) {
  await page.evaluate(() => performance.clearMeasures());
  await page.focus('#z-1');
  for (let i = 0; i < count; i += 1) {
    await page.keyboard.press(i % 40 < 20 ? 'ArrowRight' : 'ArrowLeft');
    await sleep(gap);
  }
  await sleep(500);
  return page.evaluate(() => ({
    frame: performance.getEntriesByName('slider-to-frame').map((m) => m.duration),
    drawn: performance.getEntriesByName('decode-drawn').map((m) => m.duration),
  }));
}

/** Steps the page's counter advances over `ms` of wall time, with nothing else going on. */
export async function trainingWindow(page, ms) {
  const read = () => page.evaluate(() => ({ step: Number(document.querySelector('#step-count').dataset.step), at: performance.now() }));
  const start = await read();
  await sleep(ms);
  const end = await read();
  const steps = end.step - start.step;
  return { steps, msPerStep: steps > 0 ? (end.at - start.at) / steps : NaN };
}

