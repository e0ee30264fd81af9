// The app in real headless Chromium. `node --test e2e/` after `trunk build --release`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, openPage, screenshot, serveDist } from './harness.mjs';

// SwiftShader compiles and runs WGSL on the CPU: give GPU work time, but fail rather than hang.
const GPU_TIMEOUT = 60_000;

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

describe('with WebGPU (SwiftShader)', () => {
  let chromium;
  before(async () => {
    chromium = await launchChromium({ webgpu: true });
  });
  after(async () => {
    await chromium?.close();
  });

  test('the page loads and names the WebGPU adapter, noting it is a software fallback', async () => {
    const { page, assertNoErrors } = await openPage(chromium.browser, server.url);
    await page.locator('#adapter-name').waitFor({ timeout: GPU_TIMEOUT });
    const name = await page.locator('#adapter-name').textContent();
    assert.match(name, /swiftshader/i, `adapter name: ${name}`);
    assert.equal(await page.locator('#adapter-backend').textContent(), 'WebGPU');
    assert.equal(await page.locator('#adapter').getAttribute('data-software'), 'true');
    assert.match(await page.locator('#adapter-software-note').textContent(), /software fallback/);
    await screenshot(page, 'webgpu-adapter');
    assertNoErrors();
  });

  test('a WGSL kernel from shaders/ runs on the device and matches the CPU reference', async () => {
    const { page, assertNoErrors } = await openPage(chromium.browser, server.url);
    const check = page.locator('#kernel-check');
    await check.waitFor({ timeout: GPU_TIMEOUT });
    assert.equal(await check.getAttribute('data-passed'), 'true', await check.textContent());
    const maxError = Number(await check.getAttribute('data-max-error'));
    const tolerance = Number(await check.getAttribute('data-tolerance'));
    assert.ok(Number.isFinite(maxError) && maxError >= 0, `max error ${maxError}`);
    assert.ok(maxError <= tolerance, `max error ${maxError} over tolerance ${tolerance}`);
    assert.ok(tolerance < 1e-3, `tolerance ${tolerance} is too loose to mean anything`);
    assert.match(await check.textContent(), /dense_forward\.wgsl/);
    await screenshot(page, 'webgpu-kernel-check');
    assertNoErrors();
  });
});

describe('without WebGPU', () => {
  let chromium;
  before(async () => {
    chromium = await launchChromium({ webgpu: false });
  });
  after(async () => {
    await chromium?.close();
  });

  test('the page says WebGPU is unavailable and what to do, with no panic', async () => {
    const { page, assertNoErrors } = await openPage(chromium.browser, server.url);
    const message = page.locator('#webgpu-unavailable');
    await message.waitFor({ timeout: GPU_TIMEOUT });
    const text = await message.textContent();
    assert.match(text, /WebGPU is not available/);
    assert.match(text, /Chrome or Edge 113/);
    assert.match(text, /--enable-unsafe-webgpu/);
    assert.equal(await page.locator('#adapter').count(), 0);
    await screenshot(page, 'no-webgpu');
    assertNoErrors();
  });
});
