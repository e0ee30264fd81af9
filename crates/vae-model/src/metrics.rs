//! What training reports, and the rule both engines judge it by: where a run diverged.

/// Steps whose metrics an engine keeps between two reads.
pub const METRICS_RING: u32 = 256;

/// A step whose −ELBO exceeds this many times the first reported step's counts as diverged.
pub const BLOW_UP_FACTOR: f32 = 100.0;

/// Evaluation draws its noise with step keys from here on, never used by training steps, so an
/// evaluation neither repeats a training step's noise nor disturbs the training state.
pub const EVALUATION_STEP_BASE: u32 = 0x8000_0000;

/// How an evaluation of `images` images is batched: the training batch, or all the images when
/// they are fewer; returns the batch and how many batches that takes (the last may be partial).
pub fn evaluation_batching(images: usize, batch: u32) -> (usize, u32) {
    let batch = (batch as usize).min(images.max(1));
    (batch, images.div_ceil(batch) as u32)
}

/// Mean −ELBO, BCE and KL over a data set, in nats per image (one draw of ε per image).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    pub neg_elbo: f64,
    pub bce: f64,
    pub kl: f64,
    pub images: usize,
}

/// One step's batch means, in nats per image.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepMetrics {
    pub step: u64,
    /// −ELBO = BCE + KL.
    pub neg_elbo: f32,
    pub bce: f32,
    pub kl: f32,
}

/// What a metrics read found.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricsReport {
    /// The steps since the previous read (at most [`METRICS_RING`] of them), oldest first.
    pub steps: Vec<StepMetrics>,
    /// The first step whose loss was NaN or infinite, or over [`BLOW_UP_FACTOR`] times the first
    /// step's, if any ([`first_divergence`]): training diverged, and the engine's rollback
    /// restores the parameters of the last good read.
    pub diverged_at: Option<u64>,
}

/// Whether a metrics read also copies the parameters, moments and step aside as a point a
/// rollback may return to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshot {
    Take,
    /// The losses only: three copies of the model the size of its parameters are left out,
    /// for a page that reads its curve several times a second and needs a rollback point less
    /// often.
    Skip,
}

/// The first of `steps` whose loss is not finite or over [`BLOW_UP_FACTOR`] times the first
/// finite loss seen (`first_loss`): where training diverged. A loss far above the first one is a
/// blow-up: NaN follows within a few steps, and the parameters are already useless, so that read
/// must not become a rollback point. Both engines judge by this.
pub fn first_divergence(steps: &[StepMetrics], first_loss: Option<f32>) -> Option<u64> {
    let limit = first_loss.map_or(f32::INFINITY, |l| BLOW_UP_FACTOR * l.abs().max(1.0));
    steps
        .iter()
        .find(|m| {
            let finite = m.neg_elbo.is_finite() && m.bce.is_finite() && m.kl.is_finite();
            !finite || m.neg_elbo > limit
        })
        .map(|m| m.step)
}

/// The points a rollback may return to, kept by one rule on both engines. A metrics read may
/// take a snapshot of the model (parameters, moments, step); a step's loss judges the
/// parameters *before* its update, so a snapshot becomes the good point (what a rollback
/// restores) only once a later read shows the step after it was fine, and is dropped if
/// training diverged at that very step. `S` is what a snapshot is to an engine: a slot of
/// buffers on the GPU, copies in memory on the CPU.
#[derive(Clone, Debug)]
pub struct RollbackPoints<S> {
    good: (S, u64),
    /// A snapshot awaiting its confirmation, and its step.
    pending: Option<(S, u64)>,
    /// The first finite loss a read reported: the scale a blow-up is measured against.
    first_loss: Option<f32>,
}

/// What a read's steps said ([`RollbackPoints::judge`]).
#[derive(Clone, Debug)]
pub struct Judged<S> {
    pub report: MetricsReport,
    /// A snapshot no longer kept (the good one, replaced; or a pending one, dropped), for the
    /// engine to reuse.
    pub released: Option<S>,
}

impl<S> RollbackPoints<S> {
    /// `good` (the model at `step`, just made or loaded) is the point to return to.
    pub fn new(good: S, step: u64) -> Self {
        Self {
            good: (good, step),
            pending: None,
            first_loss: None,
        }
    }

    /// The snapshot a rollback restores.
    pub fn good(&self) -> &S {
        &self.good.0
    }

    /// The step a rollback returns to.
    pub fn good_step(&self) -> u64 {
        self.good.1
    }

    /// The snapshot awaiting confirmation, if any.
    pub fn pending(&self) -> Option<&S> {
        self.pending.as_ref().map(|(snapshot, _)| snapshot)
    }

    /// Judges the steps a read brought back (oldest first): where training diverged, if it did
    /// ([`first_divergence`]), and what that means for the pending point (confirmed by a fine
    /// step after it, kept waiting, or dropped).
    pub fn judge(&mut self, steps: Vec<StepMetrics>) -> Judged<S> {
        if self.first_loss.is_none() {
            self.first_loss = steps.iter().map(|m| m.neg_elbo).find(|l| l.is_finite());
        }
        let diverged_at = first_divergence(&steps, self.first_loss);
        let mut released = None;
        if let Some((snapshot, step)) = self.pending.take() {
            let confirmed = match diverged_at {
                None => steps.iter().any(|m| m.step == step + 1),
                Some(at) => at > step + 1,
            };
            if confirmed {
                released = Some(std::mem::replace(&mut self.good, (snapshot, step)).0);
            } else if diverged_at.is_none() {
                self.pending = Some((snapshot, step));
            } else {
                released = Some(snapshot);
            }
        }
        Judged {
            report: MetricsReport { steps, diverged_at },
            released,
        }
    }

    /// Whether a snapshot of the model at `step` is newer than every point kept (offer it only
    /// after a read that found no divergence).
    pub fn wants(&self, step: u64) -> bool {
        step > self
            .pending
            .as_ref()
            .map_or(self.good.1, |&(_, pending)| pending)
    }

    /// Keeps a snapshot taken at `step` as the point awaiting confirmation; returns the one it
    /// replaces.
    pub fn offer(&mut self, snapshot: S, step: u64) -> Option<S> {
        self.pending
            .replace((snapshot, step))
            .map(|(snapshot, _)| snapshot)
    }

    /// The model as it is now (`good`, at `step`) becomes the point to return to, as after
    /// loading a checkpoint; a pending point is dropped.
    pub fn reset(&mut self, good: S, step: u64) {
        self.good = (good, step);
        self.pending = None;
    }

    /// Drops the pending point (a rollback returns to the good one): returned for reuse.
    pub fn take_pending(&mut self) -> Option<S> {
        self.pending.take().map(|(snapshot, _)| snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(step: u64, neg_elbo: f32) -> StepMetrics {
        StepMetrics {
            step,
            neg_elbo,
            bce: neg_elbo,
            kl: 0.0,
        }
    }

    #[test]
    fn a_snapshot_is_good_once_the_step_after_it_was_fine_and_dropped_if_that_step_diverged() {
        let mut points = RollbackPoints::new("initial", 0);
        let judged = points.judge(vec![step(1, 500.0), step(2, 400.0)]);
        assert_eq!(judged.report.diverged_at, None);
        assert!(points.wants(2) && !points.wants(0));
        assert_eq!(points.offer("at 2", 2), None);
        // The read after: step 3 ran on step 2's parameters, fine: confirmed.
        let judged = points.judge(vec![step(3, 300.0)]);
        assert_eq!(judged.released, Some("initial"));
        assert_eq!((*points.good(), points.good_step()), ("at 2", 2));
        points.offer("at 3", 3);
        // Step 4 (on step 3's parameters) is NaN: that snapshot is dropped, step 2's stays.
        let judged = points.judge(vec![step(4, f32::NAN), step(5, f32::NAN)]);
        assert_eq!(judged.report.diverged_at, Some(4));
        assert_eq!(judged.released, Some("at 3"));
        assert_eq!((*points.good(), points.good_step()), ("at 2", 2));
        // A blow-up past 100 times the first loss counts as divergence too; a snapshot whose
        // next step was still fine is confirmed before it.
        points.offer("at 5", 5);
        let judged = points.judge(vec![step(6, 450.0), step(7, 60_000.0)]);
        assert_eq!(judged.report.diverged_at, Some(7));
        assert_eq!(points.good_step(), 5);
        points.offer("at 7", 7);
        assert_eq!(points.take_pending(), Some("at 7"));
        points.reset("loaded", 9);
        assert_eq!((points.good_step(), points.pending()), (9, None));
    }
}
