//! The worker's side: a [`CpuVae`] and its data, answering one [`Request`] at a time. Nothing
//! here knows about JavaScript, so it is tested natively.

use mnist_shard::{OwnedSplit, Shard};
use vae_cpu::{CpuError, CpuVae, EvaluationRun};

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
}

fn failed(error: CpuError) -> Reply {
    Reply::Failed(error.to_string())
}

impl Host {
    /// Answers `request`; a failure leaves the model as it was.
    pub fn handle(&mut self, request: Request, now_ms: &dyn Fn() -> f64) -> Reply {
        self.answer(request, now_ms).unwrap_or_else(failed)
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
                let (epoch, position) = vae.position();
                let standing = Standing {
                    settings: Settings::from(vae.config()),
                    step: vae.step(),
                    epoch,
                    position,
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
                    vae_gpu::vae::Snapshot::Take
                } else {
                    vae_gpu::vae::Snapshot::Skip
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
            Request::Calibrate { steps } => {
                let config = vae_gpu::vae::VaeConfig::default();
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
