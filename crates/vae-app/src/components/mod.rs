//! The page's components, one concern each.

mod adapter;
mod bench;
mod chart;
mod cpu_bench;
mod data_import;
mod data_panel;
mod digits;
mod engine_panel;
mod explore;
mod gallery;
mod kernel_check;
mod latent;
mod likelihood;
mod model_panel;
mod train_panel;
mod unavailable;

pub use adapter::AdapterPanel;
pub use bench::{BenchPanel, BenchScope};
pub use cpu_bench::CpuBenchPanel;
pub use data_panel::DataPanel;
pub use engine_panel::EnginePanel;
pub use explore::ExplorePanel;
pub use gallery::Gallery;
pub use kernel_check::KernelCheckPanel;
pub use latent::LatentViews;
pub use likelihood::LikelihoodEstimate;
pub use model_panel::{open_chosen_file, ModelPanel};
pub use train_panel::TrainPanel;
pub use unavailable::WebGpuUnavailable;
