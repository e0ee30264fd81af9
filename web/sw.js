// The lab's service worker: after one visit the page, its wasm modules, the CPU workers, the
// pretrained model and the MNIST shard are in a cache of this build, so the lab opens, decodes
// and trains with no network.
//
// One cache per build, named by the build's id (the hash in the app's file name, passed as
// `?build=` by the page that registers this script, so a new build registers a new worker).
// Install fetches the index, refuses it unless it is that very build, and caches every file it
// names plus the fixed ones; only a complete cache activates, and activation deletes the other
// builds' caches, so a cache never mixes versions. Files with a content hash in their name never
// change: served from the cache first. The rest (the index, the workers, the model, the data)
// keep their names across builds: fetched from the network first, so a visitor online always gets
// the build the server has, and from this build's cache only when the network fails.
// Install runs after the page's own start (the index waits for it), so the browser's HTTP cache
// already has what the page downloaded: a hashed file is taken from there as it is, and the
// others are revalidated with the server (a 304 costs no body), not fetched a second time.
'use strict';

const BUILD = new URL(self.location.href).searchParams.get('build') ?? 'unversioned';
const CACHE = `vae-lab-${BUILD}`;
const SCOPE = new URL('./', self.location.href);
// Files the index does not name: the manifest's, the workers' (started by the app), the data's.
const FIXED = [
  'manifest.webmanifest',
  'icon-192.png',
  'icon-512.png',
  'cpu-worker.js',
  'cpu-worker_bg.wasm',
  'cpu-worker-relaxed.js',
  'cpu-worker-relaxed_bg.wasm',
  'decode-worker.js',
  'pretrained.safetensors',
  'mnist.shard.gz',
];
// trunk's content hashes are hex without leading zeros: 16 digits or fewer.
const HASHED = /-[0-9a-f]{1,16}(_bg)?\.[a-z]+$|\/snippets\//;

/** The build an index belongs to: the hash in its app module's name. */
function buildOf(html) {
  return /vae-app-([0-9a-f]{1,16})\.js/.exec(html)?.[1] ?? null;
}

/** A request for `file` that never gets an outdated copy, and no second copy of a current one. */
function fresh(file) {
  const url = new URL(file, SCOPE);
  return new Request(url, { cache: HASHED.test(url.pathname) ? 'default' : 'no-cache' });
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const index = await fetch(SCOPE, { cache: 'no-cache' });
      const html = await index.clone().text();
      if (!index.ok || buildOf(html) !== BUILD) {
        throw new Error(`the server no longer has build ${BUILD} (it has ${buildOf(html)})`);
      }
      // What the index names (links, scripts, the app's module and the wasm its loader fetches),
      // and the snippets the app's module imports.
      const named = [...html.matchAll(/(?:(?:href|src)="|from '|module_or_path: ')\.\/([^"'?#]+)["']/g)].map((match) => match[1]);
      for (const module of named.filter((file) => /^vae-app-[0-9a-f]+\.js$/.test(file))) {
        const glue = await (await fetch(fresh(module))).text();
        named.push(...[...glue.matchAll(/from ["']\.\/(snippets\/[^"']+)["']/g)].map((match) => match[1]));
      }
      const files = [...new Set([...named, ...FIXED])];
      const cache = await caches.open(CACHE);
      await cache.addAll(files.map(fresh));
      await cache.put(SCOPE, index);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('vae-lab-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) return;
  event.respondWith(HASHED.test(url.pathname) ? cacheFirst(request) : networkFirst(request));
});

async function cacheFirst(request) {
  const cached = await caches.match(request, { cacheName: CACHE });
  return cached ?? fetch(request);
}

async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (error) {
    // Any page of the lab's (`?engine=…`, `#z=…`) is the one index.
    const key = request.mode === 'navigate' ? SCOPE : request;
    const cached = await caches.match(key, { cacheName: CACHE, ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}
