//! Small presentational components, one concern each.

mod adapter;
mod kernel_check;
mod unavailable;

pub use adapter::AdapterPanel;
pub use kernel_check::KernelCheckPanel;
pub use unavailable::WebGpuUnavailable;
