//! `shaders/gather_batch.wgsl` on a real adapter: batches gathered on the GPU from the shipped
//! shard, for a seeded epoch order, equal the same images unpacked on the CPU.

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
    let gpu = pollster::block_on(kernel.gather(&context, &split, &order, batch, &firsts)).unwrap();

    let pixels = train.pixels_per_image();
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
        let gpu =
            pollster::block_on(kernel.gather(&context, &split, &order, batch, &[first])).unwrap();
        let cpu: Vec<f32> = (0..batch)
            .flat_map(|row| test.image_f32(order[(first + row) as usize] as usize))
            .collect();
        assert_eq!(gpu, cpu, "batch {batch} from {first}");
    }

    let past_the_end = pollster::block_on(kernel.gather(&context, &split, &order, 8, &[9_995]));
    assert!(
        matches!(&past_the_end, Err(GpuError::InvalidInput(m)) if m.contains("runs past")),
        "{past_the_end:?}"
    );
    let bad_index = pollster::block_on(kernel.gather(&context, &split, &[0, 10_000], 1, &[0]));
    assert!(
        matches!(&bad_index, Err(GpuError::InvalidInput(m)) if m.contains("image index 10000")),
        "{bad_index:?}"
    );
}
