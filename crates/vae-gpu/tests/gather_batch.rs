//! `shaders/gather_batch.wgsl` on a real adapter: batches gathered on the GPU from the shipped
//! shard, for a seeded epoch order, equal the same images unpacked on the CPU; so do colour
//! grey levels, and the bits drawn from levels for an epoch equal `mnist_shard::draw`'s.

use mnist_shard::{decompress, Shard};
use vae_gpu::data::GpuSplit;
use vae_gpu::kernels::gather::BatchGather;
use vae_gpu::{GpuContext, GpuError};
use vae_model::epoch_order;

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn gathered_batches_equal_the_cpu_gather_for_a_seeded_epoch() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let train = shard.train();
    let context = context();
    let split = GpuSplit::upload(&context, &train).unwrap();
    assert_eq!(split.len(), 50_000);
    let kernel = pollster::block_on(BatchGather::new(&context)).unwrap();

    let batch = 128u32;
    let order = epoch_order(7, 3, train.len());
    // First, second and last full batch of the epoch, encoded as three steps of one submit.
    let last = (train.len() as u32 / batch - 1) * batch;
    let firsts = [0, batch, last];
    let gpu =
        pollster::block_on(kernel.gather(&context, &split, &order, batch, (&firsts, 0))).unwrap();

    let pixels = train.values_per_image();
    let mut cpu = Vec::with_capacity(gpu.len());
    for &first in &firsts {
        for row in 0..batch {
            cpu.extend(train.image_f32(order[(first + row) as usize] as usize));
        }
    }
    assert_eq!(gpu.len(), firsts.len() * batch as usize * pixels);
    assert_eq!(gpu, cpu);
    let ink = gpu.iter().filter(|&&v| v == 1.0).count() as f64 / gpu.len() as f64;
    assert!((0.10..0.16).contains(&ink), "fraction of ink {ink}");
}

#[test]
fn odd_batches_and_bad_requests() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let test = shard.test();
    let context = context();
    let split = GpuSplit::upload(&context, &test).unwrap();
    let kernel = pollster::block_on(BatchGather::new(&context)).unwrap();
    let order = epoch_order(1, 0, test.len());

    // A batch of 1 and one of 7 at the very end of the order.
    for (batch, first) in [(1u32, 0u32), (7, test.len() as u32 - 7)] {
        let gpu = pollster::block_on(kernel.gather(&context, &split, &order, batch, (&[first], 0)))
            .unwrap();
        let cpu: Vec<f32> = (0..batch)
            .flat_map(|row| test.image_f32(order[(first + row) as usize] as usize))
            .collect();
        assert_eq!(gpu, cpu, "batch {batch} from {first}");
    }

    let past_the_end =
        pollster::block_on(kernel.gather(&context, &split, &order, 8, (&[9_995], 0)));
    assert!(
        matches!(&past_the_end, Err(GpuError::InvalidInput(m)) if m.contains("runs past")),
        "{past_the_end:?}"
    );
    let bad_index = pollster::block_on(kernel.gather(&context, &split, &[0, 10_000], 1, (&[0], 0)));
    assert!(
        matches!(&bad_index, Err(GpuError::InvalidInput(m)) if m.contains("image index 10000")),
        "{bad_index:?}"
    );
}

#[test]
fn colour_levels_and_drawn_bits_equal_the_cpu_gather() {
    use mnist_shard::draw::{draw_bit, EVALUATION_EPOCH};
    use mnist_shard::import::{build_shard, Binarize, ImportOptions};
    let context = context();
    let kernel = pollster::block_on(BatchGather::new(&context)).unwrap();
    // 40 images of 30 × 17 × 3 (1,530 values, not a multiple of 4 or 32), seeded levels.
    let mut state = 99u32;
    let images: Vec<Vec<u8>> = (0..40)
        .map(|_| {
            (0..30 * 17 * 3)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as u8
                })
                .collect()
        })
        .collect();
    let labels = vec![0u8; 40];
    for binarize in [Binarize::Keep, Binarize::EachEpoch] {
        let options = ImportOptions {
            width: 30,
            height: 17,
            colour: true,
            binarize,
            test_share: 0.25,
            seed: 0x0123_4567_89ab_cdef,
            ..ImportOptions::default()
        };
        let bytes = build_shard(&images, &labels, &options).unwrap();
        let shard = Shard::parse(&bytes, "colour").unwrap();
        let train = shard.train();
        let split = GpuSplit::upload(&context, &train).unwrap();
        let order = epoch_order(3, 1, train.len());
        let batch = 7u32;
        for epoch in [4, EVALUATION_EPOCH] {
            let gpu = pollster::block_on(kernel.gather(
                &context,
                &split,
                &order,
                batch,
                (&[0, 14], epoch),
            ))
            .unwrap();
            let mut cpu = Vec::new();
            for first in [0u32, 14] {
                for row in 0..batch {
                    let index = order[(first + row) as usize];
                    cpu.extend((0..train.values_per_image()).map(|v| {
                        let level = train.level(index as usize, v);
                        if binarize == Binarize::Keep {
                            f32::from(level) / 255.0
                        } else {
                            let on = draw_bit(level, options.seed, epoch, index, v as u32);
                            f32::from(u8::from(on))
                        }
                    }));
                    if epoch == EVALUATION_EPOCH {
                        let seen = train.image_f32(index as usize);
                        assert_eq!(&cpu[cpu.len() - seen.len()..], &seen[..]);
                    }
                }
            }
            assert_eq!(gpu, cpu, "{binarize:?}, epoch {epoch}");
        }
    }
}
