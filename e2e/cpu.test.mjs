// The CPU engine in WebAssembly, in browsers with WebGPU switched off (Chromium without
// --enable-unsafe-webgpu, Firefox without its pref): the page's `?bench=cpu` trains the model on
// the bundled shard with SIMD128 for an epoch, its first step's loss equal to the native
// engine's, the test −ELBO falling from about 550 to about 127 nats, and its step timed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBrowser, launchBrowser, openPage, serveDist } from './harness.mjs';

// −ELBO of step 1 for seed 0, batch 128, the bundled shard: the native CPU engine's figure
// (`CpuVae` with the default config; its step matches the f64 reference and PyTorch's fixture
// to 1e-5 in crates/vae-cpu/tests/reference.rs).
const NATIVE_FIRST_STEP = 552.2435;

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

forEachBrowser((kind) => {
  describe(`${kind.title}: the CPU engine without WebGPU`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: false });
    });
    after(async () => {
      await browser?.close();
    });

    test('trains an epoch with SIMD128: the first step as natively, the test −ELBO falling, the step timed', async () => {
      // Parts of the page expect a GPU it does not have here; the benchmark must not care.
      const lab = await openPage(browser.browser, `${server.url}?bench=cpu`, { expectErrors: [/WebGPU|webgpu|GPU/] });
      const { page } = lab;
      // No WebGPU here: no API, or an API that gives no adapter.
      const noAdapter = await page.evaluate(async () => !navigator.gpu || !(await navigator.gpu.requestAdapter()));
      assert.equal(noAdapter, true, 'this browser should have no WebGPU adapter');
      await lab.until(() => /^(done|failed)/.test(document.querySelector('#bench-status')?.dataset.status ?? ''), { timeout: 300_000 });
      assert.equal(await lab.attr('#bench-status', 'data-status'), 'done');
      const rows = Object.fromEntries(
        await page.$$eval('.bench-row', (nodes) => nodes.map((r) => [r.dataset.what, { value: Number(r.dataset.value), shape: r.dataset.shape }])),
      );
      const first = rows['−ELBO at step 1'].value;
      assert.ok(Math.abs(first - NATIVE_FIRST_STEP) / NATIVE_FIRST_STEP < 1e-5, `step 1: ${first} vs ${NATIVE_FIRST_STEP}`);
      const last = rows['−ELBO at the last step'];
      assert.ok(last.value < first * 0.6, `${last.shape}: ${last.value} from ${first}`);
      // An epoch or more on the CPU in this browser: the test −ELBO far below the untrained one.
      const untrained = rows['test −ELBO at initialisation'].value;
      const trained = rows['test −ELBO after training'];
      assert.match(trained.shape, /^step (\d+) \(390 an epoch\)/);
      assert.ok(Number(trained.shape.match(/^step (\d+)/)[1]) >= 390, trained.shape);
      assert.ok(untrained > 500 && trained.value < 140, `test −ELBO ${untrained} → ${trained.value} (${trained.shape})`);
      const step = rows['training step'];
      assert.match(step.shape, /WebAssembly SIMD128/);
      assert.ok(step.value > 0 && Number.isFinite(step.value), `${step.value} ms`);
      assert.ok(rows['decode one z'].value > 0);
      lab.assertNoErrors();
    });
  });
});
