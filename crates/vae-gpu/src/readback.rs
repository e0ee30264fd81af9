//! Reading GPU memory back to the CPU without ever blocking a browser's main thread.

use futures_channel::oneshot;

use crate::GpuError;

/// A copy to a `MAP_READ` buffer that has been submitted and is being mapped. It owns the device
/// and the buffer (wgpu handles are reference-counted), so whoever started it is free again at
/// once: a page can keep training or decoding while reads complete.
pub struct PendingRead {
    device: wgpu::Device,
    buffer: wgpu::Buffer,
    mapped: oneshot::Receiver<Result<(), wgpu::BufferAsyncError>>,
}

impl PendingRead {
    /// Starts mapping `buffer`; call after submitting the work that fills it. The mapping
    /// resolves once all work submitted before it is done.
    pub(crate) fn start(device: &wgpu::Device, buffer: wgpu::Buffer) -> Self {
        let (sender, mapped) = oneshot::channel();
        buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                // The receiver only disappears if the reader gave up waiting; nothing to report then.
                let _ = sender.send(result);
            });
        Self {
            device: device.clone(),
            buffer,
            mapped,
        }
    }

    /// Starts a read of `size` bytes of `source` from `offset`, queued after the work already
    /// submitted.
    pub(crate) fn copy_of(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        source: &wgpu::Buffer,
        offset: u64,
        size: u64,
    ) -> Self {
        let staging = staging_buffer(device, size);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("read back"),
        });
        encoder.copy_buffer_to_buffer(source, offset, &staging, 0, size);
        queue.submit([encoder.finish()]);
        Self::start(device, staging)
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
    device: &wgpu::Device,
    buffer: &wgpu::Buffer,
) -> Result<Vec<f32>, GpuError> {
    PendingRead::start(device, buffer.clone()).floats().await
}
