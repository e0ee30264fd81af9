//! The engine `vae train` drives: the GPU one (our WGSL kernels through wgpu) or the CPU one
//! (`vae-cpu`, for checking the GPU and for machines without a GPU driver), behind one shape.

use clap::Args;
use mnist_shard::Split;
use vae_cpu::CpuVae;
use vae_gpu::vae::{Evaluation, MetricsReport, Vae, VaeConfig};
use vae_gpu::GpuContext;

#[derive(Args)]
pub struct EngineArgs {
    /// Where to train: cpu (the CPU engine, no GPU needed), or a GPU API: vulkan, metal, dx12
    /// or gl (the best GPU available when left out; the same as WGPU_BACKEND).
    #[arg(long, value_parser = ["cpu", "vulkan", "metal", "dx12", "gl"])]
    backend: Option<String>,
}

pub enum Engine {
    Gpu(Box<Vae>),
    Cpu(Box<CpuVae>),
}

/// How to make the model: a checkpoint's bytes (with an optional new learning rate) or fresh.
pub enum Start<'a> {
    Resume { bytes: &'a [u8], lr: Option<f64> },
    Fresh(VaeConfig),
}

impl Engine {
    pub fn open(args: &EngineArgs, start: Start<'_>) -> Result<Self, String> {
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
                .map(|vae| Engine::Cpu(Box::new(vae)))
                .map_err(|e| e.to_string());
        }
        if let Some(backend) = &args.backend {
            // GpuContext::new narrows its adapter search by this variable.
            std::env::set_var("WGPU_BACKEND", backend);
        }
        let context = pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?;
        let vae = match start {
            Start::Resume { bytes, lr } => {
                pollster::block_on(Vae::load_with(context, bytes, adjust(lr)))
            }
            Start::Fresh(config) => pollster::block_on(Vae::new(context, config)),
        };
        vae.map(|vae| Engine::Gpu(Box::new(vae)))
            .map_err(|e| e.to_string())
    }

    /// What runs the model, for the log.
    pub fn device(&self) -> String {
        match self {
            Engine::Gpu(vae) => format!("adapter {}", vae.context().adapter.name),
            Engine::Cpu(_) => format!("the CPU engine ({}, one thread)", vae_cpu::simd_in_use()),
        }
    }

    pub fn config(&self) -> VaeConfig {
        match self {
            Engine::Gpu(vae) => *vae.config(),
            Engine::Cpu(vae) => *vae.config(),
        }
    }

    pub fn step(&self) -> u64 {
        match self {
            Engine::Gpu(vae) => vae.step(),
            Engine::Cpu(vae) => vae.step(),
        }
    }

    pub fn set_training_data(&mut self, split: &Split<'_>) -> Result<(), String> {
        match self {
            Engine::Gpu(vae) => pollster::block_on(vae.set_training_data(split)),
            Engine::Cpu(vae) => return vae.set_training_data(split).map_err(|e| e.to_string()),
        }
        .map_err(|e| e.to_string())
    }

    pub fn steps_per_epoch(&self) -> Option<u64> {
        match self {
            Engine::Gpu(vae) => vae.steps_per_epoch(),
            Engine::Cpu(vae) => vae.steps_per_epoch(),
        }
    }

    pub fn epoch_progress(&self) -> Option<(u64, u64)> {
        match self {
            Engine::Gpu(vae) => vae.epoch_progress(),
            Engine::Cpu(vae) => vae.epoch_progress(),
        }
    }

    pub fn train_steps(&mut self, n: u32) -> Result<(), String> {
        match self {
            Engine::Gpu(vae) => vae.train_steps(n).map_err(|e| e.to_string()),
            Engine::Cpu(vae) => vae.train_steps(n).map_err(|e| e.to_string()),
        }
    }

    pub fn metrics(&mut self) -> Result<MetricsReport, String> {
        match self {
            Engine::Gpu(vae) => pollster::block_on(vae.metrics()).map_err(|e| e.to_string()),
            Engine::Cpu(vae) => Ok(vae.metrics()),
        }
    }

    pub fn evaluate(&mut self, split: &Split<'_>) -> Result<Evaluation, String> {
        match self {
            Engine::Gpu(vae) => pollster::block_on(vae.evaluate(split)).map_err(|e| e.to_string()),
            Engine::Cpu(vae) => vae.evaluate(split).map_err(|e| e.to_string()),
        }
    }

    /// The checkpoint's bytes (the same format from either engine).
    pub fn save(&self) -> Result<Vec<u8>, String> {
        match self {
            Engine::Gpu(vae) => pollster::block_on(vae.save()).map_err(|e| e.to_string()),
            Engine::Cpu(vae) => vae.save().map_err(|e| e.to_string()),
        }
    }
}
