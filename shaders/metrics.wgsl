// metrics.wgsl: the step's batch means, written into a ring the host reads back asynchronously.
//
// Math:    bce = Σ_r bce_rows[r] / B,   kl = Σ_r kl_rows[r] / B,   −ELBO = bce + kl   (nats per image)
// Buffers:
//   @binding(0) params    uniform       { rows, ring_slots, _pad0, _pad1: u32 }
//   @binding(1) bce_rows  storage read  [rows] f32
//   @binding(2) kl_rows   storage read  [rows] f32
//   @binding(3) state     storage read  { step: u32 }
//   @binding(4) ring      storage rw    [ring_slots] of { step: u32, neg_elbo, bce, kl: f32 }
// The step's record goes to slot (step − 1) mod ring_slots, so the host can read the latest
// records without stalling the queue. Dispatch 1 × 1 (B is small; a fixed order keeps runs
// reproducible).
// Tested by: crates/vae-gpu/tests/step_kernels.rs,
//   metrics_writes_the_batch_means_into_the_ring_slot_of_the_step.

struct Params {
    rows: u32,
    ring_slots: u32,
    _pad0: u32,
    _pad1: u32,
}

struct State {
    step: u32,
}

struct Record {
    step: u32,
    neg_elbo: f32,
    bce: f32,
    kl: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> bce_rows: array<f32>;
@group(0) @binding(2) var<storage, read> kl_rows: array<f32>;
@group(0) @binding(3) var<storage, read> state: State;
@group(0) @binding(4) var<storage, read_write> ring: array<Record>;

@compute @workgroup_size(1)
fn main() {
    var bce = 0.0;
    var kl = 0.0;
    for (var r = 0u; r < params.rows; r++) {
        bce += bce_rows[r];
        kl += kl_rows[r];
    }
    let inv_batch = 1.0 / f32(params.rows);
    bce *= inv_batch;
    kl *= inv_batch;
    let slot = (state.step + params.ring_slots - 1u) % params.ring_slots;
    ring[slot] = Record(state.step, bce + kl, bce, kl);
}
