// What a read back costs before any math: one tiny dispatch, a copy of one decoded digit's 784
// floats, mapAsync, read. The floor under the lab's "decode one z, drawn".
import { device, kernel, storage } from './common.js';

const { gpu } = await device();
const values = storage(gpu, new Float32Array(784));
const touch = kernel(gpu, `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < 784u) { y[g.x] += 1.0; } }`, [values]);
const staging = gpu.createBuffer({ size: 784 * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const times = [];
for (let i = 0; i < 60; i += 1) {
  const start = performance.now();
  const encoder = gpu.createCommandEncoder();
  touch(encoder, 13);
  encoder.copyBufferToBuffer(values, 0, staging, 0, 784 * 4);
  gpu.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  new Float32Array(staging.getMappedRange()).at(0);
  staging.unmap();
  times.push(performance.now() - start);
  await new Promise((done) => setTimeout(done, 20));
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
console.log(`dispatch + copy + mapAsync + read, 60 times: min ${at(0)}, p50 ${at(0.5)}, p95 ${at(0.95)} ms`);
window.probeDone = true;
