// One CPU worker against two sharing each batch, on the lab page itself: `node bench/workers.mjs
// [--browser chromium|firefox|both] [--dist DIR] [--rounds N]` after `trunk build --release`.
// The browsers have WebGPU switched off, so the lab trains on the CPU engine. Each round opens
// the lab with `?workers=1` and then `?workers=2` (a fresh page each), starts training, and after
// a 5 s warm-up counts the steps of a 15 s window; the first round also moves a slider while
// training. The ratio of the two, per round, is measured within the same minute on a machine
// whose speed drifts. Prints a Markdown table and writes target/bench/workers.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { benchBase, distDir, launchBrowser, serveDist, sleep } from '../e2e/harness.mjs';
import { openLab, quantile, sliderLatency, trainingWindow } from './lab-measures.mjs';
import { option } from './args.mjs';

const which = option('browser', 'both');
const browsers = which === 'both' ? ['chromium', 'firefox'] : [which];
const dist = resolve(option('dist', distDir));
const roundCount = Number(option('rounds', '3'));
const median = (values) => quantile(values, 0.5);
const round = (value, digits = 2) => Number(Number(value).toFixed(digits));

async function trainOn(browser, url, workers, withSlider) {
  const { page, text, context } = await openLab(browser, `${url}?workers=${workers}`);
  try {
    const engine = await text('#engine-name');
    await page.click('#train-start');
    await sleep(5_000);
    const window = await trainingWindow(page, 15_000);
    const slider = withSlider ? await sliderLatency(page, 40, 250) : null;
    await page.click('#train-pause');
    return {
      engine,
      msPerStep: round(window.msPerStep),
      sliderWhileTraining: slider && {
        p50: round(quantile(slider.frame, 0.5), 1),
        p95: round(quantile(slider.frame, 0.95), 1),
        n: slider.frame.length,
      },
    };
  } finally {
    await context.close();
  }
}

async function measure(name, server) {
  const { browser, close } = await launchBrowser(name, { webgpu: false });
  try {
    const version = await browser.version();
    const cores = await (async () => {
      const { page, context } = await openLab(browser, `${server.url}?workers=1`);
      const n = await page.evaluate(() => navigator.hardwareConcurrency);
      await context.close();
      return n;
    })();
    const rounds = [];
    for (let turn = 0; turn < roundCount; turn += 1) {
      const one = await trainOn(browser, server.url, 1, turn === 0);
      const two = await trainOn(browser, server.url, 2, turn === 0);
      rounds.push({ one, two, speedup: round(one.msPerStep / two.msPerStep, 3) });
      console.error(`${name} round ${turn + 1}: one worker ${one.msPerStep} ms a step, two ${two.msPerStep} ms`);
    }
    return {
      browser: `${name} ${version}`,
      hardwareConcurrency: cores,
      engines: [rounds[0].one.engine, rounds[0].two.engine],
      rounds,
      oneMsPerStep: median(rounds.map((r) => r.one.msPerStep)),
      twoMsPerStep: median(rounds.map((r) => r.two.msPerStep)),
      speedup: median(rounds.map((r) => r.speedup)),
    };
  } finally {
    await close();
  }
}

const server = await serveDist({ dir: dist, base: benchBase(dist) });
try {
  const results = { date: new Date().toISOString(), dist, browsers: [] };
  for (const name of browsers) results.browsers.push(await measure(name, server));
  await mkdir('target/bench', { recursive: true });
  await writeFile('target/bench/workers.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log(`CPU workers on the lab page, ${results.date}\n`);
  console.log('| browser (logical cores) | one worker, ms a step | two workers, ms a step | speed-up, median of rounds (rounds) | slider → frame while training, p50 / p95: one, two |');
  console.log('|---|---|---|---|---|');
  for (const r of results.browsers) {
    const [a, b] = [r.rounds[0].one.sliderWhileTraining, r.rounds[0].two.sliderWhileTraining];
    console.log(`| ${r.browser} (${r.hardwareConcurrency}) | ${r.oneMsPerStep} | ${r.twoMsPerStep} | ${r.speedup}× (${r.rounds.map((x) => x.speedup).join(', ')}) | ${a.p50} / ${a.p95}; ${b.p50} / ${b.p95} ms |`);
  }
} finally {
  await server.close();
}
