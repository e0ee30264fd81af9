// Where the page's main thread spends its start-up, as Lighthouse's mobile profile sees it:
//   node bench/probe/profile-start.mjs [--dist DIR] [--slowdown 4] [--after MS]
// Headless Chromium without WebGPU (as Lighthouse's), the CPU slowed `--slowdown` times, V8's
// sampling profiler from navigation until `--after` ms past the lab's first test evaluation. It
// prints the long tasks (over 50 ms: what the total blocking time sums) with the functions that
// ran most in each, by self time. Function names need a build that keeps the wasm's name
// section (index.html's `data-wasm-opt="0"` for vae-app, into another dist).
import { resolve } from 'node:path';
import { benchBase, distDir, launchBrowser, serveDist } from '../../e2e/harness.mjs';
import { option } from '../args.mjs';

const dist = resolve(option('dist', distDir));
const slowdown = Number(option('slowdown', '4'));
const after = Number(option('after', '3000'));
const server = await serveDist({ dir: dist, base: benchBase(dist) });
const { browser, close } = await launchBrowser('chromium', { webgpu: false });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 412, height: 823 });
  const session = await page.createCDPSession();
  await session.send('Emulation.setCPUThrottlingRate', { rate: slowdown });
  await page.evaluateOnNewDocument(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longTasks.push([entry.startTime, entry.duration]);
    }).observe({ type: 'longtask', buffered: true });
    window.largestPaints = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const node = entry.element;
        const what = node ? `<${node.tagName.toLowerCase()}${node.id ? ` id=${node.id}` : ''}${node.className ? ` class="${node.className}"` : ''}> ${(node.textContent ?? '').trim().slice(0, 60)}` : '(removed)';
        window.largestPaints.push([entry.startTime, entry.size, what]);
      }
    }).observe({ type: 'largest-contentful-paint', buffered: true });
  });
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 250 });
  await session.send('Profiler.start');
  const started = Date.now();
  await page.goto(server.url);
  await page.waitForFunction(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: 300_000, polling: 200 });
  await new Promise((done) => setTimeout(done, after));
  const { profile } = await session.send('Profiler.stop');
  const { tasks, marks, paints } = await page.evaluate(() => ({
    paints: window.largestPaints,
    tasks: window.longTasks,
    marks: performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]),
  }));
  console.log(`loaded in ${Date.now() - started} ms (wall), CPU slowed ${slowdown}×`);
  console.log(`marks: ${marks.map(([n, t]) => `${n} ${t.toFixed(0)}`).join(', ')}`);
  for (const [time, size, what] of paints) console.log(`largest paint at ${time.toFixed(0)} ms, ${size} px²: ${what}`);
  // Profile times are µs on the monotonic clock; the page's are ms from its time origin. The
  // first sample is taken at navigation's start, which anchors the two (to a few ms).
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let at = profile.startTime;
  const samples = profile.samples.map((id, i) => {
    at += profile.timeDeltas[i];
    return [at, byId.get(id)];
  });

  let total = 0;
  for (const [start, duration] of tasks.sort((a, b) => a[0] - b[0])) {
    total += Math.max(0, duration - 50);
    const self = new Map();
    const interval = (profile.endTime - profile.startTime) / samples.length;
    for (const [time, node] of samples) {
      const page = (time - profile.startTime) / 1000;
      if (page < start || page > start + duration) continue;
      const name = node.callFrame.functionName || `(${node.callFrame.url.replace(/^.*\//, '') || 'program'})`;
      self.set(name, (self.get(name) ?? 0) + interval / 1000);
    }
    const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    console.log(`\nlong task at ${start.toFixed(0)} ms, ${duration.toFixed(0)} ms:`);
    for (const [name, ms] of top) console.log(`  ${ms.toFixed(0).padStart(5)} ms  ${name.slice(0, 110)}`);
  }
  console.log(`\nblocking time (each long task past 50 ms), summed: ${total.toFixed(0)} ms`);
} finally {
  await close();
  await server.close();
}
