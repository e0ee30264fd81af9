//! Small presentational components, one concern each.

mod adapter;
mod data_panel;
mod kernel_check;
mod unavailable;

pub use adapter::AdapterPanel;
pub use data_panel::DataPanel;
pub use kernel_check::KernelCheckPanel;
pub use unavailable::WebGpuUnavailable;
