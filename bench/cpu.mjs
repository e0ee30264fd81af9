// The CPU engine in WebAssembly against the other in-browser trainers on WebAssembly, the same
// browser, the same minutes: rounds alternate ours (the page's `?bench=cpu`, in a browser with
// WebGPU switched off, as a visitor without it has) with jax-js and TensorFlow.js on their wasm
// backends (bench/peers). Prints the medians and the ratios.
//   (cd bench/peers && npm install) && trunk build --release && node bench/cpu.mjs [--browser chromium|firefox|both] [--rounds 3] [--dist DIR]
import { resolve } from 'node:path';
import { benchBase, distDir, launchBrowser, openPage, serveDist } from '../e2e/harness.mjs';
import { runPeer, servePeers } from './peers.mjs';
import { option } from './args.mjs';

const which = option('browser', 'both');
const browsers = which === 'both' ? ['chromium', 'firefox'] : [which];
const rounds = Number(option('rounds', 3));
const STEP_MFLOP = 525;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Ours: the page's ?bench=cpu without WebGPU; its rows as { what: value }. */
async function ours(name, url) {
  const { browser, close } = await launchBrowser(name, { webgpu: false });
  try {
    const { page, until } = await openPage(browser, `${url}?bench=cpu`);
    await until(() => /^(done|failed)/.test(document.querySelector('#bench-status')?.dataset.status ?? ''), { timeout: 600_000 });
    const status = await page.$eval('#bench-status', (node) => node.dataset.status);
    if (status !== 'done') throw new Error(`?bench=cpu ${status}`);
    const rows = await page.$$eval('.bench-row', (nodes) => nodes.map((r) => [r.dataset.what, Number(r.dataset.value), r.dataset.shape]));
    return { version: await browser.version(), rows: Object.fromEntries(rows.map(([what, value]) => [what, value])), simd: rows.find(([what]) => what === 'training step')[2] };
  } finally {
    await close();
  }
}

async function peer(name, base, framework) {
  const { browser, close } = await launchBrowser(name, { webgpu: false });
  try {
    const result = await runPeer(browser, base, framework, 'backend=wasm&steps=20');
    if (result.error) throw new Error(`${framework}: ${result.error.split('\n')[0]}`);
    return result;
  } finally {
    await close();
  }
}

const dist = resolve(option('dist', distDir));
const server = await serveDist({ dir: dist, base: benchBase(dist) });
const peers = await servePeers();
try {
  console.log(`${new Date().toISOString()}: ${rounds} alternated rounds per browser, batch 128, 784-500-20\n`);
  console.log('| browser | trainer | ms per step (median; rounds) | GFLOP/s (525 MFLOP a step) | decode one z (ms) | ours faster by |');
  console.log('|---|---|---|---|---|---|');
  for (const name of browsers) {
    const runs = { ours: [], jaxjs: [], tfjs: [] };
    const decode = { ours: [], jaxjs: [], tfjs: [] };
    let version = name;
    let simd = '';
    for (let round = 0; round < rounds; round += 1) {
      const mine = await ours(name, server.url);
      version = mine.version;
      simd = mine.simd;
      runs.ours.push(mine.rows['training step']);
      decode.ours.push(mine.rows['decode one z']);
      for (const framework of ['jaxjs', 'tfjs']) {
        const result = await peer(name, peers.base, framework);
        runs[framework].push(result.msPerStep);
        decode[framework].push(result.decodeMs);
      }
    }
    const label = { ours: `ours, CPU engine (${simd})`, jaxjs: 'jax-js, `wasm`', tfjs: 'TensorFlow.js, `wasm`' };
    for (const key of ['ours', 'jaxjs', 'tfjs']) {
      const ms = median(runs[key]);
      const ratio = key === 'ours' ? '—' : `${(ms / median(runs.ours)).toFixed(2)}×`;
      console.log(`| ${version} | ${label[key]} | ${ms.toFixed(1)} (${runs[key].map((v) => v.toFixed(1)).join(', ')}) | ${(STEP_MFLOP / ms).toFixed(1)} | ${median(decode[key]).toFixed(2)} | ${ratio} |`);
    }
  }
} finally {
  peers.close();
  await server.close();
}
