//! The importance-weighted bound on log p(x) (Burda, Grosse & Salakhutdinov 2015) for one image,
//! in f64, written to be read: the figure both engines' estimates are checked against.
//!
//! With K draws z_k = mean + exp(½·logvar)·ε_k from q(z|x):
//!   log w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x)
//!           = −BCE(x, decoder(z_k)) − ½ Σ_j (z_kj² − ε_kj² − logvar_j)      (the log 2π terms cancel)
//!   L_K     = log (1/K) Σ_k w_k, computed as max + log Σ exp(log w_k − max).
//! L_K rises towards log p(x) as K grows. At K = 1 the KL part is taken in closed form,
//! −BCE(x, decoder(z_1)) − KL(q ‖ N(0, I)): the same bound L_1 (the ELBO) with less noise, and the
//! figure `vae eval` computes for the same ε.

use crate::layout::Layout;
use crate::model::{bce_rows, decode, encode, forward, kl_rows, reparameterize};

/// Each draw's log w_k for image `x` (`[input]`) and draws `eps` (`[K, latent]`): the encoder
/// once, the decoder per draw.
pub fn log_weights(layout: &Layout, params: &[f64], x: &[f64], eps: &[f64]) -> Vec<f64> {
    let s = layout.sizes;
    let (_, mean, logvar) = encode(layout, params, x);
    eps.chunks_exact(s.latent)
        .map(|eps| {
            let z = reparameterize(&mean, &logvar, eps);
            let (_, logits) = decode(layout, params, &z);
            let prior_minus_posterior: f64 = (0..s.latent)
                .map(|j| z[j] * z[j] - eps[j] * eps[j] - logvar[j])
                .sum::<f64>()
                * -0.5;
            prior_minus_posterior - bce_rows(&logits, x, s.input)[0]
        })
        .collect()
}

/// log (1/n) Σ exp(v), without overflow.
pub fn log_mean_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let sum: f64 = values.iter().map(|v| (v - max).exp()).sum();
    max + (sum / values.len() as f64).ln()
}

/// L_K for image `x` with the K draws `eps` (`[K, latent]`), in nats (negative).
pub fn importance_bound(layout: &Layout, params: &[f64], x: &[f64], eps: &[f64]) -> f64 {
    let s = layout.sizes;
    if eps.len() == s.latent {
        let f = forward(layout, params, x, eps);
        return -(bce_rows(&f.logits, x, s.input)[0] + kl_rows(&f.mean, &f.logvar, s.latent)[0]);
    }
    log_mean_exp(&log_weights(layout, params, x, eps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::batch_noise;
    use crate::{init_params, Sizes};

    #[test]
    fn log_mean_exp_is_stable_and_exact() {
        assert!((log_mean_exp(&[0.0, 0.0]) - 0.0).abs() < 1e-15);
        let far = log_mean_exp(&[-1000.0, -1001.0]);
        let expected = -1000.0 + ((1.0 + (-1.0f64).exp()) / 2.0).ln();
        assert!((far - expected).abs() < 1e-12, "{far} vs {expected}");
        assert_eq!(log_mean_exp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }

    #[test]
    fn the_bound_rises_with_samples_and_k_1_is_the_elbo() {
        let sizes = Sizes {
            input: 12,
            hidden: 7,
            latent: 3,
        };
        let layout = Layout::new(sizes);
        let params: Vec<f64> = init_params(&layout, 5)
            .iter()
            .map(|&p| f64::from(p))
            .collect();
        let x: Vec<f64> = (0..12).map(|p| f64::from(p % 3 == 0)).collect();
        let eps = batch_noise(9, 4, 1, 3);
        let f = forward(&layout, &params, &x, &eps);
        assert!((importance_bound(&layout, &params, &x, &eps) + f.loss()).abs() < 1e-12);
        // In expectation L_1 ≤ L_8 ≤ L_64: averaged over 200 seeded repeats, far beyond the noise.
        let mean_bound = |samples: usize| {
            (0..200u32)
                .map(|repeat| {
                    let eps = batch_noise(9, 100 + repeat, samples, 3);
                    log_mean_exp(&log_weights(&layout, &params, &x, &eps))
                })
                .sum::<f64>()
                / 200.0
        };
        let (l1, l8, l64) = (mean_bound(1), mean_bound(8), mean_bound(64));
        assert!(l1 < l8 && l8 < l64, "L_1 {l1}, L_8 {l8}, L_64 {l64}");
    }
}
