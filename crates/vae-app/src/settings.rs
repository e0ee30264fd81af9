//! The hyperparameter form: text as typed, checked field by field with messages a person can
//! act on, then against the adapter's limits by the engine.

use leptos::prelude::*;
use vae_gpu::wgpu;
use vae_model::{VaeConfig, MAX_KL_WEIGHT, MAX_TRAINING_SAMPLES};
use vae_reference::{AdamConfig, Sizes};

/// One slider per latent dimension: more would not fit a page.
pub const MAX_LATENT: usize = 64;
pub const MAX_HIDDEN: usize = 4096;
pub const MAX_BATCH: u32 = 4096;

/// The form's fields, as typed.
#[derive(Clone, Copy)]
pub struct SettingsForm {
    pub learning_rate: RwSignal<String>,
    pub batch: RwSignal<String>,
    pub latent: RwSignal<String>,
    pub hidden: RwSignal<String>,
    pub seed: RwSignal<String>,
    /// β, the KL term's weight.
    pub kl_weight: RwSignal<String>,
    /// K, the draws per image a step takes (1: the VAE; more: IWAE).
    pub importance_samples: RwSignal<String>,
}

/// A message per field that is wrong, and one for the whole (adapter limits).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FormErrors {
    pub learning_rate: Option<String>,
    pub batch: Option<String>,
    pub latent: Option<String>,
    pub hidden: Option<String>,
    pub seed: Option<String>,
    pub kl_weight: Option<String>,
    pub importance_samples: Option<String>,
    pub general: Option<String>,
}

impl SettingsForm {
    pub fn new(config: &VaeConfig) -> Self {
        Self {
            learning_rate: RwSignal::new(config.adam.lr.to_string()),
            batch: RwSignal::new(config.batch.to_string()),
            latent: RwSignal::new(config.sizes.latent.to_string()),
            hidden: RwSignal::new(config.sizes.hidden.to_string()),
            seed: RwSignal::new(config.seed.to_string()),
            kl_weight: RwSignal::new(config.kl_weight.to_string()),
            importance_samples: RwSignal::new(config.importance_samples.to_string()),
        }
    }

    /// Shows `config` in the fields (the model in use changed).
    pub fn show(&self, config: &VaeConfig) {
        self.learning_rate.set(config.adam.lr.to_string());
        self.batch.set(config.batch.to_string());
        self.latent.set(config.sizes.latent.to_string());
        self.hidden.set(config.sizes.hidden.to_string());
        self.seed.set(config.seed.to_string());
        self.kl_weight.set(config.kl_weight.to_string());
        self.importance_samples
            .set(config.importance_samples.to_string());
    }

    /// The fields as typed, at this moment.
    pub fn text(&self) -> SettingsText {
        SettingsText {
            learning_rate: self.learning_rate.get_untracked(),
            batch: self.batch.get_untracked(),
            latent: self.latent.get_untracked(),
            hidden: self.hidden.get_untracked(),
            seed: self.seed.get_untracked(),
            kl_weight: self.kl_weight.get_untracked(),
            importance_samples: self.importance_samples.get_untracked(),
        }
    }

    /// The configuration the form describes, or what is wrong with it.
    pub fn parse(
        &self,
        limits: &wgpu::Limits,
        data: TrainingData,
    ) -> Result<VaeConfig, Box<FormErrors>> {
        self.text().parse(limits, data)
    }
}

/// The form's fields as text, whatever was typed or pasted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingsText {
    pub learning_rate: String,
    pub batch: String,
    pub latent: String,
    pub hidden: String,
    pub seed: String,
    pub kl_weight: String,
    pub importance_samples: String,
}

/// What the settings are for: the training data's count and its images' shape (whose values
/// are the model's input size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingData {
    pub images: usize,
    pub shape: vae_model::ImageShape,
}

impl TrainingData {
    /// The bundled MNIST's.
    pub const MNIST: TrainingData = TrainingData {
        images: 60_000,
        shape: vae_model::ImageShape::MNIST,
    };
}

impl SettingsText {
    /// The configuration these fields describe for `data`, or a message per wrong field (and
    /// one for what only the adapter's limits refuse).
    pub fn parse(
        &self,
        limits: &wgpu::Limits,
        data: TrainingData,
    ) -> Result<VaeConfig, Box<FormErrors>> {
        let mut errors = FormErrors::default();
        let learning_rate = match self.learning_rate.trim().parse::<f64>() {
            Ok(lr) if lr.is_finite() && lr > 0.0 && lr <= 1.0 => Some(lr),
            Ok(_) => {
                errors.learning_rate =
                    Some("Must be above 0 and at most 1; 0.001 is the classic value.".into());
                None
            }
            Err(_) => {
                errors.learning_rate = Some("Enter a number, such as 0.001.".into());
                None
            }
        };
        let max_batch = MAX_BATCH.min(u32::try_from(data.images).unwrap_or(u32::MAX));
        let batch = whole(
            &self.batch,
            1,
            max_batch as u64,
            &mut errors.batch,
            "images per step",
        );
        let latent = whole(
            &self.latent,
            1,
            MAX_LATENT as u64,
            &mut errors.latent,
            "dimensions (one slider each)",
        );
        let hidden = whole(
            &self.hidden,
            1,
            MAX_HIDDEN as u64,
            &mut errors.hidden,
            "units",
        );
        let seed = match self.seed.trim().parse::<u64>() {
            Ok(seed) => Some(seed),
            Err(_) => {
                errors.seed = Some("Enter a whole number from 0 up, such as 0.".into());
                None
            }
        };
        let kl_weight = match self.kl_weight.trim().parse::<f64>() {
            Ok(beta) if beta.is_finite() && (0.0..=MAX_KL_WEIGHT).contains(&beta) => Some(beta),
            Ok(_) => {
                errors.kl_weight = Some(format!(
                    "Must be between 0 and {MAX_KL_WEIGHT}; 1 is the ELBO itself."
                ));
                None
            }
            Err(_) => {
                errors.kl_weight = Some("Enter a number, such as 1.".into());
                None
            }
        };
        let samples = whole(
            &self.importance_samples,
            1,
            u64::from(MAX_TRAINING_SAMPLES),
            &mut errors.importance_samples,
            "draws per image (1: the VAE)",
        );
        if let (Some(k), Some(beta)) = (samples, kl_weight) {
            if k > 1 && beta != 1.0 {
                errors.importance_samples =
                    Some("IWAE's objective has no β: set β to 1, or K to 1.".into());
            }
        }
        let (
            Some(lr),
            Some(batch),
            Some(latent),
            Some(hidden),
            Some(seed),
            Some(kl_weight),
            Some(samples),
            None,
        ) = (
            learning_rate,
            batch,
            latent,
            hidden,
            seed,
            kl_weight,
            samples,
            &errors.importance_samples,
        )
        else {
            return Err(Box::new(errors));
        };
        let config = VaeConfig {
            sizes: Sizes {
                input: data.shape.values(),
                hidden: hidden as usize,
                latent: latent as usize,
            },
            batch: batch as u32,
            adam: AdamConfig {
                lr,
                ..AdamConfig::default()
            },
            seed,
            kl_weight,
            importance_samples: samples as u32,
            image: Some(data.shape),
        };
        // What only the adapter can say (its buffer limits).
        config
            .validate(&vae_gpu::binding_limits(limits))
            .map_err(|error| {
                Box::new(FormErrors {
                    general: Some(error.to_string()),
                    ..FormErrors::default()
                })
            })?;
        Ok(config)
    }
}

fn whole(text: &str, low: u64, high: u64, error: &mut Option<String>, unit: &str) -> Option<u64> {
    match text.trim().parse::<u64>() {
        Ok(value) if (low..=high).contains(&value) => Some(value),
        Ok(_) => {
            *error = Some(format!("Must be between {low} and {high} {unit}."));
            None
        }
        Err(_) => {
            *error = Some(format!("Enter a whole number between {low} and {high}."));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(importance_samples: &str, kl_weight: &str) -> SettingsText {
        SettingsText {
            learning_rate: "0.001".into(),
            batch: "128".into(),
            latent: "20".into(),
            hidden: "500".into(),
            seed: "0".into(),
            kl_weight: kl_weight.into(),
            importance_samples: importance_samples.into(),
        }
    }

    #[test]
    fn importance_samples_are_checked_and_exclude_beta() {
        let limits = wgpu::Limits::default();
        let config = text("5", "1").parse(&limits, TrainingData::MNIST).unwrap();
        assert_eq!(config.importance_samples, 5);
        for (k, beta, says) in [
            ("0", "1", "Must be between 1 and 1000"),
            ("two", "1", "Enter a whole number"),
            ("5", "0.5", "no β"),
        ] {
            let errors = text(k, beta)
                .parse(&limits, TrainingData::MNIST)
                .unwrap_err();
            let message = errors.importance_samples.unwrap_or_default();
            assert!(message.contains(says), "K {k}, β {beta}: {message:?}");
        }
        // What only the adapter refuses: K × batch rows of activations past a binding.
        let mut wide = text("1000", "1");
        wide.batch = "200".into();
        let errors = wide.parse(&limits, TrainingData::MNIST).unwrap_err();
        assert!(errors.general.is_some_and(|e| e.contains("decoder rows")));
    }
}
