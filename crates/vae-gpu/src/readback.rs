//! Reading GPU memory back to the CPU without ever blocking a browser's main thread.

use crate::GpuError;

/// Maps a `MAP_READ` buffer and copies its bytes out.
///
/// The mapping callback reports through a channel: on the web the browser resolves it from its
/// event loop while we await (so `poll` must not and need not be called there); natively we drive
/// the device with a blocking poll first, after which the channel is already filled.
pub(crate) async fn read_mapped(
    device: &wgpu::Device,
    buffer: &wgpu::Buffer,
) -> Result<Vec<u8>, GpuError> {
    let slice = buffer.slice(..);
    let (sender, receiver) = futures_channel::oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |result| {
        // The receiver only disappears if the caller gave up waiting; nothing to report then.
        let _ = sender.send(result);
    });
    #[cfg(not(target_arch = "wasm32"))]
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|error| GpuError::DeviceLost(error.to_string()))?;
    #[cfg(target_arch = "wasm32")]
    let _ = device;
    receiver
        .await
        .map_err(|_| GpuError::DeviceLost("the buffer-mapping callback was dropped".into()))?
        .map_err(|error| GpuError::Map(error.to_string()))?;
    let bytes = slice
        .get_mapped_range()
        .map_err(|error| GpuError::Map(error.to_string()))?
        .to_vec();
    buffer.unmap();
    Ok(bytes)
}

/// Reads `f32`s back from a `MAP_READ` buffer.
pub(crate) async fn read_f32(
    device: &wgpu::Device,
    buffer: &wgpu::Buffer,
) -> Result<Vec<f32>, GpuError> {
    let bytes = read_mapped(device, buffer).await?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}
