// When does a completion arrive while more work is queued behind it? Three chunks of tens of
// milliseconds are submitted back to back, each followed by a small copy that is mapped (or by
// onSubmittedWorkDone); when each resolves tells whether completions arrive as each chunk
// finishes or only as the queue drains. Run with and without another submit every 4 ms (which
// is what gets Firefox to service its GPU channel between its timer ticks).
import { device, kernel, storage } from './common.js';

const { gpu } = await device();
const big = storage(gpu, new Float32Array(1 << 20));
const busy = kernel(gpu, `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var a = y[g.x]; for (var i = 0u; i < 256u; i++) { a = a * 0.999 + 0.001; } y[g.x] = a; }`, [big]);
const tiny = storage(gpu, new Float32Array(1));
const pause = (ms) => new Promise((done) => setTimeout(done, ms));

async function chunkTimes(chunks, groups, how) {
  const start = performance.now();
  const reads = [];
  for (let c = 0; c < chunks; c += 1) {
    const encoder = gpu.createCommandEncoder();
    busy(encoder, groups);
    if (how === 'done') {
      gpu.queue.submit([encoder.finish()]);
      reads.push(gpu.queue.onSubmittedWorkDone().then(() => performance.now() - start));
    } else {
      const staging = gpu.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(big, 0, staging, 0, 4);
      gpu.queue.submit([encoder.finish()]);
      reads.push(staging.mapAsync(GPUMapMode.READ).then(() => performance.now() - start));
    }
  }
  return Promise.all(reads);
}

const nudges = {
  none: null,
  'empty submit': () => gpu.queue.submit([]),
  'tiny writeBuffer': () => gpu.queue.writeBuffer(tiny, 0, new Float32Array([1])),
};
for (const [name, nudge] of Object.entries(nudges)) {
  const timer = nudge ? setInterval(nudge, 4) : null;
  for (const how of ['mapAsync', 'done']) {
    const groups = 16384;
    await chunkTimes(1, groups, how);
    const one = await chunkTimes(1, groups, how);
    const three = await chunkTimes(3, groups, how);
    console.log(`nudge: ${name}, ${how}: one chunk ${one[0].toFixed(0)} ms; three queued resolve at ${three.map((t) => t.toFixed(0)).join(', ')} ms`);
    await pause(50);
  }
  if (timer) clearInterval(timer);
}
window.probeDone = true;
