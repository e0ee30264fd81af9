// The lab in real headless Chromium (WebGPU through SwiftShader): sliders that decode, training
// that moves the curve and lowers the test −ELBO, pause, settings validation and divergence.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, openPage, screenshot, serveDist } from './harness.mjs';

// SwiftShader runs the GPU on the CPU: an epoch of 390 steps takes about a minute here.
const READY_TIMEOUT = 60_000;
const EPOCH_TIMEOUT = 240_000;

let server;
let chromium;
before(async () => {
  server = await serveDist();
  chromium = await launchChromium({ webgpu: true });
});
after(async () => {
  await chromium?.close();
  await server?.close();
});

/** Opens the page and waits until the model is built and its initial test −ELBO is in. */
async function openLab(options) {
  const opened = await openPage(chromium.browser, server.url, options);
  await opened.page.waitForFunction(
    () => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '',
    null,
    { timeout: READY_TIMEOUT },
  );
  return opened;
}

/** The decoded digit's pixels (RGBA), as drawn on its canvas. */
function decodedPixels(page) {
  return page.locator('#decoded').evaluate((canvas) =>
    Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data),
  );
}

/** Waits until the decoded canvas differs from `before`, and returns its pixels. */
async function decodedChangedFrom(page, before) {
  await page.waitForFunction(
    (old) => {
      const canvas = document.querySelector('#decoded');
      const now = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      return now.some((value, i) => value !== old[i]);
    },
    before,
    { timeout: READY_TIMEOUT },
  );
  return decodedPixels(page);
}

const step = async (page) => Number(await page.locator('#step-count').getAttribute('data-step'));
const phase = (page) => page.locator('#phase').getAttribute('data-phase');
const testValues = async (page) =>
  (await page.locator('#test-elbo').getAttribute('data-values')).split(',').map(Number);

describe('the lab', () => {
  test('opens with one slider per latent dimension, and dragging one redraws the digit', async () => {
    const { page, assertNoErrors } = await openLab();
    assert.equal(await page.locator('.sliders input[type=range]').count(), 20);
    assert.equal(await phase(page), 'Ready');
    // At initialisation every pixel is about a coin flip: 784 · ln 2 ≈ 543 nats.
    const [initial] = await testValues(page);
    assert.ok(initial > 500 && initial < 600, `initial test −ELBO ${initial}`);
    // The first draw has happened (z = 0): not the blank white of an untouched canvas.
    await page.waitForFunction(() => {
      const canvas = document.querySelector('#decoded');
      const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
      return data.some((value, i) => i % 4 !== 3 && value !== 255);
    });
    const before = await decodedPixels(page);
    // A person's input: focus the first slider and press End (z1 = +3).
    await page.locator('#z-0').focus();
    await page.keyboard.press('End');
    assert.equal(await page.locator('#z-0').inputValue(), '3');
    const after = await decodedChangedFrom(page, before);
    assert.notDeepEqual(after, before);
    // Jumping to a test digit's posterior mean moves the sliders.
    await page.locator('#digit-pick').selectOption('1');
    await page.locator('#z-encode').click();
    await page.waitForFunction(() => document.querySelector('#z-0').value !== '3');
    await page.locator('#z-reset').click();
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('.sliders input')).every((s) => Number(s.value) === 0),
    );
    await screenshot(page, 'lab-ready');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'lab-narrow');
    assertNoErrors();
  });

  test('training adds points to the curve, lowers the test −ELBO after an epoch, and pauses', async () => {
    const { page, assertNoErrors } = await openLab();
    const chart = page.locator('#elbo-chart');
    const pointsBefore = Number(await chart.getAttribute('data-points'));
    await page.locator('#train-start').click();
    await page.waitForFunction(() => document.querySelector('#phase').dataset.phase === 'Training');
    await page.waitForFunction(
      (n) => Number(document.querySelector('#elbo-chart').dataset.points) > n + 10,
      pointsBefore,
      { timeout: READY_TIMEOUT },
    );
    await screenshot(page, 'lab-training');
    // Epoch 1 is 390 steps of 128 images; then the whole test set is evaluated.
    await page.waitForFunction(
      () => (document.querySelector('#test-elbo').dataset.values ?? '').split(',').length >= 2,
      null,
      { timeout: EPOCH_TIMEOUT },
    );
    const [initial, afterEpoch] = await testValues(page);
    assert.ok(afterEpoch < initial - 200, `test −ELBO ${initial} → ${afterEpoch} after one epoch`);
    assert.ok(afterEpoch < 200, `test −ELBO after one epoch: ${afterEpoch}`);
    assert.match(await page.locator('#speed').textContent(), /images\/s/);
    await screenshot(page, 'lab-after-epoch');

    await page.locator('#train-pause').click();
    await page.waitForFunction(() => document.querySelector('#phase').dataset.phase === 'Ready');
    // The chunk in flight finishes; after that the count stands still.
    await page.waitForTimeout(1500);
    const paused = await step(page);
    await page.waitForTimeout(2000);
    assert.equal(await step(page), paused, 'steps went on after Pause');
    assert.ok(paused > 390, `step ${paused}`);
    assert.equal(await page.locator('#train-start').textContent(), 'Resume');
    assertNoErrors();
  });

  test('an invalid setting shows its message and does not start training', async () => {
    const { page, assertNoErrors } = await openLab();
    await page.locator('#lr').fill('fast');
    await page.locator('#batch').fill('0');
    await page.locator('#train-start').click();
    assert.match(await page.locator('#lr-error').textContent(), /Enter a number/);
    assert.match(await page.locator('#batch-error').textContent(), /between 1 and 4096/);
    assert.equal(await page.locator('#lr').getAttribute('aria-invalid'), 'true');
    await page.waitForTimeout(1000);
    assert.equal(await phase(page), 'Ready');
    assert.equal(await step(page), 0);
    await screenshot(page, 'lab-invalid-settings');
    // Fixed, the message goes.
    await page.locator('#lr').fill('0.002');
    await page.locator('#batch').fill('64');
    await page.locator('#latent').fill('65');
    await page.locator('#train-reset').click();
    assert.match(await page.locator('#latent-error').textContent(), /between 1 and 64/);
    assert.equal(await page.locator('#lr-error').textContent(), '');
    assertNoErrors();
  });

  test('a diverging run stops, says why, and leaves a usable model', async () => {
    const { page, assertNoErrors } = await openLab();
    await page.locator('#lr').fill('1');
    await page.locator('#train-start').click();
    const message = page.locator('#diverged');
    await message.waitFor({ timeout: READY_TIMEOUT });
    const text = await message.textContent();
    assert.match(text, /diverged at step \d+/);
    assert.match(text, /Lower the learning rate/);
    assert.equal(await phase(page), 'Diverged');
    await screenshot(page, 'lab-diverged');
    // The restored model still decodes: a slider move redraws a real digit.
    const before = await decodedPixels(page);
    await page.locator('#z-3').focus();
    await page.keyboard.press('Home');
    const after = await decodedChangedFrom(page, before);
    assert.ok(after.some((value, i) => i % 4 !== 3 && value < 255), 'a blank digit');
    // And training can go on at a sane rate.
    await page.locator('#lr').fill('0.001');
    await page.locator('#train-start').click();
    await page.waitForFunction(() => document.querySelector('#phase').dataset.phase === 'Training');
    await page.waitForFunction(() => Number(document.querySelector('#step-count').dataset.step) > 3, null, {
      timeout: READY_TIMEOUT,
    });
    await page.locator('#train-pause').click();
    assertNoErrors();
  });
});
