//! The worker's side: a [`CpuVae`] and its data, answering one [`Request`] at a time. Nothing
//! here knows about JavaScript, so it is tested natively.

use mnist_shard::{OwnedSplit, Shard};
use vae_cpu::{CpuError, CpuVae, EvaluationRun, Share, StepShare};

use crate::protocol::{
    calibration_batch, Floats, Reply, Request, Settings, Source, Standing, StepMetricsMessage,
};

/// The shard's name in messages about it.
const SHARD_NAME: &str = "mnist.shard";

#[derive(Default)]
pub struct Host {
    vae: Option<CpuVae>,
    train: Option<OwnedSplit>,
    test: Option<OwnedSplit>,
    evaluation: Option<EvaluationRun>,
    /// The last complete evaluation's means and log-variances, `[images, latent]` each.
    posteriors: Option<(Vec<f32>, Vec<f32>)>,
    /// The share of every batch this worker trains ([`Request::Share`]); none: all of it.
    share: Option<Share>,
    /// While shared steps are timed: the batch they run on, and the model set aside meanwhile.
    calibration: Option<(Vec<f32>, Option<CpuVae>)>,
}

fn failed(error: CpuError) -> Reply {
    Reply::Failed(error.to_string())
}

impl Host {
    /// Answers `request`; a failure leaves the model as it was.
    pub fn handle(&mut self, request: Request, now_ms: &dyn Fn() -> f64) -> Reply {
        self.answer(request, now_ms).unwrap_or_else(failed)
    }

    /// This worker's share of the batches, when training is shared and the open model's batch
    /// can be split (a batch of one cannot: then every worker takes whole steps, which keeps
    /// them just as identical).
    pub fn shared(&self) -> Option<Share> {
        let share = self.share?;
        match &self.vae {
            Some(vae) => share.check(vae.config().batch).ok().map(|_| share),
            // Training without a model fails, and the other worker must hear of it.
            None => Some(share),
        }
    }

    /// This worker's share of the next step ([`CpuVae::begin_shared_step`]); its gradient is
    /// [`Host::share_gradients`].
    pub fn begin_shared_step(&mut self) -> Result<StepShare, CpuError> {
        let share = self
            .shared()
            .ok_or_else(|| CpuError::InvalidInput("this worker's training is not shared".into()))?;
        let vae = self
            .vae
            .as_mut()
            .ok_or_else(|| CpuError::InvalidInput("no model is open in the CPU worker".into()))?;
        match &self.calibration {
            Some((x, _)) => vae.begin_shared_step_on(share, x),
            None => vae.begin_shared_step(share),
        }
    }

    /// Sets the model aside for a fresh default one that shared steps on
    /// [`calibration_batch`] time, until [`Host::end_calibration`].
    pub fn begin_calibration(&mut self) -> Result<(), CpuError> {
        let config = vae_model::VaeConfig::default();
        let fresh = CpuVae::new(config)?;
        let x = calibration_batch(config.batch as usize, config.sizes.input);
        if self.calibration.is_none() {
            let aside = self.vae.replace(fresh);
            self.calibration = Some((x, aside));
        }
        Ok(())
    }

    /// Puts the model back after a calibration.
    pub fn end_calibration(&mut self) {
        if let Some((_, aside)) = self.calibration.take() {
            self.vae = aside;
        }
    }

    /// The open model's step (0 with none).
    pub fn share_step(&self) -> u64 {
        self.vae.as_ref().map_or(0, |vae| vae.step())
    }

    pub fn share_gradients(&self) -> &[f32] {
        self.vae.as_ref().map_or(&[], |vae| vae.share_gradients())
    }

    /// Takes the step with the other worker's share; on a mismatch the step is given up.
    pub fn finish_shared_step(
        &mut self,
        own: StepShare,
        other: StepShare,
        gradients: &[f32],
    ) -> Result<u64, CpuError> {
        let vae = self.vae()?;
        let finished = vae.finish_shared_step(own, &[(other, gradients)]);
        if finished.is_err() {
            vae.abandon_shared_step();
        }
        finished.map(|()| vae.step())
    }

    pub fn abandon_shared_step(&mut self) {
        if let Some(vae) = self.vae.as_mut() {
            vae.abandon_shared_step();
        }
    }

    fn vae(&mut self) -> Result<&mut CpuVae, CpuError> {
        self.vae
            .as_mut()
            .ok_or_else(|| CpuError::InvalidInput("no model is open in the CPU worker".into()))
    }

    fn answer(&mut self, request: Request, now_ms: &dyn Fn() -> f64) -> Result<Reply, CpuError> {
        Ok(match request {
            Request::Open(source) => {
                let mut vae = match source {
                    Source::Fresh(settings) => CpuVae::new(settings.into())?,
                    Source::Checkpoint {
                        bytes,
                        settings: Some(settings),
                    } => CpuVae::load_state_dict_as(&bytes, settings.into())?,
                    Source::Checkpoint { bytes, .. } => CpuVae::load(&bytes)?,
                };
                if let Some(train) = &self.train {
                    vae.set_training_data(&train.split())?;
                }
                let cursor = vae.position();
                let standing = Standing {
                    settings: Settings::from(vae.config()),
                    step: vae.step(),
                    epoch: cursor.epoch,
                    position: cursor.position,
                };
                // Only a whole new model replaces the old one.
                self.vae = Some(vae);
                self.evaluation = None;
                self.posteriors = None;
                Reply::Opened(standing)
            }
            Request::SetData { shard } => {
                let parsed = Shard::parse(&shard, SHARD_NAME)
                    .map_err(|e| CpuError::InvalidInput(e.to_string()))?;
                let (train, test) = (
                    parsed.train().to_owned_split(),
                    parsed.test().to_owned_split(),
                );
                if let Some(vae) = self.vae.as_mut() {
                    vae.set_training_data(&train.split())?;
                }
                let batch = self.vae.as_ref().map_or(1, |v| v.config().batch as usize);
                let reply = Reply::DataSet {
                    train_images: train.split().len(),
                    test_images: test.split().len(),
                    evaluation_batches: test
                        .split()
                        .len()
                        .div_ceil(batch.min(test.split().len().max(1)))
                        as u32,
                };
                self.train = Some(train);
                self.test = Some(test);
                reply
            }
            Request::Train { steps } => {
                let started = now_ms();
                let vae = self.vae()?;
                vae.train_steps(steps)?;
                Reply::Trained {
                    step: vae.step(),
                    ms: now_ms() - started,
                }
            }
            Request::Metrics { snapshot } => {
                let vae = self.vae()?;
                let snapshot = if snapshot {
                    vae_model::Snapshot::Take
                } else {
                    vae_model::Snapshot::Skip
                };
                let report = vae.metrics_with(snapshot);
                Reply::Metrics {
                    steps: report
                        .steps
                        .iter()
                        .map(|m| StepMetricsMessage {
                            step: m.step,
                            neg_elbo: m.neg_elbo,
                            bce: m.bce,
                            kl: m.kl,
                        })
                        .collect(),
                    diverged_at: report.diverged_at,
                    rollback_to: vae.rollback_step(),
                }
            }
            Request::Rollback => {
                let vae = self.vae()?;
                vae.rollback();
                let step = vae.step();
                self.evaluation = None;
                Reply::RolledBack { step }
            }
            Request::Evaluate { batches } => {
                let Host {
                    vae,
                    test,
                    evaluation,
                    ..
                } = self;
                let vae = vae.as_mut().ok_or_else(|| {
                    CpuError::InvalidInput("no model is open in the CPU worker".into())
                })?;
                let test = test.as_ref().ok_or_else(|| {
                    CpuError::InvalidInput("the CPU worker has no test data".into())
                })?;
                let mut run = match evaluation.take() {
                    Some(run) => run,
                    None => vae.begin_evaluation(&test.split(), 0, true)?,
                };
                let remaining = vae.evaluate_batches(&mut run, &test.split(), batches)?;
                *evaluation = Some(run);
                Reply::Evaluated { remaining }
            }
            Request::FinishEvaluation => {
                let run = self
                    .evaluation
                    .take()
                    .ok_or_else(|| CpuError::InvalidInput("no evaluation is under way".into()))?;
                if run.remaining() > 0 {
                    let remaining = run.remaining();
                    self.evaluation = Some(run);
                    return Err(CpuError::InvalidInput(format!(
                        "{remaining} of the evaluation's batches have not run yet"
                    )));
                }
                let latent = self.vae()?.config().sizes.latent;
                let (evaluation, rows) = run.finish();
                let mut means = Vec::with_capacity(rows.len() / 2);
                let mut logvars = Vec::with_capacity(rows.len() / 2);
                for row in rows.chunks_exact(2 * latent) {
                    means.extend_from_slice(&row[..latent]);
                    logvars.extend_from_slice(&row[latent..]);
                }
                self.posteriors = Some((means, logvars));
                Reply::evaluation(&evaluation)
            }
            Request::CancelEvaluation => {
                self.evaluation = None;
                Reply::Done
            }
            Request::Posteriors => {
                let (means, logvars) = self.posteriors.as_ref().ok_or_else(|| {
                    CpuError::InvalidInput(
                        "the posteriors are read after a complete evaluation".into(),
                    )
                })?;
                Reply::Posteriors {
                    means: Floats::from_slice(means),
                    logvars: Floats::from_slice(logvars),
                }
            }
            Request::Decode { z } => {
                Reply::Images(Floats::from_slice(&self.vae()?.decode(&z.to_vec())?))
            }
            Request::Encode { x } => {
                let (mean, logvar) = self.vae()?.encode(&x.to_vec())?;
                Reply::Posterior {
                    mean: Floats::from_slice(&mean),
                    logvar: Floats::from_slice(&logvar),
                }
            }
            Request::Reconstruct { x } => {
                Reply::Images(Floats::from_slice(&self.vae()?.reconstruct(&x.to_vec())?))
            }
            Request::EncodeAndReconstruct { x } => {
                let x = x.to_vec();
                let vae = self.vae()?;
                let (mean, _) = vae.encode(&x)?;
                // A reconstruction is the decode at the posterior mean: no second encoder pass.
                let image = vae.decode(&mean)?;
                Reply::EncodedAndReconstructed {
                    mean: Floats::from_slice(&mean),
                    image: Floats::from_slice(&image),
                }
            }
            Request::Save => Reply::Saved(self.vae()?.save()?),
            Request::Share { index, count } => {
                let share = Share { index, count };
                if count > 2 || share.check(u32::MAX).is_err() {
                    return Err(CpuError::InvalidInput(format!(
                        "share {index} of {count}: training is shared by two workers at most"
                    )));
                }
                self.share = (count > 1).then_some(share);
                Reply::Done
            }
            Request::Calibrate { steps } => {
                let config = vae_model::VaeConfig::default();
                let mut vae = CpuVae::new(config)?;
                let x = calibration_batch(config.batch as usize, config.sizes.input);
                vae.train_step_on(&x)?;
                let started = now_ms();
                for _ in 0..steps.max(1) {
                    vae.train_step_on(&x)?;
                }
                Reply::Calibrated {
                    ms_per_step: (now_ms() - started) / f64::from(steps.max(1)),
                }
            }
        })
    }
}
