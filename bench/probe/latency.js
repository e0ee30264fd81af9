// What a read back costs before any math: one tiny dispatch, a copy of one decoded digit's 784
// floats, mapAsync, read. The floor under the lab's "decode one z, drawn", and the round trip a
// training schedule must cover with queued work. Measured four ways, since browsers deliver
// completion callbacks differently: awaited alone; with an animation-frame loop running (a page
// that draws); with other submits arriving meanwhile; and waiting on onSubmittedWorkDone.
import { device, kernel, storage } from './common.js';

const { gpu } = await device();
const values = storage(gpu, new Float32Array(784));
const touch = kernel(gpu, `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < 784u) { y[g.x] += 1.0; } }`, [values]);
const staging = gpu.createBuffer({ size: 784 * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

async function roundTrip() {
  const start = performance.now();
  const encoder = gpu.createCommandEncoder();
  touch(encoder, 13);
  encoder.copyBufferToBuffer(values, 0, staging, 0, 784 * 4);
  gpu.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  new Float32Array(staging.getMappedRange()).at(0);
  staging.unmap();
  return performance.now() - start;
}

async function doneRoundTrip() {
  const start = performance.now();
  const encoder = gpu.createCommandEncoder();
  touch(encoder, 13);
  gpu.queue.submit([encoder.finish()]);
  await gpu.queue.onSubmittedWorkDone();
  return performance.now() - start;
}

function report(what, times) {
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
  console.log(`${what}, ${times.length} times: min ${at(0)}, p50 ${at(0.5)}, p95 ${at(0.95)} ms`);
}

const pause = (ms) => new Promise((done) => setTimeout(done, ms));
async function series(measure, count = 40) {
  const times = [];
  for (let i = 0; i < count; i += 1) {
    times.push(await measure());
    await pause(20);
  }
  return times;
}

report('dispatch + copy + mapAsync + read, alone', await series(roundTrip));
report('dispatch + onSubmittedWorkDone, alone', await series(doneRoundTrip));

let framing = true;
const frame = () => { if (framing) requestAnimationFrame(frame); };
requestAnimationFrame(frame);
report('dispatch + copy + mapAsync + read, animation frames running', await series(roundTrip));
framing = false;

// Something else talks to the GPU meanwhile: an empty submit every few ms (no work queued),
// which a browser that services its GPU channel on each message reacts to.
for (const every of [2, 4, 8, 16]) {
  const timer = setInterval(() => gpu.queue.submit([]), every);
  report(`dispatch + copy + mapAsync + read, an empty submit every ${every} ms`, await series(roundTrip));
  clearInterval(timer);
}
window.probeDone = true;
