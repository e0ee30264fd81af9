// dense_backward_input.wgsl: the gradient with respect to a dense layer's input, with the
// previous layer's ReLU folded in.
//
// Math:    dx[r, i] = m[r, i] · Σ_o dy[r, o] · w[o, i]
//          m[r, i] = 1 if act[r, i] > 0 (the input came out of a ReLU that was active), 0 if it
//          was inactive; m = 1 everywhere when params.mask == 0.
// Buffers (f32, row-major, tightly packed; each read as Packed along its rows):
//   @binding(0) params  uniform       { rows, inputs, outputs, mask: u32 }
//   @binding(1) dy      storage read  [rows, outputs / WIDTH] Packed   gradient at the layer's output
//   @binding(2) w       storage read  [outputs, inputs / WIDTH] Packed PyTorch nn.Linear layout
//   @binding(3) act     storage read  [rows, inputs / WIDTH] Packed    the layer's input; any buffer if mask == 0
//   @binding(4) dx      storage rw    [rows, inputs / WIDTH] Packed
// One source, three forms (made at pipeline creation by crates/vae-gpu/src/kernels/template.rs):
// - Register blocks, vec4 (WIDTH 4, inputs and outputs multiples of 4): each invocation owns
//   BLOCK_ROWS rows × BLOCK_INPUTS inputs of dx in named vec4 registers; per 4 outputs it loads
//   BLOCK_ROWS vec4s of dy and BLOCK_INPUTS of w (4 rows of BLOCK_INPUTS / 4). The block and the
//   fully unrolled body between the `unroll` markers are generated per adapter; as committed this
//   file is the complete 4 × 4 kernel. On software adapters with a fixed subgroup size the block's
//   rows of dy are shared across lanes by subgroupBroadcast (a one-dimensional workgroup).
// - Register blocks, scalar (WIDTH 1, Packed = f32): the same at 4 × 4, one output per step, for
//   any shape.
// - Shared-memory tiles: WIDTH 1 with matmul_tiled.wgsl in place of `main`, fed by the functions
//   between the `tiled` markers, for real GPUs.
// Dispatch (register blocks) ceil(inputs / BLOCK_INPUTS / WG_X) × ceil(rows / BLOCK_ROWS / WG_Y).
// Edges: indices past the end are clamped for loads and skipped for stores.
// Tested by: crates/vae-gpu/tests/dense_backward.rs,
//   input_gradient_matches_the_reference_with_and_without_the_relu_mask (every form, every
//   adapter's blocks).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    mask: u32,
}

alias Packed = vec4<f32>;
const WIDTH: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<Packed>;
@group(0) @binding(2) var<storage, read> w: array<Packed>;
@group(0) @binding(3) var<storage, read> act: array<Packed>;
@group(0) @binding(4) var<storage, read_write> dx: array<Packed>;

fn store(row: u32, i_vec: u32, sum: Packed) {
    let at = row * (params.inputs / WIDTH) + i_vec;
    var value = sum;
    if (params.mask != 0u) {
        value = select(Packed(0.0), value, act[at] > Packed(0.0));
    }
    dx[at] = value;
}

// tiled-begin
// C[m, n] = Σ_k A[m, k] · B[n, k] with A = dy, B = wᵀ: sizes (m, n, k), operands, epilogue.
fn product_size() -> vec3<u32> {
    return vec3<u32>(params.rows, params.inputs, params.outputs);
}
fn a_at(m: u32, k: u32) -> f32 {
    return dy[m * params.outputs + k];
}
fn b_at(n: u32, k: u32) -> f32 {
    return w[k * params.inputs + n];
}
fn emit(m: u32, n: u32, sum: f32) {
    store(m, n, sum);
}
fn emit_row_sum(m: u32, sum: f32) {}
// tiled-end

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
const BLOCK_ROWS: u32 = 4u;
const BLOCK_INPUTS: u32 = 4u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o_vecs = params.outputs / WIDTH;
    let i_vecs = params.inputs / WIDTH;
    let row0 = gid.y * BLOCK_ROWS;
    let i_vec0 = gid.x * (BLOCK_INPUTS / WIDTH);
    if (row0 >= params.rows || i_vec0 >= i_vecs) {
        return;
    }
    // unroll-begin
    let dyb0 = min(row0 + 0u, params.rows - 1u) * o_vecs;
    let dyb1 = min(row0 + 1u, params.rows - 1u) * o_vecs;
    let dyb2 = min(row0 + 2u, params.rows - 1u) * o_vecs;
    let dyb3 = min(row0 + 3u, params.rows - 1u) * o_vecs;
    let iv0 = min(i_vec0 + 0u, i_vecs - 1u);
    var a0_0 = Packed(0.0);
    var a1_0 = Packed(0.0);
    var a2_0 = Packed(0.0);
    var a3_0 = Packed(0.0);
    for (var k = 0u; k < o_vecs; k++) {
        let w0_0 = w[(4u * k + 0u) * i_vecs + iv0];
        let w1_0 = w[(4u * k + 1u) * i_vecs + iv0];
        let w2_0 = w[(4u * k + 2u) * i_vecs + iv0];
        let w3_0 = w[(4u * k + 3u) * i_vecs + iv0];
        let g0 = dy[dyb0 + k];
        let g1 = dy[dyb1 + k];
        let g2 = dy[dyb2 + k];
        let g3 = dy[dyb3 + k];
        a0_0 += g0.x * w0_0 + g0.y * w1_0 + g0.z * w2_0 + g0.w * w3_0;
        a1_0 += g1.x * w0_0 + g1.y * w1_0 + g1.z * w2_0 + g1.w * w3_0;
        a2_0 += g2.x * w0_0 + g2.y * w1_0 + g2.z * w2_0 + g2.w * w3_0;
        a3_0 += g3.x * w0_0 + g3.y * w1_0 + g3.z * w2_0 + g3.w * w3_0;
    }
    if (row0 + 0u < params.rows) {
        if (i_vec0 + 0u < i_vecs) { store(row0 + 0u, i_vec0 + 0u, a0_0); }
    }
    if (row0 + 1u < params.rows) {
        if (i_vec0 + 0u < i_vecs) { store(row0 + 1u, i_vec0 + 0u, a1_0); }
    }
    if (row0 + 2u < params.rows) {
        if (i_vec0 + 0u < i_vecs) { store(row0 + 2u, i_vec0 + 0u, a2_0); }
    }
    if (row0 + 3u < params.rows) {
        if (i_vec0 + 0u < i_vecs) { store(row0 + 3u, i_vec0 + 0u, a3_0); }
    }
    // unroll-end
}
