// What every browser test needs: the trunk-built dist/ served on 127.0.0.1 by the suite itself,
// Debian's Chromium launched by playwright-core (never a downloaded browser), a page that fails
// the test on any console error or uncaught exception, and a screenshot of each state.
import { createServer } from 'node:http';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const repo = resolve(import.meta.dirname, '..');
export const distDir = join(repo, 'dist');
export const screenshotDir = join(repo, 'target', 'e2e', 'screenshots');

const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Serves dist/ on an ephemeral loopback port; resolves to { url, close }. */
export async function serveDist() {
  if (!existsSync(join(distDir, 'index.html'))) {
    throw new Error(`${distDir}/index.html is missing: run \`trunk build --release\` first`);
  }
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
    const file = normalize(join(distDir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(distDir)) {
      response.writeHead(403).end();
      return;
    }
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      response.writeHead(200, {
        'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      response.end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((done) => server.close(done)),
  };
}

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium';

/**
 * Launches headless Chromium. With `webgpu: true` it gets WebGPU through SwiftShader (a CPU
 * emulation); without, Chromium on Linux offers no adapter, which is how the no-WebGPU path is tested.
 * playwright gives each launch a fresh temporary profile and removes it on close.
 */
export async function launchChromium({ webgpu }) {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: run scripts/setup.sh --test (or set CHROMIUM_PATH)`);
  }
  const args = [
    '--headless=new',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  if (webgpu) args.push('--enable-unsafe-webgpu');
  const browser = await chromium.launch({ executablePath: chromiumPath, args, headless: true });
  return { browser, close: () => browser.close() };
}

/**
 * Opens a page that records console errors and uncaught exceptions; call `assertNoErrors()` at
 * the end of the test. `expectErrors` lists patterns of console errors the test provokes on
 * purpose (the browser's own log line for a failed download); `route` serves chosen responses
 * for URLs matching its pattern, such as a damaged data file.
 */
export async function openPage(browser, url, { expectErrors = [], route } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('console', (message) => {
    const text = `${message.text()} (${message.location().url})`;
    if (message.type() === 'error' && !expectErrors.some((pattern) => pattern.test(text))) {
      errors.push(`console.error: ${text}`);
    }
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  if (route) await page.route(route.url, route.handler);
  await page.goto(url);
  return {
    page,
    assertNoErrors() {
      if (errors.length > 0) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
    },
  };
}

/** Saves a full-page screenshot under target/e2e/screenshots/ (gitignored). */
export async function screenshot(page, name) {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}
