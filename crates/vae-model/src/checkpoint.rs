//! Checkpoints as safetensors bytes: every parameter under the reference PyTorch model's name and
//! shape (`[out, in]` weights), Adam's moments under `optimizer.m.` and `optimizer.v.`, and the
//! configuration and training position as metadata under keys of our own (`vae-lab.…`), beside
//! the `format: pt` that PyTorch's tools write. Loading checks everything before use, ignores
//! metadata that is not ours, and takes F32, F16 and BF16 tensors.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use vae_reference::{AdamConfig, Layout, Sizes, Tensor};

use crate::{BatchCursor, BindingLimits, ImageShape, ModelError, VaeConfig};

/// Our metadata keys start with this, so they never collide with another program's: PyTorch and
/// the Hugging Face tools write `format: pt` into the same map.
pub(crate) const KEY_PREFIX: &str = "vae-lab.";
/// The version of our metadata, under `vae-lab.format`.
const FORMAT_VERSION: &str = "2";
/// What checkpoints written before the prefix carry under `format` (their keys unprefixed).
const LEGACY_FORMAT: &str = "vae-lab/1";
/// The largest checkpoint accepted, checked before a byte of it is parsed: a 784-4096-64 model
/// with its moments is about 80 MB, so anything past this is not one of ours.
pub const MAX_CHECKPOINT_BYTES: u64 = 256 << 20;

fn fail(message: impl Into<String>) -> ModelError {
    ModelError::Checkpoint(message.into())
}

/// Everything a checkpoint file holds, checked against the model's shapes and an adapter's
/// limits, before any of it goes to a GPU.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointContents {
    pub config: VaeConfig,
    /// The parameters in the engine's flat layout.
    pub params: Vec<f32>,
    /// Adam's state and the data position of a full checkpoint; None for a state dict.
    pub training: Option<TrainingState>,
}

/// Where a full checkpoint's training stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingState {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    pub step: u64,
    /// Where in the data the next step's batch comes from.
    pub cursor: BatchCursor,
}

/// A checkpoint's bytes parsed and checked (size, header, our metadata,
/// shapes, dtypes, finite values, the settings against `limits`). A file without our metadata is
/// read as a state dict ([`read_state_dict`]).
pub fn read_checkpoint(
    bytes: &[u8],
    limits: &BindingLimits,
    adjust: impl FnOnce(&mut VaeConfig),
) -> Result<CheckpointContents, ModelError> {
    check_size(bytes.len() as u64)?;
    let (file, meta) = parse_file(bytes)?;
    let Some(prefix) = full_checkpoint_prefix(&meta) else {
        let mut config = VaeConfig {
            sizes: sizes_from_shapes(&file)?,
            ..VaeConfig::default()
        };
        adjust(&mut config);
        return state_dict_contents(&file, limits, Some(config));
    };
    let get = |key: &str| {
        let key = format!("{prefix}{key}");
        meta.get(&key)
            .ok_or_else(|| fail(format!("metadata has no \"{key}\"")))
    };
    if !prefix.is_empty() && get("format")? != FORMAT_VERSION {
        return Err(fail(format!(
            "{KEY_PREFIX}format is \"{}\": written by another version of this lab; this build \
             reads {FORMAT_VERSION} and {LEGACY_FORMAT}",
            get("format")?
        )));
    }
    fn parse<T: std::str::FromStr>(key: &str, text: &str) -> Result<T, ModelError> {
        text.parse().map_err(|_| {
            fail(format!(
                "metadata \"{key}\" = \"{text}\" is not a valid number"
            ))
        })
    }
    let number = |key: &str| get(key).and_then(|text| parse::<f64>(key, text));
    let mut config = VaeConfig {
        sizes: Sizes {
            input: parse("input", get("input")?)?,
            hidden: parse("hidden", get("hidden")?)?,
            latent: parse("latent", get("latent")?)?,
        },
        batch: parse("batch", get("batch")?)?,
        adam: AdamConfig {
            lr: number("lr")?,
            beta1: number("beta1")?,
            beta2: number("beta2")?,
            eps: number("eps")?,
        },
        seed: parse("seed", get("seed")?)?,
        // Files written before β existed trained the ELBO itself.
        kl_weight: match meta.get(&format!("{prefix}kl_weight")) {
            Some(text) => parse("kl_weight", text)?,
            None => 1.0,
        },
        // Nor before IWAE: they trained with one draw per image.
        importance_samples: match meta.get(&format!("{prefix}importance_samples")) {
            Some(text) => parse("importance_samples", text)?,
            None => 1,
        },
        // Nor before images' shapes were recorded: such a model takes any data of its size.
        image: match meta.get(&format!("{prefix}image")) {
            Some(text) => Some(ImageShape::from_metadata(text).ok_or_else(|| {
                fail(format!(
                    "metadata \"{prefix}image\" = \"{text}\" is not WIDTHxHEIGHTxCHANNELS"
                ))
            })?),
            None => None,
        },
    };
    adjust(&mut config);
    let step: u64 = parse("step", get("step")?)?;
    let epoch: u64 = parse("epoch", get("epoch")?)?;
    let position: u32 = parse("position", get("position")?)?;
    config.validate(limits)?;
    if step > u64::from(u32::MAX / 2) {
        return Err(fail(format!("step {step} is out of range")));
    }

    let params = flat_tensors(&file, "", config.sizes)?;
    let m = flat_tensors(&file, "optimizer.m.", config.sizes)?;
    let v = flat_tensors(&file, "optimizer.v.", config.sizes)?;
    if let Some(bad) = v.iter().find(|&&v| v < 0.0) {
        return Err(fail(format!("a second moment is negative ({bad})")));
    }
    Ok(CheckpointContents {
        config,
        params,
        training: Some(TrainingState {
            m,
            v,
            step,
            cursor: BatchCursor { epoch, position },
        }),
    })
}

/// A plain state dict's contents: `settings`, whose
/// sizes must be the file's, or the defaults at the file's sizes.
pub fn read_state_dict(
    bytes: &[u8],
    limits: &BindingLimits,
    settings: Option<VaeConfig>,
) -> Result<CheckpointContents, ModelError> {
    check_size(bytes.len() as u64)?;
    let (file, _) = parse_file(bytes)?;
    state_dict_contents(&file, limits, settings)
}

fn state_dict_contents(
    file: &SafeTensors<'_>,
    limits: &BindingLimits,
    settings: Option<VaeConfig>,
) -> Result<CheckpointContents, ModelError> {
    let sizes = sizes_from_shapes(file)?;
    let config = match settings {
        Some(config) if config.sizes != sizes => {
            return Err(fail(format!(
                "the file holds a {} → {} → {} model, the settings ask for {} → {} → {}",
                sizes.input,
                sizes.hidden,
                sizes.latent,
                config.sizes.input,
                config.sizes.hidden,
                config.sizes.latent
            )))
        }
        Some(config) => config,
        None => VaeConfig {
            sizes,
            ..VaeConfig::default()
        },
    };
    config.validate(limits)?;
    Ok(CheckpointContents {
        config,
        params: flat_tensors(file, "", sizes)?,
        training: None,
    })
}

/// Where training stands, as a checkpoint records it beside the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingPosition {
    pub step: u64,
    pub cursor: BatchCursor,
}

/// The safetensors bytes of a full checkpoint: parameters, Adam's `m` and `v` (each flat, as
/// `layout`), the configuration and the training position. No device needed: the GPU engine and
/// the CPU engine write the same files.
pub fn write_checkpoint(
    config: &VaeConfig,
    layout: &Layout,
    [params, m, v]: [&[f32]; 3],
    at: TrainingPosition,
) -> Result<Vec<u8>, ModelError> {
    if let Some(bad) = params.iter().find(|p| !p.is_finite()) {
        return Err(fail(format!(
            "not saved: the model holds {bad} (training diverged)"
        )));
    }
    for values in [params, m, v] {
        if values.len() != layout.len() {
            return Err(fail(format!(
                "{} values given for a layout of {}",
                values.len(),
                layout.len()
            )));
        }
    }
    // The views borrow the values read back: no copy of the model besides the file itself
    // (a page autosaves once per epoch, and WebAssembly memory never shrinks).
    let mut views: Vec<(String, TensorView)> = Vec::new();
    for (prefix, values) in [("", params), ("optimizer.m.", m), ("optimizer.v.", v)] {
        for tensor in Tensor::ALL {
            let bytes: &[u8] = bytemuck::cast_slice(&values[layout.range(tensor)]);
            let view = TensorView::new(Dtype::F32, tensor.shape(config.sizes), bytes)
                .map_err(|error| fail(error.to_string()))?;
            views.push((format!("{prefix}{}", tensor.name()), view));
        }
    }
    let ours = [
        ("format", FORMAT_VERSION.to_string()),
        ("input", config.sizes.input.to_string()),
        ("hidden", config.sizes.hidden.to_string()),
        ("latent", config.sizes.latent.to_string()),
        ("batch", config.batch.to_string()),
        ("lr", config.adam.lr.to_string()),
        ("beta1", config.adam.beta1.to_string()),
        ("beta2", config.adam.beta2.to_string()),
        ("eps", config.adam.eps.to_string()),
        ("seed", config.seed.to_string()),
        ("kl_weight", config.kl_weight.to_string()),
        ("importance_samples", config.importance_samples.to_string()),
        (
            "image",
            config.image.map(|s| s.to_metadata()).unwrap_or_default(),
        ),
        ("step", at.step.to_string()),
        ("epoch", at.cursor.epoch.to_string()),
        ("position", at.cursor.position.to_string()),
    ];
    // The tensors are a PyTorch state dict (plus the optimizer's), so the conventional key
    // says so too; ours sit beside it under their prefix.
    let metadata: HashMap<String, String> = ours
        .into_iter()
        // A model without a recorded image shape writes no `image` key.
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (format!("{KEY_PREFIX}{key}"), value))
        .chain(std::iter::once(("format".to_string(), "pt".to_string())))
        .collect();
    safetensors::serialize(views, Some(metadata)).map_err(|error| fail(error.to_string()))
}

/// Refuses a file too large to be a checkpoint, before it is parsed (callers that can, such as
/// a page holding a `File`, check the same limit before reading it at all).
pub fn check_size(bytes: u64) -> Result<(), ModelError> {
    if bytes > MAX_CHECKPOINT_BYTES {
        return Err(fail(format!(
            "the file is {:.1} MB; a checkpoint of this lab is at most {} MB",
            bytes as f64 / 1e6,
            MAX_CHECKPOINT_BYTES >> 20
        )));
    }
    Ok(())
}

/// A safetensors file's tensors and metadata (an empty map when it has none), or why these bytes
/// are not one.
pub(crate) fn parse_file(
    bytes: &[u8],
) -> Result<(SafeTensors<'_>, HashMap<String, String>), ModelError> {
    let not_one =
        |error: safetensors::SafeTensorError| fail(format!("not a safetensors file ({error})"));
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(not_one)?;
    let file = SafeTensors::deserialize(bytes).map_err(not_one)?;
    Ok((file, header.metadata().clone().unwrap_or_default()))
}

/// The prefix of our keys when the metadata is a full checkpoint's (`vae-lab.` now, none in
/// the earlier layout), or None for a state dict: a full checkpoint says its layout's version,
/// while a state dict may carry our other keys (a compact export's description).
pub(crate) fn full_checkpoint_prefix(meta: &HashMap<String, String>) -> Option<&'static str> {
    if meta.contains_key(&format!("{KEY_PREFIX}format")) {
        Some(KEY_PREFIX)
    } else if meta.get("format").map(String::as_str) == Some(LEGACY_FORMAT) {
        Some("")
    } else {
        None
    }
}

/// The model's sizes, read from a state dict's first-layer and mean-head shapes.
pub(crate) fn sizes_from_shapes(file: &SafeTensors<'_>) -> Result<Sizes, ModelError> {
    let shape_of = |name: &str| -> Result<Vec<usize>, ModelError> {
        let view = file.tensor(name).map_err(|_| {
            fail(format!(
                "tensor \"{name}\" is missing: not a VAE state dict"
            ))
        })?;
        if view.shape().len() != 2 {
            return Err(fail(format!("tensor \"{name}\" is not a matrix")));
        }
        Ok(view.shape().to_vec())
    };
    let enc1 = shape_of(Tensor::Enc1Weight.name())?;
    let mean = shape_of(Tensor::MeanWeight.name())?;
    Ok(Sizes {
        input: enc1[1],
        hidden: enc1[0],
        latent: mean[0],
    })
}

/// A tensor's values as f32: F32 as they are, F16 and BF16 (what compact checkpoints use)
/// widened exactly; other dtypes are refused by name.
fn f32_values(name: &str, view: &TensorView<'_>) -> Result<Vec<f32>, ModelError> {
    let pairs = || view.data().chunks_exact(2).map(|b| [b[0], b[1]]);
    match view.dtype() {
        Dtype::F32 => Ok(bytemuck::pod_collect_to_vec(view.data())),
        Dtype::F16 => Ok(pairs()
            .map(|b| half::f16::from_le_bytes(b).to_f32())
            .collect()),
        Dtype::BF16 => Ok(pairs()
            .map(|b| half::bf16::from_le_bytes(b).to_f32())
            .collect()),
        other => Err(fail(format!(
            "tensor \"{name}\" is {other:?}: this build reads F32, F16 and BF16"
        ))),
    }
}

/// The tensors named `prefix` + each tensor's name, checked (the model's shapes, a float dtype,
/// finite) and laid out as the GPU's flat buffer. Every shape is checked before the buffer is
/// allocated, so sizes claimed by metadata alone never cost memory.
fn flat_tensors(
    file: &SafeTensors<'_>,
    prefix: &str,
    sizes: Sizes,
) -> Result<Vec<f32>, ModelError> {
    let views = Tensor::ALL
        .iter()
        .map(|&tensor| {
            let name = format!("{prefix}{}", tensor.name());
            let view = file
                .tensor(&name)
                .map_err(|_| fail(format!("tensor \"{name}\" is missing")))?;
            let shape = tensor.shape(sizes);
            if view.shape() != shape.as_slice() {
                return Err(fail(format!(
                    "tensor \"{name}\" has shape {:?}, the model needs {shape:?}",
                    view.shape()
                )));
            }
            Ok((tensor, name, view))
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let layout = Layout::aligned(sizes, crate::ALIGN);
    let mut out = vec![0.0f32; layout.len()];
    for (tensor, name, view) in views {
        let values = f32_values(&name, &view)?;
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(fail(format!("tensor \"{name}\" holds {bad}")));
        }
        out[layout.range(tensor)].copy_from_slice(&values);
    }
    Ok(out)
}
