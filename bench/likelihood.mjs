// The page's log-likelihood estimate against its target: `node bench/likelihood.mjs [--browser
// chromium|firefox|both] [--engine auto|webgpu|cpu] [--samples K] [--digits N]` after `trunk build
// --release`. In a real headless browser, on the engine the lab chose (`auto`, the default: on an
// emulated GPU the lab times both engines and takes the faster) or the one named, it runs the
// estimate (K = 100 over the first 1,000 test digits by default) and measures, in the same
// minutes, the slider latency (a key press to the frame that shows the new digit, the page's
// own `slider-to-frame` measure) at idle and while the estimate runs, p50 and p95. The target
// (issue 27): under 30 s, and the sliders within 2 frames (33 ms at 60 Hz) at idle p50 meanwhile.
import { launchBrowser, serveDist, sleep } from '../e2e/harness.mjs';
import { openLab, quantile, sliderLatency, TIMEOUT } from './lab-measures.mjs';
import { option } from './args.mjs';

const which = option('browser', 'both');
const browsers = which === 'both' ? ['chromium', 'firefox'] : [which];
const engine = option('engine', 'auto');
const samples = option('samples', '100');
const digits = option('digits', '1000');
const ms = (value) => `${value.toFixed(1)} ms`;

const server = await serveDist();
const rows = [];
try {
  for (const name of browsers) {
    const browser = await launchBrowser(name, { webgpu: engine !== 'cpu' });
    try {
      const address = `${server.url}${engine === 'auto' ? '' : `?engine=${engine}`}`;
      const lab = await openLab(browser.browser, address);
      const { page } = lab;
      const chosen = await lab.attr('#engine', 'data-engine');
      const idle = await sliderLatency(page, 40, 120);
      await page.select('#iw-samples', samples);
      await page.select('#iw-images', digits);
      // Twice: first with the sliders left alone (the estimate's own time), then with a slider
      // pressed every 120 ms throughout (their latency meanwhile, and the time it then takes).
      const run = async (pressing) => {
        const started = await page.evaluate(() => performance.now());
        await page.click('#estimate-start');
        await lab.until(() => document.querySelector('#estimate-status').dataset.state === 'running');
        const frame = [];
        while ((await lab.attr('#estimate-status', 'data-state')) === 'running') {
          if (!pressing) {
            await sleep(100);
            continue;
          }
          const round = await sliderLatency(page, 10, 120);
          // The latency of presses that land after its end is left out.
          if ((await lab.attr('#estimate-status', 'data-state')) === 'running') frame.push(...round.frame);
        }
        await lab.until(() => document.querySelector('#estimate-status').dataset.state === 'done', { timeout: TIMEOUT });
        const finished = await page.evaluate(() => performance.getEntriesByName('estimate-done').at(-1).startTime);
        return { seconds: (finished - started) / 1000, frame };
      };
      const alone = await run(false);
      const pressed = await run(true);
      const during = { frame: pressed.frame };
      const value = await lab.attr('#estimate-status', 'data-value');
      rows.push({
        browser: name,
        engine: `${chosen}: ${(await lab.text('#engine-name')).trim()}`,
        seconds: alone.seconds,
        pressedSeconds: pressed.seconds,
        value,
        idle: [quantile(idle.frame, 0.5), quantile(idle.frame, 0.95), idle.frame.length],
        during: [quantile(during.frame, 0.5), quantile(during.frame, 0.95), during.frame.length],
      });
      await page.close();
    } finally {
      await browser.close();
    }
    await sleep(500);
  }
} finally {
  await server.close();
}
console.log(`\nK = ${samples} over ${digits} test digits (the pretrained model):\n`);
console.log('| browser | engine | estimate | −L_K | slider to frame, idle p50 / p95 (n) | while estimating p50 / p95 (n) | estimate with the slider moving |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.browser} | ${r.engine} | ${r.seconds.toFixed(1)} s | ${r.value} | ${ms(r.idle[0])} / ${ms(r.idle[1])} (${r.idle[2]}) | ${ms(r.during[0])} / ${ms(r.during[1])} (${r.during[2]}) | ${r.pressedSeconds.toFixed(1)} s |`);
}
