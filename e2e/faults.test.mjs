// Faults a visitor's browser can throw at the lab, in every browser the suite runs: the GPU
// device lost while training (destroyed through the page's test hook, as a driver reset or the
// browser's GPU process restarting would), recovered without losing the model; and a damaged
// autosave in IndexedDB, which must never keep the page from opening; and the app's wasm, which
// the page's loader fetches and compiles in a worker, fetched by the page itself where that
// worker's download fails. The pages score 1,000 test images (`?subset`, a test-only setting of
// the page): the whole set is not the point here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { distDir, forEachBrowser, launchBrowser, openPage, screenshot, serveDist } from './harness.mjs';

const READY_TIMEOUT = 60_000;
const TRAIN_TIMEOUT = 120_000;

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

forEachBrowser((kind) => {
  describe(`${kind.title}: faults`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: true });
    });
    after(async () => {
      await browser?.close();
    });

    test('a lost device stops training; Restart brings the model back at its snapshot, with its curve', async () => {
      // A small model on all 50,000 training images: no epoch ends (and autosaves a newer
      // snapshot) in the steps between Pause and the loss.
      const lab = await openPage(browser.browser, `${server.url}?test-hooks&subset=50000,1000#hidden=64&batch=32`);
      const { page } = lab;
      const step = async () => Number(await lab.attr('#step-count', 'data-step'));
      const waitPhase = (name, timeout = READY_TIMEOUT) =>
        lab.until((n) => document.querySelector('#phase').dataset.phase === n, { timeout }, name);
      await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
        timeout: READY_TIMEOUT,
      });
      await page.click('#train-start');
      await lab.until(() => Number(document.querySelector('#step-count').dataset.step) >= 20, { timeout: TRAIN_TIMEOUT });
      // Pause saves: the snapshot the recovery comes back to. The curve is read once Pause's
      // last metrics read is in (the counter at the saved step).
      const kept = await lab.pauseSettled(READY_TIMEOUT);
      const points = await lab.attr('#elbo-chart', 'data-points');
      const tests = await lab.attr('#test-elbo', 'data-values');
      await page.click('#train-start');
      await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) >= n + 10, { timeout: TRAIN_TIMEOUT }, kept);

      await page.evaluate(() => window.vaeLabTest.loseDevice());
      await waitPhase('Lost');
      const lostAt = await step();
      assert.match(await lab.text('#device-lost'), /GPU device was lost .*Your model is kept/s);
      assert.equal(await lab.attr('#train-start', 'disabled'), '');
      await screenshot(page, `${kind.name}-device-lost`);

      const decodes = () => page.evaluate(() => performance.getEntriesByName('decoded').length);
      const decodedBefore = await decodes();
      await page.click('#restart-gpu');
      await waitPhase('Ready');
      const notice = await lab.text('#model-notice');
      console.log(`${kind.name}: lost at step ${lostAt}, snapshot ${kept}: ${notice}`);
      assert.match(notice, new RegExp(`back at step ${kept}, from this page's last snapshot[;.]`));
      assert.match(notice, new RegExp(`the ${lostAt - kept} steps trained after it could not be kept`));
      assert.equal(await step(), kept);
      assert.equal(await lab.attr('#elbo-chart', 'data-points'), points);
      assert.equal(await lab.attr('#test-elbo', 'data-values'), tests);
      // The digit is decoded again on the new device, and training goes on from the snapshot.
      await lab.until((n) => performance.getEntriesByName('decoded').length > n, { timeout: READY_TIMEOUT }, decodedBefore);
      await page.click('#train-start');
      await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) >= n + 5, { timeout: TRAIN_TIMEOUT }, kept);
      await page.click('#train-pause');
      await waitPhase('Ready');
      await screenshot(page, `${kind.name}-device-restarted`);
      lab.assertNoErrors();
    });

    test("the page fetches the app's wasm itself where its loader's worker could not", async () => {
      const wasm = (await readdir(distDir)).find((name) => /^vae-app-[0-9a-f]{1,16}_bg\.wasm$/.test(name));
      const body = await readFile(join(distDir, wasm));
      // The first download of it (the loader's worker's) fails; any after it is served.
      const statuses = [];
      const handler = (request, response) => {
        const status = statuses.length === 0 ? 503 : 200;
        statuses.push(status);
        if (status === 503) return response.writeHead(503, { 'cache-control': 'no-store' }).end('busy');
        response.writeHead(200, { 'content-type': 'application/wasm', 'cache-control': 'no-store' }).end(body);
      };
      const lab = await openPage(browser.browser, `${server.url}?subset=2048,1000#hidden=64&batch=32`, {
        server,
        serve: { path: `/${wasm}`, handler },
        expectErrors: [/503/],
      });
      await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
        timeout: READY_TIMEOUT,
      });
      assert.deepEqual(statuses, [503, 200]);
      assert.equal(await lab.attr('#phase', 'data-phase'), 'Ready');
      lab.assertNoErrors();
      await lab.page.close();
    });

    test('a damaged autosave is reported and the pretrained model opens instead', async () => {
      const lab = await openPage(browser.browser, `${server.url}?subset=50000,1000`);
      await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
        timeout: READY_TIMEOUT,
      });
      /** Writes `record` as the autosave, the way the page's own IndexedDB code stores it. */
      const writeAutosave = (damage) =>
        lab.page.evaluate(async (damage) => {
          const pretrained = new Uint8Array(await (await fetch('pretrained.safetensors')).arrayBuffer());
          const record = {
            version: 1,
            checkpoint: damage === 'truncated' ? pretrained.slice(0, pretrained.length >> 1) : pretrained,
            curve: new Float64Array(damage === 'curve' ? [7, 1e12, 0] : [1, 0, 0]),
            name: 'a damaged model',
            kind: 'file',
            savedAt: Date.now(),
          };
          const db = await new Promise((resolve, reject) => {
            const request = indexedDB.open('vae-lab', 1);
            request.onupgradeneeded = () => request.result.createObjectStore('autosave');
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
          });
          await new Promise((resolve, reject) => {
            const transaction = db.transaction('autosave', 'readwrite');
            transaction.objectStore('autosave').put(record, 'current');
            transaction.oncomplete = resolve;
            transaction.onerror = () => reject(transaction.error);
          });
          db.close();
        }, damage);
      for (const [damage, message] of [
        ['truncated', /The saved model could not be read: its checkpoint is damaged \(cannot load the checkpoint: not a safetensors file/],
        ['curve', /The saved model could not be read: the saved curve has layout 7/],
      ]) {
        await writeAutosave(damage);
        await lab.page.reload();
        await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
          timeout: READY_TIMEOUT,
        });
        const notice = await lab.text('#model-notice');
        assert.match(notice, message, damage);
        assert.equal(await lab.attr('#model-name', 'data-kind'), 'pretrained', damage);
        assert.equal(await lab.attr('#phase', 'data-phase'), 'Ready', damage);
      }
      await screenshot(lab.page, `${kind.name}-damaged-autosave`);
      lab.assertNoErrors();
    });
  });
});
