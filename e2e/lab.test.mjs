// The lab in every browser the suite runs: sliders that decode, training that moves the curve
// and lowers the test −ELBO, pause, a hidden tab that pauses and resumes, settings validation and
// divergence.
//
// One test per browser and engine trains the published model's size (784-500-20, batch 128) for
// its first epoch, over the first 10,000 training images (`FULL_SIZE`: 78 steps; the whole
// 50,000 would take SwiftShader over three minutes in the lab; e2e/cpu.test.mjs trains the CPU
// engine on all of them); the others share one page with a small model on a small split of the
// data (`SMALL`), where a step takes milliseconds even on an emulated GPU. Splits are `?subset`, a
// test-only setting of the page; pages score the first 1,000 test images.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodedPixels, forEachBrowser, launchBrowser, openPage, screenshot, serveDist, sleep } from './harness.mjs';

// Software GPUs run on the CPU: the full-size epoch below takes about 40 s on SwiftShader.
const READY_TIMEOUT = 60_000;
const EPOCH_TIMEOUT = 240_000;
const FULL_SIZE = '?subset=10000,1000';
const FULL_SIZE_EPOCH = 78;
// The small model: 2,048 training images, 64 steps an epoch at batch 32; the link sets the sizes.
const SMALL = '?subset=2048,1000#hidden=64&batch=32';

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
       * Opens the lab at `path` (a query and fragment). Without sizes in the link that is the
       * pretrained model, which `reset` replaces by a fresh one of the default sizes.
       */
      async function openLab(path, { reset = false, beforeLoad } = {}) {
        const opened = await openPage(browser.browser, `${server.url}${path}`, { beforeLoad });
        const evaluated = () => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '';
        await opened.until(evaluated, { timeout: READY_TIMEOUT });
        assert.equal(await opened.attr('#engine', 'data-engine'), engine);
        if (reset) await opened.resetModel(READY_TIMEOUT);
        const step = async () => Number(await opened.attr('#step-count', 'data-step'));
        const phase = () => opened.attr('#phase', 'data-phase');
        const testValues = async () => (await opened.attr('#test-elbo', 'data-values')).split(',').map(Number);
        const waitPhase = (name, timeout = READY_TIMEOUT) =>
          opened.until((n) => document.querySelector('#phase').dataset.phase === n, { timeout }, name);
        return { ...opened, step, phase, testValues, waitPhase };
      }

      /** Asserts that the step counter stays at `at`: metrics are read at least once a second while training, so 1.5 s of them would show a step. */
      async function assertStill(lab, at, message) {
        await sleep(1500);
        assert.equal(await lab.step(), at, message);
      }

      test('training adds points to the curve, lowers the test −ELBO after an epoch, and pauses', async () => {
        const lab = await openLab(FULL_SIZE, { reset: true });
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
        // Epoch 1 is 78 steps of 128 images; then the test set is evaluated.
        await lab.until(() => (document.querySelector('#test-elbo').dataset.values ?? '').split(',').length >= 2, {
          timeout: EPOCH_TIMEOUT,
        });
        const [initial, afterEpoch] = await lab.testValues();
        assert.ok(afterEpoch < initial - 200, `test −ELBO ${initial} → ${afterEpoch} after one epoch`);
        assert.ok(afterEpoch < 200, `test −ELBO after one epoch: ${afterEpoch}`);
        assert.match(await lab.text('#speed'), /images\/s/);
        await screenshot(page, `${tag}-lab-after-epoch`);

        // The chunks in flight finish; after that the count stands still.
        const paused = await lab.pauseSettled();
        await assertStill(lab, paused, 'steps went on after Pause');
        assert.ok(paused > FULL_SIZE_EPOCH, `step ${paused}`);
        assert.equal(await lab.text('#train-start'), 'Resume');
        lab.assertNoErrors();
      });

      // The tests below share one page, in this order, each leaving it Ready.
      describe('a small model', () => {
        let lab;
        before(async () => {
          // On the CPU engine, what the page posts to its workers: for each message, the sizes
          // of the buffers it transferred, before and after the post (0 once transferred).
          const recordTransfers = () => {
            window.__transfers = [];
            const post = Worker.prototype.postMessage;
            Worker.prototype.postMessage = function (message, transfer) {
              const buffers = (Array.isArray(transfer) ? transfer : []).filter((t) => t instanceof ArrayBuffer);
              const sizes = buffers.map((b) => b.byteLength);
              const result = post.call(this, message, transfer);
              window.__transfers.push({ sizes, after: buffers.map((b) => b.byteLength) });
              return result;
            };
          };
          lab = await openLab(SMALL, { beforeLoad: engine === 'cpu' ? recordTransfers : undefined });
        });
        after(async () => {
          await lab?.page.close();
        });

        test('opens with one slider per latent dimension, and dragging one redraws the digit', async () => {
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
          await page.setViewport({ width: 1280, height: 800 });
          lab.assertNoErrors();
        });

        if (engine === 'cpu') {
          test("the data shard goes to the worker transferred, not copied a second time", async () => {
            // The shard's bytes are copied once out of wasm memory into a buffer of their own,
            // which the post hands over (detached here after it): cloning 6 MB took 3-12 ms of
            // the page's thread at the start.
            const transfers = await lab.page.evaluate(() => window.__transfers);
            const largest = Math.max(0, ...transfers.flatMap((t) => t.sizes));
            // 3,048 images of 784 pixels, a bit each at least.
            assert.ok(largest >= 3048 * 98, `largest buffer transferred: ${largest} bytes`);
            for (const { sizes, after } of transfers) {
              assert.deepEqual(after, sizes.map(() => 0), `buffers of ${sizes} bytes still held after the post`);
            }
          });
        }

        test('a hidden tab pauses training cleanly and resumes it when shown again', async () => {
          const { page } = lab;
          const from = await lab.step();
          await page.click('#train-start');
          await lab.waitPhase('Training');
          await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) > n + 3, { timeout: READY_TIMEOUT }, from);
          // Another tab in front hides this one, as a visitor switching tabs does.
          const other = await lab.context.newPage();
          await other.bringToFront();
          await lab.until(() => document.visibilityState === 'hidden', { polling: 100 });
          // Hidden, the page autosaves what it trained: at the model's last step, shown once the
          // chunks in flight have landed.
          const hidden = await lab.savedAtLastStep('Hidden', { timeout: READY_TIMEOUT, polling: 100 });
          await assertStill(lab, hidden, 'steps went on in a hidden tab');
          await other.close();
          await page.bringToFront();
          await lab.waitPhase('Training');
          await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) > n + 2, { timeout: READY_TIMEOUT }, hidden);
          await lab.pauseSettled();
          lab.assertNoErrors();
        });

        test('a diverging run stops, says why, and leaves a usable model', async () => {
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
          const restored = await lab.step();
          await lab.fill('#lr', '0.001');
          await page.click('#train-start');
          await lab.waitPhase('Training');
          await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) > n + 3, { timeout: READY_TIMEOUT }, restored);
          await lab.pauseSettled();
          lab.assertNoErrors();
        });

        test('an invalid setting shows its message and does not start training', async () => {
          const { page } = lab;
          const stepBefore = await lab.step();
          await lab.fill('#lr', 'fast');
          await lab.fill('#batch', '0');
          await page.click('#train-start');
          assert.match(await lab.text('#lr-error'), /Enter a number/);
          // At most 4,096 images a step, and no more than the training set holds (2,048 here).
          assert.match(await lab.text('#batch-error'), /between 1 and 2048 images per step/);
          assert.equal(await lab.attr('#lr', 'aria-invalid'), 'true');
          // Train sets the phase in its click handler, before the messages above were read.
          assert.equal(await lab.phase(), 'Ready');
          await assertStill(lab, stepBefore, 'an invalid setting trained');
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
      });
    });
  }
});
