// Offline and installable, in every browser: after one visit the service worker (web/sw.js) has
// kept this build, so a reload with the network cut shows the lab, decodes on the sliders and
// trains; a new build on the server is announced to an open page, and once loaded replaces the
// kept one whole (one cache, of the new build); the manifest makes the lab installable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodedPixels, distDir, forEachBrowser, launchBrowser, openPage, screenshot, serveDist } from './harness.mjs';

const READY_TIMEOUT = 60_000;
const SMALL = '?subset=2048,1000#hidden=64&batch=32';

let server;
let nextBuild;
before(async () => {
  // With a host's cache headers: the service worker's install finds the page's downloads in the
  // browser's HTTP cache.
  server = await serveDist({ caching: true });
  nextBuild = await anotherBuild();
});
after(async () => {
  await server?.close();
  if (nextBuild) await rm(nextBuild.dir, { recursive: true, force: true });
});

/**
 * A copy of dist/ as a new build would be: the app's module and wasm under another hash (the
 * same bytes, so their integrity still holds), the index naming them. trunk writes its hashes
 * in hex without leading zeros (a build in 16 has fewer than 16 digits): the new build's hash
 * has the other length than this build's, so every run sees both.
 */
async function anotherBuild() {
  const dir = await mkdtemp(join(tmpdir(), 'vae-lab-next-'));
  await cp(distDir, dir, { recursive: true });
  const module = (await readdir(dir)).find((name) => /^vae-app-[0-9a-f]{1,16}\.js$/.test(name));
  const old = module.slice('vae-app-'.length, -'.js'.length);
  const reversed = [...old].reverse().join('').replace(/^0+/, '');
  const hash = old.length === 16 ? `${reversed.padEnd(14, 'e').slice(0, 14)}e` : `f${reversed.padEnd(15, 'e')}`;
  await rename(join(dir, `vae-app-${old}.js`), join(dir, `vae-app-${hash}.js`));
  await rename(join(dir, `vae-app-${old}_bg.wasm`), join(dir, `vae-app-${hash}_bg.wasm`));
  const index = await readFile(join(dir, 'index.html'), 'utf8');
  await writeFile(join(dir, 'index.html'), index.replaceAll(`vae-app-${old}`, `vae-app-${hash}`));
  return { dir, old, hash };
}

const offlineState = (page) => page.$eval('#offline-status', (node) => ({ ...node.dataset, text: node.textContent }));

forEachBrowser((kind) => {
  describe(`${kind.title}: offline and installable`, () => {
    let browser;
    let context;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: false });
      // One context for every visit (the service worker and its cache are this origin's
      // storage, the file's own port), and not an incognito one: Chromium installs no app there.
      context = browser.browser.defaultBrowserContext();
    });
    after(async () => {
      server.setOffline(false);
      server.setDir(distDir);
      await browser?.close();
    });

    test('after one visit, a reload with the network cut shows the lab, decodes and trains', async () => {
      const sentBefore = server.sent.length;
      const lab = await openPage(browser.browser, `${server.url}${SMALL}`, {
        context,
        serviceWorker: true,
        // When the page registers its service worker.
        beforeLoad: () => {
          const register = ServiceWorkerContainer.prototype.register;
          ServiceWorkerContainer.prototype.register = function (...args) {
            window.vaeLabRegisteredAt = performance.now();
            return register.apply(this, args);
          };
        },
      });
      const { page } = lab;
      // Kept, and the page's own downloads done (a cut would fail them, not the reload).
      await lab.until(
        () => document.querySelector('#offline-status')?.dataset.state === 'ready' && document.querySelector('#data-preview'),
        { timeout: READY_TIMEOUT },
      );
      // Not before the lab's start was over: its first evaluation, then a quiet second (the
      // install's 7 MB took CPU and network from the start).
      const [registeredAt, evaluatedAt] = await page.evaluate(() => [
        window.vaeLabRegisteredAt,
        performance.getEntriesByName('evaluated')[0]?.startTime,
      ]);
      assert.ok(registeredAt >= evaluatedAt + 1000, `registered at ${registeredAt} ms, the first evaluation at ${evaluatedAt} ms`);
      // And none of the page's files was downloaded twice: the install took them from the HTTP
      // cache. (The index comes again for the page's check for a newer build, and the browser
      // fetches the worker's own script as it likes: Firefox twice.)
      const times = new Map();
      for (const [path] of server.sent.slice(sentBefore)) times.set(path, (times.get(path) ?? 0) + 1);
      assert.deepEqual([...times].filter(([path, count]) => count > 1 && path !== '' && path !== 'sw.js'), []);
      assert.equal(times.get(`vae-app-${nextBuild.old}_bg.wasm`), 1);
      const kept = await offlineState(page);
      assert.equal(kept.build, nextBuild.old);
      assert.match(kept.text, /Ready to work offline/);
      assert.deepEqual(await page.evaluate(() => caches.keys()), [`vae-lab-${nextBuild.old}`]);
      // Installable: the manifest is there, names the lab and its icons.
      const manifest = await page.evaluate(async () => {
        const link = document.querySelector('link[rel=manifest]');
        const response = await fetch(link.href);
        return { type: response.headers.get('content-type'), body: await response.json() };
      });
      assert.equal(manifest.type, 'application/manifest+json');
      assert.equal(manifest.body.short_name, 'VAE Lab');
      assert.deepEqual(manifest.body.icons.map((icon) => icon.sizes), ['192x192', '512x512']);
      if (kind.name === 'chromium') {
        const cdp = await page.createCDPSession();
        const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
        assert.deepEqual(installabilityErrors, [], 'Chromium finds the lab installable');
      }

      server.setOffline(true);
      await page.reload();
      await lab.until(
        () =>
          document.querySelector('#phase')?.dataset.phase === 'Ready' &&
          (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '' &&
          document.querySelector('#data-preview'),
        { timeout: READY_TIMEOUT },
      );
      assert.equal(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), true);
      // A build already kept waits for nothing: by the time the lab has evaluated, the footer
      // says so (a first visit's wait is a quiet second after that evaluation).
      const working = await offlineState(page);
      assert.equal(working.state, 'ready', working.text);
      // The sliders decode.
      const before = await decodedPixels(page);
      await page.focus('#z-0');
      await page.keyboard.press('End');
      await lab.decodedChangedFrom(before);
      // And it trains: steps go by on the CPU engine's worker, loaded from the cache.
      await page.click('#train-start');
      await lab.until(() => Number(document.querySelector('#step-count')?.dataset.step) >= 5, { timeout: READY_TIMEOUT });
      await lab.pauseSettled(READY_TIMEOUT);
      await screenshot(page, `${kind.name}-offline`);
      server.setOffline(false);
      lab.assertNoErrors();
      await page.close();
    });

    test('a new build is announced, and once loaded replaces the kept one whole', async () => {
      const lab = await openPage(browser.browser, `${server.url}${SMALL}`, { context, serviceWorker: true });
      const { page } = lab;
      await lab.until(() => document.querySelector('#offline-status')?.dataset.state === 'ready', { timeout: READY_TIMEOUT });
      assert.equal(await page.$eval('#update-banner', (node) => node.hidden), true);
      // A deploy: the server has the next build; the open page learns of it when it checks
      // (on coming back online, say).
      server.setDir(nextBuild.dir);
      await page.evaluate(() => dispatchEvent(new Event('online')));
      await lab.until(() => !document.querySelector('#update-banner').hidden);
      await screenshot(page, `${kind.name}-update-available`);
      await Promise.all([page.waitForNavigation(), page.click('#update-reload')]);
      await lab.until(
        (hash) =>
          document.querySelector('#offline-status')?.dataset.state === 'ready' &&
          document.querySelector('#offline-status')?.dataset.build === hash &&
          document.querySelector('#data-preview'),
        { timeout: READY_TIMEOUT },
        nextBuild.hash,
      );
      assert.deepEqual(await page.evaluate(() => caches.keys()), [`vae-lab-${nextBuild.hash}`]);
      // Offline now, the kept build is the new one.
      server.setOffline(true);
      await page.reload();
      await lab.until(() => document.querySelector('#phase')?.dataset.phase === 'Ready', { timeout: READY_TIMEOUT });
      const loaded = await page.evaluate(() => document.querySelector('link[rel=modulepreload]').href);
      assert.match(loaded, new RegExp(`vae-app-${nextBuild.hash}\\.js$`));
      server.setOffline(false);
      lab.assertNoErrors();
      await page.close();
    });
  });
});
