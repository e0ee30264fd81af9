// dense_backward_input_tiled.wgsl: dense_backward_input.wgsl on real GPUs, as a shared-memory tiled
// product (matmul_tiled.wgsl, appended).
//
// Math:    dx[r, i] = m[r, i] · Σ_o dy[r, o] · w[o, i]     as C = A · Bᵀ with A = dy, B = wᵀ, k = outputs;
//          m[r, i] = [act[r, i] > 0] if params.mask != 0, else 1
// Buffers (f32, row-major, tightly packed):
//   @binding(0) params  uniform       { m = rows, n = inputs, k = outputs, row_sums = 0, mask: u32, 3 × pad }
//   @binding(1) dy      storage read  [rows, outputs]
//   @binding(2) w       storage read  [outputs, inputs]
//   @binding(3) act     storage read  [rows, inputs]   any buffer if mask == 0
//   @binding(4) dx      storage rw    [rows, inputs]
// Tested by: crates/vae-gpu/tests/dense_backward.rs,
//   input_gradient_matches_the_reference_with_and_without_the_relu_mask
//   (MatmulStrategy::SharedTiles).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    row_sums: u32,
    mask: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> act: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

fn a_at(m: u32, k: u32) -> f32 {
    if (m >= params.m || k >= params.k) {
        return 0.0;
    }
    return dy[m * params.k + k];
}

fn b_at(n: u32, k: u32) -> f32 {
    if (n >= params.n || k >= params.k) {
        return 0.0;
    }
    return w[k * params.n + n];
}

fn emit(m: u32, n: u32, sum: f32) {
    let at = m * params.n + n;
    var value = sum;
    if (params.mask != 0u && act[at] <= 0.0) {
        value = 0.0;
    }
    dx[at] = value;
}

fn emit_row_sum(m: u32, sum: f32) {}
