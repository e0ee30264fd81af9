// dense_forward.wgsl: one dense layer, y = act(x · Wᵀ + b), with the bias and ReLU fused.
//
// Math:    y[r, o] = act( b[o] + Σ_i x[r, i] · w[o, i] )       act = ReLU if params.relu != 0
// Buffers (f32, row-major, tightly packed; x and w read as Packed along the shared dimension):
//   @binding(0) params  uniform       { rows, inputs, outputs, relu: u32 }
//   @binding(1) x       storage read  [rows, inputs / WIDTH] Packed
//   @binding(2) w       storage read  [outputs, inputs / WIDTH] Packed   PyTorch nn.Linear layout
//   @binding(3) b       storage read  [outputs]
//   @binding(4) y       storage rw    [rows, outputs]
// One source, three forms (crates/vae-gpu/src/kernels/template.rs makes each at pipeline creation):
// - Register blocks, vec4 (WIDTH 4, `inputs` a multiple of 4): each invocation computes a ROWS ×
//   COLS block of y in named registers; per step of the shared dimension it loads ROWS + COLS
//   vec4s and does ROWS · COLS dot products. No barriers: what software GPUs (lavapipe,
//   SwiftShader) run fastest, where every storage load is a gather across lanes. The block and the
//   fully unrolled body between the `unroll` markers are generated per adapter (WGSL cannot size
//   function arrays by overrides, and llvmpipe keeps indexed arrays in memory); as committed this
//   file is the complete 4 × 4 kernel. On lavapipe (2 cores, `vae bench`) 16 × 32 reached 25-29
//   GFLOP/s on 128×784×500, 16 × 16 20-21, 4 × 4 10. On software adapters with a fixed subgroup
//   size the block's rows of x are shared: each lane loads a part and takes the rest by
//   subgroupBroadcast (a one-dimensional workgroup).
// - Register blocks, scalar (WIDTH 1, Packed = f32): the same at 4 × 4, for any shape.
// - Shared-memory tiles: WIDTH 1 with matmul_tiled.wgsl in place of `main` (the functions between
//   the `tiled` markers feed it), for real GPUs.
// Dispatch (register blocks) ceil(outputs / (WG_X · COLS)) × ceil(rows / (WG_Y · ROWS)).
// Edges: rows and columns past the end are clamped for loads and skipped for stores.
// Tested by: crates/vae-gpu/tests/dense_forward.rs,
//   dense_forward_matches_the_reference_on_awkward_shapes (every form, every adapter's blocks).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    relu: u32,
}

alias Packed = vec4<f32>;
const WIDTH: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<Packed>;
@group(0) @binding(2) var<storage, read> w: array<Packed>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn store(row: u32, col: u32, sum: f32) {
    var value = sum + b[col];
    if (params.relu != 0u) {
        value = max(value, 0.0);
    }
    y[row * params.outputs + col] = value;
}

// tiled-begin
// C[m, n] = Σ_k A[m, k] · B[n, k] with A = x, B = w: sizes (m, n, k), operands, epilogue.
fn product_size() -> vec3<u32> {
    return vec3<u32>(params.rows, params.outputs, params.inputs);
}
fn a_at(m: u32, k: u32) -> f32 {
    return x[m * params.inputs + k];
}
fn b_at(n: u32, k: u32) -> f32 {
    return w[n * params.inputs + k];
}
fn emit(m: u32, n: u32, sum: f32) {
    store(m, n, sum);
}
fn emit_row_sum(m: u32, sum: f32) {}
// tiled-end

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
const ROWS: u32 = 4u;
const COLS: u32 = 4u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col0 = gid.x * COLS;
    let row0 = gid.y * ROWS;
    if (col0 >= params.outputs || row0 >= params.rows) {
        return;
    }
    let steps = params.inputs / WIDTH;
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
