// reparameterize_backward.wgsl: the gradient at the heads [mean | logvar], from the gradient at z
// and the β-weighted KL term of the batch-mean loss (β = 1: the ELBO; β ≠ 1: the β-VAE objective).
//
// Math (B = rows; mean, logvar from heads; ε as drawn in the forward pass; β = kl_weight):
//   d_heads[r, j]          = dz[r, j] + β · mean / B
//   d_heads[r, latent + j] = dz[r, j] · ε[r, j] · ½ · exp(½·logvar) + β · ½ · (exp(logvar) − 1) / B
// Buffers (f32, row-major):
//   @binding(0) params   uniform       { rows, latent: u32, kl_weight: f32, _pad: u32 }
//   @binding(1) dz       storage read  [rows, latent]
//   @binding(2) heads    storage read  [rows, 2·latent]
//   @binding(3) eps      storage read  [rows, latent]
//   @binding(4) d_heads  storage rw    [rows, 2·latent]
// Work split: one invocation per (row, j); dispatch ceil(rows · latent / 64).
// Tested by: crates/vae-gpu/tests/step_kernels.rs, reparameterize_backward_matches_the_reference.

struct Params {
    rows: u32,
    latent: u32,
    kl_weight: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dz: array<f32>;
@group(0) @binding(2) var<storage, read> heads: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;
@group(0) @binding(4) var<storage, read_write> d_heads: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let element = gid.x;
    if (element >= params.rows * params.latent) {
        return;
    }
    let row = element / params.latent;
    let j = element % params.latent;
    let kl_scale = params.kl_weight / f32(params.rows);
    let mean_at = row * 2u * params.latent + j;
    let logvar_at = mean_at + params.latent;
    let mean = heads[mean_at];
    let logvar = heads[logvar_at];
    let g = dz[element];
    d_heads[mean_at] = g + mean * kl_scale;
    d_heads[logvar_at] = g * eps[element] * 0.5 * exp(0.5 * logvar) + 0.5 * (exp(logvar) - 1.0) * kl_scale;
}
