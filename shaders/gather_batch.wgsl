// gather_batch.wgsl: a training batch, unpacked from the bit-packed images that live on the GPU,
// and the step counter advanced (what advance_step.wgsl does, fused: one dispatch less a step).
//
// Math:    x[r, p] = bit (p mod 32) of images[order[first + r] · words_per_image + p / 32]   (0.0 or 1.0)
//          for r < batch rows and p < pixels (row-major pixel index);
//          state.step ← state.step + advance, by one invocation (nothing in this dispatch reads it;
//          the step's later dispatches see the new value).
// Buffers:
//   @binding(0) params  uniform, dynamic offset (one 256-byte slot per step of a submit)
//                       { first, batch, pixels, words_per_image, image_count, advance: u32 }
//   @binding(1) images  storage read  array<u32>  [image_count, words_per_image]  (mnist-shard's FORMAT.md)
//   @binding(2) order   storage read  array<u32>  this epoch's shuffled image indices
//   @binding(3) x       storage rw    array<f32>  [batch, pixels]
//   @binding(4) state   storage rw    { step: u32 }  (advance 0: left alone, as evaluation binds it)
// Work split: one invocation per output pixel, WG_X pixels of one row per workgroup;
// dispatch ceil(pixels / WG_X) × batch.
// Bounds: the host checks that first + batch ≤ the order's length and every index < image_count;
// the min() below only keeps a corrupt index inside the buffer.
// Tested by: crates/vae-gpu/tests/gather_batch.rs,
//   gathered_batches_equal_the_cpu_gather_for_a_seeded_epoch and odd_batches_and_bad_requests.

struct Params {
    first: u32,
    batch: u32,
    pixels: u32,
    words_per_image: u32,
    image_count: u32,
    advance: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<u32>;

override WG_X: u32 = 64u;

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let pixel = gid.x;
    let row = gid.y;
    if (pixel == 0u && row == 0u && params.advance != 0u) {
        state[0] = state[0] + params.advance;
    }
    if (pixel >= params.pixels || row >= params.batch) {
        return;
    }
    let image = min(order[params.first + row], params.image_count - 1u);
    let word = images[image * params.words_per_image + pixel / 32u];
    x[row * params.pixels + pixel] = f32((word >> (pixel % 32u)) & 1u);
}
