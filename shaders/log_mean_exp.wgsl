// log_mean_exp.wgsl: each image's importance-weighted bound from its draws' log weights.
//
// Math:    L[i] = m + log((1/K) Σ_k exp(log_w[i·K + k] − m)),  m = max_k log_w[i·K + k],  K = samples:
//          log-sum-exp, so weights of e^−100 and below neither underflow to log 0 nor overflow.
// Buffers (f32 unless said):
//   @binding(0) params     uniform       { samples, _pad ×3: u32 }
//   @binding(1) log_w      storage read  [images · samples]
//   @binding(2) request    storage read  { image_first, images: u32 }
//   @binding(3) estimates  storage rw    [images]
// Work split: one invocation per image walks its K weights twice; dispatch ceil(images / 64).
// Tested by: crates/vae-gpu/tests/likelihood.rs.

struct Params {
    samples: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct Request {
    image_first: u32,
    images: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> log_w: array<f32>;
@group(0) @binding(2) var<storage, read> request: Request;
@group(0) @binding(3) var<storage, read_write> estimates: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= request.images) {
        return;
    }
    let first = i * params.samples;
    var top = log_w[first];
    for (var k = 1u; k < params.samples; k++) {
        top = max(top, log_w[first + k]);
    }
    var sum = 0.0;
    for (var k = 0u; k < params.samples; k++) {
        sum += exp(log_w[first + k] - top);
    }
    estimates[i] = top + log(sum / f32(params.samples));
}
