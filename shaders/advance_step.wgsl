// advance_step.wgsl: the GPU-resident training-step counter, advanced at the start of every step.
//
// Math:    state.step ← state.step + params.increment   (1: the first step is 1, as Adam counts)
// Buffers:
//   @binding(0) params  uniform       { increment: u32 }
//   @binding(1) state   storage rw    { step: u32 }
// Why on the GPU: the noise key and Adam's bias correction need the step number, and keeping it
// here lets many steps share one submit with no per-step upload. Dispatch 1 × 1.
// Tested by: crates/vae-gpu/tests/step_kernels.rs, advance_step_counts_steps.

struct Params {
    increment: u32,
}

struct State {
    step: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> state: State;

@compute @workgroup_size(1)
fn main() {
    state.step = state.step + params.increment;
}
