// dense_backward_input_vec4.wgsl: dense_backward_input.wgsl's fast path when inputs and outputs
// are multiples of 4: the gradient at a layer's input, the previous layer's ReLU folded in.
//
// Math:    dx[r, i] = m[r, i] · Σ_o dy[r, o] · w[o, i]      m = [act[r, i] > 0] if params.mask != 0, else 1
// Buffers (f32, row-major; dy, w, act, dx viewed as vec4 along their rows):
//   @binding(0) params  uniform       { rows, inputs, outputs, mask: u32 }
//   @binding(1) dy      storage read  [rows, outputs / 4] vec4
//   @binding(2) w       storage read  [outputs, inputs / 4] vec4     PyTorch nn.Linear layout
//   @binding(3) act     storage read  [rows, inputs / 4] vec4        any buffer if mask == 0
//   @binding(4) dx      storage rw    [rows, inputs / 4] vec4
// Work split: each invocation computes 4 rows × one vec4 of inputs, in 4 named vec4 registers;
// per 4 outputs it loads 4 vec4s of w and 4 of dy for 64 multiply-adds (unrolled by hand: see
// dense_forward_vec4.wgsl). Dispatch ceil(inputs / (4 · WG_X)) × ceil(rows / (4 · WG_Y)).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    mask: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> act: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec4<f32>>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

fn store(row: u32, col: u32, sum: vec4<f32>) {
    let at = row * (params.inputs / 4u) + col;
    var value = sum;
    if (params.mask != 0u) {
        value = select(vec4<f32>(0.0), value, act[at] > vec4<f32>(0.0));
    }
    dx[at] = value;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    if (gid.x >= params.inputs / 4u || row0 >= params.rows) {
        return;
    }
    let o_steps = params.outputs / 4u;   // dy rows as vec4 along the outputs
    let i_vecs = params.inputs / 4u;     // w rows as vec4 along the inputs
    let col = gid.x;                     // this invocation's vec4 of inputs
    let dyb0 = min(row0 + 0u, params.rows - 1u) * o_steps;
    let dyb1 = min(row0 + 1u, params.rows - 1u) * o_steps;
    let dyb2 = min(row0 + 2u, params.rows - 1u) * o_steps;
    let dyb3 = min(row0 + 3u, params.rows - 1u) * o_steps;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var k = 0u; k < o_steps; k++) {
        let o = 4u * k;
        let w0 = w[(o + 0u) * i_vecs + col];
        let w1 = w[(o + 1u) * i_vecs + col];
        let w2 = w[(o + 2u) * i_vecs + col];
        let w3 = w[(o + 3u) * i_vecs + col];
        let g0 = dy[dyb0 + k];
        a0 += g0.x * w0 + g0.y * w1 + g0.z * w2 + g0.w * w3;
        let g1 = dy[dyb1 + k];
        a1 += g1.x * w0 + g1.y * w1 + g1.z * w2 + g1.w * w3;
        let g2 = dy[dyb2 + k];
        a2 += g2.x * w0 + g2.y * w1 + g2.z * w2 + g2.w * w3;
        let g3 = dy[dyb3 + k];
        a3 += g3.x * w0 + g3.y * w1 + g3.z * w2 + g3.w * w3;
    }
    if (row0 + 0u < params.rows) { store(row0 + 0u, col, a0); }
    if (row0 + 1u < params.rows) { store(row0 + 1u, col, a1); }
    if (row0 + 2u < params.rows) { store(row0 + 2u, col, a2); }
    if (row0 + 3u < params.rows) { store(row0 + 3u, col, a3); }
}
