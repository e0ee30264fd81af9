// The lab's browser benchmark: `node bench/browser.mjs [--browser chromium|firefox|both]
// [--dist DIR] [--engine webgpu|cpu]` after `trunk build --release`. Real headless browsers (Chromium: WebGPU via
// SwiftShader here; Firefox ESR: WebGPU via wgpu on lavapipe here; the GPU where there is one),
// the page as a visitor gets it, measured through its own User Timing entries and readouts:
//   - page weight (raw and gzip) and time to interactive (first decoded digit on screen);
//   - latent-slider latency, input event to the frame that shows the new digit, p50/p95, while
//     idle and while training; and one decode drawn (GPU decode + read back + canvas);
//   - training on the page against the engine alone, in turns, three rounds: a 15 s window of
//     the lab's step counter (no input meanwhile), then the engine benchmark page
//     (`?bench=step`: the same step without the UI) in another tab, which hides the lab and so
//     pauses it; the page's step over the engine's, per round, is the page's overhead, measured
//     within the same minute on a machine whose speed drifts;
//   - the main thread's time spent encoding a step, on the page and in the engine alone.
// With `--engine cpu` the browsers have WebGPU switched off and the lab runs on the CPU engine in
// its Web Worker: the same measures, against the CPU engine alone (`?bench=cpu`).
// Prints a Markdown table per browser and writes target/bench/browser[-cpu].json.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { benchBase, distDir, helpers, launchBrowser, openPage, serveDist, sleep } from '../e2e/harness.mjs';
import { marks, openLab, quantile, sliderLatency, trainingWindow, TIMEOUT } from './lab-measures.mjs';
import { option } from './args.mjs';

const which = option('browser', 'both');
const browsers = which === 'both' ? ['chromium', 'firefox'] : [which];
const dist = resolve(option('dist', distDir));
const onCpu = option('engine', 'webgpu') === 'cpu';
// `--simd 128`: the CPU worker without relaxed SIMD, to compare the two modules.
const simd128 = option('simd', 'best') === '128';
const median = (values) => quantile(values, 0.5);
const number = (value) => (value == null ? NaN : Number(value));
const round = (value, digits = 1) => Number(Number(value).toFixed(digits));
const round2 = (value) => round(value, 2);

async function pageWeight() {
  const files = {};
  // Recursive: wasm-bindgen's JS snippets sit in dist/snippets/.
  for (const name of await readdir(dist, { recursive: true })) {
    if (!(await stat(join(dist, name))).isFile()) continue;
    const bytes = await readFile(join(dist, name));
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

/** The engine benchmark in a tab beside the lab's (`context`: the lab's), which hides the lab. */
async function engineBench(browser, url, context) {
  const { page, until } = await openPage(browser, `${url}?bench=${onCpu ? 'cpu' : 'step'}`, { context });
  await page.bringToFront();
  await until(() => /^(done|failed)/.test(document.querySelector('#bench-status')?.dataset.status ?? ''), { timeout: 300_000 });
  const status = await page.$eval('#bench-status', (node) => node.dataset.status);
  if (status !== 'done') throw new Error(`engine benchmark ${status}`);
  const rows = await page.$$eval('.bench-row', (nodes) =>
    nodes.map((r) => ({ what: r.dataset.what, shape: r.dataset.shape, value: Number(r.dataset.value), unit: r.dataset.unit })),
  );
  await page.close();
  return rows;
}

async function measure(name, server) {
  const { browser, close } = await launchBrowser(name, { webgpu: !onCpu });
  try {
    const version = await browser.version();
    const { page, text, attr, until, context } = await openLab(browser, simd128 ? `${server.url}?simd=128` : server.url);
    const adapter = onCpu ? await text('#engine-name') : await text('#adapter-name');
    const route = onCpu ? null : await attr('#adapter', 'data-draw-route');
    const idle = await sliderLatency(page, 60, 120);

    await page.click('#train-start');
    await sleep(5_000); // past the first chunks' warm-up
    const rounds = [];
    let engine;
    for (let turn = 0; turn < 3; turn += 1) {
      const window = await trainingWindow(page, 15_000);
      engine = await engineBench(browser, server.url, context);
      const step = engine.find((r) => r.what === 'training step');
      rounds.push({ page: round2(window.msPerStep), engine: round2(step.value), ratio: round(window.msPerStep / step.value, 3) });
      // Shown again, the lab resumes by itself.
      await page.bringToFront();
      await until(() => document.querySelector('#phase').dataset.phase === 'Training', { timeout: TIMEOUT });
      await sleep(3_000);
    }
    const busy = await sliderLatency(page, 40, 250);
    const readout = {
      msPerStep: number(await attr('#speed', 'data-ms-per-step')),
      gpuMsPerStep: number(await attr('#speed', 'data-gpu-ms-per-step')),
      encodeMsPerStep: number(await attr('#speed', 'data-encode-ms-per-step')),
      dispatchesPerStep: number(await attr('#speed', 'data-dispatches-per-step')),
      text: await text('#speed'),
    };
    await page.click('#train-pause');
    await page.close();
    // Time to interactive: three fresh loads (each a new page; shaders compile each time).
    const loads = [];
    for (let i = 0; i < 3; i += 1) {
      const { page: fresh } = await openLab(browser, server.url);
      loads.push(await marks(fresh));
      await fresh.close();
    }
    const decode = engine.find((r) => r.what === 'decode one z');
    const encode = engine.find((r) => r.what === 'encode one step (CPU)');
    const single = engine.find((r) => r.what.startsWith('encode one step alone'));
    return {
      browser: `${name} ${version}`,
      adapter,
      drawRoute: route,
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
      training: {
        rounds,
        pageMsPerStep: median(rounds.map((r) => r.page)),
        engineMsPerStep: median(rounds.map((r) => r.engine)),
        ratio: median(rounds.map((r) => r.ratio)),
        readout,
      },
      engine: { decodeMs: decode?.value, encodeMsPerStep: encode?.value, encodeMsSingleStep: single?.value, rows: engine },
    };
  } finally {
    await close();
  }
}

const server = await serveDist({ dir: dist, base: benchBase(dist) });
try {
  const weight = await pageWeight();
  const results = { date: new Date().toISOString(), dist, pageWeightBytes: weight, browsers: [] };
  for (const name of browsers) results.browsers.push(await measure(name, server));
  await mkdir('target/bench', { recursive: true });
  await writeFile(`target/bench/browser${onCpu ? '-cpu' : ''}.json`, `${JSON.stringify(results, null, 2)}\n`);

  const kb = (bytes) => `${(bytes / 1000).toFixed(0)} kB`;
  const w = weight;
  console.log(`Browser benchmark, ${results.date}, ${dist}\n`);
  for (const r of results.browsers) {
    const t = r.training;
    console.log(`### ${r.browser}, adapter "${r.adapter}"${r.drawRoute ? `, digits drawn by ${r.drawRoute}` : ''}\n`);
    console.log('| measure | value |');
    console.log('|---|---|');
    console.log(`| training step on the page / engine alone (\`?bench=${onCpu ? 'cpu' : 'step'}\`), median of 3 alternated rounds | ${t.pageMsPerStep} / ${t.engineMsPerStep} ms: ratio ${t.ratio} (rounds: ${t.rounds.map((x) => `${x.page}/${x.engine}`).join(', ')}) |`);
    console.log(`| the page's readout | ${t.readout.text}; ${onCpu ? 'the worker' : 'GPU'} alone ${round(t.readout.gpuMsPerStep)} ms per step |`);
    if (!onCpu) console.log(`| main thread encoding one step: on the page; engine, 20 steps a submit; one step a submit with its fence | ${round(t.readout.encodeMsPerStep, 3)}; ${round(r.engine.encodeMsPerStep ?? NaN, 3)}; ${round(r.engine.encodeMsSingleStep ?? NaN, 3)} ms (${t.readout.dispatchesPerStep} dispatches a step) |`);
    console.log(`| decode one z, drawn, p50 / p95 | ${r.decodeDrawnMs.p50} / ${r.decodeDrawnMs.p95} ms |`);
    console.log(`| decode one z, engine alone | ${round(r.engine.decodeMs, 2)} ms |`);
    console.log(`| slider → frame, idle, p50 / p95 | ${r.sliderToFrameMs.idle.p50} / ${r.sliderToFrameMs.idle.p95} ms (n=${r.sliderToFrameMs.idle.n}) |`);
    console.log(`| slider → frame, while training, p50 / p95 | ${r.sliderToFrameMs.training.p50} / ${r.sliderToFrameMs.training.p95} ms (n=${r.sliderToFrameMs.training.n}) |`);
    console.log(`| time to interactive (first decoded digit), median of 3 | ${r.timeToInteractiveMs.firstDecodedDigit} ms (${r.timeToInteractiveMs.runs.join(', ')}) |`);
    console.log('');
  }
  console.log(`Page weight, gzip (raw): ${kb(w.total.gzip)} (${kb(w.total.raw)}): wasm ${kb(w.wasm.gzip)} (${kb(w.wasm.raw)}), JS ${kb(w.js.gzip)}, data ${kb(w.data.gzip)}, rest ${kb(w['html, css, icon'].gzip)}`);
} finally {
  await server.close();
}
