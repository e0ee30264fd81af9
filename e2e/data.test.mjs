// The bundled MNIST shard in the page: download with progress, validation, and clear failures
// that leave the rest of the page working. Damaged files are real bytes served in place of the
// shard, so the app's own loader meets them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { distDir, launchChromium, openPage, screenshot, serveDist } from './harness.mjs';

const TIMEOUT = 60_000;
const shard = readFileSync(join(distDir, 'mnist.shard.gz'));

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

/** Serves `body` (after `delayMs`) wherever the page asks for the shard. */
function serveShard(body, { status = 200, delayMs = 0 } = {}) {
  return {
    url: '**/mnist.shard.gz',
    handler: async (route) => {
      if (delayMs) await new Promise((done) => setTimeout(done, delayMs));
      await route.fulfill({ status, body, contentType: 'application/octet-stream' });
    },
  };
}

describe('the bundled MNIST shard', () => {
  test('downloads with a visible progress bar, then shows what it holds and real digits', async () => {
    const { page, assertNoErrors } = await openPage(chromium.browser, server.url, {
      route: serveShard(shard, { delayMs: 1500 }),
    });
    await page.locator('#data-progress').waitFor({ timeout: TIMEOUT });
    assert.match(await page.locator('#data-progress-label').textContent(), /Downloading MNIST/);
    await screenshot(page, 'data-downloading');

    const summary = page.locator('#data-summary');
    await summary.waitFor({ timeout: TIMEOUT });
    assert.match(await summary.textContent(), /50,000 training and 10,000 test images \(1\.98 MB downloaded\)/);
    assert.equal(await page.locator('#data-progress').count(), 0);
    const preview = page.locator('#data-preview');
    // Labels of the first ten MNIST test images (t10k-labels-idx1-ubyte).
    assert.equal(await preview.getAttribute('data-labels'), '7 2 1 0 4 1 4 9 5 9');
    const ink = await preview.evaluate((canvas) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] === 0) dark += 1;
      return dark / (data.length / 4);
    });
    assert.ok(ink > 0.08 && ink < 0.25, `fraction of ink pixels ${ink}`);
    await screenshot(page, 'data-ready');
    assertNoErrors();
  });

  test('a corrupt shard gives a clear error and the GPU side keeps working', async () => {
    // A real shard with one byte changed somewhere in the middle of its compressed stream.
    const corrupt = Buffer.from(shard);
    corrupt[Math.floor(corrupt.length / 2)] ^= 0x5a;
    const { page, assertNoErrors } = await openPage(chromium.browser, server.url, {
      route: serveShard(corrupt),
    });
    const error = page.locator('#data-error');
    await error.waitFor({ timeout: TIMEOUT });
    assert.match(await error.textContent(), /mnist\.shard\.gz: (corrupt gzip stream|checksum mismatch)/);
    assert.match(await error.textContent(), /Reload the page/);
    await page.locator('#kernel-check[data-passed="true"]').waitFor({ timeout: TIMEOUT });
    await screenshot(page, 'data-corrupt');
    assertNoErrors();
  });

  test('a truncated download is named as such', async () => {
    const { gunzipSync } = await import('node:zlib');
    const truncated = gunzipSync(shard).subarray(0, 1_000_000);
    const { page, assertNoErrors } = await openPage(chromium.browser, server.url, {
      route: serveShard(truncated),
    });
    const error = page.locator('#data-error');
    await error.waitFor({ timeout: TIMEOUT });
    assert.match(
      await error.textContent(),
      /mnist\.shard\.gz: truncated: 6060064 bytes expected, only 1000000 present/,
    );
    assertNoErrors();
  });

  test('a missing file says what the server answered', async () => {
    const { page, assertNoErrors } = await openPage(chromium.browser, server.url, {
      route: serveShard('not here', { status: 404 }),
      expectErrors: [/Failed to load resource: .*404.*mnist\.shard\.gz/],
    });
    const error = page.locator('#data-error');
    await error.waitFor({ timeout: TIMEOUT });
    assert.match(await error.textContent(), /mnist\.shard\.gz: the server answered 404/);
    await page.locator('#adapter-name').waitFor({ timeout: TIMEOUT });
    assertNoErrors();
  });
});
