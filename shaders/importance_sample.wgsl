// importance_sample.wgsl: the draws of the importance-weighted bound, a block of decoder rows at a
// time, and each draw's log p(z) − log q(z|x).
//
// Math (row r of the block is draw g = block_first + r of the request: image i = g / samples of
// it, test image image_first + i, draw k = g mod samples; mean, logvar = heads[i]):
//   key(image, 0) = (eval_base + image / eval_batch + 1, (image mod eval_batch) · latent)  the ε
//                   the evaluation draws for that image, so K = 1 is exactly its −ELBO;
//   key(image, k) = (importance_base + image, (k − 1) · latent)  for k ≥ 1;
//   ε[j]    = standard_normal(seed, key.step, key.first + j)                (noise.wgsl, prepended)
//   z[r, j] = mean[j] + exp(½ · logvar[j]) · ε[j]
//   prior[r] = −½ Σ_j (z² − ε² − logvar)     log N(z; 0, I) − log N(z; mean, e^logvar), the 2π
//              terms cancelled; at samples = 1 the closed form −KL = ½ Σ_j (1 + logvar − mean² − e^logvar).
//   Rows past the request's draws get z = 0 and prior = 0 (decoded, never read).
// Buffers (f32 unless said, row-major):
//   @binding(0) params   uniform       { rows, latent, samples, block_first, eval_batch, eval_base,
//                                        importance_base, seed_low, seed_high, _pad ×3: u32 }
//   @binding(1) heads    storage read  [images, 2·latent]  [mean | logvar] of the request's images
//   @binding(2) request  storage read  { image_first, images: u32 }  written before each request
//   @binding(3) z        storage rw    [rows, latent]
//   @binding(4) prior    storage rw    [rows]
// Work split: one invocation per row (latent is small); dispatch ceil(rows / 64).
// Tested by: crates/vae-gpu/tests/likelihood.rs (against vae-reference's importance bound).

struct Params {
    rows: u32,
    latent: u32,
    samples: u32,
    block_first: u32,
    eval_batch: u32,
    eval_base: u32,
    importance_base: u32,
    seed_low: u32,
    seed_high: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct Request {
    image_first: u32,
    images: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> heads: array<f32>;
@group(0) @binding(2) var<storage, read> request: Request;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(4) var<storage, read_write> prior: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    if (row >= params.rows) {
        return;
    }
    let latent = params.latent;
    let draw = params.block_first + row;
    let i = draw / params.samples;
    if (i >= request.images) {
        for (var j = 0u; j < latent; j++) {
            z[row * latent + j] = 0.0;
        }
        prior[row] = 0.0;
        return;
    }
    let image = request.image_first + i;
    let k = draw % params.samples;
    var step = params.importance_base + image;
    var first = (k - 1u) * latent;
    if (k == 0u) {
        step = params.eval_base + image / params.eval_batch + 1u;
        first = (image % params.eval_batch) * latent;
    }
    let seed = vec2<u32>(params.seed_low, params.seed_high);
    var sum = 0.0;
    for (var j = 0u; j < latent; j++) {
        let mean = heads[i * 2u * latent + j];
        let logvar = heads[i * 2u * latent + latent + j];
        let noise = standard_normal(seed, step, first + j);
        let value = mean + exp(0.5 * logvar) * noise;
        z[row * latent + j] = value;
        if (params.samples == 1u) {
            sum += 1.0 + logvar - mean * mean - exp(logvar);
        } else {
            sum -= value * value - noise * noise - logvar;
        }
    }
    prior[row] = 0.5 * sum;
}
