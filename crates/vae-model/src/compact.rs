//! Compact weights and a look inside a checkpoint without a GPU: what a page ships as its
//! pretrained model (a plain state dict in F16 or BF16, with a description of how it was made),
//! and what it says about a file before it replaces the model in use.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use vae_reference::{Layout, Sizes, Tensor};

use crate::checkpoint::{
    check_size, full_checkpoint_prefix, parse_file, sizes_from_shapes, KEY_PREFIX,
};
use crate::ModelError;

/// How a compact file stores its numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightDtype {
    F32,
    /// 10 mantissa bits: weights of this model round by at most 2⁻¹¹ relative.
    F16,
    /// 7 mantissa bits, f32's range.
    BF16,
}

impl WeightDtype {
    fn encode(self, values: &[f32]) -> (Dtype, Vec<u8>) {
        match self {
            Self::F32 => (Dtype::F32, bytemuck::cast_slice(values).to_vec()),
            Self::F16 => (
                Dtype::F16,
                values
                    .iter()
                    .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                    .collect(),
            ),
            Self::BF16 => (
                Dtype::BF16,
                values
                    .iter()
                    .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                    .collect(),
            ),
        }
    }

    /// The same values as they read back from this dtype (what a loaded compact file holds).
    pub fn round(self, values: &[f32]) -> Vec<f32> {
        match self {
            Self::F32 => values.to_vec(),
            Self::F16 => values
                .iter()
                .map(|&v| half::f16::from_f32(v).to_f32())
                .collect(),
            Self::BF16 => values
                .iter()
                .map(|&v| half::bf16::from_f32(v).to_f32())
                .collect(),
        }
    }
}

/// A model's test figures as measured when its file was written, recorded in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TestScores {
    /// The test −ELBO (`vae-lab.test_neg_elbo`).
    pub neg_elbo: Option<f64>,
    /// The importance-weighted bound −L_K and its K (`vae-lab.test_neg_log_likelihood`,
    /// `vae-lab.test_likelihood_samples`).
    pub neg_log_likelihood: Option<(f64, u32)>,
}

/// What a checkpoint file says about itself, read from its header and shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointSummary {
    pub sizes: Sizes,
    /// The images the model is for, where the file records them (a full checkpoint made since
    /// shapes were recorded).
    pub image: Option<crate::ImageShape>,
    /// The step a full checkpoint stopped at; None for a plain state dict (it trains from 0).
    pub step: Option<u64>,
    /// How the file was made, when it says (`vae-lab.description`).
    pub description: Option<String>,
    /// Its test figures as measured when it was written.
    pub scores: TestScores,
}

/// Reads a file's header and shapes (not its numbers): what kind of model it holds. Errors are
/// the ones loading it would give for the same header.
pub fn inspect_checkpoint(bytes: &[u8]) -> Result<CheckpointSummary, ModelError> {
    check_size(bytes.len() as u64)?;
    let (file, meta) = parse_file(bytes)?;
    let ours = |key: &str| meta.get(&format!("{KEY_PREFIX}{key}")).cloned();
    let full = |key: &str| {
        full_checkpoint_prefix(&meta).and_then(|prefix| meta.get(&format!("{prefix}{key}")))
    };
    let step = full("step").and_then(|step| step.parse().ok());
    Ok(CheckpointSummary {
        sizes: sizes_from_shapes(&file)?,
        image: full("image").and_then(|text| crate::ImageShape::from_metadata(text)),
        step,
        description: ours("description"),
        scores: TestScores {
            neg_elbo: ours("test_neg_elbo").and_then(|s| s.parse().ok()),
            neg_log_likelihood: ours("test_neg_log_likelihood")
                .and_then(|s| s.parse().ok())
                .zip(ours("test_likelihood_samples").and_then(|s| s.parse().ok())),
        },
    })
}

fn fail(message: impl Into<String>) -> ModelError {
    ModelError::Checkpoint(message.into())
}

/// The parameters (flat, as `layout`) alone as a plain PyTorch state dict (`format: pt`), in
/// `dtype`, with a description and its test figures under our keys: a file any safetensors
/// reader takes, that loads as a state dict (default settings, step 0, fresh Adam moments).
pub fn write_weights(
    sizes: Sizes,
    layout: &Layout,
    params: &[f32],
    dtype: WeightDtype,
    description: &str,
    scores: TestScores,
) -> Result<Vec<u8>, ModelError> {
    if params.len() != layout.len() {
        return Err(fail(format!(
            "{} values given for a layout of {}",
            params.len(),
            layout.len()
        )));
    }
    let tensors: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Tensor::ALL
        .iter()
        .map(|&tensor| {
            let (dtype, bytes) = dtype.encode(&params[layout.range(tensor)]);
            (tensor.name().to_string(), tensor.shape(sizes), dtype, bytes)
        })
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(name, shape, dtype, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|error| fail(error.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let mut metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (format!("{KEY_PREFIX}description"), description.to_string()),
    ]);
    if let Some(value) = scores.neg_elbo {
        metadata.insert(format!("{KEY_PREFIX}test_neg_elbo"), format!("{value:.4}"));
    }
    if let Some((value, samples)) = scores.neg_log_likelihood {
        metadata.insert(
            format!("{KEY_PREFIX}test_neg_log_likelihood"),
            format!("{value:.4}"),
        );
        metadata.insert(
            format!("{KEY_PREFIX}test_likelihood_samples"),
            samples.to_string(),
        );
    }
    safetensors::serialize(views, Some(metadata)).map_err(|error| fail(error.to_string()))
}
