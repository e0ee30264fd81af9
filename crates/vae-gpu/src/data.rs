//! Training data on the GPU: a shard's images uploaded once in their packed form; after that
//! only each epoch's order (`vae_model::epoch_order`) crosses to the GPU.

use mnist_shard::{Encoding, Split};
use wgpu::util::DeviceExt;

use crate::{GpuContext, GpuError};

/// One part of a shard (train or test), resident on the GPU.
pub struct GpuSplit {
    /// The packed images exactly as in the shard (mnist-shard's FORMAT.md).
    pub(crate) images: wgpu::Buffer,
    pub(crate) count: u32,
    /// Values an image has (pixels × channels).
    pub(crate) values: u32,
    pub(crate) words_per_image: u32,
    pub(crate) encoding: Encoding,
    /// What drawn levels are drawn with (the shard's seed).
    pub(crate) seed: u64,
}

impl GpuSplit {
    /// Uploads `split`'s images once (100 bytes a binary MNIST image, 784 in grey levels),
    /// checking the adapter can bind them.
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
            values: split.values_per_image() as u32,
            words_per_image: split.words_per_image() as u32,
            encoding: split.encoding(),
            seed: split.seed(),
        })
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}
