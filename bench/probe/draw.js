// Two routes for a decoded digit to reach the screen, measured the same way the lab measures a
// slider (to the animation frame that can show it): (a) read back: the 784 values copied to a
// mapped buffer, then drawn with putImageData into a 2D canvas; (b) on the GPU: a render pass
// draws the values straight from the storage buffer into a WebGPU canvas, no read back. The
// pixels of (b) cannot be on screen before the GPU has drawn them, so (b) is timed to the frame
// after onSubmittedWorkDone (an upper bound), and also to the first frame after its submit (a
// lower bound). Both canvases are checked to show the same digit.
import { device, storage } from './common.js';

const { gpu } = await device();
const side = 28;
const values = storage(gpu, new Float32Array(side * side));
// A decoder stand-in: each pixel a smooth function of a parameter the "slider" moves.
const params = gpu.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
const decode = gpu.createComputePipeline({
  layout: 'auto',
  compute: {
    module: gpu.createShaderModule({ code: `
@group(0) @binding(0) var<uniform> t: vec4<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x >= 784u) { return; }
  let x = f32(g.x % 28u) - 13.5; let r = f32(g.x / 28u) - 13.5;
  y[g.x] = 1.0 / (1.0 + exp(0.05 * (x * x + r * r) - 6.0 - 2.0 * sin(t.x + 0.2 * x)));
}` }),
    entryPoint: 'main',
  },
});
const decodeGroup = gpu.createBindGroup({
  layout: decode.getBindGroupLayout(0),
  entries: [{ binding: 0, resource: { buffer: params } }, { binding: 1, resource: { buffer: values } }],
});

const canvas2d = document.createElement('canvas');
canvas2d.width = canvas2d.height = side;
document.body.append(canvas2d);
const context2d = canvas2d.getContext('2d');
const staging = gpu.createBuffer({ size: side * side * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

const canvasGpu = document.createElement('canvas');
canvasGpu.width = canvasGpu.height = side;
document.body.append(canvasGpu);
const contextGpu = canvasGpu.getContext('webgpu');
const format = navigator.gpu.getPreferredCanvasFormat();
contextGpu.configure({ device: gpu, format, alphaMode: 'opaque' });
const draw = gpu.createRenderPipeline({
  layout: 'auto',
  vertex: {
    module: gpu.createShaderModule({ code: `
@vertex fn main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  let p = array(vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
  return vec4(p[i], 0.0, 1.0);
}` }),
    entryPoint: 'main',
  },
  fragment: {
    module: gpu.createShaderModule({ code: `
@group(0) @binding(0) var<storage, read> y: array<f32>;
@fragment fn main(@builtin(position) at: vec4<f32>) -> @location(0) vec4<f32> {
  let v = clamp(y[u32(at.y) * 28u + u32(at.x)], 0.0, 1.0);
  return vec4(vec3(1.0 - v), 1.0);
}` }),
    entryPoint: 'main',
    targets: [{ format }],
  },
});
const drawGroup = gpu.createBindGroup({ layout: draw.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: values } }] });

const nudge = setInterval(() => gpu.queue.submit([]), 4);
const nextFrame = () => new Promise((done) => requestAnimationFrame(done));
const pause = (ms) => new Promise((done) => setTimeout(done, ms));

function encodeDecode(encoder, t) {
  gpu.queue.writeBuffer(params, 0, new Float32Array([t, 0, 0, 0]));
  const pass = encoder.beginComputePass();
  pass.setPipeline(decode);
  pass.setBindGroup(0, decodeGroup);
  pass.dispatchWorkgroups(13);
  pass.end();
}

async function readBackRoute(t) {
  const start = performance.now();
  const encoder = gpu.createCommandEncoder();
  encodeDecode(encoder, t);
  encoder.copyBufferToBuffer(values, 0, staging, 0, side * side * 4);
  gpu.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const v = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  const rgba = new Uint8ClampedArray(side * side * 4);
  for (let i = 0; i < v.length; i += 1) {
    const ink = Math.round(255 * (1 - Math.min(1, Math.max(0, v[i]))));
    rgba.set([ink, ink, ink, 255], 4 * i);
  }
  context2d.putImageData(new ImageData(rgba, side, side), 0, 0);
  await nextFrame();
  return performance.now() - start;
}

async function gpuRoute(t) {
  const start = performance.now();
  const encoder = gpu.createCommandEncoder();
  encodeDecode(encoder, t);
  const pass = encoder.beginRenderPass({
    colorAttachments: [{ view: contextGpu.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [1, 1, 1, 1] }],
  });
  pass.setPipeline(draw);
  pass.setBindGroup(0, drawGroup);
  pass.draw(3);
  pass.end();
  gpu.queue.submit([encoder.finish()]);
  const done = gpu.queue.onSubmittedWorkDone();
  await nextFrame();
  const lower = performance.now() - start;
  await done;
  await nextFrame();
  return [lower, performance.now() - start];
}

function report(what, times) {
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
  console.log(`${what}, ${times.length} times: p50 ${at(0.5)}, p95 ${at(0.95)} ms`);
}

const back = [];
const lower = [];
const upper = [];
for (let i = 0; i < 40; i += 1) {
  back.push(await readBackRoute(i * 0.1));
  await pause(30);
  const [l, u] = await gpuRoute(i * 0.1);
  lower.push(l);
  upper.push(u);
  await pause(30);
}
report('read back + putImageData, to the next frame', back);
report('WebGPU canvas, to the first frame after submit (lower bound)', lower);
report('WebGPU canvas, to the frame after the GPU is done (upper bound)', upper);
// The same digit in both canvases (the WebGPU one read through a 2D canvas)?
const probe = document.createElement('canvas');
probe.width = probe.height = side;
const probeContext = probe.getContext('2d');
probeContext.drawImage(canvasGpu, 0, 0);
const a = context2d.getImageData(0, 0, side, side).data;
const b = probeContext.getImageData(0, 0, side, side).data;
let most = 0;
const inked = [0, 0];
for (let i = 0; i < a.length; i += 4) {
  most = Math.max(most, Math.abs(a[i] - b[i]));
  if (a[i] < 128) inked[0] += 1;
  if (b[i] < 128) inked[1] += 1;
}
console.log(`WebGPU canvas composited and read back: largest difference from the 2D canvas ${most} of 255; dark pixels ${inked[0]} (2D), ${inked[1]} (WebGPU)`);
clearInterval(nudge);
window.probeDone = true;
