// scale_rows.wgsl: multiplies each row of a matrix by its own factor, in place.
//
// Math:    values[r, c] *= factor[r]         (IWAE: each decoded draw's d logits by its w̃ / B)
// Buffers (f32, row-major):
//   @binding(0) params  uniform       { rows, columns, _pad ×2: u32 }
//   @binding(1) factor  storage read  [rows]
//   @binding(2) values  storage rw    [rows, columns]
// Work split: one invocation per element, the flat index over x and y (spread_workgroups, as
// B·K·784 can pass 65,535 workgroups); dispatch ceil(rows · columns / 64).
// Tested by: crates/vae-gpu/tests/step_kernels.rs (exactly),
//   iwae_weights_scale_rows_and_the_heads_gradient_match_the_reference; and in a whole IWAE step
//   against vae-reference's iwae_backward, crates/vae-gpu/tests/training.rs.

struct Params {
    rows: u32,
    columns: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> factor: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let at = gid.x + gid.y * groups.x * 64u;
    if (at >= params.rows * params.columns) {
        return;
    }
    values[at] *= factor[at / params.columns];
}
