// The engine benchmark page alone (`?bench`, `?bench=step` or `?bench=blocks`):
//   node bench/engine.mjs [step|blocks] [--browser chromium|firefox] [--dist DIR]
// after `trunk build --release`. Prints each kernel's figure, the training step and the host
// time to encode one, on this browser's WebGPU adapter; quicker than bench/browser.mjs when
// only the engine changed.
import { resolve } from 'node:path';
import { benchBase, distDir, launchBrowser, openPage, serveDist } from '../e2e/harness.mjs';
import { args, option } from './args.mjs';

const scope = args[0] && !args[0].startsWith('--') ? args[0] : null;
const query = scope ? `?bench=${scope}` : '?bench';
const dist = resolve(option('dist', distDir));
const server = await serveDist({ dir: dist, base: benchBase(dist) });
const { browser, close } = await launchBrowser(option('browser', 'chromium'), { webgpu: true });
try {
  const { page, until } = await openPage(browser, `${server.url}${query}`);
  await until(() => /^(done|failed)/.test(document.querySelector('#bench-status')?.dataset.status ?? ''), { timeout: 600_000 });
  const status = await page.$eval('#bench-status', (node) => node.dataset.status);
  const rows = await page.$$eval('.bench-row', (nodes) =>
    nodes.map((r) => [r.dataset.what, r.dataset.shape, r.dataset.value, r.dataset.unit]),
  );
  console.log(`status: ${status} (${await browser.version()})`);
  for (const row of rows) console.log(row.join(' | '));
} finally {
  await close();
  await server.close();
}
