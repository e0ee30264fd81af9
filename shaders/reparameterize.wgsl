// reparameterize.wgsl: z = mean + exp(½·logvar) · ε, with ε drawn on the GPU, K draws per image,
// and each draw's KL.
//
// Math (row r is draw k = r mod K of image i = r / K; K = samples, 1 for the VAE;
//       mean = heads[i, j], logvar = heads[i, latent + j]):
//          ε[r, j] = standard_normal(seed, step, r·latent + j)          (noise.wgsl, prepended)
//          z[r, j] = mean + exp(½ · logvar) · ε[r, j]
//          kl[r]   = −½ · Σ_j (1 + logvar − mean² − exp(logvar))        K = 1: the closed form
//          kl[r]   = ½ · Σ_j (z² − ε² − logvar)                         K > 1: log q(z|x) − log p(z)
//                                                                       at the draw (2π cancels),
//                                                                       which the IWAE weights need
// Buffers (f32 unless said, row-major):
//   @binding(0) params  uniform       { rows, latent, seed_low, seed_high, samples, _pad ×3: u32 }
//   @binding(1) heads   storage read  [rows / samples, 2·latent]   [mean | logvar] per image
//   @binding(2) state   storage read  { step: u32 }      the current step (advance_step.wgsl)
//   @binding(3) z       storage rw    [rows, latent]
//   @binding(4) eps     storage rw    [rows, latent]     kept for the backward pass
//   @binding(5) kl      storage rw    [rows]
// Work split: one invocation per draw (latent is small); dispatch ceil(rows / 64).
// Tested by: crates/vae-gpu/tests/step_kernels.rs,
//   reparameterize_draws_the_reference_noise_and_matches_z_and_kl.

struct Params {
    rows: u32,
    latent: u32,
    seed_low: u32,
    seed_high: u32,
    samples: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct State {
    step: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> heads: array<f32>;
@group(0) @binding(2) var<storage, read> state: State;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(4) var<storage, read_write> eps: array<f32>;
@group(0) @binding(5) var<storage, read_write> kl: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    if (row >= params.rows) {
        return;
    }
    let seed = vec2<u32>(params.seed_low, params.seed_high);
    let step = state.step;
    let image = row / params.samples;
    var kl_sum = 0.0;
    for (var j = 0u; j < params.latent; j++) {
        let mean = heads[image * 2u * params.latent + j];
        let logvar = heads[image * 2u * params.latent + params.latent + j];
        let element = row * params.latent + j;
        let noise = standard_normal(seed, step, element);
        let value = mean + exp(0.5 * logvar) * noise;
        eps[element] = noise;
        z[element] = value;
        if (params.samples == 1u) {
            kl_sum -= 1.0 + logvar - mean * mean - exp(logvar);
        } else {
            kl_sum += value * value - noise * noise - logvar;
        }
    }
    kl[row] = 0.5 * kl_sum;
}
