//! Using the model on the CPU: encode, decode, reconstruct, and the −ELBO of a data set, with the
//! GPU engine's noise keys, so both engines report the same evaluation for the same parameters.

use mnist_shard::draw::EVALUATION_EPOCH;
use mnist_shard::Split;
use vae_model::{evaluation_batching, Evaluation, EVALUATION_STEP_BASE};
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
        posteriors: Option<&mut Vec<f32>>,
    ) -> Result<Evaluation, CpuError> {
        let mut run = self.begin_evaluation(split, draw, posteriors.is_some())?;
        self.evaluate_batches(&mut run, split, u32::MAX)?;
        let (evaluation, kept) = run.finish();
        if let Some(out) = posteriors {
            *out = kept;
        }
        Ok(evaluation)
    }

    /// An evaluation of `split` to run a few batches at a time ([`CpuVae::evaluate_batches`]),
    /// so a worker hosting the model can answer other requests between them. The same batches
    /// and noise keys as [`CpuVae::evaluate_draw`].
    pub fn begin_evaluation(
        &self,
        split: &Split<'_>,
        draw: u32,
        keep_posteriors: bool,
    ) -> Result<EvaluationRun, CpuError> {
        let s = self.config.sizes;
        self.config.check_shape(vae_model::ImageShape::of(split))?;
        let images = split.len();
        let (batch, batches) = evaluation_batching(images, self.config.batch);
        Ok(EvaluationRun {
            base: EVALUATION_STEP_BASE.wrapping_add(draw.wrapping_mul(batches)),
            batch,
            batches,
            next: 0,
            images,
            bce: 0.0,
            kl: 0.0,
            posteriors: keep_posteriors.then(|| Vec::with_capacity(images * 2 * s.latent)),
        })
    }

    /// Runs up to `n` more batches of `run` (over the split it began with); returns how many
    /// are left.
    pub fn evaluate_batches(
        &mut self,
        run: &mut EvaluationRun,
        split: &Split<'_>,
        n: u32,
    ) -> Result<u32, CpuError> {
        let s = self.config.sizes;
        if split.len() != run.images || split.values_per_image() != s.input {
            return Err(CpuError::InvalidInput(
                "the evaluation was begun on another data set".into(),
            ));
        }
        let seed = self.config.seed;
        let (layout, params, work, gathered) = self.parts();
        let mut indices = Vec::with_capacity(run.batch);
        let last = run.next.saturating_add(n).min(run.batches);
        for k in run.next..last {
            let first = k as usize * run.batch;
            indices.clear();
            indices.extend(first as u32..(first + run.batch).min(run.images) as u32);
            gathered.gather(split, &indices, EVALUATION_EPOCH);
            let key = run.base.wrapping_add(k + 1);
            for (element, eps) in work.eps[..indices.len() * s.latent].iter_mut().enumerate() {
                *eps = standard_normal(seed, key, element as u32) as f32;
            }
            let sums = work.evaluate(layout, params, gathered);
            run.bce += sums.bce;
            run.kl += sums.kl;
            if let Some(out) = run.posteriors.as_mut() {
                out.extend_from_slice(&work.heads[..indices.len() * 2 * s.latent]);
            }
        }
        run.next = last;
        Ok(run.remaining())
    }
}

/// An evaluation under way: where it is and what it has summed.
#[derive(Clone, Debug)]
pub struct EvaluationRun {
    base: u32,
    batch: usize,
    batches: u32,
    next: u32,
    images: usize,
    bce: f64,
    kl: f64,
    posteriors: Option<Vec<f32>>,
}

impl EvaluationRun {
    /// Batches not yet run.
    pub fn remaining(&self) -> u32 {
        self.batches - self.next
    }

    /// The −ELBO over the batches run (all of them, once none remain), and every image's
    /// `[mean | logvar]` if they were kept (empty if not).
    pub fn finish(self) -> (Evaluation, Vec<f32>) {
        let n = self.images.max(1) as f64;
        let evaluation = Evaluation {
            neg_elbo: (self.bce + self.kl) / n,
            bce: self.bce / n,
            kl: self.kl / n,
            images: self.images,
        };
        (evaluation, self.posteriors.unwrap_or_default())
    }
}
