// What encoding a training step costs the browser's main thread, before any engine: 17
// dispatches (a pipeline, a bind group and a dispatch each, as the engine records a step) into
// one compute pass, 20 steps a submit, timed on the host. The floor under the engine's own
// "encode one step (CPU)" figure in this browser.
import { device, kernel, storage } from './common.js';

const { gpu } = await device();
const buffers = Array.from({ length: 17 }, () => storage(gpu, new Float32Array(64)));
const pipelines = buffers.map((buffer, i) => {
  const pipeline = gpu.createComputePipeline({
    layout: 'auto',
    compute: {
      module: gpu.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { y[g.x] += ${i}.0; }` }),
      entryPoint: 'main',
    },
  });
  const bindGroup = gpu.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] });
  return { pipeline, bindGroup };
});
void kernel;
const steps = 20;
const times = [];
for (let round = 0; round < 30; round += 1) {
  const start = performance.now();
  const encoder = gpu.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (let s = 0; s < steps; s += 1) {
    for (const { pipeline, bindGroup } of pipelines) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(1);
    }
  }
  pass.end();
  gpu.queue.submit([encoder.finish()]);
  times.push((performance.now() - start) / steps);
  await gpu.queue.onSubmittedWorkDone();
}
times.sort((a, b) => a - b);
console.log(`17 dispatches in JS, ${steps} steps a submit: ${times[times.length >> 1].toFixed(4)} ms a step (median of 30), min ${times[0].toFixed(4)}`);
window.probeDone = true;
