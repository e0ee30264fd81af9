//! The engine `vae train` drives, through the model's one interface ([`Engine`]): the GPU one
//! (our WGSL kernels through wgpu) or the CPU one (`vae-cpu`, for checking the GPU and for
//! machines without a GPU driver). What follows the choice never asks which it is.

use std::sync::Arc;

use clap::Args;
use vae_cpu::{CpuEngine, CpuVae};
use vae_gpu::vae::Vae;
use vae_gpu::{GpuContext, GpuEngine};
use vae_model::Engine;
use vae_model::{Evaluation, MetricsReport, Snapshot, VaeConfig};

#[derive(Args)]
pub struct EngineArgs {
    /// Where to train: cpu (the CPU engine, no GPU needed), or a GPU API: vulkan, metal, dx12
    /// or gl (the best GPU available when left out; the same as WGPU_BACKEND).
    #[arg(long, value_parser = ["cpu", "vulkan", "metal", "dx12", "gl"])]
    backend: Option<String>,
}

impl EngineArgs {
    pub fn is_cpu(&self) -> bool {
        self.backend.as_deref() == Some("cpu")
    }

    /// The GPU these name (the best one when left out).
    pub fn gpu_context(&self) -> Result<GpuContext, String> {
        if self.is_cpu() {
            return Err("the CPU engine has no GPU context".into());
        }
        if let Some(backend) = &self.backend {
            // GpuContext::new narrows its adapter search by this variable.
            std::env::set_var("WGPU_BACKEND", backend);
        }
        pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())
    }
}

/// How to make the model: a checkpoint's bytes (with an optional new learning rate) or fresh.
pub enum Start<'a> {
    Resume { bytes: &'a [u8], lr: Option<f64> },
    Fresh(VaeConfig),
}

/// Opens the model on the engine `args` name.
pub fn open(args: &EngineArgs, start: Start<'_>) -> Result<Box<dyn Engine>, String> {
    let adjust = |lr: Option<f64>| {
        move |config: &mut VaeConfig| {
            if let Some(lr) = lr {
                config.adam.lr = lr;
            }
        }
    };
    if args.backend.as_deref() == Some("cpu") {
        let vae = match start {
            Start::Resume { bytes, lr } => CpuVae::load_with(bytes, adjust(lr)),
            Start::Fresh(config) => CpuVae::new(config),
        };
        return vae
            .map(|vae| Box::new(CpuEngine::from(vae)) as Box<dyn Engine>)
            .map_err(|e| e.to_string());
    }
    let context = args.gpu_context()?;
    let vae = pollster::block_on(async {
        let vae = match start {
            Start::Resume { bytes, lr } => Vae::load_with(context, bytes, adjust(lr)).await?,
            Start::Fresh(config) => Vae::new(context, config).await?,
        };
        GpuEngine::new(vae).await
    });
    vae.map(|vae| Box::new(vae) as Box<dyn Engine>)
        .map_err(|e| e.to_string())
}

/// What the CLI asks of any engine, blocking until each result is back.
pub trait Blocking {
    fn bind_shard(&mut self, raw: &Arc<Vec<u8>>) -> Result<(), String>;
    fn train_steps(&mut self, n: u32) -> Result<(), String>;
    fn metrics(&mut self) -> Result<MetricsReport, String>;
    /// The bound test data's figures.
    fn evaluate(&mut self) -> Result<Evaluation, String>;
    fn save(&self) -> Result<Vec<u8>, String>;
}

impl Blocking for dyn Engine {
    fn bind_shard(&mut self, raw: &Arc<Vec<u8>>) -> Result<(), String> {
        pollster::block_on(self.bind_data(raw)).map_err(|e| e.to_string())
    }

    fn train_steps(&mut self, n: u32) -> Result<(), String> {
        let done = self.train(n).map_err(|e| e.to_string())?;
        pollster::block_on(done).map_err(|e| e.to_string())
    }

    fn metrics(&mut self) -> Result<MetricsReport, String> {
        let read = self
            .begin_metrics(Snapshot::Skip)
            .map_err(|e| e.to_string())?;
        let reply = pollster::block_on(read);
        self.finish_metrics(reply).map_err(|e| e.to_string())
    }

    fn evaluate(&mut self) -> Result<Evaluation, String> {
        self.cancel_evaluation();
        let (_, done) = self.run_evaluation(u32::MAX).map_err(|e| e.to_string())?;
        pollster::block_on(done).map_err(|e| e.to_string())?;
        let figures = self.request_evaluation().map_err(|e| e.to_string())?;
        pollster::block_on(figures).map_err(|e| e.to_string())
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        pollster::block_on(self.begin_save()).map_err(|e| e.to_string())
    }
}
