//! The VAE as both engines share it, with no GPU and no browser: what a model is
//! ([`VaeConfig`], checked before any memory is touched), what training reports
//! ([`StepMetrics`], [`MetricsReport`], [`Evaluation`]), the rules both engines follow (the
//! epoch order and where the next batch comes from, [`BatchCursor`]; when a run has diverged
//! and which snapshot a rollback returns to, [`RollbackPoints`]), and the checkpoint format
//! (safetensors read and written, PyTorch's state dicts, compact weights). The GPU engine
//! (`vae-gpu`) and the CPU engine (`vae-cpu`) each build on this crate and not on each other,
//! so a file, a figure or a rule means the same on both; both implement its [`Engine`], the
//! interface every caller talks to.

mod checkpoint;
mod compact;
mod config;
pub mod conformance;
pub mod engine;
mod error;
pub mod likelihood;
mod metrics;
mod order;
mod shape;

pub use checkpoint::{
    check_size as check_checkpoint_size, read_checkpoint, read_state_dict, write_checkpoint,
    CheckpointContents, TrainingPosition, TrainingState, MAX_CHECKPOINT_BYTES,
};
pub use compact::{inspect_checkpoint, write_weights, CheckpointSummary, TestScores, WeightDtype};
pub use config::{BindingLimits, VaeConfig, MAX_KL_WEIGHT, MAX_TRAINING_SAMPLES};
pub use engine::{Engine, EngineError, Pending};
pub use error::ModelError;
pub use likelihood::{LikelihoodEstimate, LikelihoodRun};
pub use metrics::{
    evaluation_batching, first_divergence, Evaluation, Judged, MetricsReport, RollbackPoints,
    Snapshot, StepMetrics, BLOW_UP_FACTOR, EVALUATION_STEP_BASE, METRICS_RING,
};
pub use order::{epoch_order, BatchCursor};
pub use shape::ImageShape;

/// The engines' flat layout of the parameters aligns each tensor to this many floats (256 bytes,
/// the GPU's storage-binding offset alignment); checkpoints are read into it.
pub const ALIGN: usize = 64;
