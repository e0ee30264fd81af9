// dense_backward_weight_tiled.wgsl: dense_backward_weight.wgsl on real GPUs, as a shared-memory
// tiled product (matmul_tiled.wgsl, appended), with the bias gradient as A's row sums.
//
// Math:    dw[o, i] = Σ_r dy[r, o] · x[r, i]      as C = A · Bᵀ with A = dyᵀ, B = xᵀ, k = rows
//          db[o]    = Σ_r dy[r, o]                 A's row sums
// Buffers (f32, row-major, tightly packed):
//   @binding(0) params  uniform       { m = outputs, n = inputs, k = rows, row_sums = 1, 4 × pad: u32 }
//   @binding(1) dy      storage read  [rows, outputs]
//   @binding(2) x       storage read  [rows, inputs]
//   @binding(3) dw      storage rw    [outputs, inputs]   overwritten, not accumulated
//   @binding(4) db      storage rw    [outputs]           overwritten, not accumulated
// Tested by: crates/vae-gpu/tests/dense_backward.rs, weight_and_bias_gradients_match_the_reference
//   (MatmulStrategy::SharedTiles).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    row_sums: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

fn a_at(m: u32, k: u32) -> f32 {
    if (m >= params.m || k >= params.k) {
        return 0.0;
    }
    return dy[k * params.m + m];
}

fn b_at(n: u32, k: u32) -> f32 {
    if (n >= params.n || k >= params.k) {
        return 0.0;
    }
    return x[k * params.n + n];
}

fn emit(m: u32, n: u32, sum: f32) {
    dw[m * params.n + n] = sum;
}

fn emit_row_sum(m: u32, sum: f32) {
    db[m] = sum;
}
