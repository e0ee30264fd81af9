//! The VAE engine: a wgpu device and our own WGSL kernels (in the workspace's `shaders/`),
//! running natively (Vulkan, Metal, DX12, GL) and in the browser (WebGPU) from one API.
//!
//! Nothing here blocks on the web: every read of GPU memory is an `async fn` that awaits the
//! buffer-mapping callback; natively the same functions poll the device to drive it.
//! The crate knows nothing of any UI.

pub mod bench;
mod context;
pub mod data;
mod engine;
mod error;
pub mod kernels;
mod read_watch;
mod readback;
pub use readback::PendingRead;
/// The wgpu this engine is built on, for callers that need its types (limits, adapters).
pub use wgpu;
pub mod selftest;
mod shaders;
pub mod vae;

pub use context::{binding_limits, AdapterSummary, GpuContext};
pub use engine::GpuEngine;
pub use error::GpuError;
