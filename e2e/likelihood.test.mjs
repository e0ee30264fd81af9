// The page's estimate of the test log-likelihood, in every browser the suite runs and on both
// engines: the importance-weighted bound with K draws per digit, its figure equal to the native
// engine's (`vae eval --iw-samples K`, the same draws), K = 1 equal to the page's own test −ELBO,
// the sliders answering while an estimate runs, Cancel, and the figure on the curve and beside
// the test −ELBO, kept by the autosave across a reload; the least and most likely digits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { decodedPixels, elementScreenshot, forEachBrowser, launchBrowser, openPage, repo, screenshot, serveDist } from './harness.mjs';

const READY_TIMEOUT = 60_000;
// The pretrained model scored on the first 1,000 test digits (`?subset`, a test-only setting).
const SUBSET = '?subset=2048,1000';
const vae = join(repo, 'target', 'debug', 'vae');

/** −L_K on the first `images` test digits of the bundled shard, as the native CPU engine gives it. */
function native(samples, images) {
  const out = execFileSync(vae, [
    'eval', join(repo, 'web', 'pretrained.safetensors'),
    '--iw-samples', String(samples), '--test-images', String(images), '--backend', 'cpu',
  ], { encoding: 'utf8' });
  return Number(out.match(/−L_\d+ = ([0-9.]+) ±/)[1]);
}

let server;
let expected;
before(async () => {
  server = await serveDist();
  expected = native(10, 100);
});
after(async () => {
  await server?.close();
});

const ENGINES = ['webgpu', 'cpu'];

forEachBrowser((kind) => {
  for (const engine of ENGINES) {
    const tag = engine === 'cpu' ? `${kind.name}-cpu` : kind.name;
    describe(`${kind.title}: the log-likelihood estimate${engine === 'cpu' ? ', on the CPU engine' : ''}`, () => {
      let browser;
      before(async () => {
        browser = await launchBrowser(kind, { webgpu: engine === 'webgpu' });
      });
      after(async () => {
        await browser?.close();
      });

      test('estimates −log p(x) as the native engine does, answers the sliders meanwhile, cancels', async () => {
        const lab = await openPage(browser.browser, `${server.url}${SUBSET}`);
        const { page } = lab;
        await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: READY_TIMEOUT });
        assert.equal(await lab.attr('#engine', 'data-engine'), engine);
        assert.equal(await lab.attr('#estimate-status', 'data-state'), 'none');
        // The bound recorded in the shipped model's file (`vae export --iw-samples 5000`).
        assert.match(await lab.text('#model-detail'), /test −log p\(x\) ≤ 93\.36 nats \(importance-weighted, K = 5,000\)/);
        const state = () => lab.attr('#estimate-status', 'data-state');
        const estimate = async (samples, images) => {
          await page.select('#iw-samples', String(samples));
          await page.select('#iw-images', String(images));
          await page.click('#estimate-start');
          await lab.until(() => document.querySelector('#estimate-status').dataset.state === 'done'
            && !document.querySelector('#estimate-start').disabled, { timeout: READY_TIMEOUT });
          return Number(await lab.attr('#estimate-status', 'data-value'));
        };

        // A long estimate (1,000 draws of each of 1,000 digits): the sliders still answer.
        await page.select('#iw-samples', '1000');
        await page.select('#iw-images', '10000');
        await page.click('#estimate-start');
        await lab.until(() => Number(document.querySelector('#estimate-progress')?.value ?? 0) > 0, { timeout: READY_TIMEOUT });
        const before = await decodedPixels(page);
        await page.focus('#z-0');
        await page.keyboard.press('End');
        await lab.decodedChangedFrom(before, 10_000);
        assert.equal(await state(), 'running', 'the estimate goes on while the digit is redrawn');
        await page.click('#estimate-cancel');
        await lab.until(() => document.querySelector('#estimate-status').dataset.state === 'none');

        // K = 1 is the ELBO, on the same 1,000 digits as the page's test −ELBO.
        const elbo = Number((await lab.attr('#test-elbo', 'data-values')).split(',')[0]);
        const one = await estimate(1, 1000);
        assert.ok(Math.abs(one - elbo) < 2e-3, `−L_1 ${one} against the test −ELBO ${elbo}`);
        // K = 10 on 100 digits: the native engine's figure for the same draws.
        const ten = await estimate(10, 100);
        console.log(`${kind.name} ${engine}: −L_1 ${one} (test −ELBO ${elbo}), −L_10 ${ten} (native ${expected})`);
        assert.ok(Math.abs(ten - expected) < 2e-3, `−L_10 ${ten} against the native ${expected}`);
        assert.equal(await lab.attr('#estimate-status', 'data-samples'), '10');
        assert.match(await lab.text('#estimate-status'), /^−log p\(x\) ≤ \d+\.\d\d ± \d\.\d\d nats \(K = 10, 100 test digits, step 0\)$/);
        assert.match(await lab.text('#test-likelihood'), / · −log p\(x\) ≤ \d+\.\d \(K = 10\)/);
        assert.equal(await lab.count('#elbo-chart .marker.c-likelihood'), 2);
        // The least and most likely of those 100 digits, with reconstructions; a click takes the
        // sliders to one (z1 is at +3 since End above).
        assert.equal(await lab.count('#least-likely .ranked-digit'), 8);
        assert.equal(await lab.count('#most-likely .ranked-digit'), 8);
        const ranked = await page.$$eval('.ranked-digit', (nodes) => nodes.map((n) => Number(n.dataset.logLikelihood)));
        assert.ok(ranked.slice(0, 8).every((v, i, a) => i === 0 || a[i - 1] <= v), `least likely first: ${ranked}`);
        assert.ok(ranked[7] <= ranked[15] && ranked[8] >= ranked[15], `most likely first: ${ranked}`);
        await page.click('#least-likely .ranked-digit');
        await lab.until(() => document.querySelector('#z-0').value !== '3');
        await screenshot(page, `${tag}-likelihood`);
        await elementScreenshot(page, '#likelihood', `${tag}-likelihood-panel`);

        // A model this browser keeps (trained a few steps, paused: saved) keeps its estimate.
        await page.click('#train-start');
        await lab.until(() => Number(document.querySelector('#step-count').dataset.step) >= 2, { timeout: READY_TIMEOUT });
        await lab.pauseSettled(READY_TIMEOUT);
        const kept = await estimate(10, 100);
        await lab.until(() => document.querySelector('#save-state').dataset.state === 'saved', { timeout: READY_TIMEOUT });
        await page.reload();
        await lab.until(() => document.querySelector('#estimate-status')?.dataset.state === 'done', { timeout: READY_TIMEOUT });
        assert.equal(Number(await lab.attr('#estimate-status', 'data-value')), kept);
        assert.match(await lab.text('#estimate-status'), /\(K = 10, 100 test digits, step [1-9]/);
        lab.assertNoErrors();
      });
    });
  }
});
