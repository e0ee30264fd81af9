// The app in every browser the suite runs (harness.mjs). `node --test e2e/` after
// `trunk build --release`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBrowser, launchBrowser, openPage, screenshot, serveDist } from './harness.mjs';

// Software GPUs compile and run WGSL on the CPU: give GPU work time, but fail rather than hang.
const GPU_TIMEOUT = 60_000;

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

forEachBrowser((kind) => {
  describe(`${kind.title}, with WebGPU`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: true });
    });
    after(async () => {
      await browser?.close();
    });

    // Both tests read the one page.
    let opened;
    const shared = async () => (opened ??= await openPage(browser.browser, `${server.url}?subset=50000,1000`));

    test('the page loads and names the WebGPU adapter, noting it is a software fallback', async () => {
      const { page, text, attr, waitFor, assertNoErrors } = await shared();
      await waitFor('#adapter-name', GPU_TIMEOUT);
      const name = await text('#adapter-name');
      assert.match(name, kind.adapterPattern, `adapter name: ${name}`);
      assert.equal(await text('#adapter-backend'), 'WebGPU');
      assert.equal(await attr('#adapter', 'data-software'), 'true');
      assert.match(await text('#adapter-software-note'), /software fallback/);
      await screenshot(page, `${kind.name}-webgpu-adapter`);
      assertNoErrors();
    });

    test('a WGSL kernel from shaders/ runs on the device and matches the CPU reference', async () => {
      const { page, text, attr, waitFor, assertNoErrors } = await shared();
      await waitFor('#kernel-check', GPU_TIMEOUT);
      assert.equal(await attr('#kernel-check', 'data-passed'), 'true', await text('#kernel-check'));
      const maxError = Number(await attr('#kernel-check', 'data-max-error'));
      const tolerance = Number(await attr('#kernel-check', 'data-tolerance'));
      assert.ok(Number.isFinite(maxError) && maxError >= 0, `max error ${maxError}`);
      assert.ok(maxError <= tolerance, `max error ${maxError} over tolerance ${tolerance}`);
      assert.ok(tolerance < 1e-3, `tolerance ${tolerance} is too loose to mean anything`);
      assert.match(await text('#kernel-check'), /dense_forward\.wgsl/);
      await screenshot(page, `${kind.name}-webgpu-kernel-check`);
      assertNoErrors();
    });
  });

  describe(`${kind.title}, without WebGPU`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: false });
    });
    after(async () => {
      await browser?.close();
    });

    test('the page says WebGPU is unavailable and what to do, with no panic', async () => {
      const { page, text, count, waitFor, assertNoErrors } = await openPage(browser.browser, server.url);
      await waitFor('#webgpu-unavailable', GPU_TIMEOUT);
      const message = await text('#webgpu-unavailable');
      assert.match(message, /WebGPU is not available/);
      assert.match(message, /Chrome or Edge 113/);
      assert.match(message, /--enable-unsafe-webgpu/);
      assert.match(message, /dom\.webgpu\.enabled/);
      assert.equal(await count('#adapter'), 0);
      await screenshot(page, `${kind.name}-no-webgpu`);
      assertNoErrors();
    });
  });
});
