// dense_backward_input.wgsl: the gradient with respect to a dense layer's input, with the
// previous layer's ReLU folded in.
//
// Math:    dx[r, i] = m[r, i] · Σ_o dy[r, o] · w[o, i]
//          m[r, i] = 1 if act[r, i] > 0 (the input came out of a ReLU that was active), 0 if it
//          was inactive; m = 1 everywhere when params.mask == 0.
// Buffers (f32, row-major, tightly packed):
//   @binding(0) params  uniform       { rows, inputs, outputs, mask: u32 }
//   @binding(1) dy      storage read  [rows, outputs]   gradient at the layer's output
//   @binding(2) w       storage read  [outputs, inputs] PyTorch nn.Linear layout
//   @binding(3) act     storage read  [rows, inputs]    the layer's input (ReLU output); any buffer if mask == 0
//   @binding(4) dx      storage rw    [rows, inputs]
// Work split: each invocation keeps a 4 × 4 block of dx (4 rows × 4 inputs) in registers and walks
// the outputs once: per step 4 loads of dy and 4 contiguous loads of a row of w, 16 multiply-adds.
// Dispatch ceil(inputs / (WG_X · 4)) × ceil(rows / (WG_Y · 4)). Edge indices are clamped for
// loads and skipped for stores, so any shape is correct.
// Tested by: crates/vae-gpu/tests/dense_backward.rs,
//   input_gradient_matches_the_reference_with_and_without_the_relu_mask (every form and block
//   shape).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    mask: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> act: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;
const BLOCK: u32 = 4u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col0 = gid.x * BLOCK;
    let row0 = gid.y * BLOCK;
    if (col0 >= params.inputs || row0 >= params.rows) {
        return;
    }
    let last_row = params.rows - 1u;
    let last_col = params.inputs - 1u;
    let cols = min(vec4<u32>(col0, col0 + 1u, col0 + 2u, col0 + 3u), vec4<u32>(last_col));
    var dy_base: array<u32, BLOCK>;
    for (var r = 0u; r < BLOCK; r++) {
        dy_base[r] = min(row0 + r, last_row) * params.outputs;
    }

    // acc[r][c] = partial dx[row0 + r, col0 + c]
    var acc: array<vec4<f32>, BLOCK>;
    for (var o = 0u; o < params.outputs; o++) {
        let w_row = o * params.inputs;
        let w_block = vec4<f32>(w[w_row + cols.x], w[w_row + cols.y], w[w_row + cols.z], w[w_row + cols.w]);
        for (var r = 0u; r < BLOCK; r++) {
            acc[r] += dy[dy_base[r] + o] * w_block;
        }
    }

    for (var r = 0u; r < BLOCK; r++) {
        let row = row0 + r;
        if (row >= params.rows) {
            break;
        }
        for (var c = 0u; c < BLOCK; c++) {
            let col = col0 + c;
            if (col < params.inputs) {
                let at = row * params.inputs + col;
                var value = acc[r][c];
                if (params.mask != 0u && act[at] <= 0.0) {
                    value = 0.0;
                }
                dx[at] = value;
            }
        }
    }
}
