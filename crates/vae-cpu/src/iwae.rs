//! The IWAE objective's training step (Burda, Grosse & Salakhutdinov 2015): K draws of z per
//! image, the decoder over all B·K of them, and the gradient of −L_K, in which each draw's
//! ELBO gradient is weighted by its normalised importance weight w̃ (the math and its check by
//! finite differences are in `vae_reference::importance`).
//!
//! The encoder, the decoder and their backward passes are the VAE step's ([`Workspace`]); only
//! the draws, the weights and the gradient at the heads differ.

use crate::math::bce_row;
use crate::params::CpuLayout;
use crate::step::{Batch, Sums, Workspace};

impl Workspace {
    /// The forward pass and the gradient of −(Σ over the batch of L_K) / `images_in_mean` into
    /// `grads`, with `samples` (K ≥ 1) draws per image whose ε is in place (draw k of image i
    /// at row i·K + k). Returns the ELBO's terms summed over the images, each image's averaged
    /// over its draws: its BCE, and its KL sampled as log q(z|x) − log p(z).
    pub fn train_iwae(
        &mut self,
        layout: &CpuLayout,
        params: &[f32],
        batch: &Batch,
        (samples, images_in_mean): (usize, usize),
        grads: &mut [f32],
    ) -> Sums {
        let s = layout.sizes;
        let (input, latent) = (s.input, s.latent);
        let (images, draws) = (batch.rows, batch.rows * samples);
        assert!(
            draws <= self.draws,
            "{draws} draws, room for {}",
            self.draws
        );
        self.encode_hidden(layout, params, batch);
        self.encode_heads(layout, params, images);
        self.draw(latent, images, samples);
        self.decode(layout, params, draws);

        // Each draw's BCE, its gradient at the logits (unweighted yet) written over them.
        let mut sums = Sums::default();
        // Taken out for the loop (it borrows the logits too) and put back: no allocation a step.
        let mut bce = std::mem::take(&mut self.image_bce);
        bce.resize(samples, 0.0);
        let inverse_samples = 1.0 / samples as f64;
        let scale = 1.0 / images_in_mean as f32;
        for i in 0..images {
            let x = &batch.x[i * input..(i + 1) * input];
            for (k, bce) in bce.iter_mut().enumerate() {
                let row = i * samples + k;
                *bce = bce_row(&mut self.logits[row * input..(row + 1) * input], x, 1.0);
            }
            // log w = −BCE − (log q − log p); w̃ = softmax over the image's K draws.
            let kls = &self.row_kl[i * samples..(i + 1) * samples];
            let top = bce
                .iter()
                .zip(kls)
                .map(|(&b, &kl)| -b - f64::from(kl))
                .fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = bce
                .iter()
                .zip(kls)
                .map(|(&b, &kl)| (-b - f64::from(kl) - top).exp())
                .sum();
            for (k, &b) in bce.iter().enumerate() {
                let row = i * samples + k;
                let kl = f64::from(self.row_kl[row]);
                let weight = (-b - kl - top).exp() / total;
                self.row_scale[row] = weight as f32 * scale;
                sums.bce += b * inverse_samples;
                sums.kl += kl * inverse_samples;
            }
        }
        self.image_bce = bce;
        for row in 0..draws {
            let weight = self.row_scale[row];
            for d in &mut self.logits[row * input..(row + 1) * input] {
                *d *= weight;
            }
        }
        self.decoder_backward(layout, params, draws, grads);
        self.heads_gradient(latent, images, samples, scale);
        self.encoder_backward(layout, params, batch, grads);
        sums
    }

    /// z = mean + e^{½·logvar}·ε for every draw, and each draw's sampled KL
    /// log q(z|x) − log p(z) = ½ Σ_j (z² − ε² − logvar) (the 2π terms cancel).
    fn draw(&mut self, latent: usize, images: usize, samples: usize) {
        for row in 0..images * samples {
            let i = row / samples;
            let (mean, logvar) = self.heads[i * 2 * latent..(i + 1) * 2 * latent].split_at(latent);
            let at = row * latent..(row + 1) * latent;
            let (eps, z) = (&self.eps[at.clone()], &mut self.z[at]);
            let mut kl = 0.0f32;
            for j in 0..latent {
                z[j] = mean[j] + (0.5 * logvar[j]).exp() * eps[j];
                kl += z[j] * z[j] - eps[j] * eps[j] - logvar[j];
            }
            self.row_kl[row] = 0.5 * kl;
        }
    }

    /// The gradient at each image's heads from its draws' (`self.d_z`, each already weighted
    /// through the decoder by its w̃/B in `self.row_scale`), with log p(z)'s and log q's own
    /// terms: d z_k += w̃_k/B · z_k; d mean = Σ_k d z_k; d logvar = Σ_k d z_k · ε_k · ½e^{½logvar}
    /// − ½/B (as Σ_k w̃_k = 1).
    fn heads_gradient(&mut self, latent: usize, images: usize, samples: usize, scale: f32) {
        for i in 0..images {
            let (mean_logvar, d_heads) = (
                &self.heads[i * 2 * latent..(i + 1) * 2 * latent],
                &mut self.d_heads[i * 2 * latent..(i + 1) * 2 * latent],
            );
            let logvar = &mean_logvar[latent..];
            let (d_mean, d_logvar) = d_heads.split_at_mut(latent);
            d_mean.fill(0.0);
            d_logvar.fill(-0.5 * scale);
            for k in 0..samples {
                let row = i * samples + k;
                let weight = self.row_scale[row];
                let at = row * latent;
                for j in 0..latent {
                    let g = self.d_z[at + j] + weight * self.z[at + j];
                    d_mean[j] += g;
                    d_logvar[j] += g * self.eps[at + j] * 0.5 * (0.5 * logvar[j]).exp();
                }
            }
        }
    }
}
