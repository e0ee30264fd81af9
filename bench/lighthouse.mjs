// Lighthouse on the built page: `node bench/lighthouse.mjs [--dist DIR] [--runs N] [--against DIR] [--mobile]` after
// `trunk build --release`. Lighthouse 12 (the last that runs on Node 20), pinned, is taken from
// LIGHTHOUSE_DIR if it has one (`npm install --prefix /tmp/lh lighthouse@12.2.3`), otherwise
// from npm through `npx`; it drives Debian's Chromium (CHROME_PATH, else /usr/lib/chromium).
//
// dist/ is served as README's deployment note asks a host to: under a sub-path, gzip for the
// compressible types, a year's cache for names with a content hash and revalidation for the
// rest. Both of Lighthouse's profiles (mobile, its default: a slow 4G link and a 4× slower CPU;
// desktop), each the median of N runs (3 by default); prints a Markdown table and writes
// target/bench/lighthouse.json with every run's figures. With --details, also where the time of
// each profile's last run goes: the main thread's work by kind, each script's, the long tasks
// (what the total blocking time sums), and when each request started and ended.
// --against DIR: another build (the one before a change), run by run in turn with this one, so
// both meet the same minutes of this machine's load (the same build's mobile TBT moves 2× from
// one half hour to the next here); the table gets a column for each. --mobile: that profile only.
import { createServer } from 'node:http';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { benchBase, distDir, repo } from '../e2e/harness.mjs';
import { contentTypes, hostCacheControl } from '../e2e/serve.mjs';
import { option } from './args.mjs';

const VERSION = '12.2.3';
const dist = resolve(option('dist', distDir));
const runs = Number(option('runs', '3'));
const details = process.argv.includes('--details');
// --keep DIR: every run's full Lighthouse report is left there, with its trace (otherwise in a
// scratch folder).
const keep = option('keep', null);
const against = option('against', null);
const builds = against ? [resolve(against), dist] : [dist];
const presets = process.argv.includes('--mobile') ? ['mobile'] : ['mobile', 'desktop'];
const chrome = process.env.CHROME_PATH ?? '/usr/lib/chromium/chromium';

const compressible = new Set(['.html', '.js', '.css', '.wasm', '.svg', '.webmanifest']);

/** dist/ as a well-configured static host serves it (README, "Putting it on a web server"). */
async function serve(dist) {
  // A build from before relative URLs (benchBase) only works at the root.
  const base = benchBase(dist) ?? '/vae-lab/';
  const zipped = new Map();
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
    if (!path.startsWith(base)) return response.writeHead(404).end();
    const rest = path.slice(base.length);
    const file = normalize(join(dist, rest === '' ? 'index.html' : rest));
    if (!file.startsWith(dist) || !(await stat(file).catch(() => null))?.isFile()) return response.writeHead(404).end();
    const ext = extname(file);
    const headers = {
      'content-type': contentTypes[ext] ?? 'application/octet-stream',
      'cache-control': hostCacheControl(file),
    };
    let body = await readFile(file);
    if (compressible.has(ext) && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
      if (!zipped.has(file)) zipped.set(file, gzipSync(body, { level: 9 }));
      body = zipped.get(file);
      headers['content-encoding'] = 'gzip';
      headers.vary = 'accept-encoding';
    }
    response.writeHead(200, headers).end(body);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${server.address().port}${base}`, close: () => new Promise((done) => server.close(done)) };
}

async function lighthouse(url, preset, out) {
  const local = process.env.LIGHTHOUSE_DIR && join(process.env.LIGHTHOUSE_DIR, 'node_modules', '.bin', 'lighthouse');
  const [command, prefix] = local && existsSync(local) ? [local, []] : ['npx', ['--yes', `lighthouse@${VERSION}`]];
  const flags = [
    url,
    '--output=json',
    `--output-path=${out}`,
    '--quiet',
    // Beside each kept report, its trace (`-0.trace.json`): what ran in each long task.
    ...(keep ? ['--save-assets'] : []),
    `--chrome-flags=--headless=new --no-sandbox`,
    ...(preset === 'desktop' ? ['--preset=desktop'] : []),
  ];
  await promisify(execFile)(command, [...prefix, ...flags], {
    env: { ...process.env, CHROME_PATH: chrome },
    maxBuffer: 1 << 26,
  });
  const report = JSON.parse(await readFile(out, 'utf8'));
  if (details) printDetails(preset, report);
  const audit = (id) => report.audits[id]?.numericValue;
  const score = (id) => Math.round((report.categories[id]?.score ?? 0) * 100);
  return {
    performance: score('performance'),
    accessibility: score('accessibility'),
    bestPractices: score('best-practices'),
    seo: score('seo'),
    fcpMs: audit('first-contentful-paint'),
    lcpMs: audit('largest-contentful-paint'),
    cls: audit('cumulative-layout-shift'),
    tbtMs: audit('total-blocking-time'),
    speedIndexMs: audit('speed-index'),
    bytes: audit('total-byte-weight'),
  };
}

/** Where a run's time went, as Lighthouse's audits itemise it (times as its profile has them). */
function printDetails(preset, report) {
  const items = (id) => report.audits[id]?.details?.items ?? [];
  const name = (url) => (url ?? '').replace(/^.*\//, '') || url;
  const ms = (value) => `${Math.round(value ?? 0)} ms`;
  console.error(`\n${preset}: main-thread work by kind`);
  for (const item of items('mainthread-work-breakdown')) console.error(`  ${item.groupLabel ?? item.group}: ${ms(item.duration)}`);
  console.error(`${preset}: scripts (total, of it parse and compile)`);
  for (const item of items('bootup-time')) console.error(`  ${name(item.url)}: ${ms(item.total)} (${ms(item.scriptParseCompile)})`);
  console.error(`${preset}: long tasks (start, duration)`);
  for (const item of items('long-tasks')) console.error(`  ${name(item.url)}: at ${ms(item.startTime)}, ${ms(item.duration)}`);
  console.error(`${preset}: requests (start → end, bytes)`);
  for (const item of items('network-requests')) {
    console.error(`  ${name(item.url)}: ${ms(item.networkRequestTime)} → ${ms(item.networkEndTime)}, ${item.transferSize} B`);
  }
  const lcp = items('largest-contentful-paint-element')[0]?.items?.[0]?.node?.snippet;
  if (lcp) console.error(`${preset}: the largest paint is ${lcp}`);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

for (const build of builds) {
  if (!existsSync(join(build, 'index.html'))) throw new Error(`${build}/index.html is missing: run \`trunk build --release\` first`);
}
const scratch = keep ? resolve(keep) : await mkdtemp(join(tmpdir(), 'vae-lab-lighthouse-'));
await mkdir(scratch, { recursive: true });
// results[build][preset]: each run's figures.
const results = builds.map(() => ({}));
try {
  for (const preset of presets) {
    for (let run = 0; run < runs; run += 1) {
      for (const [which, build] of builds.entries()) {
        // A server of its own for each run: another port, another origin, so no run finds the
        // service worker, its cache or the HTTP cache of the one before (a first visit each).
        const server = await serve(build);
        const name = `${preset}-${run}${builds.length > 1 ? `-${which === 0 ? 'against' : 'this'}` : ''}.json`;
        const figures = await lighthouse(server.url, preset, join(scratch, name)).finally(() => server.close());
        const label = builds.length > 1 ? ` (${which === 0 ? 'against' : 'this build'})` : '';
        console.error(`${preset} run ${run + 1}${label}: performance ${figures.performance}, LCP ${(figures.lcpMs / 1000).toFixed(2)} s, CLS ${figures.cls.toFixed(3)}, TBT ${figures.tbtMs.toFixed(0)} ms`);
        (results[which][preset] ??= []).push(figures);
      }
    }
  }
} finally {
  if (!keep) await rm(scratch, { recursive: true, force: true });
}

const rows = [
  ['performance', (r) => r.performance],
  ['accessibility / best practices / SEO', (r) => `${r.accessibility} / ${r.bestPractices} / ${r.seo}`],
  ['first contentful paint', (r) => `${(r.fcpMs / 1000).toFixed(2)} s`],
  ['largest contentful paint', (r) => `${(r.lcpMs / 1000).toFixed(2)} s`],
  ['cumulative layout shift', (r) => r.cls.toFixed(3)],
  ['total blocking time', (r) => `${r.tbtMs.toFixed(0)} ms`],
  ['speed index', (r) => `${(r.speedIndexMs / 1000).toFixed(2)} s`],
  ['bytes transferred', (r) => `${(r.bytes / 1e6).toFixed(2)} MB`],
];
// Each figure's median over the runs (the categories' scores by performance's median run).
const middle = (list) => {
  const pick = (key) => median(list.map((r) => r[key]));
  const byScore = list.find((r) => r.performance === pick('performance'));
  return { ...byScore, fcpMs: pick('fcpMs'), lcpMs: pick('lcpMs'), cls: pick('cls'), tbtMs: pick('tbtMs'), speedIndexMs: pick('speedIndexMs'), bytes: pick('bytes') };
};
const columns = presets.flatMap((preset) =>
  builds.map((build, which) => [`${preset} profile${builds.length > 1 ? (which === 0 ? ', against' : ', this build') : ''}`, middle(results[which][preset])]),
);
console.log(`Lighthouse ${VERSION}, served with gzip and cache headers, median of ${runs}: ${builds.map((b, i) => `${builds.length > 1 ? (i === 0 ? 'against ' : 'this build ') : ''}${b}`).join('; ')}\n`);
console.log(`| Lighthouse | ${columns.map(([name]) => name).join(' | ')} |\n|---|${columns.map(() => '---|').join('')}`);
for (const [name, show] of rows) console.log(`| ${name} | ${columns.map(([, figures]) => show(figures)).join(' | ')} |`);
await mkdir(join(repo, 'target', 'bench'), { recursive: true });
await writeFile(
  join(repo, 'target', 'bench', 'lighthouse.json'),
  JSON.stringify(builds.length > 1 ? { against: results[0], this: results[1] } : results[0], null, 2),
);
