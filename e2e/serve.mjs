// The suite's static server: dist/ (or another build) on 127.0.0.1 under a sub-path, as a course
// page or a GitHub Pages project site would host it, with the hooks tests use to damage, delay or
// cut what it serves. Also read by the benchmarks (bench/), through e2e/harness.mjs.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';

export const repo = resolve(import.meta.dirname, '..');
export const distDir = join(repo, 'dist');

export const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.webmanifest': 'application/manifest+json',
};

/**
 * Where a benchmark serves the build in `dir`: under the suite's sub-path, except a build made
 * before its URLs were relative (it loads `/vae-app-….js` from the root), which is served at the
 * root so the benchmarks can still compare against it. The tests never use this: they serve the
 * current build under the sub-path and fail if it ever needs the root.
 */
export function benchBase(dir) {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  return /(?:href|src)="\/[^/]/.test(html) ? '/' : undefined;
}

// trunk's content hashes in file names (hex, 16 digits or fewer), and the snippets' folders.
const HASHED_NAME = /-[0-9a-f]{1,16}(_bg)?\.[a-z]+$|\/snippets\//;

/** The cache header README's deployment note asks a host to send for `file`. */
export const hostCacheControl = (file) =>
  HASHED_NAME.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache';

/**
 * Serves dist/ (or `dir`, another build of it) on an ephemeral loopback port under the sub-path
 * `base`, as a course page or a GitHub Pages project site would host it, and nothing outside it
 * (so a URL the build makes absolute fails every test); resolves to { url, override, close }.
 * `override(path, handler)` answers requests for `path` (relative to `base`) with
 * `handler(request, response)` instead (a damaged data file, a delayed one) until the returned
 * function is called: the server side of a test, so every browser meets the same bytes.
 * `setOffline(true)` drops every connection unanswered (the network cut, as the browser sees
 * it) until `setOffline(false)`; `setDir(other)` serves another build from then on (a deploy).
 * Every file is sent `no-store` (each test meets the bytes on disk), or with `caching: true` as
 * README's deployment note asks of a host: a year's cache for hashed names, revalidation (an ETag,
 * answered 304) for the rest; `sent` lists each file sent whole, `[path, bytes]`.
 */
export async function serveDist({ dir = distDir, base = '/course/vae-lab/', caching = false } = {}) {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html is missing: run \`trunk build --release\` first`);
  }
  const overrides = new Map();
  const sent = [];
  let offline = false;
  const server = createServer(async (request, response) => {
    if (offline) {
      request.socket.destroy();
      return;
    }
    const full = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
    if (!full.startsWith(base)) {
      response.writeHead(404).end(`not found: only ${base} is served`);
      return;
    }
    const path = `/${full.slice(base.length)}`;
    const override = overrides.get(path);
    if (override) {
      await override(request, response);
      return;
    }
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dir)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const about = await stat(file);
      if (!about.isFile()) throw new Error('not a file');
      const headers = { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
      if (caching) {
        headers['cache-control'] = hostCacheControl(file);
        headers.etag = `"${about.size}-${about.mtimeMs}"`;
        if (request.headers['if-none-match'] === headers.etag) {
          response.writeHead(304, headers).end();
          return;
        }
      }
      const body = await readFile(file);
      sent.push([path.slice(1), body.length]);
      response.writeHead(200, headers);
      response.end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${base}`,
    sent,
    override(path, handler) {
      overrides.set(path, handler);
      return () => overrides.delete(path);
    },
    setOffline(cut) {
      offline = cut;
      if (cut) server.closeAllConnections?.();
    },
    setDir(other) {
      dir = other;
    },
    close: () =>
      new Promise((done) => {
        server.closeAllConnections?.();
        server.close(done);
      }),
  };
}
