//! [`CpuVae`]: the model, its optimiser and its training data in memory, trained a step at a
//! time with the GPU engine's semantics (batches, noise, metrics, divergence, rollback), so
//! either engine can continue the other's run.

use mnist_shard::{OwnedSplit, Split};
use vae_model::{
    epoch_order, BatchCursor, MetricsReport, RollbackPoints, Snapshot, StepMetrics, VaeConfig,
    METRICS_RING,
};
use vae_reference::noise::standard_normal;
use vae_reference::{init_params, Layout};

use crate::math::adam;
use crate::params::CpuLayout;
use crate::step::{Batch, Sums, Workspace};
use crate::CpuError;

/// Bit-packed training images and where the current epoch stands.
pub(crate) struct TrainingData {
    images: OwnedSplit,
    pub(crate) count: usize,
    /// The current epoch's order (empty before the first).
    pub(crate) order: Vec<u32>,
    pub(crate) cursor: BatchCursor,
}

/// Parameters and moments, kept aside as a point to roll back to (its step is kept beside it,
/// by [`RollbackPoints`]).
#[derive(Clone, Default)]
struct Saved {
    params: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

/// The model, its optimiser and its training data, on the CPU.
pub struct CpuVae {
    pub(crate) config: VaeConfig,
    pub(crate) layout: CpuLayout,
    pub(crate) params: Vec<f32>,
    pub(crate) grads: Vec<f32>,
    pub(crate) m: Vec<f32>,
    pub(crate) v: Vec<f32>,
    pub(crate) step: u64,
    work: Workspace,
    pub(crate) batch: Batch,
    indices: Vec<u32>,
    pub(crate) data: Option<TrainingData>,
    /// The position before a shared step under way ([`crate::share`]), to go back to if it is
    /// abandoned.
    pub(crate) shared_from: Option<BatchCursor>,
    /// The summed gradient's vector, swapped with `grads` at each shared step.
    pub(crate) combined: Vec<f32>,
    /// Where a loaded checkpoint stopped in the data, applied when data is set.
    pub(crate) resume: Option<BatchCursor>,
    /// The steps since the last metrics read, oldest first (the newest METRICS_RING kept).
    unread: std::collections::VecDeque<StepMetrics>,
    /// The last snapshot known good, and one taken at a read that a later step must confirm
    /// (the model's rule for rollback points).
    points: RollbackPoints<Saved>,
    /// A spare snapshot's vectors, reused so a read allocates nothing.
    spare: Option<Saved>,
}

impl CpuVae {
    /// A freshly initialised model: the same parameters as the GPU engine's for the same seed.
    pub fn new(config: VaeConfig) -> Result<Self, CpuError> {
        let packed = Layout::new(config.sizes);
        let initial = init_params(&packed, config.seed);
        let layout = CpuLayout::new(config.sizes);
        let params = layout.from_reference(&packed, &initial);
        Self::with_parameters(config, params)
    }

    /// A model with parameters in this engine's layout ([`CpuVae::cpu_layout`]).
    pub fn with_parameters(config: VaeConfig, params: Vec<f32>) -> Result<Self, CpuError> {
        config.validate_settings()?;
        let layout = CpuLayout::new(config.sizes);
        if params.len() != layout.len() {
            return Err(CpuError::InvalidInput(format!(
                "{} parameters given, the model has {}",
                params.len(),
                layout.len()
            )));
        }
        let len = layout.len();
        let work = Workspace::with_samples(
            &layout,
            config.batch as usize,
            config.importance_samples as usize,
        );
        let good = Saved {
            params: params.clone(),
            m: vec![0.0; len],
            v: vec![0.0; len],
        };
        Ok(Self {
            config,
            grads: vec![0.0; len],
            m: vec![0.0; len],
            v: vec![0.0; len],
            params,
            layout,
            step: 0,
            work,
            batch: Batch::default(),
            indices: Vec::with_capacity(config.batch as usize),
            data: None,
            shared_from: None,
            combined: Vec::new(),
            resume: None,
            unread: std::collections::VecDeque::with_capacity(METRICS_RING as usize),
            points: RollbackPoints::new(good, 0),
            spare: None,
        })
    }

    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Where each block lives in this engine's flat vectors.
    pub fn cpu_layout(&self) -> &CpuLayout {
        &self.layout
    }

    /// Steps taken so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The parameters in `layout` (PyTorch's shapes; the GPU engine's layout or a packed one).
    pub fn parameters_in(&self, layout: &Layout) -> Vec<f32> {
        self.layout.to_reference(layout, &self.params)
    }

    /// The last step's gradients in `layout`.
    pub fn gradients_in(&self, layout: &Layout) -> Vec<f32> {
        self.layout.to_reference(layout, &self.grads)
    }

    /// Adam's moments in `layout`.
    pub fn moments_in(&self, layout: &Layout) -> (Vec<f32>, Vec<f32>) {
        (
            self.layout.to_reference(layout, &self.m),
            self.layout.to_reference(layout, &self.v),
        )
    }

    /// Keeps a copy of the training images; epochs then shuffle them by the seed, exactly as
    /// the GPU engine does.
    pub fn set_training_data(&mut self, split: &Split<'_>) -> Result<(), CpuError> {
        self.config.check_training_data(split)?;
        let cursor = self.resume.take().unwrap_or_default();
        let order = if cursor.is_mid_epoch() {
            epoch_order(self.config.seed, cursor.epoch, split.len())
        } else {
            Vec::new()
        };
        self.data = Some(TrainingData {
            images: split.to_owned_split(),
            count: split.len(),
            order,
            cursor,
        });
        Ok(())
    }

    /// Full batches per epoch (an epoch's remainder is left out, as in the Flax example).
    pub fn steps_per_epoch(&self) -> Option<u64> {
        let data = self.data.as_ref()?;
        Some(data.count as u64 / u64::from(self.config.batch))
    }

    /// The epoch the next step belongs to (1 for the first), and how far into it.
    pub fn epoch_progress(&self) -> Option<(u64, u64)> {
        let data = self.data.as_ref()?;
        Some(
            data.cursor
                .progress(self.config.batch, self.steps_per_epoch()?),
        )
    }

    /// Where training stands in the data, as a checkpoint records it.
    pub fn position(&self) -> BatchCursor {
        match (&self.data, self.resume) {
            (Some(data), _) => data.cursor,
            (None, Some(resume)) => resume,
            (None, None) => BatchCursor::START,
        }
    }

    /// `n` training steps on the next batches of the training data.
    pub fn train_steps(&mut self, n: u32) -> Result<(), CpuError> {
        // A whole step after an unfinished shared one takes the batch that one would have.
        self.abandon_shared_step();
        for _ in 0..n {
            self.gather_next_batch(0..self.config.batch as usize)?;
            self.step_on_batch();
        }
        Ok(())
    }

    /// Moves to the next batch of the training data (the seeded epoch order) and gathers the
    /// images at `rows` of it into `self.batch`: all of them for a whole step, one worker's
    /// share for a shared one.
    pub(crate) fn gather_next_batch(
        &mut self,
        rows: std::ops::Range<usize>,
    ) -> Result<(), CpuError> {
        let batch = self.config.batch;
        let seed = self.config.seed;
        let data = self.data.as_mut().ok_or_else(|| {
            CpuError::InvalidInput("no training data: call set_training_data first".into())
        })?;
        let (first, new_epoch) = data.cursor.advance(batch, data.count);
        if new_epoch {
            data.order = epoch_order(seed, data.cursor.epoch, data.count);
        }
        let first = first as usize;
        self.indices.clear();
        self.indices
            .extend_from_slice(&data.order[first + rows.start..first + rows.end]);
        // Drawn levels are drawn afresh each epoch (the GPU's gather draws the same bits).
        self.batch.gather(
            &data.images.split(),
            &self.indices,
            data.cursor.epoch as u32,
        );
        Ok(())
    }

    /// One training step on the given images (`[batch, input]`, 0/1 pixels) instead of the next
    /// batch of the training data: for checks against other implementations (PyTorch).
    pub fn train_step_on(&mut self, x: &[f32]) -> Result<(), CpuError> {
        let expected = self.config.batch as usize * self.config.sizes.input;
        if x.len() != expected {
            return Err(CpuError::InvalidInput(format!(
                "{} values given, a batch is {expected}",
                x.len()
            )));
        }
        self.batch.from_values(x, self.config.sizes.input);
        self.step_on_batch();
        Ok(())
    }

    /// Forward, backward and Adam on `self.batch`, with the GPU engine's noise for the step.
    fn step_on_batch(&mut self) {
        let sums = self.gradients_on_batch(0);
        self.apply_step(sums);
    }

    /// The gradient on `self.batch`, whose first image is image `first_row` of the step's batch
    /// (so it gets that image's noise), into `self.grads`: scaled for the mean over the whole
    /// batch.
    pub(crate) fn gradients_on_batch(&mut self, first_row: usize) -> Sums {
        let t = self.step + 1;
        let samples = self.config.importance_samples as usize;
        // K draws per image, image after image: at K = 1 the VAE's ε, as the GPU draws it.
        let draws = self.batch.rows * samples;
        let latent = self.config.sizes.latent;
        let first = first_row * samples * latent;
        for (element, eps) in self.work.eps[..draws * latent].iter_mut().enumerate() {
            *eps = standard_normal(self.config.seed, t as u32, (first + element) as u32) as f32;
        }
        let images_in_mean = self.config.batch as usize;
        if self.config.is_iwae() {
            return self.work.train_iwae(
                &self.layout,
                &self.params,
                &self.batch,
                (samples, images_in_mean),
                &mut self.grads,
            );
        }
        self.work.train(
            &self.layout,
            &self.params,
            &self.batch,
            (self.config.kl_weight as f32, images_in_mean),
            &mut self.grads,
        )
    }

    /// Adam with `self.grads`, and the step's metrics from the whole batch's sums.
    pub(crate) fn apply_step(&mut self, sums: Sums) {
        let t = self.step + 1;
        let rows = self.config.batch as usize;
        adam(
            &self.config.adam,
            t,
            &mut self.params,
            &self.grads,
            &mut self.m,
            &mut self.v,
        );
        self.step = t;
        let per_image = |sum: f64| (sum / rows as f64) as f32;
        if self.unread.len() == METRICS_RING as usize {
            self.unread.pop_front();
        }
        self.unread.push_back(StepMetrics {
            step: t,
            neg_elbo: per_image(sums.bce + sums.kl),
            bce: per_image(sums.bce),
            kl: per_image(sums.kl),
        });
    }

    /// The metrics of the steps since the last read, and whether any diverged; the state now
    /// becomes a point [`CpuVae::rollback`] may return to once a later step confirms it.
    pub fn metrics(&mut self) -> MetricsReport {
        self.metrics_with(Snapshot::Take)
    }

    /// [`CpuVae::metrics`], with or without keeping the state as a rollback point. The rules
    /// are the model's ([`RollbackPoints`]), as on the GPU: a step's loss judges the parameters
    /// before its update, so a snapshot becomes good only when a step after it was fine.
    pub fn metrics_with(&mut self, snapshot: Snapshot) -> MetricsReport {
        let steps: Vec<StepMetrics> = self.unread.drain(..).collect();
        let judged = self.points.judge(steps);
        if let Some(released) = judged.released {
            self.spare = Some(released);
        }
        if judged.report.diverged_at.is_none()
            && snapshot == Snapshot::Take
            && self.points.wants(self.step)
        {
            let mut saved = self.spare.take().unwrap_or_default();
            for (copy, live) in [
                (&mut saved.params, &self.params),
                (&mut saved.m, &self.m),
                (&mut saved.v, &self.v),
            ] {
                copy.clear();
                copy.extend_from_slice(live);
            }
            if let Some(replaced) = self.points.offer(saved, self.step) {
                self.spare = Some(replaced);
            }
        }
        judged.report
    }

    /// The step [`CpuVae::rollback`] would return to now.
    pub fn rollback_step(&self) -> u64 {
        self.points.good_step()
    }

    /// Restores the parameters, Adam moments and step of the last snapshot known good (or the
    /// initial ones). After a divergence, training can go on from there.
    pub fn rollback(&mut self) {
        self.abandon_shared_step();
        let good = self.points.good();
        self.params.copy_from_slice(&good.params);
        self.m.copy_from_slice(&good.m);
        self.v.copy_from_slice(&good.v);
        self.step = self.points.good_step();
        self.unread.clear();
        if let Some(pending) = self.points.take_pending() {
            self.spare = Some(pending);
        }
    }

    /// Makes the current state the one a rollback returns to (after loading a checkpoint).
    pub(crate) fn mark_good(&mut self) {
        let good = Saved {
            params: self.params.clone(),
            m: self.m.clone(),
            v: self.v.clone(),
        };
        self.points.reset(good, self.step);
    }

    pub(crate) fn parts(&mut self) -> (&CpuLayout, &[f32], &mut Workspace, &mut Batch) {
        (&self.layout, &self.params, &mut self.work, &mut self.batch)
    }
}
