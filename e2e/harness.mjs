// What every browser test needs, in every browser the suite runs: the trunk-built dist/ served on
// 127.0.0.1 by the suite itself, a browser launched by puppeteer-core (Debian's Chromium over CDP,
// Debian's Firefox ESR over WebDriver BiDi; never a downloaded browser), a page that fails the
// test on any console error or uncaught exception, and a screenshot of each state.
//
// Tests are written once and run per browser: `forEachBrowser((b) => describe(b.title, ...))`.
// E2E_BROWSERS=chromium (or firefox) narrows the run; both are the default.
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { repo } from './serve.mjs';

export { benchBase, distDir, repo, serveDist } from './serve.mjs';
export const screenshotDir = join(repo, 'target', 'e2e', 'screenshots');

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium';
const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** What each browser is, how it gets WebGPU, and how to launch it. */
export const BROWSERS = {
  chromium: {
    name: 'chromium',
    title: 'Chromium (WebGPU: Dawn on SwiftShader)',
    executablePath: chromiumPath,
    // The adapter's name as the page shows it.
    adapterPattern: /swiftshader/i,
  },
  firefox: {
    name: 'firefox',
    title: 'Firefox ESR (WebGPU: wgpu on lavapipe)',
    executablePath: firefoxPath,
    // Firefox reveals neither vendor nor architecture of its adapter.
    adapterPattern: /unnamed WebGPU adapter/i,
  },
};

/** The browsers this run tests: E2E_BROWSERS (comma-separated) or both. */
export function selectedBrowsers() {
  const names = (process.env.E2E_BROWSERS ?? 'chromium,firefox').split(',').map((n) => n.trim()).filter(Boolean);
  return names.map((name) => {
    const browser = BROWSERS[name];
    if (!browser) throw new Error(`E2E_BROWSERS: unknown browser "${name}" (chromium, firefox)`);
    return browser;
  });
}

/** Calls `define(browser)` once per selected browser: one test file, every browser. */
export function forEachBrowser(define) {
  for (const browser of selectedBrowsers()) define(browser);
}

/**
 * Launches a headless browser. With `webgpu: true` Chromium gets WebGPU through SwiftShader
 * (`--enable-unsafe-webgpu`) and Firefox through its own wgpu on the system's Vulkan driver
 * (lavapipe here; the `dom.webgpu.enabled` pref). Without, neither offers WebGPU: Chromium on
 * Linux has no adapter, Firefox no `navigator.gpu`, which is how the no-WebGPU path is tested.
 * Each launch gets a fresh temporary profile, removed on close; `firefoxPrefs` adds prefs to
 * Firefox's (a storage quota, say). Under e2e/run.mjs the browser of that kind the run shared is
 * connected to instead (unless `firefoxPrefs` asks for a profile of its own); `close` then
 * closes what the caller opened in it and disconnects.
 */
export async function launchBrowser(kind, { webgpu, firefoxPrefs = {} }) {
  const which = typeof kind === 'string' ? BROWSERS[kind] : kind;
  const endpoint = sharedBrowsers[sharedKey(which.name, webgpu)];
  if (endpoint && Object.keys(firefoxPrefs).length === 0) return connectShared(which, endpoint, webgpu);
  return launchOwn(which, { webgpu, firefoxPrefs });
}

/**
 * Browsers that e2e/run.mjs launched once for the whole run, by `sharedKey`: a test file connects
 * to them instead of launching its own (Firefox takes 3-4 s to start and stop here, twelve times
 * a run). Files stay apart: every page opens in a browser context of its own, served from the
 * file's own port (its own origin, so its own storage), and a file's contexts close with it.
 */
const sharedBrowsers = JSON.parse(process.env.VAE_LAB_E2E_BROWSERS ?? '{}');
export const sharedKey = (name, webgpu) => `${name}${webgpu ? '' : ' without WebGPU'}`;

export async function connectShared(which, browserWSEndpoint, webgpu) {
  const browser = await puppeteer.connect({
    browserWSEndpoint,
    protocol: which.name === 'firefox' ? 'webDriverBiDi' : 'cdp',
    protocolTimeout: 600_000,
  });
  browser.vaeLabWebgpu = webgpu;
  const before = new Set(browser.browserContexts());
  const close = async () => {
    for (const context of browser.browserContexts()) {
      if (!before.has(context)) await context.close();
    }
    await browser.disconnect();
  };
  return { browser, name: which.name, close };
}

/**
 * A browser of the caller's own, closed by `close`: in a temporary profile that `close` removes,
 * or in `userDataDir`, which the caller removes.
 */
export async function launchOwn(kind, { webgpu, firefoxPrefs = {}, userDataDir }) {
  const which = typeof kind === 'string' ? BROWSERS[kind] : kind;
  if (!existsSync(which.executablePath)) {
    throw new Error(`no ${which.name} at ${which.executablePath}: run scripts/setup.sh --test`);
  }
  let options;
  if (which.name === 'firefox') {
    options = {
      browser: 'firefox',
      executablePath: which.executablePath,
      headless: true,
      extraPrefsFirefox: {
        'dom.webgpu.enabled': webgpu,
        'gfx.webgpu.ignore-blocklist': webgpu,
        // No first-run pages, update checks or telemetry pings on a machine with no internet.
        'app.update.enabled': false,
        'browser.shell.checkDefaultBrowser': false,
        'datareporting.policy.dataSubmissionEnabled': false,
        'toolkit.telemetry.enabled': false,
        ...firefoxPrefs,
      },
    };
  } else {
    const args = [
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ];
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    if (webgpu) args.push('--enable-unsafe-webgpu');
    options = { executablePath: which.executablePath, headless: true, args };
  }
  const browser = await puppeteer.launch({ ...options, userDataDir, protocolTimeout: 600_000 });
  // Read by openPage: pages in a browser with WebGPU pin the lab to it by default.
  browser.vaeLabWebgpu = webgpu;
  return { browser, name: which.name, close: () => browser.close() };
}

/** Chromium only, for scripts that measure Chromium alone (bench/probe). */
export const launchChromium = (options) => launchBrowser('chromium', options);

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/**
 * Opens a page (1280×800) that records console errors and uncaught exceptions; call
 * `assertNoErrors()` at the end of the test. `expectErrors` lists patterns of console errors the
 * test provokes on purpose (a browser's own log line for a failed download). `serve`, with the
 * `server` from serveDist(), answers one path differently while the page is open:
 * `{ path, handler }`. `context`: a browser context to open the page in (a reload's storage);
 * `beforeLoad`: a function run in the page before its scripts; `serviceWorker: true` lets the
 * page register its service worker (left out otherwise). Resolves to the page and its
 * context, with helpers for what tests read off it.
 */
export async function openPage(browser, url, { expectErrors = [], server, serve, context, beforeLoad, engine, serviceWorker = false } = {}) {
  // On an emulated GPU (SwiftShader, lavapipe: every browser here) the lab times both engines and
  // takes the CPU. The tests of the GPU path pin WebGPU (`?engine=webgpu`) unless the address
  // names an engine or `engine: null` lets the lab choose.
  engine = engine === undefined ? (browser.vaeLabWebgpu ? 'webgpu' : null) : engine;
  if (engine && /^https?:/.test(url) && !/[?&]engine=/.test(url)) {
    const [address, ...fragment] = url.split('#');
    url = `${address}${address.includes('?') ? '&' : '?'}engine=${engine}`;
    if (fragment.length > 0) url += `#${fragment.join('#')}`;
  }
  // Each page gets a browser context of its own (its own storage: IndexedDB, cookies) unless
  // it is given one to share, so no test sees another's autosave.
  context ??= await browser.createBrowserContext();
  const page = await context.newPage();
  // Only the offline tests register the service worker (`serviceWorker: true`): in every other
  // test it would download the model and the data a second time, for nothing.
  if (!serviceWorker) await page.evaluateOnNewDocument(() => (window.vaeLabWithoutServiceWorker = true));
  if (beforeLoad) await page.evaluateOnNewDocument(beforeLoad);
  await page.setViewport({ width: 1280, height: 800 });
  const errors = [];
  page.on('console', (message) => {
    const text = `${message.text()} (${message.location()?.url ?? ''})`;
    if (message.type() === 'error' && !expectErrors.some((pattern) => pattern.test(text))) {
      errors.push(`console.error: ${text}`);
    }
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message ?? error}`));
  const restore = serve ? server.override(serve.path, serve.handler) : () => {};
  page.once('close', restore);
  await page.goto(url);
  return {
    page,
    context,
    ...helpers(page),
    assertNoErrors() {
      if (errors.length > 0) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
    },
  };
}

/** The decoded digit's pixels (RGBA), as drawn on its canvas. */
export function decodedPixels(page) {
  return page.$eval('#decoded', (canvas) =>
    Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data),
  );
}

/**
 * Waits until the lab is in `phase` with its autosave made at the model's last step and the
 * step counter showing that step (the last metrics read is in); returns that step. `polling`
 * as for `until` (a hidden page runs no animation frames: poll by time there).
 */
async function savedAtLastStep(page, phase, { timeout = 60_000, polling } = {}) {
  await page.waitForFunction(
    (want) => {
      const saved = document.querySelector('#save-state');
      return (
        document.querySelector('#phase').dataset.phase === want &&
        saved.dataset.state === 'saved' &&
        saved.dataset.step === document.querySelector('#step-count').dataset.step
      );
    },
    { timeout, ...(polling ? { polling } : {}) },
    phase,
  );
  return Number(await page.$eval('#step-count', (node) => node.dataset.step));
}

/** The lab's state as a line, read in the page (for a wait that timed out). */
function labState() {
  const text = (selector) => document.querySelector(selector)?.textContent?.trim().replace(/\s+/g, ' ').slice(0, 160) ?? '(none)';
  const marks = {};
  for (const mark of performance.getEntriesByType('mark')) marks[mark.name] = (marks[mark.name] ?? 0) + 1;
  return JSON.stringify({
    phase: document.querySelector('#phase')?.dataset.phase ?? '(none)',
    notice: text('#model-notice'),
    data: text('#data-summary'),
    engine: text('#engine'),
    testElbo: document.querySelector('#test-elbo')?.dataset.values ?? '(none)',
    hidden: document.hidden,
    marks,
  });
}

/** What tests read off a page, the same in every browser. */
export function helpers(page) {
  return {
    text: (selector) => page.$eval(selector, (node) => node.textContent),
    attr: (selector, name) => page.$eval(selector, (node, n) => node.getAttribute(n), name),
    value: (selector) => page.$eval(selector, (node) => node.value),
    count: (selector) => page.$$eval(selector, (nodes) => nodes.length),
    /** Waits for `selector` to be in the page (`timeout` ms). */
    waitFor: (selector, timeout = 60_000) => page.waitForSelector(selector, { timeout }),
    /**
     * Waits until `fn(...args)` is truthy in the page; a wait that times out says where the lab
     * stood (its phase, notices, data, marks), so a rare failure can be read from its log.
     */
    until: async (fn, { timeout = 60_000, polling } = {}, ...args) => {
      try {
        return await page.waitForFunction(fn, { timeout, ...(polling ? { polling } : {}) }, ...args);
      } catch (error) {
        const state = await page.evaluate(labState).catch((why) => `unreadable: ${why}`);
        error.message += `\n  waiting for ${String(fn).slice(0, 200)}\n  the lab: ${state}`;
        throw error;
      }
    },
    /**
     * Presses Reset and waits for the fresh model: built (a new `lab-ready` mark; until then Train
     * is disabled and the old curve still shows) and its first test evaluation in.
     */
    async resetModel(timeout = 60_000) {
      const built = await page.evaluate(() => performance.getEntriesByName('lab-ready').length);
      await page.click('#train-reset');
      await page.waitForFunction(
        (n) =>
          performance.getEntriesByName('lab-ready').length > n &&
          (document.querySelector('#test-elbo')?.dataset.values ?? '') !== '',
        { timeout },
        built,
      );
    },
    /**
     * Presses Pause and waits until training has stopped: Ready, and the autosave Pause makes (at
     * the model's last step) shown with the step counter at that step, which its last metrics read
     * sets after the chunks that were in flight. Returns that step.
     */
    async pauseSettled(timeout = 60_000) {
      await page.click('#train-pause');
      return savedAtLastStep(page, 'Ready', { timeout });
    },
    savedAtLastStep: (phase, options) => savedAtLastStep(page, phase, options),
    /** Waits until the decoded canvas differs from `before`, and returns its pixels. */
    async decodedChangedFrom(before, timeout = 60_000) {
      await page.waitForFunction(
        (old) => {
          const canvas = document.querySelector('#decoded');
          const now = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          return now.some((value, i) => value !== old[i]);
        },
        { timeout },
        before,
      );
      return decodedPixels(page);
    },
    /** Replaces a text field's content as a person would: select it all, type the new text. */
    async fill(selector, text) {
      await page.focus(selector);
      await page.$eval(selector, (node) => node.select());
      await page.keyboard.press('Backspace');
      await page.keyboard.type(text);
    },
  };
}

/** Saves a full-page screenshot under target/e2e/screenshots/ (gitignored). */
export async function screenshot(page, name) {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Saves a screenshot of the element `selector` alone under target/e2e/screenshots/. */
export async function elementScreenshot(page, selector, name) {
  await mkdir(screenshotDir, { recursive: true });
  const element = await page.$(selector);
  await element.scrollIntoView();
  await element.screenshot({ path: join(screenshotDir, `${name}.png`) });
}
