//! What a model is made of, checked before any GPU memory is touched.

use vae_reference::{AdamConfig, Sizes};

use crate::{ImageShape, ModelError};

/// What a device allows that the model's buffers must fit, as plain numbers (the GPU engine
/// fills them from its adapter's limits; the CPU has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingLimits {
    /// The largest buffer one storage binding may see, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Storage buffers one shader stage may bind.
    pub max_storage_buffers_per_shader_stage: u32,
}

impl BindingLimits {
    /// No device limit: only the settings' own checks apply (the CPU engine).
    pub const NONE: Self = Self {
        max_storage_buffer_binding_size: u64::MAX,
        max_storage_buffers_per_shader_stage: u32::MAX,
    };
}

/// A model and how it trains. Sizes are defaults, not constants.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VaeConfig {
    pub sizes: Sizes,
    /// Images per training step.
    pub batch: u32,
    pub adam: AdamConfig,
    /// Seeds the initial parameters, the epoch shuffles and the reparameterisation noise.
    pub seed: u64,
    /// β: the weight of the KL term in the objective trained on (1: the ELBO itself). The
    /// metrics always report the ELBO's two terms, whatever β.
    pub kl_weight: f64,
    /// K: the draws of z per image a training step takes. 1 trains the ELBO (the VAE); K > 1
    /// the importance-weighted bound L_K (IWAE, Burda et al. 2015), whose decoder runs over
    /// B·K rows. The metrics report the ELBO's terms, averaged over the K draws, whatever K.
    #[serde(default = "one_sample")]
    pub importance_samples: u32,
    /// The images the model is for, where known (every model built for data; None for files
    /// written before shapes were recorded, and state dicts): with it the model takes only
    /// data of this shape, without it any data of `sizes.input` values.
    #[serde(default)]
    pub image: Option<ImageShape>,
}

fn one_sample() -> u32 {
    1
}

impl Default for VaeConfig {
    /// The classic model and settings: 784-500-20, batch 128, Adam at 1e-3.
    fn default() -> Self {
        Self {
            sizes: Sizes::MNIST,
            batch: 128,
            adam: AdamConfig::default(),
            seed: 0,
            kl_weight: 1.0,
            importance_samples: 1,
            image: None,
        }
    }
}

/// The largest sizes we accept: far past any sensible VAE for 28×28 digits, well inside u32 math.
const MAX_WIDTH: usize = 1 << 16;
const MAX_BATCH: u32 = 1 << 14;
/// β past this buries the reconstruction under the KL term: every latent collapses.
pub const MAX_KL_WEIGHT: f64 = 100.0;
/// IWAE's K: Burda et al. train with up to 50; past a few hundred a step is all decoder and the
/// weights' spread makes the gradient no better.
pub const MAX_TRAINING_SAMPLES: u32 = 1000;
/// The decoder rows of one step (batch · K): its activations stay a few hundred MB at most.
const MAX_DECODER_ROWS: u64 = 1 << 16;

impl VaeConfig {
    /// Refuses data whose images are not the model's input size (pixels × channels).
    pub fn check_values(&self, values_per_image: usize) -> Result<(), ModelError> {
        if values_per_image != self.sizes.input {
            return Err(ModelError::InvalidInput(format!(
                "the data has {values_per_image} values per image (pixels × channels), the \
                 model takes {}",
                self.sizes.input
            )));
        }
        Ok(())
    }

    /// Rejects absurd or unusable settings with a message naming the value and the limit.
    pub fn validate(&self, limits: &BindingLimits) -> Result<(), ModelError> {
        self.validate_settings()?;
        self.validate_for_adapter(limits)
    }

    /// The checks that hold on any device (sizes, batch, Adam, β): what the CPU engine needs.
    pub fn validate_settings(&self) -> Result<(), ModelError> {
        let bad = |message: String| Err(ModelError::InvalidInput(message));
        let Sizes {
            input,
            hidden,
            latent,
        } = self.sizes;
        for (name, value) in [
            ("input size", input),
            ("hidden width", hidden),
            ("latent size", latent),
        ] {
            if value == 0 || value > MAX_WIDTH {
                return bad(format!("{name} {value} must be between 1 and {MAX_WIDTH}"));
            }
        }
        if let Some(shape) = self.image.filter(|shape| shape.values() != input) {
            return bad(format!(
                "images of {} have {} values, but the input size is {input}",
                shape.describe(),
                shape.values()
            ));
        }
        if self.batch == 0 || self.batch > MAX_BATCH {
            return bad(format!(
                "batch size {} must be between 1 and {MAX_BATCH}",
                self.batch
            ));
        }
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
        } = self.adam;
        if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
            return bad(format!("learning rate {lr} must be a number in (0, 1]"));
        }
        for (name, beta) in [("beta1", beta1), ("beta2", beta2)] {
            if !(beta.is_finite() && (0.0..1.0).contains(&beta)) {
                return bad(format!("Adam's {name} {beta} must be in [0, 1)"));
            }
        }
        if !(self.kl_weight.is_finite() && (0.0..=MAX_KL_WEIGHT).contains(&self.kl_weight)) {
            return bad(format!(
                "KL weight β {} must be a number in [0, {MAX_KL_WEIGHT}]",
                self.kl_weight
            ));
        }
        let samples = self.importance_samples;
        if samples == 0 || samples > MAX_TRAINING_SAMPLES {
            return bad(format!(
                "importance samples K = {samples} must be between 1 and {MAX_TRAINING_SAMPLES}"
            ));
        }
        if samples > 1 && self.kl_weight != 1.0 {
            return bad(format!(
                "KL weight β {} with importance samples K = {samples}: the IWAE objective has no \
                 β; use β = 1 or K = 1",
                self.kl_weight
            ));
        }
        if self.decoder_rows() > MAX_DECODER_ROWS {
            return bad(format!(
                "batch {} × importance samples {samples} = {} decoder rows a step, over \
                 {MAX_DECODER_ROWS}: use a smaller batch or K",
                self.batch,
                self.decoder_rows()
            ));
        }
        if !(eps.is_finite() && eps > 0.0) {
            return bad(format!("Adam's epsilon {eps} must be a positive number"));
        }
        Ok(())
    }

    /// Rows the decoder runs over in a training step: each image's K draws.
    pub fn decoder_rows(&self) -> u64 {
        u64::from(self.batch) * u64::from(self.importance_samples)
    }

    /// A training step's floating-point operations as a dense model counts them (525 MFLOP for
    /// 784-500-20 at batch 128, K = 1): per image the encoder's (its forward pass and weight
    /// gradients, and the heads' input gradient), and per draw the decoder's (forward, weight
    /// and input gradients).
    pub fn step_flop(&self) -> f64 {
        let Sizes {
            input,
            hidden,
            latent,
        } = self.sizes;
        let (input, hidden, latent) = (input as f64, hidden as f64, latent as f64);
        let encoder = 2.0 * (2.0 * input * hidden + 3.0 * hidden * 2.0 * latent);
        let decoder = 2.0 * 3.0 * (latent * hidden + hidden * input);
        f64::from(self.batch) * (encoder + f64::from(self.importance_samples) * decoder)
    }

    /// Whether training takes the IWAE objective (K > 1) rather than the ELBO.
    pub fn is_iwae(&self) -> bool {
        self.importance_samples > 1
    }

    /// This model for images of `shape`: its input size and its recorded shape.
    pub fn for_images(self, shape: ImageShape) -> Self {
        let mut config = self;
        config.sizes.input = shape.values();
        config.image = Some(shape);
        config
    }

    /// Whether this model takes images of `shape`: its recorded shape, or for a model without
    /// one, their number of values.
    pub fn takes(&self, shape: ImageShape) -> bool {
        match self.image {
            Some(own) => own == shape,
            None => self.sizes.input == shape.values(),
        }
    }

    /// Refuses data of another shape than the model's (or of another number of values, for a
    /// model without a recorded shape).
    pub fn check_shape(&self, shape: ImageShape) -> Result<(), ModelError> {
        match self.image {
            Some(own) if own != shape => Err(ModelError::InvalidInput(format!(
                "the model is for images of {}, and the data's are {}",
                own.describe(),
                shape.describe()
            ))),
            _ => self.check_values(shape.values()),
        }
    }

    /// Whether `split` can train this model: its images' shape, and at least one batch of them.
    pub fn check_training_data(&self, split: &mnist_shard::Split<'_>) -> Result<(), ModelError> {
        self.check_shape(ImageShape::of(split))?;
        if (split.len() as u64) < u64::from(self.batch) {
            return Err(ModelError::InvalidInput(format!(
                "{} training images are fewer than one batch of {}",
                split.len(),
                self.batch
            )));
        }
        Ok(())
    }

    /// Whether every buffer of this model fits one of this adapter's bindings.
    fn validate_for_adapter(&self, limits: &BindingLimits) -> Result<(), ModelError> {
        let bad = |message: String| Err(ModelError::InvalidInput(message));
        // Every buffer must fit one storage binding of this adapter.
        let widest = self
            .sizes
            .input
            .max(self.sizes.hidden)
            .max(2 * self.sizes.latent);
        let largest_activation = self.decoder_rows() * widest as u64 * 4;
        let parameters = vae_reference::Layout::aligned(self.sizes, crate::ALIGN).len() as u64 * 4;
        let limit = limits.max_storage_buffer_binding_size;
        for (what, bytes) in [
            ("the largest activation", largest_activation),
            ("the parameters", parameters),
        ] {
            if bytes > limit {
                return bad(format!(
                    "{what} need {bytes} bytes, over this adapter's max_storage_buffer_binding_size \
                     of {limit}: use a smaller model or batch"
                ));
            }
        }
        // The kernels bind at most 5 storage buffers; WebGPU guarantees 8.
        if limits.max_storage_buffers_per_shader_stage < 5 {
            return bad(format!(
                "this adapter allows {} storage buffers per shader stage; the kernels need 5",
                limits.max_storage_buffers_per_shader_stage
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod flop_tests {
    use super::*;

    #[test]
    fn a_step_counts_its_dense_layers_flop() {
        let classic = VaeConfig::default();
        assert!((classic.step_flop() / 1e6 - 524.8).abs() < 0.1);
        // 3,072 inputs: the two wide layers grow fourfold less the heads' share.
        let wide = VaeConfig {
            sizes: Sizes {
                input: 3072,
                ..classic.sizes
            },
            ..classic
        };
        assert!((wide.step_flop() / classic.step_flop() - 3.79).abs() < 0.01);
        let iwae = VaeConfig {
            importance_samples: 5,
            ..classic
        };
        assert!((iwae.step_flop() / classic.step_flop() - 3.35).abs() < 0.01);
    }
}
