// matmul_tiled.wgsl: the shared-memory tiled product the dense kernels use on real GPUs. It
// replaces the register-block `main` of a dense kernel's source (dense_forward.wgsl,
// dense_backward_input.wgsl, dense_backward_weight.wgsl, at WIDTH 1), whose `tiled` section
// supplies the product's sizes, operands and epilogue:
//   fn product_size() -> vec3<u32>         (m, n, k)
//   fn a_at(m: u32, k: u32) -> f32          A[m, k], read only inside the matrix
//   fn b_at(n: u32, k: u32) -> f32          B[n, k], read only inside the matrix
//   fn emit(m: u32, n: u32, sum: f32)       consumes C[m, n] = Σ_k A[m, k] · B[n, k]
//   fn emit_row_sum(m: u32, sum: f32)       consumes Σ_k A[m, k] (called by the first column of
//                                           tiles; empty where the kernel has no use for it)
//
// Work split: a workgroup of 16 × 16 invocations owns a 64 × 64 tile of C; each invocation keeps a
// 4 × 4 block of it in registers. The shared dimension is walked 16 at a time: the workgroup
// stages a 64 × 16 slab of A and of B in workgroup memory (8 KiB, each invocation loading 4 + 4
// values), waits at a barrier, then every invocation does its 4 · 4 · 16 multiply-adds from the
// slabs. Real GPUs reward this (each value loaded once per tile, not once per output); software
// GPUs do not (a barrier is a switch between coroutines there), so they take the register blocks.
// It stays a separate source because it is a different algorithm (workgroup memory, barriers, a
// fixed 16 × 16 workgroup), not a specialisation of the register blocks' loop. Measured on
// lavapipe (2 cores, `vae bench --matmul tiles` against `vae bench`, 2026-12-03): 0.53-0.58
// GFLOP/s on the model's six products, where the register blocks ran 3.6-7.1; no real GPU was at
// hand to measure what it gains there.
// Dispatch ceil(n / 64) × ceil(m / 64).
// Tested by: crates/vae-gpu/tests/dense_forward.rs and dense_backward.rs, through each dense
//   kernel's MatmulStrategy::SharedTiles form.

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
    let size = product_size();
    let m0 = group.y * TILE;
    let n0 = group.x * TILE;
    var acc: array<array<f32, 4>, 4>;
    var row_sum: array<f32, 4>;
    let slabs = (size.z + SLAB - 1u) / SLAB;
    for (var s = 0u; s < slabs; s++) {
        let k0 = s * SLAB;
        // 256 invocations stage 1024 values of each slab: 4 each, row-major [row][k].
        for (var j = 0u; j < 4u; j++) {
            let at = index + 256u * j;
            let row = at / SLAB;
            let kk = at % SLAB;
            let k = k0 + kk;
            var a = 0.0;
            var b = 0.0;
            if (m0 + row < size.x && k < size.z) {
                a = a_at(m0 + row, k);
            }
            if (n0 + row < size.y && k < size.z) {
                b = b_at(n0 + row, k);
            }
            slab_a[at] = a;
            slab_b[at] = b;
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
        if (m >= size.x) {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + local.x * 4u + j;
            if (n < size.y) {
                emit(m, n, acc[i][j]);
            }
        }
        if (group.x == 0u && local.x == 0u) {
            emit_row_sum(m, row_sum[i]);
        }
    }
}
