// The lab on the CPU engine, in a Web Worker: in browsers with WebGPU switched off it opens on
// the CPU with a note (not an error page), draws its first digit, answers the sliders, trains an
// epoch with the test −ELBO falling and the curve moving (on one worker, and on two sharing each
// batch), and keeps the page responsive; where WebGPU is emulated (SwiftShader, lavapipe) the lab
// times both engines, says so, and the model moves between them without losing its training.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodedPixels, forEachBrowser, launchBrowser, openPage, screenshot, serveDist } from './harness.mjs';

const READY_TIMEOUT = 60_000;
const EPOCH_TIMEOUT = 180_000;
// Epochs here are a small model's on a small split (`?subset`, a test-only setting of the page):
// 64 steps of 32 images from 2,048, scored on 1,000 test images. The published model's first
// epoch on this engine is e2e/lab.test.mjs's.
const SMALL = { query: 'subset=2048,1000', fragment: '#hidden=64&batch=32' };
const STEPS_PER_EPOCH = 64;
// Such an epoch takes a fresh model from about 543 nats (every pixel a coin flip) to below this.
const SMALL_EPOCH_BELOW = 300;

let server;
/** Each browser's test −ELBO before and after an epoch on one worker, for the two workers'. */
const oneWorkerEpoch = new Map();
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

/** Replaces the model by a fresh one, trains it an epoch, and returns the test −ELBO before and after. */
async function freshModelEpoch(lab) {
  await lab.resetModel(READY_TIMEOUT);
  await lab.page.click('#train-start');
  await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '').split(',').length >= 2, {
    timeout: EPOCH_TIMEOUT,
  });
  return (await lab.attr('#test-elbo', 'data-values')).split(',').map(Number);
}

forEachBrowser((kind) => {
  describe(`${kind.title}: the lab on the CPU without WebGPU`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: false });
    });
    after(async () => {
      await browser?.close();
    });

    test('opens on the CPU with a note, decodes the sliders, trains an epoch and the test −ELBO falls', async () => {
      const lab = await openPage(browser.browser, `${server.url}?${SMALL.query}${SMALL.fragment}`);
      const { page } = lab;
      const noAdapter = await page.evaluate(async () => !navigator.gpu || !(await navigator.gpu.requestAdapter()));
      assert.equal(noAdapter, true, 'this browser should have no WebGPU adapter');
      await lab.waitFor('#engine[data-engine="cpu"]', READY_TIMEOUT);
      // The relaxed-SIMD worker exactly where the browser validates relaxed SIMD.
      const relaxed = await page.evaluate(() => {
        const v128zero = [0xfd, 0x0c, ...new Array(16).fill(0)];
        const body = [0, ...v128zero, ...v128zero, ...v128zero, 0xfd, 0x85, 0x02, 0x0b];
        const head = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0];
        return WebAssembly.validate(new Uint8Array([...head, 10, body.length + 2, 1, body.length, ...body]));
      });
      const engineName = await lab.text('#engine-name');
      console.log(`${kind.name}: ${engineName}; relaxed SIMD validates: ${relaxed}`);
      assert.equal(engineName, relaxed
        ? 'CPU (WebAssembly SIMD128 with relaxed-SIMD fused multiply-add)'
        : 'CPU (WebAssembly SIMD128)');
      assert.match(await lab.text('#engine-why'), /no WebGPU/);
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      if (cores < 3) assert.match(await lab.text('#engine-workers'), /^One worker: two would share this browser's 2 logical cores/);
      assert.equal(await lab.count('#engine-switch'), 0, 'nothing to switch to without WebGPU');
      assert.match(await lab.text('#webgpu-unavailable'), /runs on your CPU/);
      // The first digit, before the data and the evaluation.
      await lab.until(() => performance.getEntriesByName('decoded').length > 0, { timeout: READY_TIMEOUT });
      const firstDigitMs = await page.evaluate(() => performance.getEntriesByName('decoded')[0].startTime);
      console.log(`${kind.name}: first digit at ${firstDigitMs.toFixed(0)} ms`);
      await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
        timeout: READY_TIMEOUT,
      });

      // A slider redraws the digit through the worker.
      const before = await decodedPixels(page);
      await page.$eval('#z-0', (input) => {
        input.value = '2.5';
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
      await lab.until(
        (old) => {
          const canvas = document.querySelector('#decoded');
          const now = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          return now.some((value, i) => value !== old[i]);
        },
        { timeout: 10_000 },
        before,
      );

      // A fresh model learns an epoch.
      const values = await freshModelEpoch(lab);
      console.log(`${kind.name}: test −ELBO ${values.map((v) => v.toFixed(2)).join(' → ')}`);
      oneWorkerEpoch.set(kind.name, values);
      assert.ok(values[0] > 500, `initial test −ELBO ${values[0]}`);
      assert.ok(values[1] < SMALL_EPOCH_BELOW, `test −ELBO after an epoch ${values[1]}`);
      assert.ok(Number(await lab.attr('#step-count', 'data-step')) >= STEPS_PER_EPOCH);
      await page.click('#train-pause');
      await lab.until(() => document.querySelector('#phase')?.dataset.phase === 'Ready', { timeout: 30_000 });
      // The gallery and the latent map follow the model on the CPU too.
      assert.ok(await page.evaluate(() => performance.getEntriesByName('map-refreshed').length > 0));
      await screenshot(page, `${kind.name}-cpu-lab`);
      lab.assertNoErrors();
    });

    test('two workers (?workers=2) share each batch: an epoch learns as one worker does, a divergence rolls back', async () => {
      const lab = await openPage(browser.browser, `${server.url}?workers=2&${SMALL.query}${SMALL.fragment}`);
      const { page } = lab;
      await lab.waitFor('#engine[data-engine="cpu"]', READY_TIMEOUT);
      assert.match(await lab.text('#engine-name'), /^CPU \(WebAssembly SIMD128.*, 2 workers\)$/);
      await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
        timeout: READY_TIMEOUT,
      });
      const values = await freshModelEpoch(lab);
      console.log(`${kind.name}, two workers: test −ELBO ${values.map((v) => v.toFixed(2)).join(' → ')}`);
      // The same run as one worker's up to the order of the gradient's sums.
      const alone = oneWorkerEpoch.get(kind.name);
      if (alone) {
        assert.equal(values[0], alone[0], 'the same initial model');
        assert.ok(Math.abs(values[1] - alone[1]) < 0.05, `after an epoch ${values[1]}, one worker ${alone[1]}`);
      } else {
        assert.ok(values[0] > 500 && values[1] < SMALL_EPOCH_BELOW, `${values}`);
      }
      await page.click('#train-pause');
      await lab.until(() => document.querySelector('#phase')?.dataset.phase === 'Ready', { timeout: 30_000 });
      // A learning rate of 1 diverges; both workers go back to the last good snapshot together
      // and go on training (a step neither could take would fail the training with its reason).
      await lab.fill('#lr', '1');
      await page.click('#train-start');
      await lab.waitFor('#diverged', READY_TIMEOUT);
      assert.match(await lab.text('#diverged'), /diverged at step \d+/);
      const restored = Number(await lab.attr('#step-count', 'data-step'));
      await lab.fill('#lr', '0.001');
      await page.click('#train-start');
      await lab.until((from) => Number(document.querySelector('#step-count').dataset.step) > from + 20, {
        timeout: READY_TIMEOUT,
      }, restored);
      await page.click('#train-pause');
      await lab.until(() => document.querySelector('#phase')?.dataset.phase === 'Ready', { timeout: 30_000 });
      assert.equal(await lab.count('#lab-error'), 0);
      lab.assertNoErrors();
    });

    test('?workers=auto times one worker against two sharing each batch and takes the faster', async () => {
      const lab = await openPage(browser.browser, `${server.url}?workers=auto`);
      await lab.waitFor('#engine[data-engine="cpu"]', READY_TIMEOUT);
      const why = await lab.text('#engine-workers');
      console.log(`${kind.name}: ${why}`);
      const timed = why.match(/^(Two workers share each batch: ([\d.]+) ms a training step against ([\d.]+) ms on one|One worker: two sharing each batch took ([\d.]+) ms a step, one ([\d.]+) ms)\.$/);
      assert.ok(timed, why);
      const [two, one] = timed[2] ? [Number(timed[2]), Number(timed[3])] : [Number(timed[4]), Number(timed[5])];
      assert.equal(Boolean(timed[2]), two < one);
      assert.equal((await lab.text('#engine-name')).endsWith(', 2 workers)'), two < one);
      await lab.until(() => performance.getEntriesByName('decoded').length > 0, { timeout: READY_TIMEOUT });
      lab.assertNoErrors();
    });

    test('?simd=128 starts the SIMD128 worker, which draws the same digit', async () => {
      // One latent point for both, from the link: a page opened at z = 0 with a trained model
      // moves to a test digit's posterior mean when its encode returns, so which of the two the
      // first decode shows would be a race.
      const z = Array.from({ length: 20 }, (_, i) => ((i % 5) - 2) / 2).join(',');
      const pixelsOf = async (url) => {
        const lab = await openPage(browser.browser, url);
        await lab.waitFor('#engine[data-engine="cpu"]', READY_TIMEOUT);
        await lab.until((z) => document.querySelector('#decoded')?.dataset.z === z, { timeout: READY_TIMEOUT }, z);
        const result = { name: await lab.text('#engine-name'), pixels: await decodedPixels(lab.page) };
        lab.assertNoErrors();
        await lab.page.close();
        return result;
      };
      const plain = await pixelsOf(`${server.url}?simd=128&subset=50000,1000#z=${z}`);
      const best = await pixelsOf(`${server.url}?subset=50000,1000#z=${z}`);
      assert.equal(plain.name, 'CPU (WebAssembly SIMD128)');
      const worst = plain.pixels.reduce((most, value, i) => Math.max(most, Math.abs(value - best.pixels[i])), 0);
      assert.ok(worst <= 1, `the two modules' digits differ by ${worst} of 255`);
    });
  });

  describe(`${kind.title}: the lab beside an emulated GPU`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: true });
    });
    after(async () => {
      await browser?.close();
    });

    test('times both engines, takes the faster, and moves the model between them as it was', async () => {
      const lab = await openPage(browser.browser, server.url, { engine: null });
      const { page } = lab;
      await lab.waitFor('#engine[data-engine]:not([data-engine=""])', 120_000);
      const why = await lab.text('#engine-why');
      console.log(`${kind.name}: ${why}`);
      const timed = why.match(/([\d.]+) ms a training step on it, ([\d.]+) ms on the CPU engine/);
      assert.ok(timed, why);
      const [gpuMs, cpuMs] = [Number(timed[1]), Number(timed[2])];
      const expected = cpuMs < gpuMs ? 'cpu' : 'webgpu';
      assert.equal(await lab.attr('#engine', 'data-engine'), expected);
      await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
        timeout: READY_TIMEOUT,
      });
      await page.click('#train-start');
      await lab.until(() => Number(document.querySelector('#step-count')?.dataset.step) >= 20, { timeout: 60_000 });
      await page.click('#train-pause');
      await lab.until(() => document.querySelector('#phase')?.dataset.phase === 'Ready', { timeout: 30_000 });
      /** Moves slider 0 to `value` and returns the digit once it is drawn at that point (a
       * decode already under way when the slider moves is drawn first, then the new one). */
      const decodeAt = async (value) => {
        await page.$eval(
          '#z-0',
          (input, v) => {
            input.value = String(v);
            input.dispatchEvent(new Event('input', { bubbles: true }));
          },
          value,
        );
        await lab.until(
          (v) => Number((document.querySelector('#decoded')?.dataset.z ?? '').split(',')[0]) === v,
          { timeout: 30_000 },
          value,
        );
        return decodedPixels(page);
      };
      await decodeAt(0.5);
      const decoded = await decodeAt(1.5);
      // Read after the decodes, which the engine answers after Pause's last metrics read: at
      // Ready that read may still be on its way, the counter a chunk behind.
      const step = Number(await lab.attr('#step-count', 'data-step'));

      // To the other engine and back: the same step, the same digit (within float rounding).
      const other = expected === 'cpu' ? 'webgpu' : 'cpu';
      await page.click('#engine-switch');
      await lab.until((want) => document.querySelector('#engine')?.dataset.engine === want, { timeout: 120_000 }, other);
      await lab.until(() => document.querySelector('#phase')?.dataset.phase === 'Ready', { timeout: 60_000 });
      assert.equal(Number(await lab.attr('#step-count', 'data-step')), step);
      await decodeAt(0.5);
      const moved = await decodeAt(1.5);
      const worst = moved.reduce((most, value, i) => Math.max(most, Math.abs(value - decoded[i])), 0);
      assert.ok(worst <= 2, `the digit moved by ${worst} of 255 between engines`);
      // Kept: a reload opens on the engine the visitor chose.
      await page.reload();
      await lab.waitFor(`#engine[data-engine="${other}"]`, 120_000);
      assert.match(await lab.text('#engine-why'), /Your choice/);
      lab.assertNoErrors();
    });
  });
});
