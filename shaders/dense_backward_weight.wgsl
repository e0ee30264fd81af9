// dense_backward_weight.wgsl: the gradients of a dense layer's weight and bias, summed over the batch.
//
// Math:    dw[o, i] = Σ_r dy[r, o] · x[r, i]          db[o] = Σ_r dy[r, o]
// Buffers (f32, row-major, tightly packed):
//   @binding(0) params  uniform       { rows, inputs, outputs, _pad: u32 }
//   @binding(1) dy      storage read  [rows, outputs]   gradient at the layer's output (ReLU mask already applied)
//   @binding(2) x       storage read  [rows, inputs]    the layer's input
//   @binding(3) dw      storage rw    [outputs, inputs] overwritten, not accumulated
//   @binding(4) db      storage rw    [outputs]         overwritten, not accumulated
// Work split: each invocation keeps a 4 × 4 block of dw (4 outputs × 4 inputs) in registers and
// walks the batch once: per row 4 contiguous loads of dy and 4 of x, 16 multiply-adds. The
// invocations of the first input block also sum their 4 outputs' bias gradients.
// Dispatch ceil(inputs / (WG_X · 4)) × ceil(outputs / (WG_Y · 4)). Edges clamped for loads,
// skipped for stores.
// Tested by: crates/vae-gpu/tests/dense_backward.rs, weight_and_bias_gradients_match_the_reference
//   (every form and block shape).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;
const BLOCK: u32 = 4u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let in0 = gid.x * BLOCK;
    let out0 = gid.y * BLOCK;
    if (in0 >= params.inputs || out0 >= params.outputs) {
        return;
    }
    let ins = min(vec4<u32>(in0, in0 + 1u, in0 + 2u, in0 + 3u), vec4<u32>(params.inputs - 1u));
    let outs = min(vec4<u32>(out0, out0 + 1u, out0 + 2u, out0 + 3u), vec4<u32>(params.outputs - 1u));

    // acc[k][c] = partial dw[out0 + k, in0 + c];  bias[k] = partial db[out0 + k]
    var acc: array<vec4<f32>, BLOCK>;
    var bias = vec4<f32>(0.0);
    for (var r = 0u; r < params.rows; r++) {
        let dy_row = r * params.outputs;
        let x_row = r * params.inputs;
        let g = vec4<f32>(dy[dy_row + outs.x], dy[dy_row + outs.y], dy[dy_row + outs.z], dy[dy_row + outs.w]);
        let xs = vec4<f32>(x[x_row + ins.x], x[x_row + ins.y], x[x_row + ins.z], x[x_row + ins.w]);
        for (var k = 0u; k < BLOCK; k++) {
            acc[k] += g[k] * xs;
        }
        bias += g;
    }

    for (var k = 0u; k < BLOCK; k++) {
        let o = out0 + k;
        if (o >= params.outputs) {
            break;
        }
        for (var c = 0u; c < BLOCK; c++) {
            let i = in0 + c;
            if (i < params.inputs) {
                dw[o * params.inputs + i] = acc[k][c];
            }
        }
        if (gid.x == 0u) {
            db[o] = bias[k];
        }
    }
}
