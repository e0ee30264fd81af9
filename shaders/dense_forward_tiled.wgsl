// dense_forward_tiled.wgsl: dense_forward.wgsl on real GPUs, as a shared-memory tiled product
// (matmul_tiled.wgsl, appended): y = act(x · Wᵀ + b).
//
// Math:    y[r, o] = act( b[o] + Σ_i x[r, i] · w[o, i] )    as C = A · Bᵀ with A = x, B = w, k = inputs
// Buffers (f32, row-major, tightly packed):
//   @binding(0) params  uniform       { m = rows, n = outputs, k = inputs, row_sums = 0, relu: u32, 3 × pad }
//   @binding(1) x       storage read  [rows, inputs]
//   @binding(2) w       storage read  [outputs, inputs]   PyTorch nn.Linear layout
//   @binding(3) b       storage read  [outputs]
//   @binding(4) y       storage rw    [rows, outputs]
// Tested by: crates/vae-gpu/tests/dense_forward.rs,
//   dense_forward_matches_the_reference_on_awkward_shapes (MatmulStrategy::SharedTiles).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    row_sums: u32,
    relu: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn a_at(m: u32, k: u32) -> f32 {
    if (m >= params.m || k >= params.k) {
        return 0.0;
    }
    return x[m * params.k + k];
}

fn b_at(n: u32, k: u32) -> f32 {
    if (n >= params.n || k >= params.k) {
        return 0.0;
    }
    return w[n * params.k + k];
}

fn emit(m: u32, n: u32, sum: f32) {
    var value = sum + b[n];
    if (params.relu != 0u) {
        value = max(value, 0.0);
    }
    y[m * params.n + n] = value;
}

fn emit_row_sum(m: u32, sum: f32) {}
