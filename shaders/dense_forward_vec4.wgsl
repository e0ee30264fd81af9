// dense_forward_vec4.wgsl: dense_forward.wgsl's fast path when `inputs` is a multiple of 4:
// y = act(x · Wᵀ + b), both operands read as vec4 along the shared dimension.
//
// Math:    y[r, o] = act( b[o] + Σ_i x[r, i] · w[o, i] )       act = ReLU if params.relu != 0
// Buffers (f32, row-major, tightly packed; x and w viewed as vec4 rows of inputs / 4):
//   @binding(0) params  uniform       { rows, inputs, outputs, relu: u32 }
//   @binding(1) x       storage read  [rows, inputs / 4] vec4
//   @binding(2) w       storage read  [outputs, inputs / 4] vec4     PyTorch nn.Linear layout
//   @binding(3) b       storage read  [outputs]
//   @binding(4) y       storage rw    [rows, outputs]
// Work split: each invocation computes a ROWS × COLS block of y in named registers; per 4-wide
// step of the shared dimension it loads ROWS + COLS vec4s and does ROWS · COLS dot products. Large
// blocks and no barriers are what software GPUs (lavapipe, SwiftShader) run fastest, where every
// storage load is a gather across lanes. A template: ROWS, COLS and the fully unrolled body between
// the `unroll` markers are generated per adapter when the pipeline is created
// (crates/vae-gpu/src/kernels/unroll.rs; WGSL cannot size function arrays by overrides, and
// llvmpipe keeps indexed arrays in memory); as committed it is the complete 4 × 4 kernel. On
// lavapipe (2 cores, `vae bench`) 16 × 32 reached 25-29 GFLOP/s on 128×784×500, 16 × 16 20-21,
// 4 × 4 10. The workgroup size is an override.
// On software adapters with a fixed subgroup size the generator also shares the block's rows of x:
// each lane loads a part and takes the rest by subgroupBroadcast (a one-dimensional workgroup).
// Dispatch ceil(outputs / (WG_X · COLS)) × ceil(rows / (WG_Y · ROWS)).
// Edges: rows and columns past the end are clamped for loads and skipped for stores.
// Tested by: crates/vae-gpu/tests/dense_forward.rs,
//   dense_forward_matches_the_reference_on_awkward_shapes (register blocks of every adapter kind).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    relu: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
const ROWS: u32 = 4u;
const COLS: u32 = 4u;

fn store(row: u32, col: u32, sum: f32) {
    var value = sum + b[col];
    if (params.relu != 0u) {
        value = max(value, 0.0);
    }
    y[row * params.outputs + col] = value;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col0 = gid.x * COLS;
    let row0 = gid.y * ROWS;
    if (col0 >= params.outputs || row0 >= params.rows) {
        return;
    }
    let steps = params.inputs / 4u;
    // unroll-begin
    let xb0 = min(row0 + 0u, params.rows - 1u) * steps;
    let xb1 = min(row0 + 1u, params.rows - 1u) * steps;
    let xb2 = min(row0 + 2u, params.rows - 1u) * steps;
    let xb3 = min(row0 + 3u, params.rows - 1u) * steps;
    let wb0 = min(col0 + 0u, params.outputs - 1u) * steps;
    let wb1 = min(col0 + 1u, params.outputs - 1u) * steps;
    let wb2 = min(col0 + 2u, params.outputs - 1u) * steps;
    let wb3 = min(col0 + 3u, params.outputs - 1u) * steps;
    var a0_0 = 0.0;
    var a0_1 = 0.0;
    var a0_2 = 0.0;
    var a0_3 = 0.0;
    var a1_0 = 0.0;
    var a1_1 = 0.0;
    var a1_2 = 0.0;
    var a1_3 = 0.0;
    var a2_0 = 0.0;
    var a2_1 = 0.0;
    var a2_2 = 0.0;
    var a2_3 = 0.0;
    var a3_0 = 0.0;
    var a3_1 = 0.0;
    var a3_2 = 0.0;
    var a3_3 = 0.0;
    for (var k = 0u; k < steps; k++) {
        let x0 = x[xb0 + k];
        let x1 = x[xb1 + k];
        let x2 = x[xb2 + k];
        let x3 = x[xb3 + k];
        let w0 = w[wb0 + k];
        let w1 = w[wb1 + k];
        let w2 = w[wb2 + k];
        let w3 = w[wb3 + k];
        a0_0 += dot(x0, w0);
        a0_1 += dot(x0, w1);
        a0_2 += dot(x0, w2);
        a0_3 += dot(x0, w3);
        a1_0 += dot(x1, w0);
        a1_1 += dot(x1, w1);
        a1_2 += dot(x1, w2);
        a1_3 += dot(x1, w3);
        a2_0 += dot(x2, w0);
        a2_1 += dot(x2, w1);
        a2_2 += dot(x2, w2);
        a2_3 += dot(x2, w3);
        a3_0 += dot(x3, w0);
        a3_1 += dot(x3, w1);
        a3_2 += dot(x3, w2);
        a3_3 += dot(x3, w3);
    }
    if (row0 + 0u < params.rows) {
        if (col0 + 0u < params.outputs) { store(row0 + 0u, col0 + 0u, a0_0); }
        if (col0 + 1u < params.outputs) { store(row0 + 0u, col0 + 1u, a0_1); }
        if (col0 + 2u < params.outputs) { store(row0 + 0u, col0 + 2u, a0_2); }
        if (col0 + 3u < params.outputs) { store(row0 + 0u, col0 + 3u, a0_3); }
    }
    if (row0 + 1u < params.rows) {
        if (col0 + 0u < params.outputs) { store(row0 + 1u, col0 + 0u, a1_0); }
        if (col0 + 1u < params.outputs) { store(row0 + 1u, col0 + 1u, a1_1); }
        if (col0 + 2u < params.outputs) { store(row0 + 1u, col0 + 2u, a1_2); }
        if (col0 + 3u < params.outputs) { store(row0 + 1u, col0 + 3u, a1_3); }
    }
    if (row0 + 2u < params.rows) {
        if (col0 + 0u < params.outputs) { store(row0 + 2u, col0 + 0u, a2_0); }
        if (col0 + 1u < params.outputs) { store(row0 + 2u, col0 + 1u, a2_1); }
        if (col0 + 2u < params.outputs) { store(row0 + 2u, col0 + 2u, a2_2); }
        if (col0 + 3u < params.outputs) { store(row0 + 2u, col0 + 3u, a2_3); }
    }
    if (row0 + 3u < params.rows) {
        if (col0 + 0u < params.outputs) { store(row0 + 3u, col0 + 0u, a3_0); }
        if (col0 + 1u < params.outputs) { store(row0 + 3u, col0 + 1u, a3_1); }
        if (col0 + 2u < params.outputs) { store(row0 + 3u, col0 + 2u, a3_2); }
        if (col0 + 3u < params.outputs) { store(row0 + 3u, col0 + 3u, a3_3); }
    }
    // unroll-end
}
