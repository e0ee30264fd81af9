// Where the slider's tail comes from while training: every slider → frame and decode-drawn
// measure with its start, in order, beside the step counter.
//   node bench/probe/slider-tail.mjs [--browser chromium|firefox] [--engine webgpu|cpu] [--presses 40] [--gap 250]
import { resolve } from 'node:path';
import { benchBase, distDir, launchBrowser, serveDist, sleep } from '../../e2e/harness.mjs';
import { openLab, quantile } from '../lab-measures.mjs';
import { option } from '../args.mjs';

const dist = resolve(option('dist', distDir));
const name = option('browser', 'chromium');
const onCpu = option('engine', 'webgpu') === 'cpu';
const presses = Number(option('presses', '40'));
const gap = Number(option('gap', '250'));
const idle = process.argv.includes('--idle');
const server = await serveDist({ dir: dist, base: benchBase(dist) });
const { browser, close } = await launchBrowser(name, { webgpu: !onCpu });
try {
  const { page } = await openLab(browser, server.url);
  if (!idle) {
    await page.click('#train-start');
    await sleep(5_000);
  }
  await page.evaluate(() => performance.clearMeasures());
  await page.focus('#z-1');
  const steps = [];
  for (let i = 0; i < presses; i += 1) {
    steps.push(await page.evaluate(() => [performance.now(), Number(document.querySelector('#step-count')?.dataset.step)]));
    await page.keyboard.press(i % 40 < 20 ? 'ArrowRight' : 'ArrowLeft');
    await sleep(gap);
  }
  await sleep(500);
  const entries = await page.evaluate(() => performance.getEntriesByType('measure').map((m) => [m.name, m.startTime, m.duration]));
  const frames = entries.filter((e) => e[0] === 'slider-to-frame');
  const drawn = entries.filter((e) => e[0] === 'decode-drawn');
  const t0 = steps[0][0];
  for (const [n, start, d] of entries) {
    const step = steps.filter((s) => s[0] <= start).at(-1)?.[1];
    console.log(`${n.padEnd(16)} at ${(start - t0).toFixed(0).padStart(6)} ms  ${d.toFixed(1).padStart(7)} ms  step ${step}`);
  }
  const q = (xs, p) => quantile(xs.map((e) => e[2]), p).toFixed(1);
  console.log(`slider-to-frame p50 ${q(frames, 0.5)} p95 ${q(frames, 0.95)} max ${q(frames, 1)} n ${frames.length}`);
  console.log(`decode-drawn p50 ${q(drawn, 0.5)} p95 ${q(drawn, 0.95)} max ${q(drawn, 1)} n ${drawn.length}`);
  console.log(`steps ${steps[0][1]} -> ${steps.at(-1)[1]}`);
} finally {
  await close();
  await server.close();
}
