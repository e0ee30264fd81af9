// The browser suite as scripts/test.sh runs it: `node e2e/run.mjs [node --test arguments]`.
// Launches each browser the run needs once (with and without WebGPU, for E2E_BROWSERS), runs
// `node --test e2e/` with their addresses in VAE_LAB_E2E_BROWSERS for the harness to connect to,
// and closes them after. `node --test e2e/` alone still works: each file then launches its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectShared, launchOwn, selectedBrowsers, sharedKey } from './harness.mjs';

const launched = [];
const endpoints = {};
let status = 1;
try {
  for (const kind of selectedBrowsers()) {
    for (const webgpu of [true, false]) {
      const userDataDir = mkdtempSync(join(tmpdir(), 'vae-lab-e2e-'));
      const own = await launchOwn(kind, { webgpu, userDataDir });
      const endpoint = own.browser.wsEndpoint();
      launched.push({ kind, webgpu, own, endpoint, userDataDir });
      endpoints[sharedKey(kind.name, webgpu)] = endpoint;
      // Firefox serves one WebDriver BiDi session at a time: this one ends, the files' begin.
      if (kind.name === 'firefox') await own.browser.disconnect();
    }
  }
  const args = process.argv.slice(2);
  // One file at a time: each holds the shared Firefox's one session while it runs.
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...(args.length > 0 ? args : ['e2e/'])], {
    stdio: 'inherit',
    env: { ...process.env, VAE_LAB_E2E_BROWSERS: JSON.stringify(endpoints) },
  });
  status = await new Promise((done) => child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0))));
} finally {
  for (const { kind, webgpu, own, endpoint, userDataDir } of launched) {
    const process = own.browser.process();
    const exited = process.exitCode === null ? new Promise((done) => process.once('exit', done)) : null;
    if (own.browser.connected) {
      await own.close();
    } else {
      await (await connectShared(kind, endpoint, webgpu)).browser.close();
    }
    await exited;
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
process.exit(status);
