// iwae_weights.wgsl: each draw's share of the IWAE gradient, its normalised importance weight over
// the batch size (Burda, Grosse & Salakhutdinov 2015).
//
// Math (image i's K draws are rows i·K … i·K + K − 1; K = samples, B = images):
//   log w[r]  = −bce[r] − kl[r]                  log p(x|z) + log p(z) − log q(z|x) at draw r
//                                                (kl: reparameterize.wgsl's sampled form at K > 1)
//   m         = max over the image's draws of log w
//   weight[r] = exp(log w[r] − m) / Σ_k exp(log w[k] − m) / B      w̃ / B: softmax, no overflow
//   The gradient of the batch-mean −L_K is then Σ_r weight[r] · ∇(bce[r] + kl[r]).
// Buffers (f32 unless said):
//   @binding(0) params  uniform       { images, samples: u32, inverse_batch: f32, _pad: u32 }
//   @binding(1) bce     storage read  [images · samples]
//   @binding(2) kl      storage read  [images · samples]
//   @binding(3) weight  storage rw    [images · samples]
// Work split: one invocation per image walks its K draws twice; dispatch ceil(images / 64).
// Tested by: crates/vae-gpu/tests/step_kernels.rs (against vae-reference's normalised_weights),
//   iwae_weights_scale_rows_and_the_heads_gradient_match_the_reference; and in a whole IWAE step
//   against vae-reference's iwae_backward, crates/vae-gpu/tests/training.rs.

struct Params {
    images: u32,
    samples: u32,
    inverse_batch: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> bce: array<f32>;
@group(0) @binding(2) var<storage, read> kl: array<f32>;
@group(0) @binding(3) var<storage, read_write> weight: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.images) {
        return;
    }
    let first = i * params.samples;
    var top = -bce[first] - kl[first];
    for (var k = 1u; k < params.samples; k++) {
        top = max(top, -bce[first + k] - kl[first + k]);
    }
    var total = 0.0;
    for (var k = 0u; k < params.samples; k++) {
        let w = exp(-bce[first + k] - kl[first + k] - top);
        weight[first + k] = w;
        total += w;
    }
    let scale = params.inverse_batch / total;
    for (var k = 0u; k < params.samples; k++) {
        weight[first + k] *= scale;
    }
}
