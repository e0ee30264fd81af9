// dense_backward_weight.wgsl: the gradients of a dense layer's weight and bias, summed over the batch.
//
// Math:    dw[o, i] = Σ_r dy[r, o] · x[r, i]          db[o] = Σ_r dy[r, o]
// Buffers (f32, row-major, tightly packed; each read as Packed along its rows):
//   @binding(0) params  uniform       { rows, inputs, outputs, _pad: u32 }
//   @binding(1) dy      storage read  [rows, outputs / WIDTH] Packed   ReLU mask already applied
//   @binding(2) x       storage read  [rows, inputs / WIDTH] Packed    the layer's input
//   @binding(3) dw      storage rw    [outputs, inputs / WIDTH] Packed overwritten, not accumulated
//   @binding(4) db      storage rw    [outputs / WIDTH] Packed         overwritten, not accumulated
// One source, three forms (made at pipeline creation by crates/vae-gpu/src/kernels/template.rs):
// - Register blocks, vec4 (WIDTH 4, inputs and outputs multiples of 4): each invocation owns a
//   BLOCK_OUTPUTS × BLOCK_INPUTS block of dw in named vec4 registers and walks the batch: per row
//   BLOCK_OUTPUTS / 4 vec4s of dy and BLOCK_INPUTS / 4 of x feed BLOCK_OUTPUTS · BLOCK_INPUTS / 4
//   vec4 multiply-adds. The invocations of the first input block also sum their outputs' bias
//   gradients. The block and the fully unrolled body between the `unroll` markers are generated
//   per adapter; as committed this file is the complete 4 × 4 kernel. On software adapters with a
//   fixed subgroup size the block's vec4s of dy are shared across lanes by subgroupBroadcast.
// - Register blocks, scalar (WIDTH 1, Packed = f32): the same at 4 × 4, for any shape.
// - Shared-memory tiles: WIDTH 1 with matmul_tiled.wgsl in place of `main`, fed by the functions
//   between the `tiled` markers (the bias gradient as A's row sums), for real GPUs.
// Dispatch (register blocks) ceil(inputs / BLOCK_INPUTS / WG_X) × ceil(outputs / BLOCK_OUTPUTS / WG_Y).
// Edges: block indices past the end are clamped for loads and skipped for stores.
// Tested by: crates/vae-gpu/tests/dense_backward.rs, weight_and_bias_gradients_match_the_reference
//   (every form, every adapter's blocks).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    _pad: u32,
}

alias Packed = vec4<f32>;
const WIDTH: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<Packed>;
@group(0) @binding(2) var<storage, read> x: array<Packed>;
@group(0) @binding(3) var<storage, read_write> dw: array<Packed>;
@group(0) @binding(4) var<storage, read_write> db: array<Packed>;

// tiled-begin
// C[m, n] = Σ_k A[m, k] · B[n, k] with A = dyᵀ, B = xᵀ: sizes (m, n, k), operands, epilogue.
fn product_size() -> vec3<u32> {
    return vec3<u32>(params.outputs, params.inputs, params.rows);
}
fn a_at(m: u32, k: u32) -> f32 {
    return dy[k * params.outputs + m];
}
fn b_at(n: u32, k: u32) -> f32 {
    return x[k * params.inputs + n];
}
fn emit(m: u32, n: u32, sum: f32) {
    dw[m * params.inputs + n] = sum;
}
fn emit_row_sum(m: u32, sum: f32) {
    db[m] = sum;
}
// tiled-end

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
const BLOCK_OUTPUTS: u32 = 4u;
const BLOCK_INPUTS: u32 = 4u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o_vecs = params.outputs / WIDTH;
    let i_vecs = params.inputs / WIDTH;
    let o_vec0 = gid.y * (BLOCK_OUTPUTS / WIDTH);
    let i_vec0 = gid.x * (BLOCK_INPUTS / WIDTH);
    if (o_vec0 >= o_vecs || i_vec0 >= i_vecs) {
        return;
    }
    // unroll-begin
    let ov0 = min(o_vec0 + 0u, o_vecs - 1u);
    let iv0 = min(i_vec0 + 0u, i_vecs - 1u);
    var a0_0 = Packed(0.0);
    var a1_0 = Packed(0.0);
    var a2_0 = Packed(0.0);
    var a3_0 = Packed(0.0);
    var bias0 = Packed(0.0);
    for (var r = 0u; r < params.rows; r++) {
        let g0 = dy[r * o_vecs + ov0];
        let x0 = x[r * i_vecs + iv0];
        a0_0 += g0.x * x0;
        a1_0 += g0.y * x0;
        a2_0 += g0.z * x0;
        a3_0 += g0.w * x0;
        bias0 += g0;
    }
    if (WIDTH * o_vec0 + 0u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(WIDTH * o_vec0 + 0u) * i_vecs + i_vec0 + 0u] = a0_0; }
    }
    if (WIDTH * o_vec0 + 1u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(WIDTH * o_vec0 + 1u) * i_vecs + i_vec0 + 0u] = a1_0; }
    }
    if (WIDTH * o_vec0 + 2u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(WIDTH * o_vec0 + 2u) * i_vecs + i_vec0 + 0u] = a2_0; }
    }
    if (WIDTH * o_vec0 + 3u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(WIDTH * o_vec0 + 3u) * i_vecs + i_vec0 + 0u] = a3_0; }
    }
    if (gid.x == 0u) {
        if (o_vec0 + 0u < o_vecs) { db[o_vec0 + 0u] = bias0; }
    }
    // unroll-end
}
