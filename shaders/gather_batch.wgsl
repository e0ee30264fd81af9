// gather_batch.wgsl: a training batch, unpacked from the packed images that live on the GPU, and
// the step counter advanced (what advance_step.wgsl does, fused: one dispatch less a step).
//
// Math:    value v of image i is stored in `depth` bits (1 or 8) at bit offset v·depth of the
//          image's words: level = (images[i · words_per_image + v·depth / 32] >> (v·depth mod 32))
//          & (2^depth − 1).  With r < batch rows, v < values (pixels × channels, row-major) and
//          i = order[first + r]:
//            depth 1:            x[r, v] = level                               (0.0 or 1.0)
//            depth 8, drawn = 0: x[r, v] = level / 255                         (grey levels)
//            depth 8, drawn = 1: x[r, v] = 1 if (h >> 8) · 255 < level · 2^24 else 0, with
//              h = pcg(seed_low ^ pcg(seed_high ^ pcg(epoch ^ pcg(i ^ pcg(v)))))
//              (mnist_shard::draw::draw_bit, bit for bit: a fresh binary image each epoch);
//          state.step ← state.step + advance, by one invocation (nothing in this dispatch reads it;
//          the step's later dispatches see the new value).
// Buffers:
//   @binding(0) params  uniform, dynamic offset (one 256-byte slot per step of a submit)
//                       { first, batch, values, words_per_image, image_count, advance, depth,
//                         drawn, seed_low, seed_high, epoch: u32 }
//   @binding(1) images  storage read  array<u32>  [image_count, words_per_image]  (mnist-shard's FORMAT.md)
//   @binding(2) order   storage read  array<u32>  this epoch's shuffled image indices
//   @binding(3) x       storage rw    array<f32>  [batch, values]
//   @binding(4) state   storage rw    { step: u32 }  (advance 0: left alone, as evaluation binds it)
// Work split: one invocation per output value, WG_X values of one row per workgroup;
// dispatch ceil(values / WG_X) × batch.
// Bounds: the host checks that first + batch ≤ the order's length and every index < image_count;
// the min() below only keeps a corrupt index inside the buffer.
// Tested by: crates/vae-gpu/tests/gather_batch.rs (gathered_batches_equal_the_cpu_gather_for_a_seeded_epoch,
//   odd_batches_and_bad_requests, colour_levels_and_drawn_bits_equal_the_cpu_gather).

struct Params {
    first: u32,
    batch: u32,
    values: u32,
    words_per_image: u32,
    image_count: u32,
    advance: u32,
    depth: u32,
    drawn: u32,
    seed_low: u32,
    seed_high: u32,
    epoch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<u32>;

override WG_X: u32 = 64u;

fn pcg(input: u32) -> u32 {
    let state = input * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let value = gid.x;
    let row = gid.y;
    if (value == 0u && row == 0u && params.advance != 0u) {
        state[0] = state[0] + params.advance;
    }
    if (value >= params.values || row >= params.batch) {
        return;
    }
    let image = min(order[params.first + row], params.image_count - 1u);
    let bit = value * params.depth;
    let word = images[image * params.words_per_image + bit / 32u];
    let level = (word >> (bit % 32u)) & ((1u << params.depth) - 1u);
    var out = f32(level);
    if (params.depth == 8u) {
        if (params.drawn != 0u) {
            let hash = pcg(params.seed_low ^ pcg(params.seed_high ^ pcg(params.epoch ^ pcg(image ^ pcg(value)))));
            out = select(0.0, 1.0, (hash >> 8u) * 255u < level << 24u);
        } else {
            out = f32(level) / 255.0;
        }
    }
    x[row * params.values + value] = out;
}
