//! [`Engine`]: the one interface every engine of the model implements (the GPU engine, the CPU
//! engine, the page's proxy to a CPU worker) and every caller talks to (the lab, the worker's
//! host, the CLI), so a caller never knows which engine runs and a new engine is one new
//! implementation.
//!
//! Its shape is the web's: work is queued at once and every result comes back as an owned
//! future ([`Pending`]) that borrows nothing, so a page awaits it in a task of its own while
//! the engine is free for the next request. Requests take effect in the order they were made.
//! An engine whose results are ready at once (the CPU engine in-process) returns ready futures;
//! a native caller blocks on them, and [`ready_now`] takes a ready one without an executor.

use std::any::Any;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use thiserror::Error;
use vae_reference::latent::LatentLines;

use crate::{Evaluation, MetricsReport, ModelError, Snapshot, VaeConfig};

/// What went wrong in an engine.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The device the engine ran on is gone (a GPU reset, a driver update, a worker's end):
    /// the model can be brought back on a new one from its last snapshot.
    #[error(
        "the GPU device was lost or stopped answering ({0}); reload the page or restart the program"
    )]
    DeviceLost(String),

    /// A setting, an input or a file the model refuses.
    #[error(transparent)]
    Model(#[from] ModelError),

    /// Anything else, as the engine says it.
    #[error("{0}")]
    Failed(String),
}

impl EngineError {
    /// A request the model refuses as given (a caller's error, named precisely).
    pub fn invalid(message: impl Into<String>) -> Self {
        EngineError::Model(ModelError::InvalidInput(message.into()))
    }
}

/// A result on its way back from an engine.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, EngineError>>>>;
/// Posterior means and log-variances, `[rows, latent]` each.
pub type Posterior = (Vec<f32>, Vec<f32>);
/// A drawing's posterior mean and its reconstruction, on their way back.
pub type PendingPair = (Pending<Vec<f32>>, Pending<Vec<f32>>);
/// Work that borrows the engine until it is done (binding data).
pub type Binding<'a> = Pin<Box<dyn Future<Output = Result<(), EngineError>> + 'a>>;

/// A ready result, boxed.
pub fn ready<T: 'static>(result: Result<T, EngineError>) -> Pending<T> {
    Box::pin(std::future::ready(result))
}

/// A request's future, or its refusal as one that is ready at once: awaited alike.
pub fn settled<T: 'static>(request: Result<Pending<T>, EngineError>) -> Pending<T> {
    request.unwrap_or_else(|error| ready(Err(error)))
}

/// The result of a future that is ready at once (an in-process CPU engine's), without an
/// executor; `None` if it is not ready yet.
pub fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// A metrics read as it came back, for the engine that began it to finish
/// ([`Engine::finish_metrics`]); what it holds is that engine's own.
pub struct MetricsReply(Box<dyn Any>);

impl MetricsReply {
    pub fn new<T: 'static>(data: T) -> Self {
        Self(Box::new(data))
    }

    /// The engine's own data back; an error if another engine began the read.
    pub fn take<T: 'static>(self) -> Result<T, EngineError> {
        self.0
            .downcast::<T>()
            .map(|data| *data)
            .map_err(|_| EngineError::invalid("metrics read by another engine"))
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

/// How many images the lab's fixed decodes hold (the gallery, the views): an engine that
/// prepares for them ([`Engine::prepare_decodes`]) makes its sessions of these sizes.
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

/// What a model is opened from.
#[derive(Clone, Copy, Debug)]
pub enum Opening<'a> {
    Fresh(VaeConfig),
    /// A checkpoint's bytes; with settings, a foreign state dict is taken at them (its own
    /// sizes must agree) and a checkpoint's training state is set aside.
    Checkpoint {
        bytes: &'a [u8],
        settings: Option<VaeConfig>,
    },
}

/// A model on one engine. Every request is queued at once and answered in order.
pub trait Engine {
    /// Which engine this is, as a person reads it ("WebGPU (…)", "CPU (…)").
    fn engine_name(&self) -> String;

    /// Whether the model runs on the CPU (the page shows the CPU engine's own panel).
    fn is_cpu(&self) -> bool;

    /// How many workers train and why, where the engine has a choice of them; empty otherwise.
    fn workers_why(&self) -> String {
        String::new()
    }

    /// GPU dispatches a training step takes (0 where there are none).
    fn dispatches_per_step(&self) -> u32 {
        0
    }

    fn config(&self) -> &VaeConfig;

    /// Steps queued so far (done or not).
    fn step(&self) -> u64;

    /// Training steps in an epoch of the bound data (none before [`Engine::bind_data`]).
    fn steps_per_epoch(&self) -> Option<u64>;

    /// The epoch under way (from 1) and the steps of it done, after the queued steps.
    fn epoch_progress(&self) -> Option<(u64, u64)>;

    /// Binds the training and test data: a shard's uncompressed bytes (`mnist-shard`'s format).
    fn bind_data(&mut self, shard: &Arc<Vec<u8>>) -> Binding<'_>;

    /// Makes what the gallery and the views decode with, at `sizes` (after the data is bound).
    fn prepare_decodes(&mut self, sizes: DecodeSizes) -> Binding<'_>;

    /// Queues `n` training steps; the future resolves when they are done.
    fn train(&mut self, n: u32) -> Result<Pending<()>, EngineError>;

    /// Reads the steps' metrics since the last read (taking a snapshot with them, if asked);
    /// the reply goes to [`Engine::finish_metrics`].
    fn begin_metrics(&mut self, snapshot: Snapshot) -> Result<Pending<MetricsReply>, EngineError>;

    /// The report of a read begun by [`Engine::begin_metrics`], once it came back; it confirms
    /// the snapshot taken with it when the run is fine.
    fn finish_metrics(
        &mut self,
        reply: Result<MetricsReply, EngineError>,
    ) -> Result<MetricsReport, EngineError>;

    /// Back to the last state a metrics read confirmed good.
    fn rollback(&mut self);

    /// Batches of the evaluation under way not yet queued.
    fn evaluation_remaining(&self) -> u32;

    /// Queues up to `n` more batches of the test evaluation (beginning one if none is under
    /// way): how many remain, and a future for when these are done.
    fn run_evaluation(&mut self, n: u32) -> Result<(u32, Pending<()>), EngineError>;

    /// The figures of an evaluation whose batches have all been queued.
    fn request_evaluation(&mut self) -> Result<Pending<Evaluation>, EngineError>;

    fn cancel_evaluation(&mut self);

    /// Every test image's posterior means and log-variances as the last complete evaluation
    /// found them.
    fn request_posteriors(&self) -> Result<Pending<Posterior>, EngineError>;

    /// Makes what [`Engine::request_log_likelihood`] needs for `samples` draws per image, up to
    /// `images` images a request (after the data is bound); engines that run requests of any
    /// size on the model's own buffers only check the numbers. The future borrows nothing, so
    /// a page awaits it while the model goes on answering.
    fn prepare_log_likelihood(&mut self, samples: u32, images: usize) -> Pending<()>;

    /// The importance-weighted bound L_K on log p(x) ([`crate::likelihood`]) of each bound test
    /// image in `images`, with `samples` draws each (as prepared), in nats.
    fn request_log_likelihood(
        &self,
        images: Range<usize>,
        samples: u32,
    ) -> Result<Pending<Vec<f32>>, EngineError>;

    /// Decodes latent vectors `z` (`[rows, latent]`) to pixel probabilities.
    fn request_decode(&self, what: Decoding, z: &[f32]) -> Result<Pending<Vec<f32>>, EngineError>;

    /// The posterior mean and log-variance of one image.
    fn request_encode(&self, x: &[f32]) -> Result<Pending<Posterior>, EngineError>;

    /// The gallery's reconstructions (decodes at the posterior means).
    fn request_reconstruction(&self, x: &[f32]) -> Result<Pending<Vec<f32>>, EngineError>;

    /// Decodes along sets of lines (in one submit where the engine can).
    fn request_line_sets(
        &self,
        sets: &[(Lines, &LatentLines)],
    ) -> Result<Vec<Pending<Vec<f32>>>, EngineError>;

    /// A drawing's posterior mean and its reconstruction.
    fn request_encode_and_reconstruct(&self, x: &[f32]) -> Result<PendingPair, EngineError>;

    /// The model's checkpoint after the work queued so far.
    fn begin_save(&self) -> Pending<Vec<u8>>;
}
