// latent_lines.wgsl: the latent points of a batch of straight lines, for the decoder to draw in
// one pass: a manifold grid (one line per grid row), an interpolation (one line from z_a to z_b),
// a preview strip per latent dimension (one line along each axis).
//
// Math (L = lines, P = points per line, d = latent dimension):
//   z[l·P + p, d] = origin[l, d] + t[p] · direction[l, d]
// Buffers (f32, row-major):
//   @binding(0) params     uniform       { lines, points, latent, _pad: u32 }
//   @binding(1) origin     storage read  [lines, latent]
//   @binding(2) direction  storage read  [lines, latent]
//   @binding(3) t          storage read  [points]
//   @binding(4) z          storage rw    [lines · points, latent]
// Work split: one invocation per element of z; dispatch ceil(lines · points · latent / 64).
// t = 0 gives the origin itself, bit for bit (origin + 0·direction), so a grid's centre is
// exactly the point the sliders show.
// Tested by: crates/vae-gpu/tests/latent_views.rs, the_line_kernel_matches_the_reference_points.

struct Params {
    lines: u32,
    points: u32,
    latent: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> origin: array<f32>;
@group(0) @binding(2) var<storage, read> direction: array<f32>;
@group(0) @binding(3) var<storage, read> t: array<f32>;
@group(0) @binding(4) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let element = gid.x;
    if (element >= params.lines * params.points * params.latent) {
        return;
    }
    let row = element / params.latent;
    let d = element % params.latent;
    let line = row / params.points;
    let point = row % params.points;
    let at = line * params.latent + d;
    z[element] = origin[at] + t[point] * direction[at];
}
