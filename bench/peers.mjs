// Other in-browser trainers of the same VAE in the same browsers, for the comparison in README:
//   (cd bench/peers && npm install) && trunk build --release && node bench/peers.mjs [--browser chromium|firefox|both]
// TensorFlow.js on its webgpu, wasm and webgl backends (bench/peers/tfjs.html; webgl is not
// available in headless Firefox here) and jax-js on its webgpu and wasm backends
// (bench/peers/jaxjs.html): ms per training step of batch 128, after a warm-up, on the shard the
// lab ships. Served cross-origin isolated, so WebAssembly may use threads.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { launchBrowser } from '../e2e/harness.mjs';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const at = args.indexOf('--browser');
const which = at >= 0 ? args[at + 1] : 'both';
const browsers = which === 'both' ? ['chromium', 'firefox'] : [which];

/** The peers' pages, served cross-origin isolated; resolves to their base URL and a closer. */
export async function servePeers() {
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
  return { base: `http://127.0.0.1:${server.address().port}/bench/peers/`, close: () => server.close() };
}

/** The peer runs each browser can do: headless Firefox here has no WebGL context for TF.js. */
export function peerRuns(browser) {
  const runs = [['tfjs', 'wasm'], ['tfjs', 'webgl'], ['tfjs', 'webgpu'], ['jaxjs', 'wasm'], ['jaxjs', 'webgpu']];
  return runs.filter(([peer, backend]) => !(browser === 'firefox' && peer === 'tfjs' && backend === 'webgl'));
}

/** Runs one peer page in `browser` (a puppeteer Browser) and returns its JSON result. */
export async function runPeer(browser, base, peer, query) {
  const page = await browser.newPage();
  try {
    await page.goto(`${base}${peer}.html?${query}`);
    await page.waitForFunction(() => document.querySelector('#result').textContent !== 'running', { timeout: 0, polling: 1000 });
    return JSON.parse(await page.$eval('#result', (node) => node.textContent));
  } finally {
    await page.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const peers = await servePeers();
  try {
    console.log(`${new Date().toISOString()}\n`);
    console.log('| browser | framework | backend | ms per step (batch 128) |');
    console.log('|---|---|---|---|');
    for (const name of browsers) {
      const { browser, close } = await launchBrowser(name, { webgpu: true });
      const version = await browser.version();
      try {
        for (const [peer, backend] of peerRuns(name)) {
          const steps = backend === 'wasm' ? 20 : 10;
          const result = await runPeer(browser, peers.base, peer, `backend=${backend}&steps=${steps}`);
          console.log(result.error
            ? `| ${version} | ${peer} | ${backend} | failed: ${result.error.split('\n')[0]} |`
            : `| ${version} | ${result.framework} | ${backend} | ${result.msPerStep.toFixed(1)} (${result.steps} steps, loss ${result.lastLoss.toFixed(1)}) |`);
        }
      } finally {
        await close();
      }
    }
  } finally {
    peers.close();
  }
}
