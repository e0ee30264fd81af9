// The latent-space views in every browser the suite runs, on the pretrained model: the map
// (a click moves the sliders to that digit's posterior mean), the information per latent (it sums
// to the test KL the curve reports), the manifold grid (its centre is the sliders' digit), the
// interpolation (its ends are the two digits' reconstructions), the drawing pad, β, and IWAE's K.
// The tests of each engine share one page (on 1,000 test images, `?subset`, a test-only setting),
// in this order: the views of the pretrained model, the pad, training, then β's fresh model and
// IWAE's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { elementScreenshot, forEachBrowser, launchBrowser, openPage, screenshot, serveDist } from './harness.mjs';

const READY_TIMEOUT = 90_000;
const SIDE = 28;

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

/** Grey levels (0-255) of cell (row, column) of a canvas of 28×28 digits. */
function cellGrey(page, selector, row, column) {
  return page.$eval(
    selector,
    (canvas, row, column, side) => {
      const data = canvas.getContext('2d').getImageData(column * side, row * side, side, side).data;
      const grey = [];
      for (let i = 0; i < data.length; i += 4) grey.push(data[i]);
      return grey;
    },
    row,
    column,
    SIDE,
  );
}

function largestDifference(a, b) {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** The sliders' z as the link holds it (every digit of each f32). */
function linkZ(page) {
  return page.evaluate(() => {
    const part = location.hash.slice(1).split('&').find((p) => p.startsWith('z='));
    return part ? part.slice(2).split(',').map(Number) : [];
  });
}

/** `selector`'s box in the viewport, scrolled into view first (mouse events need it there). */
async function boxOf(page, selector) {
  await page.$eval(selector, (node) => node.scrollIntoView({ block: 'center' }));
  return (await page.$(selector)).boundingBox();
}

const marks = (page, name) => page.evaluate((n) => performance.getEntriesByName(n).length, name);

// Every view on both engines: WebGPU, and the CPU engine in its worker (a browser without WebGPU).
const ENGINES = ['webgpu', 'cpu'];

forEachBrowser((kind) => {
  for (const engine of ENGINES) {
    const tag = engine === 'cpu' ? `${kind.name}-cpu` : kind.name;
    describe(`${kind.title}: the latent space${engine === 'cpu' ? ', on the CPU engine without WebGPU' : ''}`, () => {
      let browser;
      before(async () => {
        browser = await launchBrowser(kind, { webgpu: engine === 'webgpu' });
      });
      after(async () => {
        await browser?.close();
      });

      async function openViews() {
        const lab = await openPage(browser.browser, `${server.url}?subset=50000,1000`);
        await lab.until(() => document.querySelector('#latent-map')?.dataset.step !== undefined && document.querySelector('#kl-summary'), {
          timeout: READY_TIMEOUT,
        });
        assert.equal(await lab.attr('#engine', 'data-engine'), engine);
        // The interpolation and the grid draw after the map's posteriors are in.
        await lab.until(() => performance.getEntriesByName('interpolation-drawn').length > 0 && performance.getEntriesByName('grid-drawn').length > 0, {
          timeout: READY_TIMEOUT,
        });
        return lab;
      }

      /** Waits until the link's z differs from `before` and stops changing; returns it. */
      async function zAfter(lab, before) {
        await lab.until((b) => !location.hash.includes(`z=${b.join(',')}`) && location.hash.includes('z='), { timeout: 30_000 }, before);
        await new Promise((done) => setTimeout(done, 400));
        return linkZ(lab.page);
      }

      // Closed with its browser.
      let lab;
      before(async () => {
        lab = await openViews();
      });

      test('the map, the information per latent, the grid and the interpolation agree with the model', async () => {
        const { page } = lab;

        // Information per latent: the bars' KL sums to the test KL the evaluation reported.
        const total = Number(await lab.attr('#kl-summary', 'data-kl-total'));
        const reported = (await lab.attr('#test-elbo', 'data-kl-values')).split(',').map(Number).at(-1);
        console.log(`${tag}: per-latent KL sums to ${total}, the evaluation's KL ${reported}`);
        assert.ok(Math.abs(total - reported) < 2e-3 * reported, `${total} vs ${reported}`);
        const active = Number(await lab.attr('#kl-summary', 'data-active'));
        assert.ok(active > 0 && active <= 20, `${active} active latents`);
        assert.equal(await lab.count('.slider.inactive'), 20 - active);
        // Ordered by information, the first slider carries the most.
        await page.click('#order-by-kl');
        const kls = await page.$$eval('.slider', (nodes) => nodes.map((n) => Number(n.dataset.kl)));
        assert.deepEqual(kls, [...kls].sort((a, b) => b - a));
        // Each slider's strip is drawn (not blank paper).
        const strip = await cellGrey(page, `#strip-${kls.indexOf(Math.max(...kls))}`, 0, 0);
        assert.ok(Math.min(...strip) < 128, 'the strip has ink');

        // A click on test digit 4's point moves the sliders to its posterior mean: the same z as
        // encoding that digit through the Encode control (a separate GPU path).
        const [mx, my] = (await lab.attr('#latent-map', 'data-marks')).split(';')[3].split(',').map(Number);
        const box = await boxOf(page, '#latent-map');
        // Hovering shows that digit.
        await page.mouse.move(box.x + mx * box.width, box.y + my * box.height);
        await lab.until(() => !document.querySelector('#map-hover').classList.contains('hidden'), { timeout: 10_000 });
        assert.match(await lab.text('#map-hover'), /Test image 4 \(\d\)/);
        let z = await linkZ(page);
        await page.mouse.click(box.x + mx * box.width, box.y + my * box.height);
        const clicked = await zAfter(lab, z);
        await page.select('#digit-pick', '0');
        await page.click('#z-encode');
        z = await zAfter(lab, clicked);
        await page.select('#digit-pick', '3');
        await page.click('#z-encode');
        const encoded = await zAfter(lab, z);
        const zError = largestDifference(clicked, encoded);
        console.log(`${tag}: map click z vs encoded z, largest difference ${zError}`);
        assert.notDeepEqual(clicked, z, 'the click moved the sliders');
        assert.ok(zError < 1e-3, `${zError}`);

        // The grid's centre is the sliders' digit, once the grid has followed the sliders (a
        // refresh for the previous point may still land first, so wait for them to agree: a grid
        // centred anywhere else never does).
        const grids = await marks(page, 'grid-drawn');
        await page.click('#z-random');
        await lab.until((n) => performance.getEntriesByName('grid-drawn').length > n, { timeout: 30_000 }, grids);
        await lab.until(
          (side) => {
            const grey = (selector, x, y) => {
              const data = document.querySelector(selector).getContext('2d').getImageData(x, y, side, side).data;
              return Array.from({ length: side * side }, (_, i) => data[4 * i]);
            };
            const [a, b] = [grey('#manifold', 7 * side, 7 * side), grey('#decoded', 0, 0)];
            return a.every((v, i) => Math.abs(v - b[i]) <= 2) && Math.min(...b) < 128;
          },
          { timeout: 30_000, polling: 100 },
          SIDE,
        );
        const centre = await cellGrey(page, '#manifold', 7, 7);
        const decoded = await cellGrey(page, '#decoded', 0, 0);
        const gridError = largestDifference(centre, decoded);
        console.log(`${tag}: grid centre vs slider decode, largest grey difference ${gridError}`);
        assert.ok(gridError <= 2, `${gridError}`);
        // Another axis pair redraws it.
        await page.select('#grid-axes-kind', 'dimensions');
        await lab.until((n) => performance.getEntriesByName('grid-drawn').length > n + 1, { timeout: 30_000 }, grids);

        // The interpolation runs from test digit 1's reconstruction to test digit 2's (the
        // gallery's bottom row decodes the same posterior means).
        for (const [cell, column] of [[0, 0], [8, 1]]) {
          const end = await cellGrey(page, '#interpolation', 0, cell);
          const reconstruction = await cellGrey(page, '#reconstructions', 1, column);
          const error = largestDifference(end, reconstruction);
          console.log(`${tag}: interpolation cell ${cell} vs reconstruction ${column + 1}: ${error}`);
          assert.ok(error <= 3, `cell ${cell}: ${error}`);
        }
        // The scrubber shows the frames: its end is the strip's end.
        await page.$eval('#interp-scrub', (input) => {
          input.value = input.max;
          input.dispatchEvent(new Event('input', { bubbles: true }));
        });
        assert.ok(largestDifference(await cellGrey(page, '#interpolation-frame', 0, 0), await cellGrey(page, '#interpolation', 0, 8)) <= 1);

        await page.evaluate(() => window.scrollTo(0, document.querySelector('#latent-space').offsetTop));
        await screenshot(page, `${tag}-latent-views`);
        for (const view of ['map', 'grid', 'interpolation']) {
          await elementScreenshot(page, `.${view}-view`, `${tag}-latent-${view}`);
        }
        await elementScreenshot(page, '#explore', `${tag}-latent-information`);
        // On a phone the views stack, one column, nothing cut off.
        await page.setViewport({ width: 390, height: 844 });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone's screen`);
        await elementScreenshot(page, '#latent-space', `${tag}-latent-phone`);
        await page.setViewport({ width: 1280, height: 800 });
        lab.assertNoErrors();
      });

      test('a stroke on the pad moves the sliders and shows its reconstruction', async () => {
        const { page } = lab;
        const box = await boxOf(page, '#pad');
        const z = await linkZ(page);
        const before = await marks(page, 'pad-reconstructed');
        // A "1": a vertical stroke down the middle.
        await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
        await page.mouse.down();
        for (let k = 1; k <= 10; k += 1) {
          await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.2 + 0.06 * k));
        }
        await page.mouse.up();
        await lab.until((n) => performance.getEntriesByName('pad-reconstructed').length > n, { timeout: 30_000 }, before);
        const moved = await zAfter(lab, z);
        assert.notDeepEqual(moved, z);
        const reconstruction = await cellGrey(page, '#pad-reconstruction', 0, 0);
        const inked = reconstruction.filter((g) => g < 128).length;
        assert.ok(inked > 10 && inked < 400, `${inked} dark pixels in the reconstruction of a stroke`);
        await elementScreenshot(page, '.pad-view', `${tag}-latent-pad`);
        // The keyboard draws too: focus, pen down, a few steps.
        await page.click('#pad-clear');
        await page.focus('#pad');
        await page.keyboard.press('Enter');
        for (let k = 0; k < 6; k += 1) await page.keyboard.press('ArrowDown');
        assert.equal(await lab.attr('#pad', 'data-drawn'), 'true');
        lab.assertNoErrors();
      });

      test('views off-screen while training catch up with the model on Pause', async () => {
        const { page } = lab;
        const gridPixels = () => page.$eval('#manifold', (c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data));
        const offScreen = () => page.$eval('#manifold', (c) => c.getBoundingClientRect().top >= window.innerHeight || c.getBoundingClientRect().bottom <= 0);
        await page.click('#train-start');
        await page.evaluate(() => window.scrollTo(0, 0));
        assert.ok(await offScreen(), 'the grid should be below the first screen');
        const step = () => lab.attr('#step-count', 'data-step').then(Number);
        const from = await step();
        await lab.until((n) => Number(document.querySelector('#step-count').dataset.step) > n + 5, { timeout: READY_TIMEOUT }, from);
        const before = await gridPixels();
        const drawn = await marks(page, 'grid-drawn');
        await page.click('#train-pause');
        assert.ok(await offScreen());
        await lab.until((n) => performance.getEntriesByName('grid-drawn').length > n, { timeout: 30_000 }, drawn);
        await lab.until(() => document.querySelector('#phase')?.dataset.phase === 'Ready', { timeout: 30_000 });
        assert.ok(largestDifference(before, await gridPixels()) > 0, 'the grid shows the trained model');
        lab.assertNoErrors();
      });

      test('β other than 1 trains the β-objective and still reports the ELBO', async () => {
        const { page } = lab;
        await lab.fill('#beta', '0.5');
        await page.click('#train-reset');
        await lab.until(() => document.querySelector('#beta-note')?.dataset.klWeight === '0.5', { timeout: READY_TIMEOUT });
        await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: READY_TIMEOUT });
        await page.click('#train-start');
        await lab.until(() => Number(document.querySelector('#step-count').dataset.step) >= 5 && document.querySelector('#latest').textContent.includes('β-objective'), {
          timeout: READY_TIMEOUT,
        });
        await page.click('#train-pause');
        const latest = await lab.text('#latest');
        const [, elbo, bce, kl, objective] = latest.match(/−ELBO ([\d.]+) = BCE ([\d.]+) \+ KL ([\d.]+) nats · β-objective ([\d.]+)/).map(Number);
        assert.ok(Math.abs(elbo - (bce + kl)) < 0.2, latest);
        assert.ok(Math.abs(objective - (bce + 0.5 * kl)) < 0.2, latest);
        assert.match(await lab.text('#elbo-chart'), /β-objective/);
        // The link carries β, so a shared link trains the same objective.
        assert.match(await page.evaluate(() => location.hash), /beta=0\.5/);
        lab.assertNoErrors();
      });

      test('K above 1 trains the IWAE objective, says so, reports the ELBO, and the link carries K', async () => {
        const { page } = lab;
        // β is still 0.5 from the test before: IWAE's objective has no β, and the form says so.
        await lab.fill('#importance-samples', '5');
        await page.click('#train-reset');
        await lab.until(() => (document.querySelector('#importance-samples-error')?.textContent ?? '').includes('no β'), { timeout: 10_000 });
        // A small model: K = 5 runs the decoder over 160 rows a step.
        await lab.fill('#beta', '1');
        await lab.fill('#hidden', '64');
        await lab.fill('#batch', '32');
        await page.click('#train-reset');
        await lab.until(() => document.querySelector('#objective-note')?.dataset.importanceSamples === '5', { timeout: READY_TIMEOUT });
        await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: READY_TIMEOUT });
        assert.equal(await page.$('#beta-note'), null);
        assert.match(await lab.text('#objective-note'), /IWAE objective: the importance-weighted bound L_5 with K = 5 draws/);
        await page.click('#train-start');
        await lab.until(() => Number(document.querySelector('#step-count').dataset.step) >= 5 && document.querySelector('#latest').textContent.includes('−ELBO'), {
          timeout: READY_TIMEOUT,
        });
        await page.click('#train-pause');
        // The step reports the ELBO's terms, each averaged over the K draws.
        const latest = await lab.text('#latest');
        const [, elbo, bce, kl] = latest.match(/−ELBO ([\d.]+) = BCE ([\d.]+) \+ KL ([\d.]+) nats/).map(Number);
        assert.ok(Math.abs(elbo - (bce + kl)) < 0.2 && elbo < 600, latest);
        assert.match(await lab.text('#elbo-chart'), /training on IWAE's bound L_K/);
        await elementScreenshot(page, '#train', `iwae-train-panel-${tag}`);
        const hash = await page.evaluate(() => location.hash);
        assert.match(hash, /iw=5/);
        assert.doesNotMatch(hash, /beta=/);
        lab.assertNoErrors();
      });
    });
  }
});
