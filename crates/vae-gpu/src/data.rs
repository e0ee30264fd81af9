//! Training data on the GPU: a shard's images uploaded once in their bit-packed form, and the
//! seeded per-epoch shuffle whose indices are all that crosses to the GPU afterwards.

use mnist_shard::Split;
use vae_reference::SplitMix64;
use wgpu::util::DeviceExt;

use crate::{GpuContext, GpuError};

/// One part of a shard (train or test), resident on the GPU.
pub struct GpuSplit {
    /// The bit-packed images exactly as in the shard (mnist-shard's FORMAT.md).
    pub(crate) images: wgpu::Buffer,
    pub(crate) count: u32,
    pub(crate) pixels: u32,
    pub(crate) words_per_image: u32,
}

impl GpuSplit {
    /// Uploads `split`'s images once (100 bytes an MNIST image), checking the adapter can bind them.
    pub fn upload(context: &GpuContext, split: &Split<'_>) -> Result<Self, GpuError> {
        let bytes = split.packed_images();
        if split.is_empty() {
            return Err(GpuError::InvalidInput("the data set has no images".into()));
        }
        let limit = context.limits.max_storage_buffer_binding_size;
        if bytes.len() as u64 > limit {
            return Err(GpuError::InvalidInput(format!(
                "the images need {} bytes on the GPU, over the adapter's \
                 max_storage_buffer_binding_size of {limit}",
                bytes.len()
            )));
        }
        let count = u32::try_from(split.len())
            .map_err(|_| GpuError::InvalidInput("more than 2^32 images".into()))?;
        let images = context
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("packed images"),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE,
            });
        Ok(Self {
            images,
            count,
            pixels: split.pixels_per_image() as u32,
            words_per_image: split.words_per_image() as u32,
        })
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The order in which epoch `epoch` visits `count` images: a Fisher–Yates shuffle seeded by
/// (`seed`, `epoch`), so a run is reproducible and any epoch can be recomputed alone.
pub fn epoch_order(seed: u64, epoch: u64, count: usize) -> Vec<u32> {
    // Distinct, well-mixed streams per epoch: SplitMix64 scrambles the combined seed itself.
    let mut rng = SplitMix64::new(seed ^ epoch.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut order: Vec<u32> = (0..count as u32).collect();
    for i in (1..count).rev() {
        // Lemire's multiply-shift maps 64 random bits to 0..=i with negligible bias.
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::epoch_order;

    #[test]
    fn an_epoch_order_is_a_seeded_permutation_that_changes_every_epoch() {
        let order = epoch_order(7, 0, 1000);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<u32>>());
        assert_eq!(order, epoch_order(7, 0, 1000));
        assert_ne!(order, epoch_order(7, 1, 1000));
        assert_ne!(order, epoch_order(8, 0, 1000));
        assert_ne!(order, sorted);
        assert!(epoch_order(1, 0, 0).is_empty());
        assert_eq!(epoch_order(1, 0, 1), vec![0]);
    }

    #[test]
    fn every_image_is_equally_likely_in_every_position() {
        // 3 images, 6000 epochs: each of the 6 permutations ~1000 times.
        let mut counts = std::collections::HashMap::new();
        for epoch in 0..6000 {
            *counts.entry(epoch_order(3, epoch, 3)).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 6);
        // Binomial sd ≈ 29: ±150 is over 5 sd, and the seed is fixed, so this cannot flake.
        assert!(
            counts.values().all(|&n| (850..=1150).contains(&n)),
            "{counts:?}"
        );
    }
}
