// dense_backward_weight_vec4.wgsl: dense_backward_weight.wgsl's fast path when inputs and
// outputs are multiples of 4: a dense layer's weight and bias gradients, summed over the batch.
//
// Math:    dw[o, i] = Σ_r dy[r, o] · x[r, i]          db[o] = Σ_r dy[r, o]
// Buffers (f32, row-major; viewed as vec4 along their rows):
//   @binding(0) params  uniform       { rows, inputs, outputs, _pad: u32 }
//   @binding(1) dy      storage read  [rows, outputs / 4] vec4
//   @binding(2) x       storage read  [rows, inputs / 4] vec4
//   @binding(3) dw      storage rw    [outputs, inputs / 4] vec4   overwritten, not accumulated
//   @binding(4) db      storage rw    [outputs / 4] vec4           overwritten, not accumulated
// Work split: each invocation owns a BLOCK_OUTPUTS × BLOCK_INPUTS block of dw in named vec4
// registers and walks the batch: per row BLOCK_OUTPUTS / 4 vec4s of dy and BLOCK_INPUTS / 4 of x
// feed BLOCK_OUTPUTS · BLOCK_INPUTS / 4 vec4 multiply-adds. The invocations of the first input
// block also sum their outputs' bias gradients. A template: the block and the fully unrolled body
// between the `unroll` markers are generated per adapter at pipeline creation
// (crates/vae-gpu/src/kernels/unroll.rs); as committed it is the complete 4 × 4 kernel.
// On software adapters with a fixed subgroup size the generator also shares the block's vec4s of dy:
// each lane loads a part and takes the rest by subgroupBroadcast (a one-dimensional workgroup).
// Dispatch ceil(inputs / BLOCK_INPUTS / WG_X) × ceil(outputs / BLOCK_OUTPUTS / WG_Y).
// Edges: block indices past the end are clamped for loads and skipped for stores.
// Tested by: crates/vae-gpu/tests/dense_backward.rs, weight_and_bias_gradients_match_the_reference
//   (register blocks of every adapter kind).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dw: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> db: array<vec4<f32>>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
const BLOCK_OUTPUTS: u32 = 4u;
const BLOCK_INPUTS: u32 = 4u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o_vecs = params.outputs / 4u;
    let i_vecs = params.inputs / 4u;
    let o_vec0 = gid.y * (BLOCK_OUTPUTS / 4u);
    let i_vec0 = gid.x * (BLOCK_INPUTS / 4u);
    if (o_vec0 >= o_vecs || i_vec0 >= i_vecs) {
        return;
    }
    // unroll-begin
    let ov0 = min(o_vec0 + 0u, o_vecs - 1u);
    let iv0 = min(i_vec0 + 0u, i_vecs - 1u);
    var a0_0 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a2_0 = vec4<f32>(0.0);
    var a3_0 = vec4<f32>(0.0);
    var bias0 = vec4<f32>(0.0);
    for (var r = 0u; r < params.rows; r++) {
        let g0 = dy[r * o_vecs + ov0];
        let x0 = x[r * i_vecs + iv0];
        a0_0 += g0.x * x0;
        a1_0 += g0.y * x0;
        a2_0 += g0.z * x0;
        a3_0 += g0.w * x0;
        bias0 += g0;
    }
    if (4u * o_vec0 + 0u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(4u * o_vec0 + 0u) * i_vecs + i_vec0 + 0u] = a0_0; }
    }
    if (4u * o_vec0 + 1u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(4u * o_vec0 + 1u) * i_vecs + i_vec0 + 0u] = a1_0; }
    }
    if (4u * o_vec0 + 2u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(4u * o_vec0 + 2u) * i_vecs + i_vec0 + 0u] = a2_0; }
    }
    if (4u * o_vec0 + 3u < params.outputs) {
        if (i_vec0 + 0u < i_vecs) { dw[(4u * o_vec0 + 3u) * i_vecs + i_vec0 + 0u] = a3_0; }
    }
    if (gid.x == 0u) {
        if (o_vec0 + 0u < o_vecs) { db[o_vec0 + 0u] = bias0; }
    }
    // unroll-end
}
