//! What the model-level GPU tests share: the adapter, a small model, and the shipped shard.

use mnist_shard::{decompress, Shard};
use vae_gpu::GpuContext;
use vae_model::VaeConfig;
use vae_reference::Sizes;

const SHARD: &[u8] = include_bytes!("../../../../web/mnist.shard.gz");

pub fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"))
}

/// A small hidden width keeps these tests fast; the math is the same.
pub fn small() -> VaeConfig {
    VaeConfig {
        sizes: Sizes {
            input: 784,
            hidden: 64,
            latent: 8,
        },
        batch: 32,
        seed: 17,
        ..VaeConfig::default()
    }
}

pub fn with_shard<T>(run: impl FnOnce(&Shard) -> T) -> T {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    run(&shard)
}
