//! The lab's state in the URL fragment: the settings and the latent point, so a copied link
//! reopens the same model settings and, on the pretrained model, the same digit:
//! `#lr=0.001&batch=128&latent=20&hidden=500&seed=0&z=0.5,-1.25,…`. Read once at load; a
//! fragment that is malformed in any part (or hostile: huge, non-finite, out of range) is
//! ignored whole, with the reason shown.

use vae_model::{VaeConfig, MAX_KL_WEIGHT, MAX_TRAINING_SAMPLES};
use vae_reference::Sizes;

use crate::settings::{MAX_BATCH, MAX_HIDDEN, MAX_LATENT};

/// Longer than any fragment this page writes (64 latents at ~10 characters, plus settings).
const MAX_FRAGMENT: usize = 2048;
/// A latent coordinate further out than this is not a point of the prior anyone dragged to.
const MAX_ABS_Z: f32 = 10.0;

/// What a link asks for; absent parts keep the page's defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkState {
    pub lr: Option<f64>,
    pub batch: Option<u32>,
    pub latent: Option<usize>,
    pub hidden: Option<usize>,
    pub seed: Option<u64>,
    pub kl_weight: Option<f64>,
    pub importance_samples: Option<u32>,
    pub z: Option<Vec<f32>>,
}

impl LinkState {
    /// `base` with the link's settings applied.
    pub fn settings(&self, base: VaeConfig) -> VaeConfig {
        let mut config = base;
        if let Some(lr) = self.lr {
            config.adam.lr = lr;
        }
        if let Some(batch) = self.batch {
            config.batch = batch;
        }
        config.sizes = Sizes {
            input: base.sizes.input,
            hidden: self.hidden.unwrap_or(base.sizes.hidden),
            latent: self.latent.unwrap_or(base.sizes.latent),
        };
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(kl_weight) = self.kl_weight {
            config.kl_weight = kl_weight;
        }
        if let Some(samples) = self.importance_samples {
            config.importance_samples = samples;
        }
        config
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The fragment for `config` and `z` (without the `#`). Numbers are written in their shortest
/// exact form, so the link's z decodes to the very same digit. β appears only when it is not 1
/// (the ELBO), and K (`iw`) only when it is not 1 (the VAE), which keeps the links of the
/// classic model as they were.
pub fn format_fragment(config: &VaeConfig, z: &[f32]) -> String {
    let z: Vec<String> = z.iter().map(|v| v.to_string()).collect();
    let beta = if config.kl_weight == 1.0 {
        String::new()
    } else {
        format!("&beta={}", config.kl_weight)
    };
    let iw = if config.is_iwae() {
        format!("&iw={}", config.importance_samples)
    } else {
        String::new()
    };
    format!(
        "lr={}&batch={}&latent={}&hidden={}&seed={}{beta}{iw}&z={}",
        config.adam.lr,
        config.batch,
        config.sizes.latent,
        config.sizes.hidden,
        config.seed,
        z.join(",")
    )
}

/// A fragment (with or without its `#`) read back, or why it was not used.
pub fn parse_fragment(fragment: &str) -> Result<LinkState, String> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    if fragment.len() > MAX_FRAGMENT {
        return Err(format!(
            "it is {} characters long; this page's links are at most {MAX_FRAGMENT}",
            fragment.len()
        ));
    }
    let mut state = LinkState::default();
    for part in fragment.split('&').filter(|part| !part.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("\"{}\" is not key=value", clip(part)))?;
        let bad = |what: &str| format!("{key}={} is not {what}", clip(value));
        let whole = |low: u64, high: u64| {
            value
                .parse::<u64>()
                .ok()
                .filter(|v| (low..=high).contains(v))
                .ok_or_else(|| bad(&format!("a whole number from {low} to {high}")))
        };
        let seen = match key {
            "lr" => state
                .lr
                .replace(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|lr| lr.is_finite() && *lr > 0.0 && *lr <= 1.0)
                        .ok_or_else(|| bad("a learning rate in (0, 1]"))?,
                )
                .is_some(),
            "batch" => state
                .batch
                .replace(whole(1, u64::from(MAX_BATCH))? as u32)
                .is_some(),
            "latent" => state
                .latent
                .replace(whole(1, MAX_LATENT as u64)? as usize)
                .is_some(),
            "hidden" => state
                .hidden
                .replace(whole(1, MAX_HIDDEN as u64)? as usize)
                .is_some(),
            "seed" => state.seed.replace(whole(0, u64::MAX)?).is_some(),
            "beta" => state
                .kl_weight
                .replace(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|b| b.is_finite() && (0.0..=MAX_KL_WEIGHT).contains(b))
                        .ok_or_else(|| bad(&format!("a KL weight in [0, {MAX_KL_WEIGHT}]")))?,
                )
                .is_some(),
            "iw" => state
                .importance_samples
                .replace(whole(1, u64::from(MAX_TRAINING_SAMPLES))? as u32)
                .is_some(),
            "z" => {
                let z = value
                    .split(',')
                    .map(|v| {
                        v.parse::<f32>()
                            .ok()
                            .filter(|v| v.is_finite() && v.abs() <= MAX_ABS_Z)
                    })
                    .collect::<Option<Vec<f32>>>()
                    .filter(|z| z.len() <= MAX_LATENT)
                    .ok_or_else(|| {
                        bad(&format!(
                            "up to {MAX_LATENT} numbers within ±{MAX_ABS_Z}, comma-separated"
                        ))
                    })?;
                state.z.replace(z).is_some()
            }
            other => return Err(format!("\"{}\" is not a setting of this page", clip(other))),
        };
        if seen {
            return Err(format!("{key} is given twice"));
        }
    }
    if let (Some(z), Some(latent)) = (&state.z, state.latent) {
        if z.len() != latent {
            return Err(format!(
                "z has {} numbers for a latent size of {latent}",
                z.len()
            ));
        }
    }
    Ok(state)
}

/// At most 40 characters of what a link held, for a message.
fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(40).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_page_writes_it_reads_back_exactly() {
        for (kl_weight, importance_samples) in [(1.0, 1), (0.25, 1), (1.0, 5)] {
            let config = VaeConfig {
                batch: 64,
                seed: 7,
                kl_weight,
                importance_samples,
                ..VaeConfig::default()
            };
            let z: Vec<f32> = (0..20).map(|i| (i as f32 - 9.5) * 0.123_456_7).collect();
            let fragment = format_fragment(&config, &z);
            assert_eq!(fragment.contains("beta="), kl_weight != 1.0, "{fragment}");
            assert_eq!(
                fragment.contains("iw="),
                importance_samples != 1,
                "{fragment}"
            );
            let state = parse_fragment(&format!("#{fragment}")).unwrap();
            assert_eq!(state.z.as_deref(), Some(z.as_slice()));
            assert_eq!(state.settings(VaeConfig::default()), config);
        }
    }

    #[test]
    fn an_empty_or_partial_fragment_keeps_the_defaults() {
        assert!(parse_fragment("").unwrap().is_empty());
        assert!(parse_fragment("#").unwrap().is_empty());
        let state = parse_fragment("#seed=3").unwrap();
        assert_eq!(state.settings(VaeConfig::default()).seed, 3);
        assert_eq!(state.settings(VaeConfig::default()).sizes, Sizes::MNIST);
    }

    #[test]
    fn malformed_or_hostile_fragments_are_refused_whole() {
        for fragment in [
            "lr=abc",
            "lr=0",
            "lr=NaN",
            "lr=inf",
            "batch=0",
            "batch=99999999999999999999",
            "latent=65",
            "hidden=-1",
            "seed=1.5",
            "beta=-1",
            "beta=101",
            "beta=NaN",
            "beta=1&beta=2",
            "iw=0",
            "iw=1001",
            "iw=2.5",
            "iw=5&iw=5",
            "z=1,2,x",
            "z=1e39",
            "z=NaN",
            "z=11",
            "latent=2&z=1,2,3",
            "seed=1&seed=2",
            "color=red",
            "justtext",
            "<script>alert(1)</script>=1",
        ] {
            assert!(parse_fragment(fragment).is_err(), "{fragment} was accepted");
        }
        let huge = format!("z={}", vec!["0.5"; 2000].join(","));
        assert!(parse_fragment(&huge).unwrap_err().contains("characters"));
        let many = format!("z={}", vec!["0"; 65].join(","));
        assert!(parse_fragment(&many).is_err());
    }

    #[test]
    fn messages_quote_little_of_what_was_given() {
        let long = format!("{}=1", "k".repeat(500));
        assert!(parse_fragment(&long).unwrap_err().len() < 100);
    }
}
