// adam.wgsl: one Adam step (Kingma & Ba 2015, bias-corrected, as torch.optim.Adam) over every
// parameter of the model in one dispatch.
//
// Math (t = state.step, the step being taken, ≥ 1):
//   m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
//   p ← p − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
// Buffers: parameters, gradients and both moments are flat f32 buffers with one layout (each
// tensor at its offset in the layout's table; the padding between tensors and at the end has
// zero gradient and stays zero), read as vec4s: count is a multiple of 4.
//   @binding(0) hyper   uniform       { count: u32, lr, beta1, beta2, epsilon: f32, 3 × padding }
//   @binding(1) grads   storage read  [count / 4] vec4
//   @binding(2) state   storage read  { step: u32 }
//   @binding(3) params  storage rw    [count / 4] vec4
//   @binding(4) m       storage rw    [count / 4] vec4
//   @binding(5) v       storage rw    [count / 4] vec4
// Work split: 64 invocations per workgroup, each updating VEC4S_PER_INVOCATION vec4s a whole
// grid apart (neighbouring invocations on neighbouring vec4s, as real GPUs coalesce them), the
// dispatch spread over x and y (x at most 65535 workgroups) so any model size fits. On
// SwiftShader one invocation per parameter cost 23-32 ms a step for 815,872 parameters, and the
// bias corrections' two pow() per lane were a good part of it: vec4s, 16 per invocation, 10-12 ms.
// Tested by: crates/vae-gpu/tests/step_kernels.rs,
//   adam_matches_the_reference_on_the_first_and_a_later_step.

struct Hyper {
    count: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct State {
    step: u32,
}

@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> state: State;
@group(0) @binding(3) var<storage, read_write> params: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v: array<vec4<f32>>;

const VEC4S_PER_INVOCATION: u32 = 16u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let invocations = groups.x * groups.y * 64u;
    let first = gid.x + gid.y * groups.x * 64u;
    let t = f32(state.step);
    let correction1 = 1.0 - pow(hyper.beta1, t);
    let correction2 = 1.0 - pow(hyper.beta2, t);
    for (var k = first; k < hyper.count / 4u; k += invocations) {
        let g = grads[k];
        let m_new = hyper.beta1 * m[k] + (1.0 - hyper.beta1) * g;
        let v_new = hyper.beta2 * v[k] + (1.0 - hyper.beta2) * g * g;
        m[k] = m_new;
        v[k] = v_new;
        params[k] -= hyper.lr * (m_new / correction1) / (sqrt(v_new / correction2) + hyper.epsilon);
    }
}
