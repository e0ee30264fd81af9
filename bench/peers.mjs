// Other in-browser trainers of the same VAE in the same Chromium, for the comparison in README:
//   (cd bench/peers && npm install) && trunk build --release && node bench/peers.mjs
// TensorFlow.js on its webgpu, wasm and webgl backends (bench/peers/tfjs.html) and jax-js on its
// webgpu and wasm backends (bench/peers/jaxjs.html): ms per training step of batch 128, after a
// warm-up, on the shard the lab ships. Served cross-origin isolated, so WebAssembly may use threads.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { launchChromium } from '../e2e/harness.mjs';

const root = resolve(import.meta.dirname, '..');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer(async (request, response) => {
  const file = normalize(join(root, decodeURIComponent(new URL(request.url, 'http://x').pathname)));
  try {
    if (!file.startsWith(root) || !(await stat(file)).isFile()) throw new Error();
    response.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    response.end(await readFile(file));
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const base = `http://127.0.0.1:${server.address().port}/bench/peers/`;
const { browser, close } = await launchChromium({ webgpu: true });
try {
  console.log(`Chromium ${browser.version()}, ${new Date().toISOString()}\n`);
  console.log('| framework | backend | ms per step (batch 128) |');
  console.log('|---|---|---|');
  const runs = [
    ['tfjs', 'wasm', 20], ['tfjs', 'webgl', 10], ['tfjs', 'webgpu', 5],
    ['jaxjs', 'wasm', 20], ['jaxjs', 'webgpu', 10],
  ];
  for (const [peer, backend, steps] of runs) {
    const page = await browser.newPage();
    await page.goto(`${base}${peer}.html?backend=${backend}&steps=${steps}`);
    await page.waitForFunction(() => document.querySelector('#result').textContent !== 'running', null, { timeout: 600_000 });
    const result = JSON.parse(await page.locator('#result').textContent());
    console.log(result.error
      ? `| ${peer} | ${backend} | failed: ${result.error.split('\n')[0]} |`
      : `| ${result.framework} | ${backend} | ${result.msPerStep.toFixed(1)} (${result.steps} steps, loss ${result.lastLoss.toFixed(1)}) |`);
    await page.close();
  }
} finally {
  await close();
  server.close();
}
