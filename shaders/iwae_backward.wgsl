// iwae_backward.wgsl: the IWAE objective's gradient at the heads [mean | logvar], from its K draws'
// gradients at z (the decoder's, each draw already weighted by its w̃ / B through d logits).
//
// Math (image i's draws are rows i·K + k; K = samples, B = images; σ = exp(½·logvar);
//       z = mean + σ·ε recomputed from the heads and ε; s = weight[r] = w̃ / B):
//   g[r, j]             = dz[r, j] + s · z[r, j]        log p(z) = −½ z² adds its own term
//   d_heads[i, j]       = Σ_k g[r, j]                   z moves with the mean
//   d_heads[i, L + j]   = Σ_k g[r, j] · ε[r, j] · ½σ − ½ / B
//                                                       and with logvar; −log q's ½ logvar gives −½ Σ_k s,
//                                                       which is −½ / B as Σ_k w̃ = 1
// Buffers (f32, row-major; L = latent):
//   @binding(0) params   uniform       { images, latent, samples: u32, inverse_batch: f32 }
//   @binding(1) dz       storage read  [images · samples, latent]
//   @binding(2) heads    storage read  [images, 2·latent]
//   @binding(3) eps      storage read  [images · samples, latent]
//   @binding(4) weight   storage read  [images · samples]        iwae_weights.wgsl's
//   @binding(5) d_heads  storage rw    [images, 2·latent]
// Work split: one invocation per (image, j) sums its K draws; dispatch ceil(images · latent / 64).
// Tested by: crates/vae-gpu/tests/step_kernels.rs (against vae-reference's iwae_heads_backward),
//   iwae_weights_scale_rows_and_the_heads_gradient_match_the_reference; and in a whole IWAE step
//   against vae-reference's iwae_backward, crates/vae-gpu/tests/training.rs.

struct Params {
    images: u32,
    latent: u32,
    samples: u32,
    inverse_batch: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dz: array<f32>;
@group(0) @binding(2) var<storage, read> heads: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_heads: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let element = gid.x;
    if (element >= params.images * params.latent) {
        return;
    }
    let i = element / params.latent;
    let j = element % params.latent;
    let mean_at = i * 2u * params.latent + j;
    let mean = heads[mean_at];
    let half_std = 0.5 * exp(0.5 * heads[mean_at + params.latent]);
    var d_mean = 0.0;
    var d_logvar = -0.5 * params.inverse_batch;
    for (var k = 0u; k < params.samples; k++) {
        let r = i * params.samples + k;
        let noise = eps[r * params.latent + j];
        let z = mean + 2.0 * half_std * noise;
        let g = dz[r * params.latent + j] + weight[r] * z;
        d_mean += g;
        d_logvar += g * noise * half_std;
    }
    d_heads[mean_at] = d_mean;
    d_heads[mean_at + params.latent] = d_logvar;
}
