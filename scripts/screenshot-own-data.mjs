// README's picture of the lab on data of its own: `node scripts/screenshot-own-data.mjs
// [--seconds 60]` after `trunk build --release`. In headless Chromium on the CPU engine, the page
// makes 800 PNGs of shapes in two class folders (e2e/files.mjs), imports them at 32 × 32
// (inverted: black on white), trains the fresh 1024-500-20 model for the given time, and saves
// the first screen and the latent views to docs/screenshots/own-data.png. With --colour: 800 colour
// PNGs (red bars, blue rings on black) at 32 × 32 in colour with grey levels kept, and the latent
// views (the map, the grid of decodes) to docs/screenshots/own-colour.png.
import { join } from 'node:path';
import { launchBrowser, openPage, repo, serveDist, sleep } from '../e2e/harness.mjs';
import { dropColourShapes, dropShapes, installMakers } from '../e2e/files.mjs';
import { args, option } from '../bench/args.mjs';

const seconds = Number(option('seconds', '60'));
const colour = args.includes('--colour');
const TIMEOUT = 120_000;
const server = await serveDist();
const { browser, close } = await launchBrowser('chromium', { webgpu: false });
try {
  const lab = await openPage(browser, `${server.url}?subset=2000,200`);
  const { page } = lab;
  await page.setViewport({ width: 1280, height: 1000 });
  await lab.until(() => (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '', { timeout: TIMEOUT });
  await installMakers(page);
  await (colour ? dropColourShapes : dropShapes)(page, 400);
  await lab.until(() => performance.getEntriesByName('import-preview').length > 0, { timeout: TIMEOUT });
  await lab.fill('#import-width', '32');
  await lab.fill('#import-height', '32');
  if (colour) {
    await page.click('#import-colour');
    await page.select('#import-binarize', 'keep');
  } else {
    await page.click('#import-invert');
  }
  await lab.fill('#import-name', colour ? 'colour shapes' : 'shapes');
  const built = await page.evaluate(() => performance.getEntriesByName('lab-ready').length);
  await page.click('#import-run');
  await lab.until(
    (n) => performance.getEntriesByName('lab-ready').length > n && (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '',
    { timeout: TIMEOUT },
    built,
  );
  await page.click('#train-start');
  await sleep(seconds * 1000);
  await lab.pauseSettled(TIMEOUT);
  await page.click('#z-random');
  await sleep(1500);
  const out = join(repo, 'docs', 'screenshots', colour ? 'own-colour.png' : 'own-data.png');
  let clip = { x: 0, y: 0, width: 1280, height: 1000 };
  if (colour) {
    const section = await page.$eval('#manifold', (node) => {
      const box = node.closest('section').getBoundingClientRect();
      return { y: box.top + window.scrollY, height: box.height };
    });
    clip = { x: 0, y: section.y, width: 1280, height: Math.min(section.height, 1000) };
  }
  await page.screenshot({ path: out, clip, captureBeyondViewport: true });
  console.log(`${out}: ${await lab.text('#data-summary')} ${await lab.text('#latest')}`);
} finally {
  await close();
  await server.close();
}
