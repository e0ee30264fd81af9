// A long run in the page, watched for leaks (not part of CI): `node bench/soak.mjs [--browser
// chromium|firefox|both] [--minutes 30] [--dist DIR]` after `trunk build --release`. Trains from
// the page's Train button for the given time in each browser and samples every minute:
//   - the browser's resident memory (every process of it, from /proc), and in Chromium also the
//     JS heap after a collection (CDP) — Firefox's BiDi offers no heap figure;
//   - the page's WebAssembly memory (the module's linear memory, which holds the engine's state);
//   - the GPU buffers the engine holds: created minus gone, counted by wrapping the page's
//     GPUDevice.createBuffer before its scripts run; a buffer is gone once destroyed or garbage
//     collected (a FinalizationRegistry; wgpu's WebGPU backend leaves dropped buffers to the
//     collector, which Chromium runs before each sample and Firefox when it chooses);
//   - ms per step over that minute, training only (the page's own running average over its
//     training chunks, which leaves out the test-set evaluation at each epoch's end), and with
//     the evaluations (wall clock over steps).
// Flat means each figure's median over the last five minutes is under 5% above its median over
// minutes 2-6. Prints a Markdown table per browser and writes target/bench/soak-BROWSER.json
// (`--from FILE` summarises such a file again). Browsers with --browser both run one after the
// other.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { benchBase, distDir, launchBrowser, openPage, serveDist, sleep } from '../e2e/harness.mjs';
import { option } from './args.mjs';

const which = option('browser', 'both');
const browsers = which === 'both' ? ['chromium', 'firefox'] : [which];
const minutes = Number(option('minutes', '30'));
const dist = resolve(option('dist', distDir));
const GROWTH_LIMIT = 0.05;
const REFERENCE_MINUTE = 2;
const WINDOW = 5;

/** Runs in the page before its scripts: counts live GPU buffers, finds the wasm memory. */
function instrument() {
  // wgpu's WebGPU backend never calls destroy(): a buffer the engine drops is released to the
  // garbage collector, so a buffer counts as gone once destroyed or collected.
  window.soak = { created: 0, gone: 0, memory: null };
  const collected = new FinalizationRegistry((state) => {
    if (!state.gone) window.soak.gone += 1;
  });
  if (typeof GPUDevice !== 'undefined') {
    const create = GPUDevice.prototype.createBuffer;
    GPUDevice.prototype.createBuffer = function (descriptor) {
      window.soak.created += 1;
      const buffer = create.call(this, descriptor);
      const state = { gone: false };
      collected.register(buffer, state);
      const destroy = buffer.destroy;
      buffer.destroy = function () {
        if (!state.gone) window.soak.gone += 1;
        state.gone = true;
        return destroy.call(this);
      };
      return buffer;
    };
  }
  const keep = (result) => {
    const instance = result.instance ?? result;
    for (const value of Object.values(instance.exports ?? {})) {
      if (value instanceof WebAssembly.Memory) window.soak.memory = value;
    }
    return result;
  };
  const streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = (...a) => streaming(...a).then(keep);
  const plain = WebAssembly.instantiate;
  WebAssembly.instantiate = (...a) => plain(...a).then(keep);
}

/** Resident memory of `pid` and all its descendants, in bytes. */
async function residentBytes(pid) {
  const children = new Map();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(Number(name));
    } catch {
      // The process ended meanwhile.
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const at = stack.pop();
    try {
      const status = await readFile(`/proc/${at}/status`, 'utf8');
      const rss = /VmRSS:\s+(\d+) kB/.exec(status);
      if (rss) total += Number(rss[1]) * 1024;
    } catch {
      continue;
    }
    stack.push(...(children.get(at) ?? []));
  }
  return total;
}

async function soak(name, server) {
  const browser = await launchBrowser(name, { webgpu: true });
  try {
    const lab = await openPage(browser.browser, server.url, { beforeLoad: instrument });
    const { page } = lab;
    await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: 120_000 });
    const cdp = name === 'chromium' ? await page.createCDPSession() : null;
    if (cdp) await cdp.send('Performance.enable');
    const pid = browser.browser.process()?.pid;
    const sample = async () => {
      const page_ = await page.evaluate(() => ({
        step: Number(document.querySelector('#step-count')?.dataset.step ?? 0),
        // The page's own average over its training chunks (evaluations excluded).
        trainMsPerStep: Number(document.querySelector('#speed')?.dataset.msPerStep ?? NaN),
        buffers: window.soak.created - window.soak.gone,
        created: window.soak.created,
        wasm: window.soak.memory?.buffer.byteLength ?? null,
        phase: document.querySelector('#phase')?.dataset.phase,
        epochs: (document.querySelector('#test-elbo')?.dataset.values ?? '').split(',').length,
      }));
      let heap = null;
      if (cdp) {
        // After a collection: what is still referenced, not what awaits the collector.
        await cdp.send('HeapProfiler.collectGarbage');
        const { metrics } = await cdp.send('Performance.getMetrics');
        heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? null;
      }
      return { at: Date.now(), ...page_, heap, resident: pid ? await residentBytes(pid) : null };
    };
    await page.click('#train-start');
    const samples = [await sample()];
    console.log(`${name}: training for ${minutes} min; buffers at start ${samples[0].buffers}`);
    for (let minute = 1; minute <= minutes; minute += 1) {
      await sleep(60_000 - ((Date.now() - samples[0].at) % 60_000));
      const now = await sample();
      const before = samples[samples.length - 1];
      now.minute = minute;
      // That minute's training time per step: from the page's running average, so the test-set
      // evaluations at epoch ends (a minute holds two or three on a fast device) do not count.
      const trained = (s) => s.trainMsPerStep * s.step;
      now.msPerStep = (trained(now) - trained(before)) / Math.max(1, now.step - before.step);
      now.wallMsPerStep = (now.at - before.at) / Math.max(1, now.step - before.step);
      samples.push(now);
      const mb = (v) => (v == null ? '–' : (v / 2 ** 20).toFixed(1));
      console.log(
        `${name} min ${minute}: step ${now.step} (${now.phase}, ${now.epochs - 1} epochs), ${now.msPerStep.toFixed(1)} ms/step ` +
          `(${now.wallMsPerStep.toFixed(1)} with evaluations), ` +
          `buffers ${now.buffers} (${now.created} made), wasm ${mb(now.wasm)} MB, heap ${mb(now.heap)} MB, resident ${mb(now.resident)} MB`,
      );
      if (now.phase !== 'Training') throw new Error(`${name}: training stopped (${now.phase}) at minute ${minute}`);
    }
    lab.assertNoErrors();
    return samples;
  } finally {
    await browser.close();
  }
}

const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
};

/**
 * Each figure's median over minutes 2–6 against its median over the last five minutes: a drift
 * that a leak makes, robust to one minute that held an evaluation or a collection.
 */
function summarise(name, samples, minutes) {
  const measured = samples.filter((s) => s.minute >= REFERENCE_MINUTE);
  const early = measured.slice(0, WINDOW);
  const late = measured.slice(-WINDOW);
  const last = samples[samples.length - 1];
  const rows = [
    ['GPU buffers held', 'buffers', (v) => String(Math.round(v))],
    ['WebAssembly memory (MB)', 'wasm', (v) => (v / 2 ** 20).toFixed(1)],
    ['JS heap used (MB)', 'heap', (v) => (v / 2 ** 20).toFixed(2)],
    ['browser resident memory (MB)', 'resident', (v) => (v / 2 ** 20).toFixed(0)],
    ['ms per step, training', 'msPerStep', (v) => v.toFixed(1)],
    ['ms per step, with evaluations', 'wallMsPerStep', (v) => v.toFixed(1)],
  ];
  const lines = [
    `### ${name}: ${minutes} min of training, ${last.step} steps`,
    '',
    `| figure | minutes ${REFERENCE_MINUTE}–${REFERENCE_MINUTE + WINDOW - 1} (median) | last ${WINDOW} minutes (median) | highest after minute ${REFERENCE_MINUTE} | growth | flat (< 5%) |`,
    '|---|---|---|---|---|---|',
  ];
  let flat = true;
  for (const [label, key, show] of rows) {
    if (measured.some((s) => s[key] == null)) continue;
    const before = median(early.map((s) => s[key]));
    const after = median(late.map((s) => s[key]));
    const growth = after / before - 1;
    const ok = growth < GROWTH_LIMIT;
    flat &&= ok;
    lines.push(
      `| ${label} | ${show(before)} | ${show(after)} | ${show(Math.max(...measured.map((s) => s[key])))} | ${(growth * 100).toFixed(1)}% | ${ok ? 'yes' : '**no**'} |`,
    );
  }
  return { text: lines.join('\n'), flat };
}

// `--from FILE`: summarise a run written before, without running one.
const from = option('from', null);
if (from) {
  const { minutes: ran, samples } = JSON.parse(await readFile(from, 'utf8'));
  const { text, flat } = summarise(from, samples, ran);
  console.log(text);
  process.exit(flat ? 0 : 1);
}

const server = await serveDist({ dir: dist, base: benchBase(dist) });
let allFlat = true;
try {
  await mkdir('target/bench', { recursive: true });
  for (const name of browsers) {
    const samples = await soak(name, server);
    await writeFile(join('target/bench', `soak-${name}.json`), JSON.stringify({ minutes, samples }, null, 2));
    const { text, flat } = summarise(name, samples, minutes);
    allFlat &&= flat;
    console.log(`\n${text}\n`);
  }
} finally {
  await server.close();
}
process.exit(allFlat ? 0 : 1);
