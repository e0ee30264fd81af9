// The bundled MNIST shard in the page, in every browser the suite runs: download with progress,
// validation, and clear failures that leave the rest of the page working. Damaged files are real
// bytes served by the test server in place of the shard, so the app's own loader meets them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { distDir, forEachBrowser, launchBrowser, openPage, screenshot, serveDist, sleep } from './harness.mjs';

const TIMEOUT = 60_000;
const shard = readFileSync(join(distDir, 'mnist.shard.gz'));

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

/** Answers the shard's path with `body` (after `delayMs`). */
function shardAs(body, { status = 200, delayMs = 0 } = {}) {
  return {
    path: '/mnist.shard.gz',
    handler: async (request, response) => {
      if (delayMs) await sleep(delayMs);
      response.writeHead(status, {
        'content-type': 'application/octet-stream',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      response.end(body);
    },
  };
}

forEachBrowser((kind) => {
  describe(`${kind.title}: the bundled MNIST shard`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: true });
    });
    after(async () => {
      await browser?.close();
    });
    const open = (serve, options = {}) => openPage(browser.browser, server.url, { server, serve, ...options });

    test('downloads with a visible progress bar, then shows what it holds and real digits', async () => {
      const { page, text, attr, count, waitFor, assertNoErrors } = await open(shardAs(shard, { delayMs: 1500 }));
      await waitFor('#data-progress', TIMEOUT);
      assert.match(await text('#data-progress-label'), /Downloading MNIST/);
      await screenshot(page, `${kind.name}-data-downloading`);

      await waitFor('#data-summary', TIMEOUT);
      assert.match(await text('#data-summary'), /50,000 training and 10,000 test images \(1\.98 MB downloaded\)/);
      assert.equal(await count('#data-progress'), 0);
      // Labels of the first ten MNIST test images (t10k-labels-idx1-ubyte).
      assert.equal(await attr('#data-preview', 'data-labels'), '7 2 1 0 4 1 4 9 5 9');
      const ink = await page.$eval('#data-preview', (canvas) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let dark = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] === 0) dark += 1;
        return dark / (data.length / 4);
      });
      assert.ok(ink > 0.08 && ink < 0.25, `fraction of ink pixels ${ink}`);
      await screenshot(page, `${kind.name}-data-ready`);
      assertNoErrors();
    });

    test('a corrupt shard gives a clear error and the GPU side keeps working', async () => {
      // A real shard with one byte changed somewhere in the middle of its compressed stream.
      const corrupt = Buffer.from(shard);
      corrupt[Math.floor(corrupt.length / 2)] ^= 0x5a;
      const { page, text, waitFor, assertNoErrors } = await open(shardAs(corrupt));
      await waitFor('#data-error', TIMEOUT);
      assert.match(await text('#data-error'), /mnist\.shard\.gz: (corrupt gzip stream|checksum mismatch)/);
      assert.match(await text('#data-error'), /Reload the page/);
      await waitFor('#kernel-check[data-passed="true"]', TIMEOUT);
      await screenshot(page, `${kind.name}-data-corrupt`);
      assertNoErrors();
    });

    test('a truncated download is named as such', async () => {
      const truncated = gunzipSync(shard).subarray(0, 1_000_000);
      const { text, waitFor, assertNoErrors } = await open(shardAs(truncated));
      await waitFor('#data-error', TIMEOUT);
      assert.match(await text('#data-error'), /mnist\.shard\.gz: truncated: 6060064 bytes expected, only 1000000 present/);
      assertNoErrors();
    });

    test('a missing file says what the server answered', async () => {
      const { text, waitFor, assertNoErrors } = await open(shardAs('not here', { status: 404 }), {
        // Chromium logs the failed request itself; Firefox does not.
        expectErrors: [/Failed to load resource: .*404.*mnist\.shard\.gz/],
      });
      await waitFor('#data-error', TIMEOUT);
      assert.match(await text('#data-error'), /mnist\.shard\.gz: the server answered 404/);
      await waitFor('#adapter-name', TIMEOUT);
      assertNoErrors();
    });
  });
});
