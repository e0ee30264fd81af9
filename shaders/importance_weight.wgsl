// importance_weight.wgsl: each decoded draw's log importance weight.
//
// Math (row r of the block is draw g = block_first + r of the request, of its image i = g / samples):
//   log_w[g] = prior[r] − Σ_p max(l, 0) − l·x + log(1 + exp(−|l|))    with l = logits[r, p],
//              x = x[i, p]: log p(x | z) + log p(z) − log q(z | x), the BCE in bce_loss.wgsl's form.
//   Rows past the request's draws are skipped.
// Buffers (f32 unless said, row-major):
//   @binding(0) params   uniform       { rows, pixels, samples, block_first: u32 }
//   @binding(1) logits   storage read  [rows, pixels]   the decoder's output for the block
//   @binding(2) x        storage read  [images, pixels] the request's images
//   @binding(3) prior    storage read  [rows]           importance_sample.wgsl's
//   @binding(4) request  storage read  { image_first, images: u32 }
//   @binding(5) log_w    storage rw    [images · samples]
// Work split: one invocation per row walks its pixels (a deterministic order, as in the loss);
// dispatch ceil(rows / 64).
// Tested by: crates/vae-gpu/tests/likelihood.rs.

struct Params {
    rows: u32,
    pixels: u32,
    samples: u32,
    block_first: u32,
}

struct Request {
    image_first: u32,
    images: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> prior: array<f32>;
@group(0) @binding(4) var<storage, read> request: Request;
@group(0) @binding(5) var<storage, read_write> log_w: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    let draw = params.block_first + row;
    let i = draw / params.samples;
    if (row >= params.rows || i >= request.images) {
        return;
    }
    var bce = 0.0;
    for (var p = 0u; p < params.pixels; p++) {
        let l = logits[row * params.pixels + p];
        bce += max(l, 0.0) - l * x[i * params.pixels + p] + log(1.0 + exp(-abs(l)));
    }
    log_w[draw] = prior[row] - bce;
}
