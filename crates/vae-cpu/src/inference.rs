//! Using the model on the CPU: encode, decode, reconstruct, and the −ELBO of a data set, with the
//! GPU engine's noise keys, so both engines report the same evaluation for the same parameters.

use mnist_shard::Split;
use vae_gpu::vae::{Evaluation, EVALUATION_STEP_BASE};
use vae_reference::noise::standard_normal;

use crate::engine::CpuVae;
use crate::step::Workspace;
use crate::CpuError;

fn sigmoid(l: f32) -> f32 {
    1.0 / (1.0 + (-l).exp())
}

impl CpuVae {
    fn rows_of(&self, values: &[f32], width: usize, what: &str) -> Result<usize, CpuError> {
        if values.is_empty() || !values.len().is_multiple_of(width) {
            return Err(CpuError::InvalidInput(format!(
                "{} values are not a whole number of {width}-{what}",
                values.len()
            )));
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(CpuError::InvalidInput(format!("value {bad} is not finite")));
        }
        Ok(values.len() / width)
    }

    /// Runs `work` over `values` in chunks of at most the workspace's rows.
    fn in_chunks(
        &mut self,
        values: &[f32],
        width: usize,
        mut work: impl FnMut(&crate::params::CpuLayout, &[f32], &mut Workspace, &[f32], usize),
    ) {
        let (layout, params, workspace, _) = self.parts();
        let capacity = workspace.capacity().max(1);
        for chunk in values.chunks(capacity * width) {
            work(layout, params, workspace, chunk, chunk.len() / width);
        }
    }

    /// The posterior's mean and log-variance for each image of `x` (`[rows, input]`, pixels in
    /// [0, 1]).
    pub fn encode(&mut self, x: &[f32]) -> Result<(Vec<f32>, Vec<f32>), CpuError> {
        let s = self.config.sizes;
        let rows = self.rows_of(x, s.input, "pixel images")?;
        let (mut mean, mut logvar) = (Vec::with_capacity(rows * s.latent), Vec::new());
        logvar.reserve(rows * s.latent);
        self.in_chunks(x, s.input, |layout, params, work, chunk, rows| {
            work.encode_hidden_dense(layout, params, chunk);
            work.encode_heads(layout, params, rows);
            for head in work.heads[..rows * 2 * s.latent].chunks_exact(2 * s.latent) {
                mean.extend_from_slice(&head[..s.latent]);
                logvar.extend_from_slice(&head[s.latent..]);
            }
        });
        Ok((mean, logvar))
    }

    /// Pixel probabilities σ(logits) for each latent vector of `z` (`[rows, latent]`).
    pub fn decode(&mut self, z: &[f32]) -> Result<Vec<f32>, CpuError> {
        let s = self.config.sizes;
        let rows = self.rows_of(z, s.latent, "dimensional latent vectors")?;
        let mut out = Vec::with_capacity(rows * s.input);
        self.in_chunks(z, s.latent, |layout, params, work, chunk, rows| {
            work.z[..chunk.len()].copy_from_slice(chunk);
            work.decode(layout, params, rows);
            out.extend(work.logits[..rows * s.input].iter().map(|&l| sigmoid(l)));
        });
        Ok(out)
    }

    /// Encoder, then decoder at each image's posterior mean (no sampling), over `x`.
    pub fn reconstruct(&mut self, x: &[f32]) -> Result<Vec<f32>, CpuError> {
        let s = self.config.sizes;
        self.rows_of(x, s.input, "pixel images")?;
        let mut out = Vec::with_capacity(x.len());
        self.in_chunks(x, s.input, |layout, params, work, chunk, rows| {
            work.encode_hidden_dense(layout, params, chunk);
            work.encode_heads(layout, params, rows);
            for r in 0..rows {
                let (from, to) = (r * 2 * s.latent, r * s.latent);
                work.z[to..to + s.latent].copy_from_slice(&work.heads[from..from + s.latent]);
            }
            work.decode(layout, params, rows);
            out.extend(work.logits[..rows * s.input].iter().map(|&l| sigmoid(l)));
        });
        Ok(out)
    }

    /// Mean −ELBO over every image of `split`, in batches of the training batch size, with one
    /// draw of ε per image keyed as the GPU engine keys draw 0.
    pub fn evaluate(&mut self, split: &Split<'_>) -> Result<Evaluation, CpuError> {
        self.evaluate_draw(split, 0, None)
    }

    /// [`CpuVae::evaluate`] with draw `draw` of ε, and every image's `[mean | logvar]` into
    /// `posteriors` when given (`[images, 2·latent]`, for the latent map).
    pub fn evaluate_draw(
        &mut self,
        split: &Split<'_>,
        draw: u32,
        mut posteriors: Option<&mut Vec<f32>>,
    ) -> Result<Evaluation, CpuError> {
        let s = self.config.sizes;
        if split.pixels_per_image() != s.input {
            return Err(CpuError::InvalidInput(format!(
                "the data has {} pixels per image, the model takes {}",
                split.pixels_per_image(),
                s.input
            )));
        }
        let images = split.len();
        let batch = (self.config.batch as usize).min(images.max(1));
        let batches = images.div_ceil(batch) as u32;
        let base = EVALUATION_STEP_BASE.wrapping_add(draw.wrapping_mul(batches));
        let seed = self.config.seed;
        if let Some(out) = posteriors.as_deref_mut() {
            out.clear();
            out.reserve(images * 2 * s.latent);
        }
        let indices: Vec<u32> = (0..images as u32).collect();
        let (layout, params, work, gathered) = self.parts();
        let (mut bce, mut kl) = (0.0f64, 0.0f64);
        for (k, chunk) in indices.chunks(batch).enumerate() {
            gathered.gather(
                split.packed_images(),
                split.words_per_image(),
                s.input,
                chunk,
            );
            let key = base.wrapping_add(k as u32 + 1);
            for (element, eps) in work.eps[..chunk.len() * s.latent].iter_mut().enumerate() {
                *eps = standard_normal(seed, key, element as u32) as f32;
            }
            let sums = work.evaluate(layout, params, gathered);
            bce += sums.bce;
            kl += sums.kl;
            if let Some(out) = posteriors.as_deref_mut() {
                out.extend_from_slice(&work.heads[..chunk.len() * 2 * s.latent]);
            }
        }
        let n = images.max(1) as f64;
        Ok(Evaluation {
            neg_elbo: (bce + kl) / n,
            bce: bce / n,
            kl: kl / n,
            images,
        })
    }
}
