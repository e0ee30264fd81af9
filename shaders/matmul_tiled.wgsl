// matmul_tiled.wgsl: the shared-memory tiled product the dense kernels use on real GPUs, appended
// to a kernel file that supplies its operands and its epilogue:
//   fn a_at(m: u32, k: u32) -> f32          A[m, k], 0 outside the matrix
//   fn b_at(n: u32, k: u32) -> f32          B[n, k], 0 outside the matrix
//   fn emit(m: u32, n: u32, sum: f32)       consumes C[m, n] = Σ_k A[m, k] · B[n, k]
//   fn emit_row_sum(m: u32, sum: f32)       consumes Σ_k A[m, k] (called by the first column of tiles
//                                           only when params.row_sums != 0)
//   and a `params` uniform with fields m, n, k (sizes) and row_sums.
//
// Work split: a workgroup of 16 × 16 invocations owns a 64 × 64 tile of C; each invocation keeps a
// 4 × 4 block of it in registers. The shared dimension is walked 16 at a time: the workgroup
// stages a 64 × 16 slab of A and of B in workgroup memory (8 KiB, each invocation loading 4 + 4
// values), waits at a barrier, then every invocation does its 4 · 4 · 16 multiply-adds from the
// slabs. Real GPUs reward this (each value loaded once per tile, not once per output); software
// GPUs do not (barriers are expensive there), so they take the register-block kernels instead.
// Dispatch ceil(n / 64) × ceil(m / 64).
// Tested by: crates/vae-gpu/tests/dense_forward.rs and dense_backward.rs, through the three *_tiled
//   kernels (MatmulStrategy::SharedTiles).

const TILE: u32 = 64u;
const SLAB: u32 = 16u;

var<workgroup> slab_a: array<f32, 1024>;   // [TILE rows of A][SLAB]
var<workgroup> slab_b: array<f32, 1024>;   // [TILE rows of B][SLAB]

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) index: u32,
) {
    let m0 = group.y * TILE;
    let n0 = group.x * TILE;
    var acc: array<array<f32, 4>, 4>;
    var row_sum: array<f32, 4>;
    let slabs = (params.k + SLAB - 1u) / SLAB;
    for (var s = 0u; s < slabs; s++) {
        let k0 = s * SLAB;
        // 256 invocations stage 1024 values of each slab: 4 each, row-major [row][k].
        for (var j = 0u; j < 4u; j++) {
            let at = index + 256u * j;
            let row = at / SLAB;
            let kk = at % SLAB;
            slab_a[at] = a_at(m0 + row, k0 + kk);
            slab_b[at] = b_at(n0 + row, k0 + kk);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < SLAB; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = slab_a[(local.y * 4u + i) * SLAB + kk];
                b[i] = slab_b[(local.x * 4u + i) * SLAB + kk];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i][j] += a[i] * b[j];
                }
                row_sum[i] += a[i];
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + local.y * 4u + i;
        if (m >= params.m) {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + local.x * 4u + j;
            if (n < params.n) {
                emit(m, n, acc[i][j]);
            }
        }
        if (params.row_sums != 0u && group.x == 0u && local.x == 0u) {
            emit_row_sum(m, row_sum[i]);
        }
    }
}
