//! One batch through the model and back: the forward pass, the loss, the backward pass.
//!
//! The first layer is sparse: `x · W₁` is the sum of the rows of W₁ at each image's lit values
//! (bits that are on, about 1 in 7 for MNIST; grey levels that are not 0, each row times its
//! level), and its weight gradient adds `dh₁` into those rows only. Grey levels mostly lit
//! (photos) take it densely instead. The rest are dense products ([`Gemm`]) with
//! their bias, ReLU and ReLU-mask epilogues fused, and the loss's gradient is written over the
//! logits as the loss is summed.

use crate::gemm::{column_sums, transpose, Epilogue, Gemm, Lhs};
use crate::lanes::{Lane, F4};
use crate::math::{bce_row, bce_sum, reparameterize_backward_row, reparameterize_row};
use crate::params::CpuLayout;

pub use crate::batch::Batch;
use crate::batch::ByPixel;

/// `out = bias + Σ_{r ∈ rows} level_r · matrix[r, ..]` for a row-major matrix of `width`
/// columns (each level 1 without `levels`; then ReLU with `relu`), in blocks of 32 columns
/// summed in registers (eight f32x4), so each block is stored once rather than read and written
/// once per row added.
fn sum_rows(
    matrix: &[f32],
    width: usize,
    (rows, levels): (&[u32], Option<&[f32]>),
    bias: Option<&[f32]>,
    relu: bool,
    out: &mut [f32],
) {
    const VECTORS: usize = 8;
    const BLOCK: usize = 4 * VECTORS;
    let whole = width - width % BLOCK;
    for start in (0..whole).step_by(BLOCK) {
        let mut acc = [F4::splat(0.0); VECTORS];
        if let Some(bias) = bias {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = F4::load(&bias[start + 4 * k..]);
            }
        }
        match levels {
            // Bits: each row added as it is (the common case, kept free of multiplies).
            None => {
                for &r in rows {
                    let at = r as usize * width + start;
                    let row = &matrix[at..at + BLOCK];
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = *a + F4::load(&row[4 * k..]);
                    }
                }
            }
            Some(levels) => {
                for (&r, &level) in rows.iter().zip(levels) {
                    let at = r as usize * width + start;
                    let row = &matrix[at..at + BLOCK];
                    let scale = F4::splat(level);
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = *a + F4::load(&row[4 * k..]) * scale;
                    }
                }
            }
        }
        for (k, a) in acc.into_iter().enumerate() {
            let a = if relu { a.max(F4::splat(0.0)) } else { a };
            a.store(&mut out[start + 4 * k..]);
        }
    }
    for column in whole..width {
        let mut sum = bias.map_or(0.0, |b| b[column]);
        for (k, &r) in rows.iter().enumerate() {
            let level = levels.map_or(1.0, |l| l[k]);
            sum += level * matrix[r as usize * width + column];
        }
        out[column] = if relu { sum.max(0.0) } else { sum };
    }
}

/// Activations and gradients for batches of up to `capacity` images, allocated once.
pub struct Workspace {
    capacity: usize,
    /// Decoder rows: the images' capacity times the draws per image a step takes.
    pub(crate) draws: usize,
    pub h1: Vec<f32>,
    pub heads: Vec<f32>,
    pub eps: Vec<f32>,
    pub z: Vec<f32>,
    pub h2: Vec<f32>,
    pub logits: Vec<f32>,
    d_h2: Vec<f32>,
    pub(crate) d_z: Vec<f32>,
    pub(crate) d_heads: Vec<f32>,
    d_h1: Vec<f32>,
    /// Per decoder row: its sampled KL, then its gradient scale (IWAE's w̃/B).
    pub(crate) row_kl: Vec<f32>,
    pub(crate) row_scale: Vec<f32>,
    /// One image's K draws' BCE, in f64 (IWAE's weights are a softmax of differences of them).
    pub(crate) image_bce: Vec<f64>,
    /// Weights transposed to `[outputs, inputs]` for the input gradients.
    out_t: Vec<f32>,
    dec1_t: Vec<f32>,
    heads_t: Vec<f32>,
    by_pixel: ByPixel,
    gemm: Gemm,
}

/// A forward pass's batch sums, in nats.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sums {
    pub bce: f64,
    pub kl: f64,
}

impl Workspace {
    pub fn new(layout: &CpuLayout, capacity: usize) -> Self {
        Self::with_samples(layout, capacity, 1)
    }

    /// Room for `capacity` images of `samples` draws each (IWAE's K).
    pub fn with_samples(layout: &CpuLayout, capacity: usize, samples: usize) -> Self {
        let s = layout.sizes;
        let zeros = |len: usize| vec![0.0f32; len];
        let draws = capacity * samples;
        Self {
            capacity,
            draws,
            h1: zeros(capacity * s.hidden),
            heads: zeros(capacity * 2 * s.latent),
            eps: zeros(draws * s.latent),
            z: zeros(draws * s.latent),
            h2: zeros(draws * s.hidden),
            logits: zeros(draws * s.input),
            d_h2: zeros(draws * s.hidden),
            d_z: zeros(draws * s.latent),
            d_heads: zeros(capacity * 2 * s.latent),
            d_h1: zeros(capacity * s.hidden),
            row_kl: zeros(draws),
            row_scale: zeros(draws),
            image_bce: vec![0.0; samples],
            out_t: zeros(s.input * s.hidden),
            dec1_t: zeros(s.hidden * s.latent),
            heads_t: zeros(2 * s.latent * s.hidden),
            by_pixel: ByPixel::default(),
            gemm: Gemm::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// h₁ = ReLU(x·W₁ + b₁): over each image's lit values (weighted by their levels), or
    /// densely for grey levels mostly lit.
    pub fn encode_hidden(&mut self, layout: &CpuLayout, params: &[f32], batch: &Batch) {
        if batch.dense {
            let input = layout.sizes.input;
            return self.encode_hidden_dense(layout, params, &batch.x[..batch.rows * input]);
        }
        let hidden = layout.sizes.hidden;
        let enc1 = &params[layout.enc1.clone()];
        let bias = &params[layout.enc1_bias.clone()];
        for r in 0..batch.rows {
            sum_rows(
                enc1,
                hidden,
                (batch.lit_pixels(r), batch.lit_levels(r)),
                Some(bias),
                true,
                &mut self.h1[r * hidden..(r + 1) * hidden],
            );
        }
    }

    /// h₁ for arbitrary (not binarized) inputs `[rows, input]`: a dense product.
    pub fn encode_hidden_dense(&mut self, layout: &CpuLayout, params: &[f32], x: &[f32]) {
        let s = layout.sizes;
        let rows = x.len() / s.input;
        self.gemm.run(
            (rows, s.hidden, s.input),
            Lhs::rows(x, s.input),
            &params[layout.enc1.clone()],
            &mut self.h1,
            Epilogue::BiasRelu(&params[layout.enc1_bias.clone()]),
        );
    }

    /// The heads `[mean | logvar]` from h₁.
    pub fn encode_heads(&mut self, layout: &CpuLayout, params: &[f32], rows: usize) {
        let s = layout.sizes;
        self.gemm.run(
            (rows, 2 * s.latent, s.hidden),
            Lhs::rows(&self.h1, s.hidden),
            &params[layout.heads.clone()],
            &mut self.heads,
            Epilogue::Bias(&params[layout.heads_bias.clone()]),
        );
    }

    /// z from the heads and ε; returns the batch's summed KL.
    pub fn reparameterize(&mut self, latent: usize, rows: usize) -> f64 {
        (0..rows)
            .map(|r| {
                reparameterize_row(
                    &self.heads[r * 2 * latent..(r + 1) * 2 * latent],
                    &self.eps[r * latent..(r + 1) * latent],
                    &mut self.z[r * latent..(r + 1) * latent],
                )
            })
            .sum()
    }

    /// The logits `[rows, input]` from z (whatever wrote it: the encoder, or a caller's latents).
    pub fn decode(&mut self, layout: &CpuLayout, params: &[f32], rows: usize) {
        let s = layout.sizes;
        self.gemm.run(
            (rows, s.hidden, s.latent),
            Lhs::rows(&self.z, s.latent),
            &params[layout.dec1.clone()],
            &mut self.h2,
            Epilogue::BiasRelu(&params[layout.dec1_bias.clone()]),
        );
        self.gemm.run(
            (rows, s.input, s.hidden),
            Lhs::rows(&self.h2, s.hidden),
            &params[layout.out.clone()],
            &mut self.logits,
            Epilogue::Bias(&params[layout.out_bias.clone()]),
        );
    }

    /// Forward through the loss without gradients: the batch's summed BCE and KL.
    pub fn evaluate(&mut self, layout: &CpuLayout, params: &[f32], batch: &Batch) -> Sums {
        let s = layout.sizes;
        self.encode_hidden(layout, params, batch);
        self.encode_heads(layout, params, batch.rows);
        let kl = self.reparameterize(s.latent, batch.rows);
        self.decode(layout, params, batch.rows);
        let bce = (0..batch.rows)
            .map(|r| {
                let at = r * s.input..(r + 1) * s.input;
                bce_sum(&self.logits[at.clone()], &batch.x[at])
            })
            .sum();
        Sums { bce, kl }
    }

    /// The forward pass, the loss and the gradient of `Σ over the batch of (BCE + β·KL)`
    /// divided by `images_in_mean` into `grads` (this layout): the batch's own size for a whole
    /// step, the whole step's batch when this is one worker's share of it. ε must be in place.
    /// Returns the batch's summed BCE and KL.
    pub fn train(
        &mut self,
        layout: &CpuLayout,
        params: &[f32],
        batch: &Batch,
        (kl_weight, images_in_mean): (f32, usize),
        grads: &mut [f32],
    ) -> Sums {
        let s = layout.sizes;
        let (input, latent) = (s.input, s.latent);
        let rows = batch.rows;
        let scale = 1.0 / images_in_mean as f32;

        self.encode_hidden(layout, params, batch);
        self.encode_heads(layout, params, rows);
        let kl = self.reparameterize(latent, rows);
        self.decode(layout, params, rows);
        // The logits become d(loss)/d(logits) in place.
        let mut bce = 0.0;
        for r in 0..rows {
            let at = r * input..(r + 1) * input;
            bce += bce_row(&mut self.logits[at.clone()], &batch.x[at], scale);
        }
        self.decoder_backward(layout, params, rows, grads);

        // Reparameterisation and the KL term, then the heads.
        let kl_scale = kl_weight * scale;
        for r in 0..rows {
            reparameterize_backward_row(
                &self.d_z[r * latent..(r + 1) * latent],
                &self.heads[r * 2 * latent..(r + 1) * 2 * latent],
                &self.eps[r * latent..(r + 1) * latent],
                kl_scale,
                &mut self.d_heads[r * 2 * latent..(r + 1) * 2 * latent],
            );
        }
        self.encoder_backward(layout, params, batch, grads);
        Sums { bce, kl }
    }

    /// The decoder's backward pass over `rows` decoder rows, from d(loss)/d(logits) in
    /// `self.logits`: its weight and bias gradients into `grads`, and the gradient at z into
    /// `self.d_z`.
    pub(crate) fn decoder_backward(
        &mut self,
        layout: &CpuLayout,
        params: &[f32],
        rows: usize,
        grads: &mut [f32],
    ) {
        let s = layout.sizes;
        let (input, hidden, latent) = (s.input, s.hidden, s.latent);
        let d_logits = &self.logits[..rows * input];

        // Output layer: dW = h₂ᵀ·dl, db = Σ dl, dh₂ = dl·Wᵀ through h₂'s ReLU.
        self.gemm.run(
            (hidden, input, rows),
            Lhs::transposed(&self.h2, hidden),
            d_logits,
            &mut grads[layout.out.clone()],
            Epilogue::Store,
        );
        column_sums(d_logits, input, &mut grads[layout.out_bias.clone()]);
        transpose(&params[layout.out.clone()], hidden, input, &mut self.out_t);
        self.gemm.run(
            (rows, hidden, input),
            Lhs::rows(d_logits, input),
            &self.out_t,
            &mut self.d_h2,
            Epilogue::ReluMask(&self.h2),
        );

        // Decoder's first layer: dW = zᵀ·dh₂, db = Σ dh₂, dz = dh₂·Wᵀ.
        let d_h2 = &self.d_h2[..rows * hidden];
        self.gemm.run(
            (latent, hidden, rows),
            Lhs::transposed(&self.z, latent),
            d_h2,
            &mut grads[layout.dec1.clone()],
            Epilogue::Store,
        );
        column_sums(d_h2, hidden, &mut grads[layout.dec1_bias.clone()]);
        transpose(
            &params[layout.dec1.clone()],
            latent,
            hidden,
            &mut self.dec1_t,
        );
        self.gemm.run(
            (rows, latent, hidden),
            Lhs::rows(d_h2, hidden),
            &self.dec1_t,
            &mut self.d_z,
            Epilogue::Store,
        );
    }

    /// The encoder's backward pass over the batch's images, from the gradient at the heads in
    /// `self.d_heads`: its weight and bias gradients into `grads`.
    pub(crate) fn encoder_backward(
        &mut self,
        layout: &CpuLayout,
        params: &[f32],
        batch: &Batch,
        grads: &mut [f32],
    ) {
        let s = layout.sizes;
        let (input, hidden, latent) = (s.input, s.hidden, s.latent);
        let rows = batch.rows;
        let d_heads = &self.d_heads[..rows * 2 * latent];
        self.gemm.run(
            (hidden, 2 * latent, rows),
            Lhs::transposed(&self.h1, hidden),
            d_heads,
            &mut grads[layout.heads.clone()],
            Epilogue::Store,
        );
        column_sums(d_heads, 2 * latent, &mut grads[layout.heads_bias.clone()]);
        transpose(
            &params[layout.heads.clone()],
            hidden,
            2 * latent,
            &mut self.heads_t,
        );
        self.gemm.run(
            (rows, hidden, 2 * latent),
            Lhs::rows(d_heads, 2 * latent),
            &self.heads_t,
            &mut self.d_h1,
            Epilogue::ReluMask(&self.h1),
        );

        let d_h1 = &self.d_h1[..rows * hidden];
        if batch.dense {
            // Grey levels mostly lit: dW₁ = xᵀ·dh₁.
            self.gemm.run(
                (input, hidden, rows),
                Lhs::transposed(&batch.x[..rows * input], input),
                d_h1,
                &mut grads[layout.enc1.clone()],
                Epilogue::Store,
            );
            column_sums(d_h1, hidden, &mut grads[layout.enc1_bias.clone()]);
            return;
        }
        // First layer, sparse: dW₁[p, :] = Σ over the images with pixel p lit of level · dh₁.
        // By pixel: each row of dW₁ is summed in registers over the images that light it, and
        // written once (zero where no image does).
        batch.index_by_pixel(input, &mut self.by_pixel);
        let enc1 = &mut grads[layout.enc1.clone()];
        for (pixel, row) in enc1.chunks_exact_mut(hidden).enumerate() {
            sum_rows(d_h1, hidden, self.by_pixel.at(pixel), None, false, row);
        }
        column_sums(d_h1, hidden, &mut grads[layout.enc1_bias.clone()]);
    }
}
