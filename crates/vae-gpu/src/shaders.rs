//! The WGSL sources, compiled into the binary so the browser needs no extra fetch, without their
//! comments (`build.rs`: each comment line is left empty, so line numbers are the files'). Each
//! module is labelled with its file name so a validation error points at the file to open.

use std::borrow::Cow;

pub(crate) struct ShaderSource {
    pub label: &'static str,
    /// Borrowed for the files compiled in; owned for templates specialised at run time.
    pub source: Cow<'static, str>,
}

macro_rules! shader {
    ($file:literal) => {
        ShaderSource {
            label: $file,
            source: Cow::Borrowed(include_str!(concat!(env!("OUT_DIR"), "/shaders/", $file))),
        }
    };
}

pub(crate) const DENSE_FORWARD: ShaderSource = shader!("dense_forward.wgsl");
pub(crate) const GATHER_BATCH: ShaderSource = shader!("gather_batch.wgsl");
pub(crate) const DENSE_BACKWARD_INPUT: ShaderSource = shader!("dense_backward_input.wgsl");
pub(crate) const DENSE_BACKWARD_WEIGHT: ShaderSource = shader!("dense_backward_weight.wgsl");
pub(crate) const ADVANCE_STEP: ShaderSource = shader!("advance_step.wgsl");
pub(crate) const BCE_LOSS: ShaderSource = shader!("bce_loss.wgsl");
pub(crate) const METRICS: ShaderSource = shader!("metrics.wgsl");
pub(crate) const ADAM: ShaderSource = shader!("adam.wgsl");
pub(crate) const REPARAMETERIZE_BACKWARD: ShaderSource = shader!("reparameterize_backward.wgsl");
pub(crate) const LATENT_LINES: ShaderSource = shader!("latent_lines.wgsl");
/// Draws its noise with the functions of `noise.wgsl`, prepended.
pub(crate) const REPARAMETERIZE: ShaderSource = ShaderSource {
    label: "reparameterize.wgsl",
    source: Cow::Borrowed(concat!(
        include_str!(concat!(env!("OUT_DIR"), "/shaders/noise.wgsl")),
        include_str!(concat!(env!("OUT_DIR"), "/shaders/reparameterize.wgsl")),
    )),
};

pub(crate) const IWAE_WEIGHTS: ShaderSource = shader!("iwae_weights.wgsl");
pub(crate) const SCALE_ROWS: ShaderSource = shader!("scale_rows.wgsl");
pub(crate) const IWAE_BACKWARD: ShaderSource = shader!("iwae_backward.wgsl");
pub(crate) const IMPORTANCE_WEIGHT: ShaderSource = shader!("importance_weight.wgsl");
pub(crate) const LOG_MEAN_EXP: ShaderSource = shader!("log_mean_exp.wgsl");
/// Draws its noise with the functions of `noise.wgsl`, prepended.
pub(crate) const IMPORTANCE_SAMPLE: ShaderSource = ShaderSource {
    label: "importance_sample.wgsl",
    source: Cow::Borrowed(concat!(
        include_str!(concat!(env!("OUT_DIR"), "/shaders/noise.wgsl")),
        include_str!(concat!(env!("OUT_DIR"), "/shaders/importance_sample.wgsl")),
    )),
};

/// The shared-memory tiled product that replaces a dense kernel's `main` on real GPUs.
pub(crate) const MATMUL_TILED: ShaderSource = shader!("matmul_tiled.wgsl");
