// SwiftShader probes: small hand-written WebGPU pages that measure what bounds our kernels in this
// browser, outside the engine. `node bench/probe/run.mjs matmul|adam|latency` prints one line per
// case (`--browser firefox` runs them in Firefox ESR instead of Chromium). They are how the register-block, subgroup and Adam choices were made, and the evidence for
// what no kernel of ours can beat there (see README, "Browser benchmark").
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchBrowser } from '../../e2e/harness.mjs';

const probe = process.argv[2];
if (!['matmul', 'adam', 'latency', 'order', 'encode', 'draw'].includes(probe)) {
  console.error('usage: node bench/probe/run.mjs matmul|adam|latency|order|encode|draw [--browser chromium|firefox]');
  process.exit(2);
}
const server = createServer(async (request, response) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  if (path === '/') {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<script type="module" src="/${probe}.js"></script>`);
    return;
  }
  if (!/^\/[a-z]+\.js$/.test(path)) {
    // No favicon: say so without an error line in the console.
    response.writeHead(path === '/favicon.ico' ? 204 : 404).end();
    return;
  }
  try {
    const body = await readFile(join(import.meta.dirname, path.slice(1)));
    response.writeHead(200, { 'content-type': 'text/javascript' });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const at = process.argv.indexOf('--browser');
const { browser, close } = await launchBrowser(at > 0 ? process.argv[at + 1] : 'chromium', { webgpu: true });
try {
  const page = await browser.newPage();
  page.on('console', (message) => console.log(message.text()));
  const failed = new Promise((_, reject) => page.on('pageerror', reject));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await Promise.race([
    page.waitForFunction(() => window.probeDone === true, { timeout: 600_000 }),
    failed,
  ]);
} finally {
  await close();
  server.close();
}
