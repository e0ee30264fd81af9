// Where the page's main thread spends its start-up, as Lighthouse's mobile profile sees it:
//   node bench/probe/profile-start.mjs [--dist DIR] [--slowdown 4] [--after MS] [--simulate]
//                                      [--inclusive [--top N]] [--events] [--threads]
// Headless Chromium without WebGPU (as Lighthouse's), the CPU slowed `--slowdown` times, V8's
// sampling profiler from navigation until `--after` ms past the lab's first test evaluation. It
// prints the long tasks (over 50 ms: what the total blocking time sums) with the functions that
// ran most in each, by self time. Function names need a build that keeps the wasm's name
// section (index.html's `data-wasm-opt="0"` for vae-app, into another dist).
// --simulate does as Lighthouse's simulated throttling does: the page runs at full speed, its
// main thread's tasks are read from a trace, and each counts as (4 × its duration − 50) ms of
// blocking where that is positive (a task over 12.5 ms), with what the trace says each did
// (layout, wasm compiling, script). --inclusive lists functions by their time including callees.
import { resolve } from 'node:path';
import { benchBase, distDir, launchBrowser, serveDist, sleep } from '../../e2e/harness.mjs';
import { option } from '../args.mjs';

const dist = resolve(option('dist', distDir));
const simulate = process.argv.includes('--simulate');
const slowdown = simulate ? 1 : Number(option('slowdown', '4'));
const multiplier = simulate ? 4 : 1;
const inclusive = process.argv.includes('--inclusive');
// --events (with --simulate): every browser event of 1 ms or more in each long task, nested.
const listEvents = process.argv.includes('--events');
// --threads (with --simulate): how busy each of the browser's busy threads was, 200 ms at a time
// from navigation: what else wanted the cores while the page's thread worked (on two cores, a
// service worker's install or a worker's evaluation made every task of the start longer).
const listThreads = process.argv.includes('--threads');
const after = Number(option('after', '3000'));
const server = await serveDist({ dir: dist, base: benchBase(dist) });
const { browser, close } = await launchBrowser('chromium', { webgpu: false });
try {
  // Chromium's first seconds load its own WebUI (the omnibox popup) in another renderer, which
  // took a core for the page's first second here; Lighthouse navigates after its own set-up.
  await sleep(3000);
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
  if (simulate) await page.tracing.start({ categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  const started = Date.now();
  await page.goto(server.url);
  await page.waitForFunction(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: 300_000, polling: 200 });
  await new Promise((done) => setTimeout(done, after));
  const { profile } = await session.send('Profiler.stop');
  const trace = simulate ? JSON.parse(new TextDecoder().decode(await page.tracing.stop())) : null;
  const { tasks: observed, marks, paints } = await page.evaluate(() => ({
    paints: window.largestPaints,
    tasks: window.longTasks,
    marks: performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]),
  }));
  let tasks = observed;
  if (simulate) {
    // The renderer's main thread, and its top-level tasks; trace times are µs on the same
    // monotonic clock as the profile's, whose first sample is the navigation's start.
    const events = trace.traceEvents;
    // Of the renderers' main threads, the one that worked longest is the page's.
    const worked = new Map();
    for (const e of events) {
      if (e.name === 'RunTask' && e.ph === 'X') worked.set(`${e.pid}:${e.tid}`, (worked.get(`${e.pid}:${e.tid}`) ?? 0) + e.dur);
    }
    const mains = events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`);
    const main = mains.sort((a, b) => (worked.get(b) ?? 0) - (worked.get(a) ?? 0))[0];
    const onMain = events.filter((e) => `${e.pid}:${e.tid}` === main && e.ph === 'X' && e.dur !== undefined);
    tasks = onMain
      .filter((e) => e.name === 'RunTask' && e.ts >= profile.startTime && e.dur * multiplier > 50_000)
      .map((task) => {
        // What the browser itself says the task did: its events one level below the task.
        const inside = onMain.filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur);
        // Each event's own time (less what the events inside it took), summed by name.
        inside.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
        const byName = new Map();
        const open = [];
        for (const e of inside) {
          while (open.length && open.at(-1).ts + open.at(-1).dur <= e.ts) open.pop();
          const parent = open.at(-1);
          if (parent) byName.set(parent.name, (byName.get(parent.name) ?? 0) - e.dur / 1000);
          byName.set(e.name, (byName.get(e.name) ?? 0) + e.dur / 1000);
          open.push(e);
        }
        const said = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n, ms]) => `${n} ${ms.toFixed(1)}`);
        if (listEvents) {
          // Each event of a millisecond or more, indented by depth, with what its args name.
          const stack = [];
          for (const e of inside) {
            while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
            stack.push(e);
            if (e.dur < 1000 || stack.length > 4) continue;
            const data = e.args?.data ?? {};
            const named = [data.url, data.functionName, data.type, data.stackTrace?.[0]?.functionName].filter(Boolean).join(' ');
            said.push(`\n      ${'  '.repeat(stack.length - 1)}${e.name} ${(e.dur / 1000).toFixed(1)} ms at +${((e.ts - task.ts) / 1000).toFixed(1)} ${named.replace(/^.*\//, '').slice(0, 80)}`);
          }
        }
        return [(task.ts - profile.startTime) / 1000, task.dur / 1000, said.join(', ')];
      });
  }
  console.log(`loaded in ${Date.now() - started} ms (wall), CPU slowed ${slowdown}×${simulate ? ', tasks counted 4× as Lighthouse simulates' : ''}`);
  console.log(`marks: ${marks.map(([n, t]) => `${n} ${t.toFixed(0)}`).join(', ')}`);
  for (const [time, size, what] of paints) console.log(`largest paint at ${time.toFixed(0)} ms, ${size} px²: ${what}`);
  // Profile times are µs on the monotonic clock; the page's are ms from its time origin. The
  // first sample is taken at navigation's start, which anchors the two (to a few ms).
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const named = (node) => node.callFrame.functionName || `(${node.callFrame.url.replace(/^.*\//, '') || 'program'})`;
  let at = profile.startTime;
  const samples = profile.samples.map((id, i) => {
    at += profile.timeDeltas[i];
    return [at, byId.get(id)];
  });

  let total = 0;
  for (const [start, duration, said] of tasks.sort((a, b) => a[0] - b[0])) {
    total += Math.max(0, duration * multiplier - 50);
    const self = new Map();
    const interval = (profile.endTime - profile.startTime) / samples.length;
    for (const [time, node] of samples) {
      const page = (time - profile.startTime) / 1000;
      if (page < start || page > start + duration) continue;
      // A function once per sample however deep it recurses.
      const names = new Set([named(node)]);
      for (let up = parent.get(node.id); inclusive && up; up = parent.get(up.id)) names.add(named(up));
      for (const name of names) self.set(name, (self.get(name) ?? 0) + interval / 1000);
    }
    const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, inclusive ? Number(option('top', '30')) : 8);
    console.log(`\nlong task at ${start.toFixed(0)} ms, ${duration.toFixed(0)} ms${simulate ? ` (${(duration * 4).toFixed(0)} at 4×; ${said})` : ''}:`);
    for (const [name, ms] of top) console.log(`  ${ms.toFixed(0).padStart(5)} ms  ${name.slice(0, 110)}`);
  }
  console.log(`\nblocking time (each long task past 50 ms), summed: ${total.toFixed(0)} ms`);
  if (simulate && listThreads) printThreads(trace.traceEvents, profile.startTime);
} finally {
  await close();
  await server.close();
}

/** Each thread's busy share (its top-level events' union) per 200 ms from `start` (µs). */
function printThreads(events, start) {
  const bin = 200_000;
  const bins = 15;
  const names = new Map(events.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}:${e.tid}`, e.args.name]));
  const slices = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur || e.ts < start) continue;
    const thread = `${e.pid}:${e.tid}`;
    if (!slices.has(thread)) slices.set(thread, []);
    slices.get(thread).push(e);
  }
  console.log(`\nbusy threads, % of each 200 ms from navigation:`);
  for (const [thread, list] of slices) {
    list.sort((a, b) => a.ts - b.ts);
    const busy = new Array(bins).fill(0);
    let end = 0;
    for (const e of list) {
      if (e.ts < end) continue;
      end = e.ts + e.dur;
      for (let t = e.ts; t < end; ) {
        const at = Math.floor((t - start) / bin);
        const next = Math.min(end, start + (at + 1) * bin);
        if (at < bins) busy[at] += next - t;
        t = next;
      }
    }
    const total = busy.reduce((a, b) => a + b, 0);
    if (total < 20_000) continue;
    const cells = busy.map((us) => String(Math.round((100 * us) / bin)).padStart(4)).join('');
    console.log(`  ${(names.get(thread) ?? thread).slice(0, 26).padEnd(26)}${cells}  (${(total / 1000).toFixed(0)} ms)`);
  }
}
