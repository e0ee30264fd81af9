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
// Work split: each invocation owns a 4 × 4 block of dw (4 outputs × one vec4 of inputs) in 4
// named vec4 registers and walks the batch: per row one vec4 of dy and one of x, 16 multiply-adds
// as 4 vec4 FMAs. The first column of invocations also sums its 4 bias gradients.
// Dispatch ceil(inputs / (4 · WG_X)) × ceil(outputs / (4 · WG_Y)).

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

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= params.inputs / 4u || gid.y >= params.outputs / 4u) {
        return;
    }
    let o_vecs = params.outputs / 4u;
    let i_vecs = params.inputs / 4u;
    var a0 = vec4<f32>(0.0);   // dw[4·gid.y + k, 4·gid.x .. +4] in a_k
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var bias = vec4<f32>(0.0);
    for (var r = 0u; r < params.rows; r++) {
        let g = dy[r * o_vecs + gid.y];
        let xv = x[r * i_vecs + gid.x];
        a0 += g.x * xv;
        a1 += g.y * xv;
        a2 += g.z * xv;
        a3 += g.w * xv;
        bias += g;
    }
    let o0 = 4u * gid.y;
    dw[(o0 + 0u) * i_vecs + gid.x] = a0;
    dw[(o0 + 1u) * i_vecs + gid.x] = a1;
    dw[(o0 + 2u) * i_vecs + gid.x] = a2;
    dw[(o0 + 3u) * i_vecs + gid.x] = a3;
    if (gid.x == 0u) {
        db[gid.y] = bias;
    }
}
