// The page as a new visitor first sees it, in every browser: at 1280 × 800 the digit, every
// slider, Train and the curve lie in the first screen; the first screen is painted from the HTML
// and CSS before the wasm has run, at the lab's own places, so nothing in view moves when the lab
// replaces it or when the model, the data and the figures arrive; a trained model opens on a
// crisp digit; on a phone the digit and the sliders come first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodedPixels, forEachBrowser, launchBrowser, openPage, screenshot, serveDist } from './harness.mjs';

const READY_TIMEOUT = 60_000;
let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

forEachBrowser((kind) => {
  describe(`${kind.title}: the first screen`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: false });
    });
    after(async () => {
      await browser?.close();
    });

    test('shows the lab at once and in place: nothing in view moves while it loads', async () => {
      const lab = await openPage(browser.browser, `${server.url}?subset=2048,1000`, {
        // Before the page's own scripts: where the watched boxes are at the first paint (the
        // HTML's shell; the wasm has not run yet), and the layout shifts the browser reports.
        beforeLoad: () => {
          // The panels and controls of the first screen, by what the shell and the lab share.
          const watched = {
            explore: '.panel.explore',
            train: '.panel.train h2',
            digit: 'canvas.digit-large',
            firstSlider: '.sliders .slider:first-child input',
            lastSlider: '.sliders .slider:last-child input',
            trainButton: '.train button.primary',
          };
          window.__firstPaint = null;
          window.__shifts = [];
          const rects = () =>
            Object.fromEntries(
              Object.entries(watched).map(([name, selector]) => {
                const box = document.querySelector(selector)?.getBoundingClientRect();
                return [name, box && [box.x, box.y, box.width, box.height].map(Math.round)];
              }),
            );
          window.__rects = rects;
          document.addEventListener('DOMContentLoaded', () => {
            requestAnimationFrame(() => {
              window.__firstPaint = { rects: rects() };
            });
          });
          if (PerformanceObserver.supportedEntryTypes?.includes('layout-shift')) {
            new PerformanceObserver((list) => {
              for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(entry.value);
            }).observe({ type: 'layout-shift', buffered: true });
          } else {
            window.__shifts = null;
          }
        },
      });
      const { page } = lab;
      // Everything in: the model, its first test evaluation, the figures per latent, the data.
      await lab.until(
        () =>
          document.querySelector('#phase')?.dataset.phase === 'Ready' &&
          (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '' &&
          document.querySelector('#kl-summary') &&
          document.querySelector('#data-preview'),
        { timeout: READY_TIMEOUT },
      );
      const first = await page.evaluate(() => window.__firstPaint);
      assert.ok(first, 'the first paint was recorded');
      for (const [name, box] of Object.entries(first.rects)) assert.ok(box, `${name} is in the first paint's HTML`);
      const loaded = await page.evaluate(() => window.__rects());
      assert.deepEqual(loaded, first.rects, 'the first screen moved between the first paint and the loaded lab');
      // Every id once: a label, a test or a script that finds an element by its id finds that one.
      const repeated = await page.evaluate(() => {
        const ids = [...document.querySelectorAll('[id]')].map((node) => node.id);
        return [...new Set(ids.filter((id, at) => ids.indexOf(id) !== at))];
      });
      assert.deepEqual(repeated, [], 'ids used twice');

      // At 1280 × 800, without scrolling: the digit, every slider, Train and the curve.
      const inView = await page.evaluate(() => {
        const within = (node) => {
          const box = node.getBoundingClientRect();
          return box.top >= 0 && box.bottom <= innerHeight && box.left >= 0 && box.right <= innerWidth;
        };
        return {
          scrolled: scrollY,
          digit: within(document.querySelector('#decoded')),
          sliders: [...document.querySelectorAll('.sliders input')].map(within),
          train: within(document.querySelector('#train-start')),
          curve: within(document.querySelector('#elbo-chart')),
        };
      });
      assert.equal(inView.scrolled, 0);
      assert.equal(inView.sliders.length, 20);
      assert.deepEqual(inView, { scrolled: 0, digit: true, sliders: new Array(20).fill(true), train: true, curve: true });

      // The pretrained model opens on a test digit's reconstruction: crisp ink on white paper
      // (z = 0, the decoder's blurry average, is one click away), the sliders at its mean.
      await lab.until(() => [...document.querySelectorAll('.sliders input')].some((s) => Number(s.value) !== 0));
      const grey = (await decodedPixels(page)).filter((_, i) => i % 4 === 0);
      const ink = grey.filter((g) => g < 64).length;
      const paper = grey.filter((g) => g > 230).length;
      const blur = grey.filter((g) => g >= 64 && g <= 230).length;
      assert.ok(ink >= 40 && paper >= 500 && blur < ink, `ink ${ink}, paper ${paper}, in between ${blur}`);

      // Where the browser reports layout shifts (Chromium): their sum, Lighthouse's CLS.
      const shifts = await page.evaluate(() => window.__shifts);
      if (shifts) {
        const cls = shifts.reduce((a, b) => a + b, 0);
        console.log(`${kind.name}: cumulative layout shift ${cls.toFixed(4)} over ${shifts.length} shifts`);
        assert.ok(cls <= 0.05, `cumulative layout shift ${cls}`);
      }
      await screenshot(page, `${kind.name}-first-screen`);

      // On a phone: the digit, then the sliders, then Train.
      await page.setViewport({ width: 390, height: 844 });
      const order = await page.evaluate(() =>
        ['#decoded', '.sliders', '#train-start'].map((s) => document.querySelector(s).getBoundingClientRect().top),
      );
      assert.ok(order[0] < order[1] && order[1] < order[2], `tops ${order}`);
      await screenshot(page, `${kind.name}-first-screen-phone`);
      lab.assertNoErrors();
    });
  });
});
