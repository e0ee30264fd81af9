//! The VAE's forward pass, loss (−ELBO) and backward pass on the CPU, in f64, written to be read.
//!
//! Shapes, for a batch of `B` images: x `[B, input]`, ε `[B, latent]`.
//!   h1 = ReLU(x · enc1ᵀ + b)            [B, hidden]
//!   mean = h1 · meanᵀ + b,  logvar = h1 · logvarᵀ + b        [B, latent]
//!   z = mean + exp(½·logvar) · ε          [B, latent]
//!   h2 = ReLU(z · dec1ᵀ + b)             [B, hidden]
//!   logits = h2 · outᵀ + b                [B, input]
//!   per image: BCE = Σ_p max(l,0) − l·x + log(1 + exp(−|l|)),  KL = −½ Σ_j (1 + logvar − mean² − exp(logvar))
//!   loss = mean over the batch of (BCE + KL) = −ELBO in nats.
//!   With a KL weight β (the β-VAE objective): mean over the batch of (BCE + β·KL); β = 1 is the
//!   ELBO. [`backward_weighted`] differentiates it; the metrics stay the ELBO's two terms.

use crate::dense::{
    dense_f64 as dense, dense_input_grad as input_grad, dense_param_grads, relu_mask,
};
use crate::layout::{Layout, Tensor};

/// Everything the forward pass computed that the backward pass needs.
#[derive(Clone, Debug)]
pub struct Forward {
    pub batch: usize,
    pub h1: Vec<f64>,
    pub mean: Vec<f64>,
    pub logvar: Vec<f64>,
    pub z: Vec<f64>,
    pub h2: Vec<f64>,
    pub logits: Vec<f64>,
    /// Batch means, in nats per image.
    pub bce: f64,
    pub kl: f64,
}

impl Forward {
    /// −ELBO, averaged over the batch.
    pub fn loss(&self) -> f64 {
        self.bce + self.kl
    }

    /// The objective trained on with KL weight β: BCE + β·KL, averaged over the batch.
    pub fn objective(&self, kl_weight: f64) -> f64 {
        self.bce + kl_weight * self.kl
    }
}

/// BCE-with-logits in the stable form, summed: ℓ(l, x) = max(l,0) − l·x + log1p(exp(−|l|)).
pub fn bce_with_logits(logit: f64, target: f64) -> f64 {
    logit.max(0.0) - logit * target + (-logit.abs()).exp().ln_1p()
}

fn sigmoid(l: f64) -> f64 {
    1.0 / (1.0 + (-l).exp())
}

/// z = mean + exp(½·logvar) · ε, element by element.
pub fn reparameterize(mean: &[f64], logvar: &[f64], eps: &[f64]) -> Vec<f64> {
    (0..mean.len())
        .map(|k| mean[k] + (0.5 * logvar[k]).exp() * eps[k])
        .collect()
}

/// Each image's KL(q(z|x) ‖ N(0, I)) = −½ Σ_j (1 + logvar − mean² − exp(logvar)).
pub fn kl_rows(mean: &[f64], logvar: &[f64], latent: usize) -> Vec<f64> {
    (0..mean.len() / latent.max(1))
        .map(|r| {
            (r * latent..(r + 1) * latent)
                .map(|k| -0.5 * (1.0 + logvar[k] - mean[k] * mean[k] - logvar[k].exp()))
                .sum()
        })
        .collect()
}

/// Each image's BCE-with-logits summed over its pixels.
pub fn bce_rows(logits: &[f64], x: &[f64], pixels: usize) -> Vec<f64> {
    logits
        .chunks(pixels.max(1))
        .zip(x.chunks(pixels.max(1)))
        .map(|(l, t)| l.iter().zip(t).map(|(&l, &t)| bce_with_logits(l, t)).sum())
        .collect()
}

/// d(batch-mean BCE)/d logits = (σ(l) − x) / B.
pub fn bce_grad(logits: &[f64], x: &[f64], batch: usize) -> Vec<f64> {
    let scale = 1.0 / batch as f64;
    logits
        .iter()
        .zip(x)
        .map(|(&l, &t)| (sigmoid(l) - t) * scale)
        .collect()
}

/// The gradients at mean and logvar from the gradient at z and the batch-mean KL weighted by β:
/// d_mean = dz + β·mean / B,  d_logvar = dz · ε · ½·exp(½·logvar) + β·½(exp(logvar) − 1) / B.
pub fn reparameterize_backward(
    d_z: &[f64],
    mean: &[f64],
    logvar: &[f64],
    eps: &[f64],
    batch: usize,
    kl_weight: f64,
) -> (Vec<f64>, Vec<f64>) {
    let scale = kl_weight / batch as f64;
    let d_mean = (0..mean.len()).map(|k| d_z[k] + mean[k] * scale).collect();
    let d_logvar = (0..logvar.len())
        .map(|k| {
            let std = (0.5 * logvar[k]).exp();
            d_z[k] * eps[k] * 0.5 * std + 0.5 * (logvar[k].exp() - 1.0) * scale
        })
        .collect();
    (d_mean, d_logvar)
}

/// The encoder: h1, then the posterior's mean and log-variance, for images `x` (`[B, input]`).
pub fn encode(layout: &Layout, params: &[f64], x: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let s = layout.sizes;
    let p = |t: Tensor| &params[layout.range(t)];
    let h1 = dense(x, p(Tensor::Enc1Weight), p(Tensor::Enc1Bias), s.input, true);
    let mean = dense(
        &h1,
        p(Tensor::MeanWeight),
        p(Tensor::MeanBias),
        s.hidden,
        false,
    );
    let logvar = dense(
        &h1,
        p(Tensor::LogvarWeight),
        p(Tensor::LogvarBias),
        s.hidden,
        false,
    );
    (h1, mean, logvar)
}

/// The decoder: h2 and the logits for latent vectors `z` (`[B, latent]`).
pub fn decode(layout: &Layout, params: &[f64], z: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let s = layout.sizes;
    let p = |t: Tensor| &params[layout.range(t)];
    let h2 = dense(
        z,
        p(Tensor::Dec1Weight),
        p(Tensor::Dec1Bias),
        s.latent,
        true,
    );
    let logits = dense(
        &h2,
        p(Tensor::OutWeight),
        p(Tensor::OutBias),
        s.hidden,
        false,
    );
    (h2, logits)
}

/// The forward pass and loss for parameters `params` (flat, as `layout`), inputs `x` and noise `eps`.
pub fn forward(layout: &Layout, params: &[f64], x: &[f64], eps: &[f64]) -> Forward {
    let s = layout.sizes;
    let batch = x.len() / s.input;
    assert_eq!(x.len(), batch * s.input, "x must be [batch, input]");
    assert_eq!(eps.len(), batch * s.latent, "eps must be [batch, latent]");

    let (h1, mean, logvar) = encode(layout, params, x);
    let z = reparameterize(&mean, &logvar, eps);
    let (h2, logits) = decode(layout, params, &z);

    let bce: f64 = logits
        .iter()
        .zip(x)
        .map(|(&l, &t)| bce_with_logits(l, t))
        .sum();
    let kl: f64 = (0..mean.len())
        .map(|k| -0.5 * (1.0 + logvar[k] - mean[k] * mean[k] - logvar[k].exp()))
        .sum();
    Forward {
        batch,
        h1,
        mean,
        logvar,
        z,
        h2,
        logits,
        bce: bce / batch as f64,
        kl: kl / batch as f64,
    }
}

/// The gradient of the batch-mean loss (−ELBO) with respect to every parameter (flat, as `layout`).
pub fn backward(layout: &Layout, params: &[f64], x: &[f64], eps: &[f64], f: &Forward) -> Vec<f64> {
    backward_weighted(layout, params, x, eps, f, 1.0)
}

/// The gradient of [`Forward::objective`] with KL weight β.
pub fn backward_weighted(
    layout: &Layout,
    params: &[f64],
    x: &[f64],
    eps: &[f64],
    f: &Forward,
    kl_weight: f64,
) -> Vec<f64> {
    let mut grads = vec![0.0; layout.len()];
    let d_logits = bce_grad(&f.logits, x, f.batch);
    let d_z = decoder_backward(layout, params, &d_logits, &f.h2, &f.z, &mut grads);
    let (d_mean, d_logvar) =
        reparameterize_backward(&d_z, &f.mean, &f.logvar, eps, f.batch, kl_weight);
    encoder_backward(layout, params, x, &f.h1, (&d_mean, &d_logvar), &mut grads);
    grads
}

/// The decoder's backward from the gradient at its logits: its parameters' gradients into
/// `grads` (flat, as `layout`), and the gradient at its input z returned.
pub fn decoder_backward(
    layout: &Layout,
    params: &[f64],
    d_logits: &[f64],
    h2: &[f64],
    z: &[f64],
    grads: &mut [f64],
) -> Vec<f64> {
    let s = layout.sizes;
    let p = |t: Tensor| &params[layout.range(t)];
    store(
        layout,
        grads,
        Tensor::OutWeight,
        Tensor::OutBias,
        dense_param_grads(d_logits, h2, s.hidden, s.input),
    );
    let mut d_h2 = input_grad(d_logits, p(Tensor::OutWeight), s.input, s.hidden);
    relu_mask(&mut d_h2, h2);
    store(
        layout,
        grads,
        Tensor::Dec1Weight,
        Tensor::Dec1Bias,
        dense_param_grads(&d_h2, z, s.latent, s.hidden),
    );
    input_grad(&d_h2, p(Tensor::Dec1Weight), s.hidden, s.latent)
}

/// The encoder's backward from the gradients at the posterior's mean and log-variance: its
/// parameters' gradients into `grads` (the first layer needs no input gradient).
pub fn encoder_backward(
    layout: &Layout,
    params: &[f64],
    x: &[f64],
    h1: &[f64],
    (d_mean, d_logvar): (&[f64], &[f64]),
    grads: &mut [f64],
) {
    let s = layout.sizes;
    let p = |t: Tensor| &params[layout.range(t)];
    store(
        layout,
        grads,
        Tensor::MeanWeight,
        Tensor::MeanBias,
        dense_param_grads(d_mean, h1, s.hidden, s.latent),
    );
    store(
        layout,
        grads,
        Tensor::LogvarWeight,
        Tensor::LogvarBias,
        dense_param_grads(d_logvar, h1, s.hidden, s.latent),
    );
    let mut d_h1 = input_grad(d_mean, p(Tensor::MeanWeight), s.latent, s.hidden);
    let from_logvar = input_grad(d_logvar, p(Tensor::LogvarWeight), s.latent, s.hidden);
    for (a, b) in d_h1.iter_mut().zip(from_logvar) {
        *a += b;
    }
    relu_mask(&mut d_h1, h1);
    store(
        layout,
        grads,
        Tensor::Enc1Weight,
        Tensor::Enc1Bias,
        dense_param_grads(&d_h1, x, s.input, s.hidden),
    );
}

/// A layer's weight and bias gradients into their places in `grads`.
fn store(
    layout: &Layout,
    grads: &mut [f64],
    weight: Tensor,
    bias: Tensor,
    (dw, db): (Vec<f64>, Vec<f64>),
) {
    grads[layout.range(weight)].copy_from_slice(&dw);
    grads[layout.range(bias)].copy_from_slice(&db);
}
