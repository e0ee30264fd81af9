// The lab's browser benchmark: `node bench/browser.mjs` after `trunk build --release`.
// Real headless Chromium (WebGPU via SwiftShader here, the GPU where there is one), the page as
// a visitor gets it, measured through its own User Timing entries and readouts:
//   - page weight (raw and gzip) and time to interactive (first decoded digit on screen);
//   - latent-slider latency, input event to the frame that shows the new digit, p50/p95, while
//     idle and while training; and one decode drawn (GPU decode + read back + canvas);
//   - training on the page: ms per step and images/s;
//   - the engine benchmark page (`?bench`): the same step and kernels without the UI.
// Prints a Markdown table and writes target/bench/browser.json.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { distDir, launchChromium, openPage, serveDist } from '../e2e/harness.mjs';

const TIMEOUT = 120_000;
const quantile = (values, q) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (values) => quantile(values, 0.5);
const round = (value, digits = 1) => Number(value.toFixed(digits));

async function pageWeight() {
  const files = {};
  // Recursive: wasm-bindgen's JS snippets sit in dist/snippets/.
  for (const name of await readdir(distDir, { recursive: true })) {
    if (!(await stat(join(distDir, name))).isFile()) continue;
    const bytes = await readFile(join(distDir, name));
    // The shard ships gzip-compressed already; everything else a server would gzip.
    const gzip = name.endsWith('.gz') ? bytes.length : gzipSync(bytes, { level: 9 }).length;
    const kind = name.endsWith('.wasm') ? 'wasm' : name.endsWith('.js') ? 'js'
      : name.endsWith('.gz') ? 'data' : 'html, css, icon';
    files[kind] ??= { raw: 0, gzip: 0 };
    files[kind].raw += bytes.length;
    files[kind].gzip += gzip;
  }
  const total = Object.values(files).reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip }), { raw: 0, gzip: 0 });
  return { ...files, total };
}

async function openLab(browser, url) {
  const opened = await openPage(browser, url);
  await opened.page.waitForFunction(
    () => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '',
    null,
    { timeout: TIMEOUT },
  );
  return opened;
}

const marks = (page) =>
  page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])));

/** Moves a slider `count` times with real key presses, `gap` ms apart; returns the measures. */
async function sliderLatency(page, count, gap) {
  await page.evaluate(() => performance.clearMeasures());
  const slider = page.locator('#z-1');
  await slider.focus();
  for (let i = 0; i < count; i += 1) {
    await page.keyboard.press(i % 40 < 20 ? 'ArrowRight' : 'ArrowLeft');
    await page.waitForTimeout(gap);
  }
  await page.waitForTimeout(500);
  return page.evaluate(() => ({
    frame: performance.getEntriesByName('slider-to-frame').map((m) => m.duration),
    drawn: performance.getEntriesByName('decode-drawn').map((m) => m.duration),
  }));
}

async function engineBench(browser, url) {
  const { page } = await openPage(browser, `${url}?bench`);
  await page.waitForFunction(
    () => /^(done|failed)/.test(document.querySelector('#bench-status')?.dataset.status ?? ''),
    null,
    { timeout: 300_000 },
  );
  const status = await page.locator('#bench-status').getAttribute('data-status');
  if (status !== 'done') throw new Error(`engine benchmark ${status}`);
  const rows = await page.locator('.bench-row').evaluateAll((rows) =>
    rows.map((r) => ({ what: r.dataset.what, shape: r.dataset.shape, value: Number(r.dataset.value), unit: r.dataset.unit })),
  );
  await page.close();
  return rows;
}

const server = await serveDist();
const { browser, close } = await launchChromium({ webgpu: true });
try {
  const version = browser.version();
  const weight = await pageWeight();

  // Time to interactive: three fresh loads (each a new page; shaders compile each time).
  const loads = [];
  for (let i = 0; i < 3; i += 1) {
    const { page } = await openLab(browser, server.url);
    loads.push(await marks(page));
    await page.close();
  }
  const { page } = await openLab(browser, server.url);
  const adapter = await page.locator('#adapter-name').textContent();
  const idle = await sliderLatency(page, 60, 120);

  await page.locator('#train-start').click();
  await page.waitForTimeout(5_000); // past the first chunks' warm-up
  const busy = await sliderLatency(page, 40, 250);
  await page.waitForTimeout(10_000);
  const speed = await page.locator('#speed').getAttribute('data-ms-per-step');
  const imagesText = await page.locator('#speed').textContent();
  await page.locator('#train-pause').click();
  await page.close();

  const engine = await engineBench(browser, server.url);
  const results = {
    date: new Date().toISOString(),
    browser: `Chromium ${version}`,
    adapter,
    pageWeightBytes: weight,
    timeToInteractiveMs: {
      labReady: round(median(loads.map((m) => m['lab-ready']))),
      firstDecodedDigit: round(median(loads.map((m) => m.decoded))),
      runs: loads.map((m) => round(m.decoded)),
    },
    sliderToFrameMs: {
      idle: { p50: round(quantile(idle.frame, 0.5)), p95: round(quantile(idle.frame, 0.95)), n: idle.frame.length },
      training: { p50: round(quantile(busy.frame, 0.5)), p95: round(quantile(busy.frame, 0.95)), n: busy.frame.length },
    },
    decodeDrawnMs: { p50: round(quantile(idle.drawn, 0.5), 2), p95: round(quantile(idle.drawn, 0.95), 2), n: idle.drawn.length },
    trainingOnPage: { msPerStep: round(Number(speed)), readout: imagesText },
    engine,
  };
  await mkdir('target/bench', { recursive: true });
  await writeFile('target/bench/browser.json', `${JSON.stringify(results, null, 2)}\n`);

  const kb = (bytes) => `${(bytes / 1000).toFixed(0)} kB`;
  const w = weight;
  const step = engine.find((r) => r.what === 'training step');
  const decode = engine.find((r) => r.what === 'decode one z');
  console.log(`Browser benchmark — ${results.browser}, adapter "${adapter}", ${results.date}\n`);
  console.log('| measure | value |');
  console.log('|---|---|');
  console.log(`| training step on the page (batch 128) | ${results.trainingOnPage.msPerStep} ms (${imagesText}) |`);
  console.log(`| training step, engine alone (\`?bench\`) | ${round(step.value)} ms |`);
  console.log(`| decode one z, drawn (GPU + read back + canvas), p50 / p95 | ${results.decodeDrawnMs.p50} / ${results.decodeDrawnMs.p95} ms |`);
  console.log(`| decode one z, engine alone | ${round(decode.value, 2)} ms |`);
  console.log(`| slider → frame, idle, p50 / p95 | ${results.sliderToFrameMs.idle.p50} / ${results.sliderToFrameMs.idle.p95} ms (n=${idle.frame.length}) |`);
  console.log(`| slider → frame, while training, p50 / p95 | ${results.sliderToFrameMs.training.p50} / ${results.sliderToFrameMs.training.p95} ms (n=${busy.frame.length}) |`);
  console.log(`| time to interactive (first decoded digit), median of 3 | ${results.timeToInteractiveMs.firstDecodedDigit} ms (${results.timeToInteractiveMs.runs.join(', ')}) |`);
  console.log(`| page weight, gzip (raw) | ${kb(w.total.gzip)} (${kb(w.total.raw)}): wasm ${kb(w.wasm.gzip)} (${kb(w.wasm.raw)}), JS ${kb(w.js.gzip)}, data ${kb(w.data.gzip)}, rest ${kb(w['html, css, icon'].gzip)} |`);
  console.log('\nEngine kernels on this adapter (`?bench`):\n');
  console.log('| kernel | shape | value |');
  console.log('|---|---|---|');
  for (const row of engine.filter((r) => r.unit === 'GFLOP/s')) {
    console.log(`| ${row.what} | ${row.shape} | ${round(row.value, 2)} GFLOP/s |`);
  }
} finally {
  await close();
  await server.close();
}
