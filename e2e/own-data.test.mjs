// The visitor's own data, in every browser on both engines: PNGs the test draws (two classes of
// shapes, black on white) zipped in class folders and dropped on the page, previewed as the model
// will see them, imported, trained on at their size (32 × 24); a reload finds the data set and
// the model; MNIST comes back with a click. Colour PNGs (red bars, blue rings on black) kept as
// grey levels train a 3,072-input model whose sliders decode colour images. Then each bad input,
// each said plainly with the data and the model in use untouched. Files are made in the page
// (canvas PNGs, a zip, NumPy arrays) and dropped as a person's drop arrives: a `drop` event
// carrying them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBrowser, launchBrowser, openPage, repo, screenshot, serveDist } from './harness.mjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropColourShapes, dropShapes, installMakers, storedShard } from './files.mjs';

const READY_TIMEOUT = 120_000;
// The map's first two label colours (crate::scatter::LABEL_COLOURS).
const CLASS_COLOURS = [
  [0x4e, 0x79, 0xa7],
  [0xf2, 0x8e, 0x2b],
];

const vae = join(repo, 'target', 'debug', 'vae');

let server;
let work;
before(async () => {
  server = await serveDist();
  work = mkdtempSync(join(tmpdir(), 'vae-lab-own-data-'));
});
after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Pixels of `selector`'s canvas matching `rgb` (within 8 per channel). */
function pixelsOf(page, selector, rgb) {
  return page.$eval(
    selector,
    (canvas, rgb) => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - rgb[0]) <= 8 && Math.abs(data[i + 1] - rgb[1]) <= 8 && Math.abs(data[i + 2] - rgb[2]) <= 8) n++;
      }
      return n;
    },
    rgb,
  );
}

const canvasSize = (page, selector) => page.$eval(selector, (c) => [c.width, c.height]);
const testValues = (page) => page.$eval('#test-elbo', (node) => (node.dataset.values ?? '').split(',').filter(Boolean).map(Number));
const builds = (page) => page.evaluate(() => performance.getEntriesByName('lab-ready').length);

/** The shares of `selector`'s canvas pixels that are dark (every channel below 70), red (red
 *  over 120 and 60 over the others) and blue (likewise). */
function colours(page, selector) {
  return page.$eval(selector, (canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const counts = { dark: 0, red: 0, blue: 0 };
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (Math.max(r, g, b) < 70) counts.dark++;
      if (r > 120 && r > g + 60 && r > b + 60) counts.red++;
      if (b > 120 && b > r + 60 && b > g + 60) counts.blue++;
    }
    const pixels = data.length / 4;
    return { dark: counts.dark / pixels, red: counts.red / pixels, blue: counts.blue / pixels };
  });
}

/** Waits for a model built after `count` builds, with its first test evaluation in. */
async function nextModel(lab, count) {
  await lab.until(
    (n) => performance.getEntriesByName('lab-ready').length > n && (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '',
    { timeout: READY_TIMEOUT },
    count,
  );
}

forEachBrowser((kind) => {
  for (const engine of ['webgpu', 'cpu']) {
    const tag = engine === 'cpu' ? `${kind.name}-cpu` : kind.name;
    describe(`${kind.title}: your own data${engine === 'cpu' ? ', on the CPU engine without WebGPU' : ''}`, () => {
      let browser;
      before(async () => {
        browser = await launchBrowser(kind, { webgpu: engine === 'webgpu' });
      });
      after(async () => {
        await browser?.close();
      });

      test('dropped shapes in class folders are previewed, imported, trained on at 32 × 24; a reload finds them', async () => {
        const lab = await openPage(browser.browser, `${server.url}?subset=2000,200`);
        const { page } = lab;
        await nextModel(lab, 0);
        assert.equal(await lab.attr('#engine', 'data-engine'), engine);
        await installMakers(page);
        await dropShapes(page, 60);
        await lab.waitFor('#import-form');
        assert.match(await lab.text('#import-caption'), /^1 file chosen/);
        await lab.until(() => performance.getEntriesByName('import-preview').length > 0);
        await lab.fill('#import-width', '32');
        await lab.fill('#import-height', '24');
        await page.click('#import-invert');
        await lab.fill('#import-name', 'shapes');
        // The preview: the first eight images as the model will see them, 32 × 24 each, inked.
        await lab.until(() => document.querySelector('#import-preview').width === 256);
        assert.deepEqual(await canvasSize(page, '#import-preview'), [256, 24]);
        const ink = await pixelsOf(page, '#import-preview', [0, 0, 0]);
        assert.ok(ink > 200 && ink < 256 * 24 * 0.6, `${ink} inked preview pixels`);

        const before = await builds(page);
        await page.click('#import-run');
        await lab.until(() => /Imported shapes/.test(document.querySelector('#import-said')?.textContent ?? ''), { timeout: READY_TIMEOUT });
        const said = await lab.text('#import-said');
        assert.match(said, /108 training and 12 test images of 32×24, binarised, 2 classes \(bars, rings\)/);
        assert.match(said, /Skipped 2 files: shapes\.zip\/notes\.txt \(not an image.*shapes\.zip\/rings\/broken\.png \(not an image the browser can decode/);
        // The same zip and options give `vae data` the same bytes (decoded by the image crate
        // there, by the browser here).
        const zipped = join(work, `shapes-${tag}.zip`);
        writeFileSync(zipped, Buffer.from(await page.evaluate(() => Array.from(window.droppedBytes))));
        execFileSync(vae, ['data', zipped, '--out', `${zipped}.shard`, '--size', '32x24', '--invert']);
        assert.ok(readFileSync(`${zipped}.shard`).equals(await storedShard(page)), 'the page and vae data made different shards');
        // A fresh model takes the new size (the batch lowered to the 108 images), then a small one.
        await nextModel(lab, before);
        assert.match(await lab.text('#model-notice'), /Training data: shapes, images of 32×24\. A fresh model takes them \(768 inputs.*batch lowered to its 108 training images/);
        assert.match(await lab.text('#data-summary'), /^shapes: 108 training and 12 test images of 32×24/);
        await lab.fill('#hidden', '64');
        await lab.fill('#batch', '16');
        await lab.resetModel(READY_TIMEOUT);
        assert.deepEqual(await canvasSize(page, '#decoded'), [32, 24]);

        await page.click('#train-start');
        await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '').split(',').length >= 4, { timeout: READY_TIMEOUT });
        await lab.pauseSettled(READY_TIMEOUT);
        const values = await testValues(page);
        assert.ok(values.at(-1) < values[0] - 20, `test −ELBO ${values.join(' → ')}`);
        // The map (redrawn at each epoch's test evaluation) colours the test images by their class,
        // and names the classes.
        await lab.until(() => Number(document.querySelector('#latent-map').dataset.step) > 0, { timeout: READY_TIMEOUT });
        for (const colour of CLASS_COLOURS) assert.ok((await pixelsOf(page, '#latent-map', colour)) > 20, `map points of ${colour}`);
        assert.deepEqual(await page.$$eval('.map-legend li', (items) => items.map((li) => li.textContent)), ['bars', 'rings']);
        // The grid of decodes is drawn at the data's size too (15 × 15 of them).
        assert.deepEqual(await canvasSize(page, '#manifold'), [32 * 15, 24 * 15]);
        await screenshot(page, `own-data-${tag}`);

        // A reload finds the data set and the model trained on it.
        await page.reload();
        await nextModel(lab, 0);
        assert.match(await lab.text('#data-summary'), /^shapes: 108 training and 12 test images of 32×24/);
        assert.match(await lab.text('#model-notice'), /Resumed your model from this browser at step/);
        assert.deepEqual(await canvasSize(page, '#decoded'), [32, 24]);
        assert.equal(await lab.count('#data-sets li.data-set'), 2);

        // Back to MNIST: a fresh model at 28 × 28; then the shapes can go.
        const reloaded = await builds(page);
        await page.click('#data-sets li[data-id="mnist"] .use-data');
        await nextModel(lab, reloaded);
        await lab.until(() => /^MNIST: 2,000 training/.test(document.querySelector('#data-summary')?.textContent ?? ''), { timeout: READY_TIMEOUT });
        assert.deepEqual(await canvasSize(page, '#decoded'), [28, 28]);
        await page.click('#data-sets li.data-set:not([data-id="mnist"]) .remove-data');
        await lab.until(() => /Removed shapes/.test(document.querySelector('#import-said')?.textContent ?? ''));
        assert.equal(await lab.count('#data-sets li.data-set'), 1);
        lab.assertNoErrors();
      });

      test('a 32 × 32 colour set keeps its grey levels, trains, and the sliders decode colour images', async () => {
        const lab = await openPage(browser.browser, `${server.url}?subset=2000,200`);
        const { page } = lab;
        await nextModel(lab, 0);
        await installMakers(page);
        await dropColourShapes(page, 60);
        await lab.waitFor('#import-form');
        await lab.until(() => performance.getEntriesByName('import-preview').length > 0);
        await lab.fill('#import-width', '32');
        await lab.fill('#import-height', '32');
        await page.click('#import-colour');
        await page.select('#import-binarize', 'keep');
        await lab.fill('#import-name', 'colours');
        // The preview shows the colours as the model will see them.
        await lab.until(() => document.querySelector('#import-preview').width === 256 && document.querySelector('#import-preview').height === 32);
        const preview = await colours(page, '#import-preview');
        assert.ok(preview.dark > 0.6 && preview.red + preview.blue > 0.05, `preview ${JSON.stringify(preview)}`);

        const before = await builds(page);
        await page.click('#import-run');
        await lab.until(() => /Imported colours/.test(document.querySelector('#import-said')?.textContent ?? ''), { timeout: READY_TIMEOUT });
        assert.match(await lab.text('#import-said'), /108 training and 12 test images of 32×32 in colour, grey levels, 2 classes \(blue, red\)/);
        await nextModel(lab, before);
        assert.match(await lab.text('#model-notice'), /Training data: colours, images of 32×32 in colour\. A fresh model takes them \(3072 inputs/);
        await lab.fill('#hidden', '64');
        await lab.fill('#batch', '16');
        await lab.fill('#latent', '4');
        await lab.fill('#lr', '0.005');
        await lab.resetModel(READY_TIMEOUT);
        assert.deepEqual(await canvasSize(page, '#decoded'), [32, 32]);
        // The curve says what its figures are on grey levels.
        assert.match(await lab.text('#grey-targets-note'), /Bernoulli cross-entropy with grey targets.*not a log-likelihood/);

        await page.click('#train-start');
        await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '').split(',').length >= 9, { timeout: READY_TIMEOUT });
        await lab.pauseSettled(READY_TIMEOUT);
        const values = await testValues(page);
        assert.ok(values.at(-1) < 0.6 * values[0], `test cross-entropy + KL ${values.join(' → ')}`);
        // The sliders decode colour images: red or blue strokes on black, as the data is. Each
        // slider moved to its end in turn, the last decode is checked (one of the two classes).
        const decoded = [];
        for (let z = 0; z < 4; z++) {
          for (const key of ['End', 'Home']) {
            const shown = await page.$eval('#decoded', (c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data));
            await page.focus(`#z-${z}`);
            await page.keyboard.press(key);
            await lab.decodedChangedFrom(shown);
            decoded.push(await colours(page, '#decoded'));
          }
        }
        assert.ok(decoded.every((c) => c.dark > 0.5), `dark backgrounds ${JSON.stringify(decoded)}`);
        assert.ok(decoded.some((c) => c.red > 0.03) && decoded.some((c) => c.blue > 0.03), `red and blue strokes ${JSON.stringify(decoded)}`);
        await screenshot(page, `own-colour-${tag}`);
        lab.assertNoErrors();
      });
    });
  }

  describe(`${kind.title}: bad data brought to the page`, () => {
    let browser;
    let lab;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: false });
      lab = await openPage(browser.browser, `${server.url}?subset=2000,200`);
      await nextModel(lab, 0);
      await installMakers(lab.page);
    });
    after(async () => {
      await browser?.close();
    });

    /** Drops what `make` (run in the page) returns, imports it, and returns what the page said. */
    async function importing(make, args = []) {
      await lab.page.evaluate(() => performance.clearMarks('import-preview'));
      await lab.page.evaluate(async (source, args) => {
        const files = await new Function(`return (${source})`)()(window.testFiles, ...args);
        window.testFiles.drop(files);
      }, make.toString(), args);
      await lab.waitFor('#import-form');
      await lab.until(() => performance.getEntriesByName('import-preview').length > 0);
      await lab.page.click('#import-run');
      await lab.until(() => !document.querySelector('#import-progress') && !document.querySelector('#import-form') && document.querySelector('#import-said'), {
        timeout: READY_TIMEOUT,
      });
      return lab.text('#import-said');
    }

    test('a data set too large for a full storage quota is used for this visit, and said', async () => {
      // A real quota, as the model's test sets one: Chromium's per-origin override, Firefox's
      // temporary-storage limit (a pref, so a browser of its own). 1 MB holds no data set of
      // 8,000 images of 64 × 64 (4.1 MB).
      let quotaBrowser;
      let page;
      let full;
      if (kind.name === 'firefox') {
        quotaBrowser = await launchBrowser(kind, { webgpu: false, firefoxPrefs: { 'dom.quotaManager.temporaryStorage.fixedLimit': 1024 } });
        full = await openPage(quotaBrowser.browser, `${server.url}?subset=2000,200`);
      } else {
        full = await openPage(browser.browser, 'about:blank');
        const session = await full.page.createCDPSession();
        await session.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 1 << 20 });
        await full.page.goto(`${server.url}?subset=2000,200`);
      }
      try {
        ({ page } = full);
        await nextModel(full, 0);
        await installMakers(page);
        await page.evaluate(() => {
          const { npy, drop } = window.testFiles;
          // Seeded noise: nothing a browser's storage compresses away.
          let state = 12345;
          const pixels = new Uint8Array(8000 * 64 * 64).map(() => {
            state = (state * 1103515245 + 12345) >>> 0;
            return state >>> 31 ? 255 : 0;
          });
          drop([new File([npy("|u1", [8000, 64, 64], pixels)], 'noise.npy')]);
        });
        await full.waitFor('#import-form');
        await full.fill('#import-width', '64');
        await full.fill('#import-height', '64');
        await page.click('#import-run');
        await full.until(() => /Imported noise/.test(document.querySelector('#import-said')?.textContent ?? ''), { timeout: READY_TIMEOUT });
        assert.match(await full.text('#import-said'), /could not be kept in this browser \(this browser's storage for the page is full.*\): it lasts this visit only/);
        assert.match(await full.text('#data-sets li[data-id]:not([data-id="mnist"])'), /\(this visit only\)/);
        full.assertNoErrors();
      } finally {
        await full?.page.close();
        await quotaBrowser?.close();
      }
    });

    test('each is refused or skipped with its reason, and the data and the model stay', async () => {
      const built = await builds(lab.page);
      const said = [];
      // Nothing that is an image: no data set.
      said.push(await importing(() => [new File(['hello'], 'notes.txt'), new File(['x'], 'data.csv')]));
      assert.match(said.at(-1), /Not imported: no images found \(2 files skipped: data\.csv \(not an image/);
      // NaN in a float array.
      said.push(await importing(({ npy }) => [new File([npy('<f4', [2, 4, 4], new Float32Array(32).fill(0.5).fill(NaN, 7, 8))], 'floats.npy')]));
      assert.match(said.at(-1), /Not imported: .*floats\.npy.*NaN/);
      // More than 100,000 images.
      said.push(await importing(({ npy }) => [new File([npy('|u1', [100_001, 1, 1], new Uint8Array(100_001))], 'many.npy')]));
      assert.match(said.at(-1), /Not imported: many\.npy: .*100001 images; a data set holds at most 100000/);
      // A zip bomb: 300 MB of zeros in 300 kB of deflate, unpacked no further than its limit.
      said.push(
        await importing(async ({ zip }) => {
          const chunks = [];
          const compressor = new CompressionStream('deflate-raw');
          const writer = compressor.writable.getWriter();
          const reading = (async () => {
            for await (const chunk of compressor.readable) chunks.push(chunk);
          })();
          const zeros = new Uint8Array(1 << 20);
          for (let i = 0; i < 300; i++) await writer.write(zeros);
          await writer.close();
          await reading;
          const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
          return [new File([zip([{ name: 'zeros.npy', bytes, method: 8, size: 300 * (1 << 20), crc: 0 }])], 'bomb.zip')];
        }),
      );
      assert.match(said.at(-1), /Not imported: .*bomb\.zip.*zeros\.npy unpacks past 256 MB: a zip bomb/);
      // Each failure left the page as it was: MNIST in use, the same model, no new one built.
      assert.match(await lab.text('#data-summary'), /^MNIST: 2,000 training/);
      assert.equal(await builds(lab.page), built, said.join('\n'));
      assert.equal(await lab.count('#data-sets li.data-set'), 1);

      // A 20,000 × 20,000 image is refused by its header, and the rest imported; mixed sizes are
      // resized, and said.
      const text = await importing(async ({ shape, pngHeader }) => [
        new File([pngHeader(20_000, 20_000)], 'huge.png'),
        new File([await shape('bars', 0, 40, 40)], 'a.png'),
        new File([await shape('rings', 1, 30, 50)], 'b.png'),
      ]);
      assert.match(text, /Imported a and 2 more.*The images were of mixed sizes, from 30×50 to 40×40: all resized to 28×28\..*Skipped 1 file: huge\.png \(20000×20000 pixels, over the 50000000/);
      lab.assertNoErrors();
    });
  });
});
