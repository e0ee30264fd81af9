//! Steps shared between engines: each of `count` engines (one per Web Worker, say) holds the
//! same model and data, takes its share of every batch's images, computes that share's gradient
//! of the whole batch's mean loss, and the gradients are summed. Every engine then applies the
//! same sum, added in the same order, with the same Adam, so they stay identical bit for bit,
//! and the run is the whole-batch run up to the order of the gradient's sums.

use std::ops::Range;

use vae_model::{epoch_order, BatchCursor};

use crate::step::Sums;
use crate::{CpuError, CpuVae};

/// Which share of every batch an engine trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub index: u32,
    pub count: u32,
}

impl Share {
    /// The whole batch: no sharing.
    pub const WHOLE: Share = Share { index: 0, count: 1 };

    /// The images of a batch of `batch` this share trains on (shares differ by one at most).
    pub fn rows(&self, batch: usize) -> Range<usize> {
        let (index, count) = (self.index as usize, self.count as usize);
        batch * index / count..batch * (index + 1) / count
    }

    /// Whether every share of a batch of `batch` gets at least one image.
    pub fn check(&self, batch: u32) -> Result<(), CpuError> {
        if self.count == 0 || self.index >= self.count || self.count > batch {
            return Err(CpuError::InvalidInput(format!(
                "share {} of {} is not a share of a batch of {batch}",
                self.index, self.count
            )));
        }
        Ok(())
    }
}

/// One engine's part of a shared step: its batch sums (its gradient is
/// [`CpuVae::share_gradients`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepShare {
    /// The step this share belongs to (the engine's step + 1).
    pub step: u64,
    pub share: Share,
    pub bce: f64,
    pub kl: f64,
}

impl CpuVae {
    /// Moves to the next batch and computes this share's gradient; the step is finished by
    /// [`CpuVae::finish_shared_step`] with the other shares, or abandoned.
    pub fn begin_shared_step(&mut self, share: Share) -> Result<StepShare, CpuError> {
        share.check(self.config.batch)?;
        self.check_none_under_way()?;
        let before = self.position();
        let rows = share.rows(self.config.batch as usize);
        self.gather_next_batch(rows.clone())?;
        Ok(self.share_of_step(share, rows.start, before))
    }

    /// The gradient on `self.batch` (the share's images, the first being `first_row` of the
    /// step's batch), with the step now under way from `position`.
    fn share_of_step(
        &mut self,
        share: Share,
        first_row: usize,
        position: BatchCursor,
    ) -> StepShare {
        self.shared_from = Some(position);
        let Sums { bce, kl } = self.gradients_on_batch(first_row);
        StepShare {
            step: self.step + 1,
            share,
            bce,
            kl,
        }
    }

    /// [`CpuVae::begin_shared_step`] on the given batch (`[batch, input]`, 0/1 pixels) instead
    /// of the training data's next: for timing shared steps without data.
    pub fn begin_shared_step_on(&mut self, share: Share, x: &[f32]) -> Result<StepShare, CpuError> {
        share.check(self.config.batch)?;
        let (batch, input) = (self.config.batch as usize, self.config.sizes.input);
        if x.len() != batch * input {
            return Err(CpuError::InvalidInput(format!(
                "{} values given, a batch is {}",
                x.len(),
                batch * input
            )));
        }
        self.check_none_under_way()?;
        let rows = share.rows(batch);
        self.batch
            .from_values(&x[rows.start * input..rows.end * input], input);
        Ok(self.share_of_step(share, rows.start, self.position()))
    }

    fn check_none_under_way(&self) -> Result<(), CpuError> {
        match self.shared_from {
            Some(_) => Err(CpuError::InvalidInput(
                "a shared step is already under way".into(),
            )),
            None => Ok(()),
        }
    }

    /// This engine's share of the gradient under way (the engine's layout).
    pub fn share_gradients(&self) -> &[f32] {
        &self.grads
    }

    /// Sums `own` and `others` (one each of the other shares, with its gradient) in the
    /// shares' order and takes the step. Shares that do not fit together are refused and the
    /// step stays under way.
    pub fn finish_shared_step(
        &mut self,
        own: StepShare,
        others: &[(StepShare, &[f32])],
    ) -> Result<(), CpuError> {
        let count = own.share.count as usize;
        let mut parts: Vec<(StepShare, Option<&[f32]>)> = Vec::with_capacity(count);
        parts.push((own, None));
        parts.extend(others.iter().map(|(share, grads)| (*share, Some(*grads))));
        parts.sort_by_key(|(share, _)| share.share.index);
        let fits = self.shared_from.is_some()
            && own.step == self.step + 1
            && parts.len() == count
            && parts.iter().enumerate().all(|(i, (share, grads))| {
                share.step == own.step
                    && share.share
                        == Share {
                            index: i as u32,
                            count: own.share.count,
                        }
                    && grads.is_none_or(|g| g.len() == self.grads.len())
            });
        if !fits {
            return Err(CpuError::InvalidInput(format!(
                "the shares of step {} do not fit together (steps {:?}, shares {:?})",
                own.step,
                parts.iter().map(|(s, _)| s.step).collect::<Vec<_>>(),
                parts.iter().map(|(s, _)| s.share).collect::<Vec<_>>(),
            )));
        }
        // The same additions in the same order on every engine: (g₀ + g₁) + g₂ + …
        let own_grads = std::mem::take(&mut self.grads);
        let part = |i: usize| parts[i].1.unwrap_or(&own_grads);
        let mut total = std::mem::take(&mut self.combined);
        total.resize(own_grads.len(), 0.0);
        let second = if count > 1 { part(1) } else { &[][..] };
        if count > 1 {
            for ((t, a), b) in total.iter_mut().zip(part(0)).zip(second) {
                *t = a + b;
            }
        } else {
            total.copy_from_slice(part(0));
        }
        for i in 2..count {
            for (t, g) in total.iter_mut().zip(part(i)) {
                *t += g;
            }
        }
        let mut sums = Sums::default();
        for (share, _) in &parts {
            sums.bce += share.bce;
            sums.kl += share.kl;
        }
        self.grads = total;
        self.combined = own_grads;
        self.shared_from = None;
        self.apply_step(sums);
        Ok(())
    }

    /// Gives up the step under way (another share failed): the batch position goes back, so
    /// the next step takes the same batch.
    pub fn abandon_shared_step(&mut self) {
        let Some(before) = self.shared_from.take() else {
            return;
        };
        let seed = self.config.seed;
        if let Some(data) = self.data.as_mut() {
            if data.cursor.epoch != before.epoch && before.epoch > 0 {
                data.order = epoch_order(seed, before.epoch, data.count);
            }
            data.cursor = before;
        }
    }
}
