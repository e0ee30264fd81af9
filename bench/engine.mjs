// The engine benchmark page alone (`?bench`, or `?bench=blocks`): `node bench/engine.mjs [blocks]`
// after `trunk build --release`. Prints each kernel's figure and the training step on this
// browser's WebGPU adapter; quicker than bench/browser.mjs when only the engine changed.
import { launchChromium, openPage, serveDist } from '../e2e/harness.mjs';

const query = process.argv[2] ? `?bench=${process.argv[2]}` : '?bench';
const server = await serveDist();
const { browser, close } = await launchChromium({ webgpu: true });
try {
  const { page } = await openPage(browser, `${server.url}${query}`);
  await page.waitForFunction(
    () => /^(done|failed)/.test(document.querySelector('#bench-status')?.dataset.status ?? ''),
    null,
    { timeout: 600_000 },
  );
  const status = await page.locator('#bench-status').getAttribute('data-status');
  const rows = await page.locator('.bench-row').evaluateAll((rows) =>
    rows.map((r) => [r.dataset.what, r.dataset.shape, r.dataset.value, r.dataset.unit]),
  );
  console.log(`status: ${status} (${browser.version()})`);
  for (const row of rows) console.log(row.join(' | '));
} finally {
  await close();
  await server.close();
}
