//! The one model API the lab talks to, whichever engine runs it: WebGPU ([`gpu`]) or the CPU
//! engine in a Web Worker ([`cpu`]). Every read is an owned future ([`Pending`]) that borrows
//! nothing, so the lab awaits it in a task of its own and takes the model again only for a
//! moment afterwards; requests run in the order they were made, on either engine.

mod choice;
mod cpu;
mod gpu;
mod workers;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use vae_gpu::vae::{Evaluation, MetricsReport, Snapshot, VaeConfig};
use vae_gpu::{GpuContext, GpuError};
use vae_reference::latent::LatentLines;
use vae_worker::client::Simd;

pub use choice::{choose, remember_switch, Choice};
pub use cpu::CpuModel;
pub use gpu::GpuModel;

/// What went wrong in an engine. A lost GPU device is recovered from; the rest is shown.
#[derive(Debug)]
pub enum EngineError {
    Gpu(GpuError),
    Cpu(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Gpu(error) => error.fmt(f),
            EngineError::Cpu(message) => f.write_str(message),
        }
    }
}

impl From<GpuError> for EngineError {
    fn from(error: GpuError) -> Self {
        EngineError::Gpu(error)
    }
}

/// A result on its way back.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, EngineError>>>>;
/// Posterior means and log-variances, `[rows, latent]` each.
pub type Posterior = (Vec<f32>, Vec<f32>);
/// A drawing's posterior mean and its reconstruction, on their way back.
pub type PendingPair = (Pending<Vec<f32>>, Pending<Vec<f32>>);

/// Where models are built: the GPU's device, or a fresh CPU worker per model (so a model being
/// built never disturbs the one in use, and dropping a model ends its worker).
#[derive(Clone)]
pub enum Backend {
    Gpu(Box<GpuContext>),
    Cpu {
        /// The URL the worker's scripts are under (the page's base, ending in `/`).
        base: Rc<str>,
    },
}

/// Which CPU-worker module to start: the relaxed-SIMD one where the browser has it, unless the
/// address says `?simd=128` (to compare the two).
pub fn worker_simd() -> Simd {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    if search.contains("simd=128") {
        Simd::Simd128
    } else {
        Simd::Best
    }
}

/// This browser's localStorage, where the engine choices are kept.
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The value of `name=` in the page's address, if given (`?engine=cpu&workers=2`).
fn address_value(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let prefix = format!("{name}=");
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(prefix.as_str()).map(str::to_string))
}

/// The page's base URL (where trunk put the worker's scripts), ending in `/`.
pub fn page_base() -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    // The directory of the page, not the page itself.
    match base
        .split(['?', '#'])
        .next()
        .and_then(|b| b.rfind('/').map(|i| &b[..=i]))
    {
        Some(dir) => dir.to_string(),
        None => "./".to_string(),
    }
}

/// Which of the lab's fixed-size decodes a request is for (the GPU keeps a session for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoding {
    /// The sliders' digit (and the first digit): one image.
    Slider,
    /// The gallery's prior samples.
    Samples,
}

/// Which of the latent views a set of lines is decoded for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    Grid,
    Strips,
    Interpolation,
}

/// A metrics read as it came back, for [`Model::finish_metrics`].
pub enum MetricsReply {
    Gpu(vae_gpu::vae::MetricsData),
    Cpu {
        report: MetricsReport,
        rollback_to: u64,
    },
}

/// A model on one of the engines.
pub enum Model {
    /// Boxed: the GPU model holds its sessions inline (kilobytes), the CPU one a handle.
    Gpu(Box<GpuModel>),
    Cpu(CpuModel),
}

/// What a model is opened from (the lab's `ModelSource`, without what only the page needs).
/// How many images the lab's fixed decodes hold (the gallery, the views): the engine makes its
/// sessions of these sizes, the views say what they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeSizes {
    /// Prior samples in the gallery.
    pub samples: usize,
    /// Test images shown with their reconstructions.
    pub reconstructions: usize,
    /// Cells along each side of the latent grid.
    pub grid_side: usize,
    /// Points along each latent's strip.
    pub strip_points: usize,
    /// Frames of an interpolation.
    pub interpolation_frames: usize,
}

pub enum Opening<'a> {
    Fresh(VaeConfig),
    Checkpoint {
        bytes: &'a [u8],
        settings: Option<VaeConfig>,
    },
}

/// Forwards a call to whichever engine holds the model.
macro_rules! either {
    ($model:expr, $m:ident => $body:expr) => {
        match $model {
            Model::Gpu($m) => $body,
            Model::Cpu($m) => $body,
        }
    };
}

impl Model {
    /// A model on `backend`, without its data yet: it can decode (the first digit) at once.
    pub async fn open(backend: &Backend, opening: Opening<'_>) -> Result<Self, EngineError> {
        Ok(match backend {
            Backend::Gpu(context) => Model::Gpu(Box::new(
                GpuModel::open((**context).clone(), opening).await?,
            )),
            Backend::Cpu { base } => {
                let (workers, why) = workers::spawn(base, worker_simd())
                    .await
                    .map_err(EngineError::Cpu)?;
                Model::Cpu(CpuModel::open(Rc::new(workers), why, opening).await?)
            }
        })
    }

    /// Binds the training and test data (the shard's bytes, uncompressed) and makes what the
    /// gallery and the views decode with, at `sizes`.
    pub async fn bind_data(
        &mut self,
        raw: &std::sync::Arc<Vec<u8>>,
        shard: &mnist_shard::Shard<'_>,
        sizes: DecodeSizes,
    ) -> Result<(), EngineError> {
        match self {
            Model::Gpu(m) => m.bind_data(shard, sizes).await,
            Model::Cpu(m) => m.bind_data(raw).await,
        }
    }

    /// Which engine this is, as the page names it.
    pub fn engine_name(&self) -> String {
        match self {
            Model::Gpu(m) => format!("WebGPU ({})", m.adapter_name()),
            Model::Cpu(m) if m.workers() > 1 => {
                format!("CPU ({}, {} workers)", m.simd(), m.workers())
            }
            Model::Cpu(m) => format!("CPU ({})", m.simd()),
        }
    }

    /// On the CPU, how many workers train and why; empty on the GPU.
    pub fn workers_why(&self) -> String {
        match self {
            Model::Gpu(_) => String::new(),
            Model::Cpu(m) => m.workers_why().to_string(),
        }
    }

    pub fn is_cpu(&self) -> bool {
        matches!(self, Model::Cpu(_))
    }

    pub fn config(&self) -> &VaeConfig {
        either!(self, m => m.config())
    }

    /// Steps queued so far (done or not).
    pub fn step(&self) -> u64 {
        either!(self, m => m.step())
    }

    pub fn epoch_progress(&self) -> Option<(u64, u64)> {
        either!(self, m => m.epoch_progress())
    }

    pub fn steps_per_epoch(&self) -> Option<u64> {
        either!(self, m => m.steps_per_epoch())
    }

    /// GPU dispatches a step takes (0 on the CPU).
    pub fn dispatches_per_step(&self) -> u32 {
        match self {
            Model::Gpu(m) => m.dispatches_per_step(),
            Model::Cpu(_) => 0,
        }
    }

    /// Queues `n` training steps; the future resolves when they are done.
    pub fn train(&mut self, n: u32) -> Result<Pending<()>, EngineError> {
        either!(self, m => m.train(n))
    }

    pub fn begin_metrics(
        &mut self,
        snapshot: Snapshot,
    ) -> Result<Pending<MetricsReply>, EngineError> {
        either!(self, m => m.begin_metrics(snapshot))
    }

    pub fn finish_metrics(
        &mut self,
        reply: Result<MetricsReply, EngineError>,
    ) -> Result<MetricsReport, EngineError> {
        either!(self, m => m.finish_metrics(reply))
    }

    /// Back to the last state a metrics read confirmed good.
    pub fn rollback(&mut self) {
        either!(self, m => m.rollback())
    }

    /// Batches of the evaluation under way not yet queued.
    pub fn evaluation_remaining(&self) -> u32 {
        either!(self, m => m.evaluation_remaining())
    }

    /// Queues up to `n` more batches of the test evaluation (beginning one if none is under
    /// way): how many remain, and a future for when these are done.
    pub fn run_evaluation(&mut self, n: u32) -> Result<(u32, Pending<()>), EngineError> {
        either!(self, m => m.run_evaluation(n))
    }

    pub fn request_evaluation(&mut self) -> Result<Pending<Evaluation>, EngineError> {
        either!(self, m => m.request_evaluation())
    }

    pub fn cancel_evaluation(&mut self) {
        either!(self, m => m.cancel_evaluation())
    }

    /// Every test image's posterior means and log-variances as the last complete evaluation
    /// found them.
    pub fn request_posteriors(&self) -> Result<Pending<Posterior>, EngineError> {
        either!(self, m => m.request_posteriors())
    }

    pub fn request_decode(
        &self,
        what: Decoding,
        z: &[f32],
    ) -> Result<Pending<Vec<f32>>, EngineError> {
        either!(self, m => m.request_decode(what, z))
    }

    /// The sliders' encode: posterior mean and log-variance of one image.
    pub fn request_encode(&self, x: &[f32]) -> Result<Pending<Posterior>, EngineError> {
        either!(self, m => m.request_encode(x))
    }

    /// The gallery's reconstructions.
    pub fn request_reconstruction(&self, x: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        either!(self, m => m.request_reconstruction(x))
    }

    /// Decodes along sets of lines, in one submit on the GPU.
    pub fn request_line_sets(
        &self,
        sets: &[(Lines, &LatentLines)],
    ) -> Result<Vec<Pending<Vec<f32>>>, EngineError> {
        either!(self, m => m.request_line_sets(sets))
    }

    /// A drawing's posterior mean and its reconstruction.
    pub fn request_encode_and_reconstruct(&self, x: &[f32]) -> Result<PendingPair, EngineError> {
        either!(self, m => m.request_encode_and_reconstruct(x))
    }

    /// The model's checkpoint after the work queued so far.
    pub fn begin_save(&self) -> Pending<Vec<u8>> {
        either!(self, m => m.begin_save())
    }
}
