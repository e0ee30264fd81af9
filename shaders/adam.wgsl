// adam.wgsl: one Adam step (Kingma & Ba 2015, bias-corrected, as torch.optim.Adam) over every
// parameter of the model in one dispatch.
//
// Math (t = state.step, the step being taken, ≥ 1):
//   m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
//   p ← p − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
// Buffers: parameters, gradients and both moments are flat f32 buffers with one layout (each
// tensor at its offset in the layout's table; the padding between tensors has zero gradient and
// stays zero).
//   @binding(0) hyper   uniform       { count: u32, lr, beta1, beta2, epsilon: f32, 3 × padding }
//   @binding(1) grads   storage read  [count]
//   @binding(2) state   storage read  { step: u32 }
//   @binding(3) params  storage rw    [count]
//   @binding(4) m       storage rw    [count]
//   @binding(5) v       storage rw    [count]
// Work split: one invocation per parameter, 256 per workgroup, the dispatch spread over x and y
// (x at most 65535 workgroups) so any model size fits.

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
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read> state: State;
@group(0) @binding(3) var<storage, read_write> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let k = gid.x + gid.y * groups.x * 256u;
    if (k >= hyper.count) {
        return;
    }
    let t = f32(state.step);
    let correction1 = 1.0 - pow(hyper.beta1, t);
    let correction2 = 1.0 - pow(hyper.beta2, t);
    let g = grads[k];
    let m_new = hyper.beta1 * m[k] + (1.0 - hyper.beta1) * g;
    let v_new = hyper.beta2 * v[k] + (1.0 - hyper.beta2) * g * g;
    m[k] = m_new;
    v[k] = v_new;
    params[k] -= hyper.lr * (m_new / correction1) / (sqrt(v_new / correction2) + hyper.epsilon);
}
