//! Reading GPU memory back to the CPU without ever blocking a browser's main thread, through
//! staging buffers that are reused, and with completions that arrive promptly in every browser.

use futures_channel::oneshot;

use crate::read_watch::{with_shared, ReadGuard, Shared};
use crate::{GpuContext, GpuError};

/// A copy to a `MAP_READ` buffer that has been submitted and is being mapped. It owns the device
/// and the buffer (wgpu handles are reference-counted), so whoever started it is free again at
/// once: a page can keep training or decoding while reads complete.
pub struct PendingRead {
    device: wgpu::Device,
    buffer: wgpu::Buffer,
    /// Where the buffer goes back once read, for the next read of the same size.
    pool: Option<StagingPool>,
    mapped: oneshot::Receiver<Result<(), wgpu::BufferAsyncError>>,
    /// Keeps the browser's GPU channel serviced while this read is out (see [`ReadWatch`]).
    _waiting: ReadGuard,
}

impl PendingRead {
    /// Starts mapping `buffer`; call after submitting the work that fills it. The mapping
    /// resolves once all work submitted before it is done.
    pub(crate) fn start(
        context: &GpuContext,
        buffer: wgpu::Buffer,
        pool: Option<&StagingPool>,
    ) -> Self {
        let (sender, mapped) = oneshot::channel();
        buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                // The receiver only disappears if the reader gave up waiting; nothing to report then.
                let _ = sender.send(result);
            });
        Self {
            device: context.device.clone(),
            buffer,
            pool: pool.cloned(),
            mapped,
            _waiting: context.reads.waiting(),
        }
    }

    /// Starts a read of `size` bytes of `source` from `offset`, queued after the work already
    /// submitted, into a buffer of `pool` (one of that size) or a new one.
    pub(crate) fn copy_of(
        context: &GpuContext,
        source: &wgpu::Buffer,
        offset: u64,
        size: u64,
        pool: Option<&StagingPool>,
    ) -> Self {
        let pool = pool.filter(|pool| pool.size == size.max(4));
        let staging = match pool {
            Some(pool) => pool.take(&context.device),
            None => staging_buffer(&context.device, size),
        };
        let mut encoder = context
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read back"),
            });
        encoder.copy_buffer_to_buffer(source, offset, &staging, 0, size);
        context.queue.submit([encoder.finish()]);
        Self::start(context, staging, pool)
    }

    /// The bytes, once the GPU has got there. On the web the browser resolves the mapping from
    /// its event loop while we await (so `poll` must not and need not be called there);
    /// natively we drive the device with a blocking poll first.
    pub async fn bytes(self) -> Result<Vec<u8>, GpuError> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|error| GpuError::DeviceLost(error.to_string()))?;
        #[cfg(target_arch = "wasm32")]
        let _ = &self.device;
        self.mapped
            .await
            .map_err(|_| GpuError::DeviceLost("the buffer-mapping callback was dropped".into()))?
            .map_err(|error| GpuError::Map(error.to_string()))?;
        let slice = self.buffer.slice(..);
        let bytes = slice
            .get_mapped_range()
            .map_err(|error| GpuError::Map(error.to_string()))?
            .to_vec();
        self.buffer.unmap();
        if let Some(pool) = &self.pool {
            pool.give_back(self.buffer);
        }
        Ok(bytes)
    }

    /// The bytes as `f32`s.
    pub async fn floats(self) -> Result<Vec<f32>, GpuError> {
        Ok(bytemuck::pod_collect_to_vec(&self.bytes().await?))
    }
}

/// A buffer to copy GPU results into and map.
pub(crate) fn staging_buffer(device: &wgpu::Device, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("read back"),
        size: size.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Reads `f32`s back from a `MAP_READ` buffer whose filling work is already submitted.
pub(crate) async fn read_f32(
    context: &GpuContext,
    buffer: &wgpu::Buffer,
) -> Result<Vec<f32>, GpuError> {
    PendingRead::start(context, buffer.clone(), None)
        .floats()
        .await
}

/// Staging buffers of one size, reused: a read takes one and gives it back once its bytes are
/// out, so a page that reads metrics, fences and decodes many times a second allocates none
/// after the first few. Buffers of reads still in flight are simply not in the pool yet.
#[derive(Clone)]
pub(crate) struct StagingPool {
    size: u64,
    free: Shared<Vec<wgpu::Buffer>>,
}

/// Free buffers a pool keeps; more reads than this in flight at once allocate the rest.
const POOL_KEEPS: usize = 4;

impl StagingPool {
    pub(crate) fn new(size: u64) -> Self {
        Self {
            size: size.max(4),
            free: Shared::default(),
        }
    }

    pub(crate) fn take(&self, device: &wgpu::Device) -> wgpu::Buffer {
        with_shared(&self.free, Vec::pop).unwrap_or_else(|| staging_buffer(device, self.size))
    }

    fn give_back(&self, buffer: wgpu::Buffer) {
        with_shared(&self.free, |free| {
            if free.len() < POOL_KEEPS && buffer.size() == self.size {
                free.push(buffer);
            }
        });
    }

    /// Buffers waiting for reuse (for tests: reads give theirs back).
    #[cfg(test)]
    fn free_buffers(&self) -> usize {
        with_shared(&self.free, |free| free.len())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use wgpu::util::DeviceExt;

    use super::*;

    #[test]
    fn reads_reuse_their_pools_buffers() {
        let context = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe)");
        let values: Vec<f32> = (0..64).map(|i| i as f32).collect();
        let source = context
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("source"),
                contents: bytemuck::cast_slice(&values),
                usage: wgpu::BufferUsages::COPY_SRC,
            });
        let pool = StagingPool::new(source.size());
        for round in 0..3 {
            let read = PendingRead::copy_of(&context, &source, 0, source.size(), Some(&pool));
            assert_eq!(
                pool.free_buffers(),
                0,
                "round {round}: the read holds the buffer"
            );
            let back = pollster::block_on(read.floats()).unwrap();
            assert_eq!(back, values);
            assert_eq!(
                pool.free_buffers(),
                1,
                "round {round}: given back, and only one made"
            );
        }
        // Two at once need two buffers; both come back, up to what the pool keeps.
        let reads: Vec<PendingRead> = (0..2)
            .map(|_| PendingRead::copy_of(&context, &source, 0, source.size(), Some(&pool)))
            .collect();
        assert_eq!(pool.free_buffers(), 0);
        for read in reads {
            pollster::block_on(read.bytes()).unwrap();
        }
        assert_eq!(pool.free_buffers(), 2);
        // A read of another size does not take the pool's buffers.
        let part = PendingRead::copy_of(&context, &source, 16, 32, Some(&pool));
        assert_eq!(pool.free_buffers(), 2);
        assert_eq!(
            pollster::block_on(part.floats()).unwrap(),
            values[4..12].to_vec()
        );
        assert_eq!(pool.free_buffers(), 2);
    }
}
