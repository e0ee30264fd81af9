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
use crate::model::{
    bce_rows, decode, decoder_backward, encode, encoder_backward, forward, kl_rows, reparameterize,
};

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

/// The IWAE objective's forward pass over a batch (Burda et al. 2015): `B` images `x`
/// (`[B, input]`), K draws each `eps` (`[B·K, latent]`, image by image).
#[derive(Clone, Debug)]
pub struct IwaeForward {
    pub batch: usize,
    pub samples: usize,
    pub h1: Vec<f64>,
    pub mean: Vec<f64>,
    pub logvar: Vec<f64>,
    /// `[B·K, latent]`.
    pub z: Vec<f64>,
    pub h2: Vec<f64>,
    pub logits: Vec<f64>,
    /// Each draw's BCE (−log p(x|z)).
    pub bce: Vec<f64>,
    /// Each draw's log w = −BCE + log p(z) − log q(z|x); −log w − BCE is its sampled KL.
    pub log_weights: Vec<f64>,
    /// Each draw's normalised importance weight w̃ = softmax over its image's K log weights.
    pub weights: Vec<f64>,
    /// Each image's L_K.
    pub bounds: Vec<f64>,
}

impl IwaeForward {
    /// −L_K averaged over the batch: the objective IWAE minimises.
    pub fn objective(&self) -> f64 {
        -self.bounds.iter().sum::<f64>() / self.batch as f64
    }

    /// The ELBO's terms per image, each averaged over the draws (what a training step reports):
    /// the BCE, and the KL sampled as log q(z|x) − log p(z).
    pub fn elbo_terms(&self) -> (f64, f64) {
        let draws = self.bce.len() as f64;
        let bce = self.bce.iter().sum::<f64>() / draws;
        let neg_elbo = -self.log_weights.iter().sum::<f64>() / draws;
        (bce, neg_elbo - bce)
    }
}

/// The IWAE forward pass: the encoder per image, the decoder per draw, the log weights, their
/// normalised weights and each image's L_K (K ≥ 2; at K = 1 the VAE's objective, [`forward`],
/// is what trains).
pub fn iwae_forward(layout: &Layout, params: &[f64], x: &[f64], eps: &[f64]) -> IwaeForward {
    let s = layout.sizes;
    let batch = x.len() / s.input;
    let samples = eps.len() / (batch * s.latent).max(1);
    assert_eq!(
        eps.len(),
        batch * samples * s.latent,
        "eps must be [B·K, latent]"
    );
    let (h1, mean, logvar) = encode(layout, params, x);
    let (mut z, mut log_w) = (Vec::with_capacity(eps.len()), Vec::new());
    let repeated: Vec<f64> = x
        .chunks_exact(s.input)
        .flat_map(|image| image.iter().copied().cycle().take(samples * s.input))
        .collect();
    for (row, eps) in eps.chunks_exact(s.latent).enumerate() {
        let i = row / samples;
        let at = i * s.latent..(i + 1) * s.latent;
        z.extend(reparameterize(&mean[at.clone()], &logvar[at], eps));
    }
    let (h2, logits) = decode(layout, params, &z);
    let bce = bce_rows(&logits, &repeated, s.input);
    for (row, eps) in eps.chunks_exact(s.latent).enumerate() {
        let i = row / samples;
        let prior_minus_posterior: f64 = (0..s.latent)
            .map(|j| {
                let zj = z[row * s.latent + j];
                zj * zj - eps[j] * eps[j] - logvar[i * s.latent + j]
            })
            .sum::<f64>()
            * -0.5;
        log_w.push(prior_minus_posterior - bce[row]);
    }
    let (weights, bounds) = normalised_weights(&log_w, samples);
    IwaeForward {
        batch,
        samples,
        h1,
        mean,
        logvar,
        z,
        h2,
        logits,
        bce,
        log_weights: log_w,
        weights,
        bounds,
    }
}

/// Each draw's normalised weight w̃ (a softmax over its image's `samples` log weights), and each
/// image's L_K.
pub fn normalised_weights(log_w: &[f64], samples: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut weights, mut bounds) = (Vec::with_capacity(log_w.len()), Vec::new());
    for image in log_w.chunks_exact(samples) {
        let bound = log_mean_exp(image);
        bounds.push(bound);
        // w̃_k = w_k / Σ w = exp(log w_k − log Σ w), and log Σ w = L_K + log K.
        let total = bound + (samples as f64).ln();
        weights.extend(image.iter().map(|v| (v - total).exp()));
    }
    (weights, bounds)
}

/// The gradient of −(1/B) Σ L_K at the heads from its draws' gradient at z: `d_z` (`[B·K,
/// latent]`, each draw's already weighted through the decoder), the draws' `z` and `eps`, the
/// images' `logvar` (`[B, latent]`) and the draws' `weights` w̃:
///   d z_ik += w̃_ik/B · z_ik                                   (log p(z) = −½ z²)
///   d mean_i = Σ_k d z_ik;  d logvar_i = Σ_k d z_ik · ε_ik · ½ e^{½ logvar} − ½/B
/// (log q's −½ logvar, with Σ_k w̃ = 1). Returns (d mean, d logvar), `[B, latent]` each.
pub fn iwae_heads_backward(
    d_z: &[f64],
    (z, eps): (&[f64], &[f64]),
    logvar: &[f64],
    weights: &[f64],
    samples: usize,
) -> (Vec<f64>, Vec<f64>) {
    let latent = logvar.len() / (weights.len() / samples).max(1);
    let b = (weights.len() / samples) as f64;
    let (mut d_mean, mut d_logvar) = (vec![0.0; logvar.len()], vec![-0.5 / b; logvar.len()]);
    for (row, d) in d_z.chunks_exact(latent).enumerate() {
        let i = row / samples;
        for j in 0..latent {
            let g = d[j] + weights[row] / b * z[row * latent + j];
            let at = i * latent + j;
            d_mean[at] += g;
            d_logvar[at] += g * eps[row * latent + j] * 0.5 * (0.5 * logvar[at]).exp();
        }
    }
    (d_mean, d_logvar)
}

/// The gradient of [`IwaeForward::objective`] with respect to every parameter (flat, as
/// `layout`): −(1/B) Σ_i Σ_k w̃_ik ∇ log w_ik, through the reparameterisation (the total
/// derivative: z moves with mean and logvar, ε stays).
///   d/d logits_ik = w̃_ik/B · (σ(l) − x_i)
///   d/d z_ik      = (decoder's input gradient) + w̃_ik/B · z_ik        (log p(z) = −½ z²)
///   d/d mean_i    = Σ_k d/d z_ik
///   d/d logvar_i  = Σ_k d/d z_ik · ε_ik · ½ e^{½ logvar} − ½/B          (log q's −½ logvar; Σ w̃ = 1)
pub fn iwae_backward(
    layout: &Layout,
    params: &[f64],
    x: &[f64],
    eps: &[f64],
    f: &IwaeForward,
) -> Vec<f64> {
    let s = layout.sizes;
    let (b, k) = (f.batch as f64, f.samples);
    let mut grads = vec![0.0; layout.len()];
    let d_logits: Vec<f64> = f
        .logits
        .chunks_exact(s.input)
        .enumerate()
        .flat_map(|(row, logits)| {
            let scale = f.weights[row] / b;
            let image = &x[(row / k) * s.input..(row / k + 1) * s.input];
            logits
                .iter()
                .zip(image)
                .map(move |(&l, &t)| scale * (1.0 / (1.0 + (-l).exp()) - t))
        })
        .collect();
    let d_z = decoder_backward(layout, params, &d_logits, &f.h2, &f.z, &mut grads);
    let (d_mean, d_logvar) = iwae_heads_backward(&d_z, (&f.z, eps), &f.logvar, &f.weights, k);
    encoder_backward(layout, params, x, &f.h1, (&d_mean, &d_logvar), &mut grads);
    grads
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
