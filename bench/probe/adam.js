// One Adam update of the model's 815,872 parameters: one invocation per parameter (the engine's
// first adam.wgsl) against vec4s with 16 per invocation a grid apart (its current one).
import { device, kernel, seeded, storage, time } from './common.js';

const COUNT = 815_872;
const { gpu } = await device();
const hyper = gpu.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
const words = new ArrayBuffer(32);
new Uint32Array(words, 0, 1)[0] = COUNT;
new Float32Array(words, 4, 4).set([1e-3, 0.9, 0.999, 1e-8]);
gpu.queue.writeBuffer(hyper, 0, words);
const state = storage(gpu, new Uint32Array([5, 0, 0, 0]));
const buffers = [hyper, storage(gpu, seeded(COUNT, 1)), state, storage(gpu, seeded(COUNT, 2)),
  storage(gpu, new Float32Array(COUNT)), storage(gpu, new Float32Array(COUNT))];

const head = (type) => `
struct Hyper { count: u32, lr: f32, beta1: f32, beta2: f32, epsilon: f32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<storage, read> grads: array<${type}>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> params: array<${type}>;
@group(0) @binding(4) var<storage, read_write> m: array<${type}>;
@group(0) @binding(5) var<storage, read_write> v: array<${type}>;
`;
const update = `
    let g = grads[k];
    let m_new = hyper.beta1 * m[k] + (1.0 - hyper.beta1) * g;
    let v_new = hyper.beta2 * v[k] + (1.0 - hyper.beta2) * g * g;
    m[k] = m_new;
    v[k] = v_new;
    params[k] -= hyper.lr * (m_new / correction1) / (sqrt(v_new / correction2) + hyper.epsilon);`;
const corrections = `
    let t = f32(state[0]);
    let correction1 = 1.0 - pow(hyper.beta1, t);
    let correction2 = 1.0 - pow(hyper.beta2, t);`;
const perParameter = `${head('f32')}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let k = gid.x + gid.y * groups.x * 256u;
    if (k >= hyper.count) { return; }${corrections}${update}
}`;
const vec4s = `${head('vec4<f32>')}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let invocations = groups.x * groups.y * 64u;${corrections}
    for (var k = gid.x + gid.y * groups.x * 64u; k < hyper.count / 4u; k += invocations) {${update}
    }
}`;
const spread = (groups) => (groups <= 65535 ? [groups, 1] : [65535, Math.ceil(groups / 65535)]);
for (const [name, code, perGroup] of [['one parameter per invocation', perParameter, 256], ['vec4s, 16 per invocation', vec4s, 16 * 4 * 64]]) {
  const run = kernel(gpu, code, buffers);
  const groups = spread(Math.ceil(COUNT / perGroup));
  const { median } = await time(gpu, (encoder) => { for (let i = 0; i < 5; i++) run(encoder, ...groups); }, 5);
  console.log(`adam, ${name}: ${(median / 5).toFixed(2)} ms per update of ${COUNT} parameters`);
}
window.probeDone = true;
