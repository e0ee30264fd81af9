// The model in every browser the suite runs: the pretrained start, Download and Open (a file
// input and a drop), a PyTorch-style state dict written by Python's `safetensors`, the autosave
// across a reload, the state in the link, and bad files that leave the model as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBrowser, launchBrowser, openPage, repo, screenshot, serveDist, sleep } from './harness.mjs';

const READY_TIMEOUT = 60_000;
// Pages score the first 1,000 test images (`?subset`, a test-only setting of the page), and
// `vae eval --test-images 1000` the same ones.
const SUBSET = '?subset=50000,1000';
const python =
  process.env.VAE_LAB_PYTHON ??
  join(process.env.CARGO_HOME ?? join(process.env.HOME, '.cargo'), 'vae-lab-tools', 'python', 'bin', 'python');
const vae = join(repo, 'target', 'debug', 'vae');

let server;
let work;
before(async () => {
  server = await serveDist();
  work = mkdtempSync(join(tmpdir(), 'vae-lab-model-'));
});
after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A safetensors file from `tensors` ({ name: { dtype, shape, bytes } }) and `metadata`. */
function safetensors(tensors, metadata) {
  const header = {};
  let offset = 0;
  for (const [name, { dtype, shape, bytes }] of Object.entries(tensors)) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  if (metadata) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json), ...Object.values(tensors).map((t) => t.bytes)]);
}

/** A state dict of the model's names and shapes for `hidden` and `latent`, every value `fill`. */
function stateDict({ hidden = 500, latent = 20, fill = 0.01, dtype = 'F32', rename } = {}) {
  const shapes = {
    'encoder.enc1.weight': [hidden, 784],
    'encoder.enc1.bias': [hidden],
    'encoder.mean_x.weight': [latent, hidden],
    'encoder.mean_x.bias': [latent],
    'encoder.logvar_x.weight': [latent, hidden],
    'encoder.logvar_x.bias': [latent],
    'decoder.dec1.weight': [hidden, latent],
    'decoder.dec1.bias': [hidden],
    'decoder.out.weight': [784, hidden],
    'decoder.out.bias': [784],
  };
  const tensors = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count).fill(fill);
    const bytes = dtype === 'I64' ? Buffer.alloc(count * 8) : Buffer.from(values.buffer);
    tensors[rename ? rename(name) : name] = { dtype, shape, bytes };
  }
  return safetensors(tensors, { format: 'pt' });
}

/** Grey levels of the decoded digit (0-255), from its canvas. */
function decodedGrey(page) {
  return page.$eval('#decoded', (canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const grey = [];
    for (let i = 0; i < data.length; i += 4) grey.push(data[i]);
    return grey;
  });
}

forEachBrowser((kind) => {
  describe(`${kind.title}: the model`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(kind, { webgpu: true });
    });
    after(async () => {
      await browser?.close();
    });

    /** Opens the page and waits for the first model's evaluation and a decoded digit. */
    async function openModel(url = `${server.url}${SUBSET}`, options = {}) {
      const opened = await openPage(browser.browser, url, options);
      await opened.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
        timeout: READY_TIMEOUT,
      });
      const decodes = () => opened.page.evaluate(() => performance.getEntriesByName('decoded').length);
      const testValues = async () => (await opened.attr('#test-elbo', 'data-values')).split(',').map(Number);
      const kindOf = () => opened.attr('#model-name', 'data-kind');
      /** Waits for a decode after `count` decodes, and returns the digit's grey levels. */
      const decodedAfter = async (count) => {
        await opened.until((n) => performance.getEntriesByName('decoded').length > n, { timeout: READY_TIMEOUT }, count);
        return decodedGrey(opened.page);
      };
      /** Waits for the model's message; returns its text. */
      const notice = async (pattern) => {
        await opened.until(
          (source) => new RegExp(source).test(document.querySelector('#model-notice')?.textContent ?? ''),
          { timeout: READY_TIMEOUT },
          pattern.source,
        );
        return opened.text('#model-notice');
      };
      /** Opens `path` through the Open button's file input. */
      const openFile = async (path) => {
        const input = await opened.page.$('#model-open');
        await input.uploadFile(path);
      };
      const step = async () => Number(await opened.attr('#step-count', 'data-step'));
      return { ...opened, decodes, testValues, kindOf, decodedAfter, notice, openFile, step };
    }

    /**
     * Trains until the step counter passes `steps`, then pauses, and waits for the autosave Pause
     * makes (its step is the model's last) and for the counter to show that step: the chunks
     * queued when Pause was pressed finish after it.
     */
    async function trainSome(lab, steps) {
      await lab.page.click('#train-start');
      await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) >= n, { timeout: 120_000 }, steps);
      await lab.pauseSettled(120_000);
    }

    // The pretrained model's page; the test after it opens its file on the same page (closed
    // with its browser).
    let firstPage;
    const first = async () => (firstPage ??= await openModel());

    test('opens on the pretrained model: a real digit first, its test −ELBO below 100 nats', async () => {
      const lab = await first();
      assert.equal(await lab.kindOf(), 'pretrained');
      assert.match(await lab.text('#model-detail'), /test −ELBO 98\.\d\d nats as made/);
      const [measured] = await lab.testValues();
      assert.ok(measured < 100, `the page measured ${measured} nats`);
      const grey = await decodedGrey(lab.page);
      // z = 0 decodes to the model's central digit: ink (a pixel more likely on than off) on
      // white paper. An untrained decoder gives a flat grey: every pixel's probability ≈ ½.
      const ink = grey.filter((g) => g < 128).length;
      const paper = grey.filter((g) => g > 230).length;
      const mean = grey.reduce((a, b) => a + b, 0) / grey.length;
      const sd = Math.sqrt(grey.reduce((a, g) => a + (g - mean) ** 2, 0) / grey.length);
      assert.ok(ink >= 30 && paper >= 400 && sd > 25, `ink ${ink}, paper ${paper}, sd ${sd.toFixed(1)}`);
      await screenshot(lab.page, `${kind.name}-pretrained`);
      // The measure tells the two apart: a fresh model's digit (Reset) at z = 0 is the flat grey.
      await lab.resetModel(READY_TIMEOUT);
      const count = await lab.decodes();
      await lab.page.click('#z-reset');
      const fresh = await lab.decodedAfter(count);
      const freshMean = fresh.reduce((a, b) => a + b, 0) / fresh.length;
      const freshSd = Math.sqrt(fresh.reduce((a, g) => a + (g - freshMean) ** 2, 0) / fresh.length);
      assert.ok(freshSd < 10 && fresh.filter((g) => g > 230).length < 50, `fresh model: sd ${freshSd.toFixed(1)}`);
      const firstDigit = await lab.page.evaluate(() => performance.getEntriesByName('decoded')[0].startTime);
      console.log(`${kind.name}: first digit at ${firstDigit.toFixed(0)} ms, contrast sd ${sd.toFixed(1)} (fresh model ${freshSd.toFixed(1)})`);
      assert.ok(firstDigit < 4000, `first digit after ${firstDigit} ms`);
      lab.assertNoErrors();
    });

    test('a state dict written by Python safetensors with {"format": "pt"}, dropped on the page, scores as vae eval does', async () => {
      const path = join(work, `${kind.name}-python-f16.safetensors`);
      execFileSync(python, [
        join(repo, 'tools', 'reference', 'roundtrip_numpy.py'),
        'perturb', join(repo, 'web', 'pretrained.safetensors'), path, '--seed', '8', '--as-torch', '--dtype', 'float16',
      ]);
      // The page's test images: the first 1,000 (SUBSET).
      const evaluated = execFileSync(vae, ['eval', path, '--test-images', '1000'], { encoding: 'utf8' });
      assert.match(evaluated, /on 1000 images/);
      const cli = Number(/test −ELBO ([\d.]+)/.exec(evaluated)[1]);
      // The page the test above left on a fresh model.
      const lab = await first();
      const base64 = readFileSync(path).toString('base64');
      // A drop carries a real File, as a drag from the desktop does.
      await lab.page.evaluate((data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'python-f16.safetensors'));
        window.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }, base64);
      await lab.notice(/Opened python-f16\.safetensors/);
      await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: READY_TIMEOUT });
      const [page] = await lab.testValues();
      console.log(`${kind.name}: Python-written state dict: page ${page}, vae eval ${cli}`);
      assert.ok(Math.abs(page - cli) < 0.05, `page ${page} vs vae eval ${cli}`);
      lab.assertNoErrors();
    });

    test('Download, then Open of that file, gives back the same model: step and decoded digit', async () => {
      const lab = await openModel();
      // Watches the page's own download link and reads the file it offers.
      await lab.page.evaluate(() => {
        document.addEventListener(
          'click',
          (event) => {
            const link = event.target;
            if (link instanceof HTMLAnchorElement && link.download) {
              window.downloaded = fetch(link.href)
                .then((response) => response.arrayBuffer())
                .then((buffer) => {
                  const bytes = new Uint8Array(buffer);
                  let binary = '';
                  for (let i = 0; i < bytes.length; i += 0x8000) {
                    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
                  }
                  return { name: link.download, base64: btoa(binary) };
                });
            }
          },
          true,
        );
      });
      await trainSome(lab, 3);
      const trainedStep = await lab.step();
      await lab.page.focus('#z-0');
      let count = await lab.decodes();
      await lab.page.keyboard.press('End');
      const trained = await lab.decodedAfter(count);
      await lab.page.click('#model-download');
      await lab.notice(/Downloaded vae-lab-step-\d+\.safetensors/);
      const file = await lab.page.evaluate(() => window.downloaded);
      assert.equal(file.name, `vae-lab-step-${trainedStep}.safetensors`);
      const path = join(work, `${kind.name}-${file.name}`);
      writeFileSync(path, Buffer.from(file.base64, 'base64'));
      // The CLI reads what the page wrote, at the page's step.
      const described = execFileSync(vae, ['eval', path, '--test-images', '1000'], { encoding: 'utf8' });
      assert.match(described, /test −ELBO \d+\.\d+/);

      // Another model in between (a fresh one decodes another digit), then the file.
      await lab.page.click('#train-reset');
      await lab.until(() => Number(document.querySelector('#test-elbo')?.dataset.values.split(',')[0]) > 300, {
        timeout: READY_TIMEOUT,
      });
      const fresh = await decodedGrey(lab.page);
      assert.notDeepEqual(fresh, trained);
      count = await lab.decodes();
      await lab.openFile(path);
      await lab.notice(/Opened/);
      const reopened = await lab.decodedAfter(count);
      assert.equal(await lab.kindOf(), 'file');
      assert.equal(await lab.step(), trainedStep);
      assert.deepEqual(reopened, trained);
      lab.assertNoErrors();
    });

    test('training, then a reload: the model, its step and its curve come back, and say so', async () => {
      const lab = await openModel();
      await trainSome(lab, 2);
      await lab.until(() => document.querySelector('#save-state').dataset.state === 'saved', { timeout: READY_TIMEOUT });
      const step = await lab.step();
      const points = await lab.page.evaluate(() => document.querySelectorAll('#elbo-chart path, #elbo-chart circle').length);
      const tests = await lab.attr('#test-elbo', 'data-values');
      await lab.page.reload();
      await lab.until(() => document.querySelector('#model-name')?.dataset.resumed === 'true', { timeout: READY_TIMEOUT });
      assert.equal(await lab.kindOf(), 'pretrained');
      await lab.notice(new RegExp(`Resumed your model from this browser at step ${step}`));
      assert.equal(await lab.attr('#save-state', 'data-step'), String(step));
      assert.match(await lab.text('#test-elbo'), /when loaded/);
      await lab.until((n) => document.querySelector('#step-count')?.dataset.step === String(n), { timeout: READY_TIMEOUT }, step);
      assert.equal(await lab.attr('#test-elbo', 'data-values'), tests);
      const after = await lab.page.evaluate(() => document.querySelectorAll('#elbo-chart path, #elbo-chart circle').length);
      assert.equal(after, points);
      // The gallery is drawn from the resumed model too.
      await lab.until(() => {
        const canvas = document.querySelector('#samples');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        return data.some((value, i) => i % 4 !== 3 && value < 128);
      }, { timeout: READY_TIMEOUT });
      await screenshot(lab.page, `${kind.name}-resumed`);
      // Forgotten, the next reload is the pretrained model again.
      await lab.page.click('#model-forget');
      await lab.notice(/forgotten/);
      await lab.page.reload();
      await lab.until(() => document.querySelector('#model-name')?.dataset.kind === 'pretrained', { timeout: READY_TIMEOUT });
      lab.assertNoErrors();
    });

    test('a link with the settings and z reopens the same digit; a hostile one is ignored with a message', async () => {
      const lab = await openModel();
      // From z = 0 (the model opens on a test digit's mean).
      await lab.page.click('#z-reset');
      await lab.until(() => [...document.querySelectorAll('.sliders input')].every((s) => Number(s.value) === 0));
      await lab.page.focus('#z-3');
      const count = await lab.decodes();
      for (let i = 0; i < 40; i += 1) await lab.page.keyboard.press('ArrowLeft');
      await lab.decodedAfter(count);
      await lab.until(() => location.hash.includes('z=0,0,0,-0.4'), { timeout: 10_000 });
      // Key presses are coalesced into decodes of the latest z: the digit is final once no
      // decode has come for a while.
      let seen;
      do {
        seen = await lab.decodes();
        await sleep(300);
      } while ((await lab.decodes()) !== seen);
      const original = await decodedGrey(lab.page);
      const link = await lab.page.evaluate(() => location.href);
      const again = await openModel(link);
      assert.equal(await again.value('#z-3'), '-0.4');
      await again.until(() => performance.getEntriesByName('decoded').length > 0);
      assert.deepEqual(await decodedGrey(again.page), original);

      const hostile = await openModel(`${server.url}${SUBSET}#z=${'9e99,'.repeat(30)}&lr=<script>`);
      await hostile.notice(/The link's settings were ignored/);
      assert.equal(await hostile.kindOf(), 'pretrained');
      lab.assertNoErrors();
      again.assertNoErrors();
      hostile.assertNoErrors();
    });

    test('each bad file gives its message and leaves the model decoding and training', async () => {
      const lab = await openModel();
      const good = readFileSync(join(repo, 'web', 'pretrained.safetensors'));
      const huge = Buffer.alloc(16);
      huge.writeBigUInt64LE(3n << 30n);
      const nan = stateDict({ fill: NaN });
      const cases = [
        ['not-safetensors.bin', Buffer.from('PK\u0003\u0004 this is a zip, not weights'), /not a safetensors file/],
        ['truncated.safetensors', good.subarray(0, good.length >> 1), /not a safetensors file/],
        ['huge-header.safetensors', huge, /not a safetensors file/],
        ['nan.safetensors', nan, /holds NaN/],
        ['int64.safetensors', stateDict({ dtype: 'I64' }), /I64: this build reads F32, F16 and BF16/],
        ['other-names.safetensors', stateDict({ rename: (n) => n.replace('encoder.', 'enc.') }), /missing: not a VAE state dict/],
        ['wide-input.safetensors', safetensors({ 'encoder.enc1.weight': { dtype: 'F32', shape: [2, 3], bytes: Buffer.alloc(24) }, 'encoder.mean_x.weight': { dtype: 'F32', shape: [1, 2], bytes: Buffer.alloc(8) } }), /takes 3 inputs/],
      ];
      for (const [name, bytes, message] of cases) {
        const path = join(work, `${kind.name}-${name}`);
        writeFileSync(path, bytes);
        await lab.openFile(path);
        const text = await lab.notice(message);
        assert.match(text, /unchanged/, `${name}: ${text}`);
        assert.equal(await lab.attr('#model-notice', 'data-error'), 'true');
        assert.equal(await lab.kindOf(), 'pretrained', name);
      }
      // 2 GB (a sparse file): refused by its size before a byte of it is read.
      const big = join(work, `${kind.name}-2GB.safetensors`);
      writeFileSync(big, '');
      truncateSync(big, 2 ** 31);
      await lab.openFile(big);
      assert.match(await lab.notice(/MB; a checkpoint of this lab is at most/), /2147\.5 MB/);
      // Other sizes: the visitor is asked first, and may keep the current model.
      const small = join(work, `${kind.name}-small.safetensors`);
      writeFileSync(small, stateDict({ hidden: 64, latent: 8 }));
      await lab.openFile(small);
      await lab.waitFor('#model-offer');
      assert.match(await lab.text('#model-offer'), /784 → 64 → 8 model; the current one is 784 → 500 → 20/);
      await lab.page.click('#offer-decline');
      assert.equal(await lab.count('#model-offer'), 0);
      assert.equal(await lab.count('.sliders input[type=range]'), 20);
      // Still the pretrained model, decoding and training.
      assert.equal(await lab.kindOf(), 'pretrained');
      await lab.page.focus('#z-0');
      const count = await lab.decodes();
      await lab.page.keyboard.press('Home');
      await lab.decodedAfter(count);
      await trainSome(lab, 1);
      await screenshot(lab.page, `${kind.name}-bad-file`);
      // And accepted, the sliders follow the file's latent size.
      await lab.openFile(small);
      await lab.waitFor('#offer-accept');
      await lab.page.click('#offer-accept');
      await lab.notice(/Opened/);
      await lab.until(() => document.querySelectorAll('.sliders input[type=range]').length === 8);
      assert.equal(await lab.value('#latent'), '8');
      lab.assertNoErrors();
    });

    test('a full storage quota: a message, and training goes on', async () => {
      // A real quota in each browser: Chromium's per-origin override (DevTools protocol),
      // Firefox's temporary-storage limit (a pref, so a browser of its own). 1 MB holds no
      // checkpoint of 9.8 MB.
      let quotaBrowser;
      let lab;
      if (kind.name === 'firefox') {
        quotaBrowser = await launchBrowser(kind, {
          webgpu: true,
          firefoxPrefs: { 'dom.quotaManager.temporaryStorage.fixedLimit': 1024 },
        });
        lab = await openPage(quotaBrowser.browser, `${server.url}${SUBSET}`);
      } else {
        lab = await openPage(browser.browser, 'about:blank');
        const session = await lab.page.createCDPSession();
        await session.send('Storage.overrideQuotaForOrigin', {
          origin: new URL(server.url).origin,
          quotaSize: 1 << 20,
        });
        await lab.page.goto(`${server.url}${SUBSET}&engine=webgpu`);
      }
      try {
        await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', {
          timeout: READY_TIMEOUT,
        });
        await lab.page.click('#train-start');
        await lab.until(() => Number(document.querySelector('#step-count').dataset.step) >= 1, { timeout: 120_000 });
        await lab.page.click('#train-pause');
        await lab.until(() => document.querySelector('#save-state').dataset.state === 'failed', { timeout: READY_TIMEOUT });
        assert.match(await lab.text('#save-state'), /storage for the page is full/);
        const step = Number(await lab.attr('#step-count', 'data-step'));
        await lab.page.click('#train-start');
        await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) > n, { timeout: 120_000 }, step);
        await lab.page.click('#train-pause');
        lab.assertNoErrors();
      } finally {
        await quotaBrowser?.close();
      }
    });

    test('a browser that refuses storage: a message, and training goes on', async () => {
      const lab = await openModel(undefined, {
        beforeLoad: () => {
          Object.defineProperty(window, 'indexedDB', {
            get() {
              throw new DOMException('The user denied permission to access the database.', 'SecurityError');
            },
          });
        },
      });
      await lab.page.click('#train-start');
      await lab.until(() => Number(document.querySelector('#step-count').dataset.step) >= 1, { timeout: 120_000 });
      await lab.page.click('#train-pause');
      await lab.until(() => document.querySelector('#save-state').dataset.state === 'failed', { timeout: READY_TIMEOUT });
      assert.match(await lab.text('#save-state'), /does not let the page store data/);
      await lab.page.click('#train-start');
      const step = await lab.step();
      await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) > n, { timeout: 120_000 }, step);
      await lab.page.click('#train-pause');
      lab.assertNoErrors();
    });
  });
});
