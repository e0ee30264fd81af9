// The lab in every browser the suite runs: sliders that decode, training that moves the curve
// and lowers the test −ELBO, pause, a hidden tab that pauses and resumes, settings validation and
// divergence.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodedPixels, forEachBrowser, launchBrowser, openPage, screenshot, serveDist, sleep } from './harness.mjs';

// Software GPUs run on the CPU: an epoch of 390 steps takes about a minute on SwiftShader.
const READY_TIMEOUT = 60_000;
const EPOCH_TIMEOUT = 240_000;

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

// The lab on both engines: WebGPU, and the CPU engine in its worker (a browser without WebGPU).
const ENGINES = ['webgpu', 'cpu'];

forEachBrowser((kind) => {
  for (const engine of ENGINES) {
    const tag = engine === 'cpu' ? `${kind.name}-cpu` : kind.name;
    describe(`${kind.title}: the lab${engine === 'cpu' ? ', on the CPU engine without WebGPU' : ''}`, () => {
      let browser;
      before(async () => {
        browser = await launchBrowser(kind, { webgpu: engine === 'webgpu' });
      });
      after(async () => {
        await browser?.close();
      });

      /**
       * Opens the page, replaces the pretrained model by a fresh one (Reset: these tests watch a
       * model learn from its initialisation) and waits until its initial test −ELBO is in.
       */
      async function openLab(options) {
        const opened = await openPage(browser.browser, server.url, options);
        const evaluated = () => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '';
        await opened.until(evaluated, { timeout: READY_TIMEOUT });
        assert.equal(await opened.attr('#engine', 'data-engine'), engine);
        await opened.page.click('#train-reset');
        // A fresh model's first evaluation: every pixel about a coin flip, far above the pretrained.
        await opened.until(() => Number(document.querySelector('#test-elbo')?.dataset.values.split(',')[0]) > 300, {
          timeout: READY_TIMEOUT,
        });
        const step = async () => Number(await opened.attr('#step-count', 'data-step'));
        const phase = () => opened.attr('#phase', 'data-phase');
        const testValues = async () => (await opened.attr('#test-elbo', 'data-values')).split(',').map(Number);
        /** Waits until the decoded canvas differs from `before`, and returns its pixels. */
        const decodedChangedFrom = async (before) => {
          await opened.until(
            (old) => {
              const canvas = document.querySelector('#decoded');
              const now = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              return now.some((value, i) => value !== old[i]);
            },
            { timeout: READY_TIMEOUT },
            before,
          );
          return decodedPixels(opened.page);
        };
        const waitPhase = (name, timeout = READY_TIMEOUT) =>
          opened.until((n) => document.querySelector('#phase').dataset.phase === n, { timeout }, name);
        return { ...opened, step, phase, testValues, decodedChangedFrom, waitPhase };
      }

      test('opens with one slider per latent dimension, and dragging one redraws the digit', async () => {
        const lab = await openLab();
        const { page } = lab;
        assert.equal(await lab.count('.sliders input[type=range]'), 20);
        assert.equal(await lab.phase(), 'Ready');
        // At initialisation every pixel is about a coin flip: 784 · ln 2 ≈ 543 nats.
        const [initial] = await lab.testValues();
        assert.ok(initial > 500 && initial < 600, `initial test −ELBO ${initial}`);
        // The first draw has happened (z = 0): not the blank white of an untouched canvas.
        await lab.until(() => {
          const canvas = document.querySelector('#decoded');
          const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
          return data.some((value, i) => i % 4 !== 3 && value !== 255);
        });
        const before = await decodedPixels(page);
        // A person's input: focus the first slider and press End (z1 = +3).
        await page.focus('#z-0');
        await page.keyboard.press('End');
        assert.equal(await lab.value('#z-0'), '3');
        const after = await lab.decodedChangedFrom(before);
        assert.notDeepEqual(after, before);
        // Jumping to a test digit's posterior mean moves the sliders.
        await page.select('#digit-pick', '1');
        await page.click('#z-encode');
        await lab.until(() => document.querySelector('#z-0').value !== '3');
        await page.click('#z-reset');
        await lab.until(() =>
          Array.from(document.querySelectorAll('.sliders input')).every((s) => Number(s.value) === 0),
        );
        await screenshot(page, `${tag}-lab-ready`);
        await page.setViewport({ width: 390, height: 844 });
        await screenshot(page, `${tag}-lab-narrow`);
        lab.assertNoErrors();
      });

      test('training adds points to the curve, lowers the test −ELBO after an epoch, and pauses', async () => {
        const lab = await openLab();
        const { page } = lab;
        const pointsBefore = Number(await lab.attr('#elbo-chart', 'data-points'));
        await page.click('#train-start');
        await lab.waitPhase('Training');
        await lab.until(
          (n) => Number(document.querySelector('#elbo-chart').dataset.points) > n + 10,
          { timeout: READY_TIMEOUT },
          pointsBefore,
        );
        await screenshot(page, `${tag}-lab-training`);
        // Epoch 1 is 390 steps of 128 images; then the whole test set is evaluated.
        await lab.until(() => (document.querySelector('#test-elbo').dataset.values ?? '').split(',').length >= 2, {
          timeout: EPOCH_TIMEOUT,
        });
        const [initial, afterEpoch] = await lab.testValues();
        assert.ok(afterEpoch < initial - 200, `test −ELBO ${initial} → ${afterEpoch} after one epoch`);
        assert.ok(afterEpoch < 200, `test −ELBO after one epoch: ${afterEpoch}`);
        assert.match(await lab.text('#speed'), /images\/s/);
        await screenshot(page, `${tag}-lab-after-epoch`);

        await page.click('#train-pause');
        await lab.waitPhase('Ready');
        // The chunks in flight finish; after that the count stands still.
        await sleep(1500);
        const paused = await lab.step();
        await sleep(2000);
        assert.equal(await lab.step(), paused, 'steps went on after Pause');
        assert.ok(paused > 390, `step ${paused}`);
        assert.equal(await lab.text('#train-start'), 'Resume');
        lab.assertNoErrors();
      });

      test('a hidden tab pauses training cleanly and resumes it when shown again', async () => {
        const lab = await openLab();
        const { page } = lab;
        await page.click('#train-start');
        await lab.waitPhase('Training');
        await lab.until(() => Number(document.querySelector('#step-count').dataset.step) > 3, { timeout: READY_TIMEOUT });
        // Another tab in front hides this one, as a visitor switching tabs does.
        const other = await lab.context.newPage();
        await other.bringToFront();
        await lab.until(() => document.visibilityState === 'hidden');
        await lab.waitPhase('Hidden');
        await sleep(1500); // what was in flight lands
        const hidden = await lab.step();
        await sleep(2000);
        assert.equal(await lab.step(), hidden, 'steps went on in a hidden tab');
        await other.close();
        await page.bringToFront();
        await lab.waitPhase('Training');
        await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) > n + 2, { timeout: READY_TIMEOUT }, hidden);
        await page.click('#train-pause');
        await lab.waitPhase('Ready');
        lab.assertNoErrors();
      });

      test('an invalid setting shows its message and does not start training', async () => {
        const lab = await openLab();
        const { page } = lab;
        await lab.fill('#lr', 'fast');
        await lab.fill('#batch', '0');
        await page.click('#train-start');
        assert.match(await lab.text('#lr-error'), /Enter a number/);
        assert.match(await lab.text('#batch-error'), /between 1 and 4096/);
        assert.equal(await lab.attr('#lr', 'aria-invalid'), 'true');
        await sleep(1000);
        assert.equal(await lab.phase(), 'Ready');
        assert.equal(await lab.step(), 0);
        await screenshot(page, `${tag}-lab-invalid-settings`);
        // Fixed, the message goes.
        await lab.fill('#lr', '0.002');
        await lab.fill('#batch', '64');
        await lab.fill('#latent', '65');
        await page.click('#train-reset');
        assert.match(await lab.text('#latent-error'), /between 1 and 64/);
        assert.equal(await lab.text('#lr-error'), '');
        lab.assertNoErrors();
      });

      test('a diverging run stops, says why, and leaves a usable model', async () => {
        const lab = await openLab();
        const { page } = lab;
        await lab.fill('#lr', '1');
        await page.click('#train-start');
        await lab.waitFor('#diverged', READY_TIMEOUT);
        const text = await lab.text('#diverged');
        assert.match(text, /diverged at step \d+/);
        assert.match(text, /Lower the learning rate/);
        assert.equal(await lab.phase(), 'Diverged');
        await screenshot(page, `${tag}-lab-diverged`);
        // The restored model still decodes: a slider move redraws a real digit.
        const before = await decodedPixels(page);
        await page.focus('#z-3');
        await page.keyboard.press('Home');
        const after = await lab.decodedChangedFrom(before);
        assert.ok(after.some((value, i) => i % 4 !== 3 && value < 255), 'a blank digit');
        // And training can go on at a sane rate.
        await lab.fill('#lr', '0.001');
        await page.click('#train-start');
        await lab.waitPhase('Training');
        await lab.until(() => Number(document.querySelector('#step-count').dataset.step) > 3, { timeout: READY_TIMEOUT });
        await page.click('#train-pause');
        lab.assertNoErrors();
      });
    });
  }
});
