// y[128, 500] = x[128, 784] · w[500, 784]ᵀ (the encoder's first layer) in the forms the engine's
// forward template takes: R × C register blocks with vec4 loads ("blocks"), the same with the
// block's rows of x shared across the subgroup ("shared"), and, as a ceiling, the blocks with
// every load hoisted out of the loop ("no loads": what the arithmetic alone costs here).
import { device, kernel, readBack, seeded, storage, time } from './common.js';

const M = 128, K = 784, N = 500, K4 = K / 4;

function source(form, R, C) {
  const shared = form === 'shared';
  let s = (shared ? 'enable subgroups;\n' : '') + `
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32${shared ? ', @builtin(subgroup_invocation_id) lane: u32' : ''}) {
  let col0 = (group.x * 8u + local % 8u) * ${C}u;
  let row0 = (group.y * 8u + local / 8u) * ${R}u;
`;
  const rows = shared ? R / 4 : R;
  for (let r = 0; r < rows; r++) s += `  let xb${r} = min(row0 + ${shared ? `lane + ${4 * r}u` : `${r}u`}, ${M - 1}u) * ${K4}u;\n`;
  for (let c = 0; c < C; c++) s += `  let wb${c} = min(col0 + ${c}u, ${N - 1}u) * ${K4}u;\n`;
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) s += `  var a${r}_${c} = 0.0;\n`;
  if (form === 'no loads') {
    for (let r = 0; r < R; r++) s += `  var x${r} = x[xb${r}];\n`;
    for (let c = 0; c < C; c++) s += `  let w${c} = w[wb${c}];\n`;
  }
  s += `  for (var k = 0u; k < ${K4}u; k++) {\n`;
  if (form === 'no loads') {
    // A change per step keeps the compiler from hoisting the arithmetic itself.
    for (let r = 0; r < R; r++) s += `    x${r} += vec4<f32>(1e-9);\n`;
  } else if (shared) {
    for (let j = 0; j < R / 4; j++) s += `    let s${j} = x[xb${j} + k];\n`;
    for (let r = 0; r < R; r++) s += `    let x${r} = subgroupBroadcast(s${r >> 2}, ${r & 3}u);\n`;
  } else {
    for (let r = 0; r < R; r++) s += `    let x${r} = x[xb${r} + k];\n`;
  }
  if (form !== 'no loads') for (let c = 0; c < C; c++) s += `    let w${c} = w[wb${c} + k];\n`;
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) s += `    a${r}_${c} += dot(x${r}, w${c});\n`;
  s += '  }\n';
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
    s += `  if (row0 + ${r}u < ${M}u && col0 + ${c}u < ${N}u) { y[(row0 + ${r}u) * ${N}u + col0 + ${c}u] = a${r}_${c}; }\n`;
  }
  return `${s}}\n`;
}

const { gpu, lanes } = await device();
const xs = seeded(M * K, 1), ws = seeded(N * K, 2);
const x = storage(gpu, xs), w = storage(gpu, ws), y = storage(gpu, new Float32Array(M * N));
const expected = new Float32Array(M * N);
for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
  let sum = 0;
  for (let k = 0; k < K; k++) sum += xs[m * K + k] * ws[n * K + k];
  expected[m * N + n] = sum;
}
const cases = [['blocks', 4, 4], ['blocks', 8, 8], ['blocks', 16, 8], ['shared', 8, 8], ['shared', 16, 8], ['no loads', 8, 8], ['no loads', 4, 8]];
for (const [form, R, C] of cases) {
  if (form === 'shared' && lanes !== 4) {
    console.log(`${form} ${R}×${C}: skipped (written for subgroups of 4; this adapter's: ${lanes || 'none'})`);
    continue;
  }
  const run = kernel(gpu, source(form, R, C), [x, w, y]);
  const groups = [Math.ceil(N / C / 8), Math.ceil(M / R / 8)];
  const { first, median } = await time(gpu, (encoder) => { for (let i = 0; i < 5; i++) run(encoder, ...groups); }, 5);
  const ms = median / 5;
  let note = '';
  if (form !== 'no loads') {
    const got = await readBack(gpu, y);
    const error = got.reduce((worst, v, i) => Math.max(worst, Math.abs(v - expected[i])), 0);
    if (error > 1e-3) throw new Error(`${form} ${R}×${C}: max error ${error}`);
    note = `, max error ${error.toExponential(1)}`;
  }
  console.log(`${form} ${R}×${C}: ${ms.toFixed(2)} ms, ${(2 * M * N * K / ms / 1e6).toFixed(2)} GFLOP/s (first run ${first.toFixed(0)} ms${note})`);
}
window.probeDone = true;
