// dense_forward.wgsl: one dense layer, y = act(x · Wᵀ + b), with the bias and ReLU fused.
//
// Math:    y[r, o] = act( b[o] + Σ_i x[r, i] · w[o, i] )       act = ReLU if params.relu != 0, else identity
// Buffers (f32, row-major, tightly packed):
//   @binding(0) params  uniform       { rows, inputs, outputs, relu: u32 }
//   @binding(1) x       storage read  [rows, inputs]
//   @binding(2) w       storage read  [outputs, inputs]    PyTorch nn.Linear layout
//   @binding(3) b       storage read  [outputs]
//   @binding(4) y       storage rw    [rows, outputs]
// Work split: each invocation keeps a BLOCK_ROWS × BLOCK_COLS block of y in registers and walks
// the shared dimension once, so every loaded x and w value is used 4 times. A workgroup is
// WG_X × WG_Y invocations (override constants, chosen per adapter at pipeline creation); dispatch
// ceil(outputs / (WG_X · BLOCK_COLS)) × ceil(rows / (WG_Y · BLOCK_ROWS)) workgroups.
// Edges: indices past the last row or column are clamped for loads (always in bounds, no branch in
// the inner loop) and skipped for stores, so any shape is correct, including 1 row or 1 column.
// Tested by: crates/vae-gpu/tests/dense_forward.rs,
//   dense_forward_matches_the_reference_on_awkward_shapes (every form and block shape).

struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    relu: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;
const BLOCK_ROWS: u32 = 4u;
const BLOCK_COLS: u32 = 4u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col0 = gid.x * BLOCK_COLS;
    let row0 = gid.y * BLOCK_ROWS;
    if (col0 >= params.outputs || row0 >= params.rows) {
        return;
    }
    let last_row = params.rows - 1u;
    let last_col = params.outputs - 1u;

    var x_base: array<u32, BLOCK_ROWS>;
    for (var r = 0u; r < BLOCK_ROWS; r++) {
        x_base[r] = min(row0 + r, last_row) * params.inputs;
    }
    let w_base = vec4<u32>(
        min(col0, last_col),
        min(col0 + 1u, last_col),
        min(col0 + 2u, last_col),
        min(col0 + 3u, last_col),
    ) * params.inputs;

    // acc[r][c] = partial y[row0 + r, col0 + c]
    var acc: array<vec4<f32>, BLOCK_ROWS>;
    for (var i = 0u; i < params.inputs; i++) {
        let w_col = vec4<f32>(w[w_base.x + i], w[w_base.y + i], w[w_base.z + i], w[w_base.w + i]);
        for (var r = 0u; r < BLOCK_ROWS; r++) {
            acc[r] += x[x_base[r] + i] * w_col;
        }
    }

    let bias = vec4<f32>(
        b[min(col0, last_col)],
        b[min(col0 + 1u, last_col)],
        b[min(col0 + 2u, last_col)],
        b[min(col0 + 3u, last_col)],
    );
    for (var r = 0u; r < BLOCK_ROWS; r++) {
        let row = row0 + r;
        if (row >= params.rows) {
            break;
        }
        var value = acc[r] + bias;
        if (params.relu != 0u) {
            value = max(value, vec4<f32>(0.0));
        }
        for (var c = 0u; c < BLOCK_COLS; c++) {
            if (col0 + c < params.outputs) {
                y[row * params.outputs + col0 + c] = value[c];
            }
        }
    }
}
