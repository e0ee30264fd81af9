//! The worker's side: the CPU engine ([`CpuEngine`], through the model's [`Engine`] interface)
//! and its data, answering one [`Request`] at a time. Nothing here knows about JavaScript, so
//! it is tested natively.

use std::sync::Arc;

use vae_cpu::{CpuData, CpuEngine, CpuError, Share, StepShare};
use vae_model::engine::{ready_now, Decoding, Opening};
use vae_model::{Engine, EngineError, MetricsReport, Pending};

use vae_worker::protocol::{calibration_batch, Floats, Reply, Request, Source, Standing};

#[derive(Default)]
pub struct Host {
    engine: Option<CpuEngine>,
    /// The shard's two parts, parsed once for every model opened after them.
    data: Option<Arc<CpuData>>,
    /// The share of every batch this worker trains ([`Request::Share`]); none: all of it.
    share: Option<Share>,
    /// While shared steps are timed: the batch they run on, and the model set aside meanwhile.
    calibration: Option<(Vec<f32>, Option<CpuEngine>)>,
}

fn failed(error: EngineError) -> Reply {
    Reply::Failed(error.to_string())
}

/// The result of the in-process engine's request, which is ready when made.
fn now<T>(request: Result<Pending<T>, EngineError>) -> Result<T, EngineError> {
    ready_now(request?).unwrap_or_else(|| {
        Err(EngineError::Failed(
            "the CPU engine's result was not ready".into(),
        ))
    })
}

fn no_model() -> CpuError {
    CpuError::InvalidInput("no model is open in the CPU worker".into())
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
        match &self.engine {
            Some(engine) => share.check(engine.config().batch).ok().map(|_| share),
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
        let vae = self.engine.as_mut().ok_or_else(no_model)?.vae_mut();
        match &self.calibration {
            Some((x, _)) => vae.begin_shared_step_on(share, x),
            None => vae.begin_shared_step(share),
        }
    }

    /// Sets the model aside for a fresh default one that shared steps on
    /// [`calibration_batch`] time, until [`Host::end_calibration`].
    pub fn begin_calibration(&mut self) -> Result<(), CpuError> {
        let config = vae_model::VaeConfig::default();
        let fresh = CpuEngine::open(Opening::Fresh(config))?;
        let x = calibration_batch(config.batch as usize, config.sizes.input);
        if self.calibration.is_none() {
            let aside = self.engine.replace(fresh);
            self.calibration = Some((x, aside));
        }
        Ok(())
    }

    /// Puts the model back after a calibration.
    pub fn end_calibration(&mut self) {
        if let Some((_, aside)) = self.calibration.take() {
            self.engine = aside;
        }
    }

    /// The open model's step (0 with none).
    pub fn share_step(&self) -> u64 {
        self.engine.as_ref().map_or(0, |engine| engine.step())
    }

    /// This worker's gradient of the step under way, for the other worker.
    pub fn share_gradients(&mut self) -> &[f32] {
        self.engine
            .as_mut()
            .map_or(&[], |engine| engine.vae_mut().share_gradients())
    }

    /// Takes the step with the other worker's share; on a mismatch the step is given up.
    pub fn finish_shared_step(
        &mut self,
        own: StepShare,
        other: StepShare,
        gradients: &[f32],
    ) -> Result<u64, CpuError> {
        let vae = self.engine.as_mut().ok_or_else(no_model)?.vae_mut();
        let finished = vae.finish_shared_step(own, &[(other, gradients)]);
        if finished.is_err() {
            vae.abandon_shared_step();
        }
        finished.map(|()| vae.step())
    }

    pub fn abandon_shared_step(&mut self) {
        if let Some(engine) = self.engine.as_mut() {
            engine.vae_mut().abandon_shared_step();
        }
    }

    fn engine(&mut self) -> Result<&mut CpuEngine, CpuError> {
        self.engine.as_mut().ok_or_else(no_model)
    }

    fn answer(&mut self, request: Request, now_ms: &dyn Fn() -> f64) -> Result<Reply, EngineError> {
        Ok(match request {
            Request::Open(source) => {
                let opening = match &source {
                    Source::Fresh(config) => Opening::Fresh(*config),
                    Source::Checkpoint { bytes, settings } => Opening::Checkpoint {
                        bytes,
                        settings: *settings,
                    },
                };
                let mut engine = CpuEngine::open(opening)?;
                if let Some(data) = &self.data {
                    engine.set_data(Arc::clone(data))?;
                }
                let standing = Standing {
                    config: *engine.config(),
                    step: engine.step(),
                    cursor: engine.vae().position(),
                };
                // Only a whole new model replaces the old one.
                self.engine = Some(engine);
                Reply::Opened(standing)
            }
            Request::SetData { shard } => {
                let data = Arc::new(CpuData::parse(&shard.0)?);
                if let Some(engine) = self.engine.as_mut() {
                    engine.set_data(Arc::clone(&data))?;
                }
                let (train, test) = (data.train.split().len(), data.test.split().len());
                // Without a model yet (the page opens one first), counted at a batch of one.
                let evaluation_batches = match &self.engine {
                    Some(engine) => engine.evaluation_batches(),
                    None => vae_model::evaluation_batching(test, 1).1,
                };
                self.data = Some(data);
                Reply::DataSet {
                    train_images: train,
                    test_images: test,
                    evaluation_batches,
                }
            }
            Request::Train { steps } => {
                let started = now_ms();
                let engine = self.engine()?;
                now(engine.train(steps))?;
                Reply::Trained {
                    step: engine.step(),
                    ms: now_ms() - started,
                }
            }
            Request::Metrics { snapshot } => {
                let engine = self.engine()?;
                let snapshot = if snapshot {
                    vae_model::Snapshot::Take
                } else {
                    vae_model::Snapshot::Skip
                };
                let reply = now(engine.begin_metrics(snapshot));
                let report: MetricsReport = engine.finish_metrics(reply)?;
                Reply::Metrics {
                    report,
                    rollback_to: engine.vae().rollback_step(),
                }
            }
            Request::Rollback => {
                let engine = self.engine()?;
                engine.rollback();
                Reply::RolledBack {
                    step: engine.step(),
                }
            }
            Request::Evaluate { batches } => {
                let (remaining, _) = self.engine()?.run_evaluation(batches)?;
                Reply::Evaluated { remaining }
            }
            Request::FinishEvaluation => {
                Reply::Evaluation(now(self.engine()?.request_evaluation())?)
            }
            Request::CancelEvaluation => {
                self.engine()?.cancel_evaluation();
                Reply::Done
            }
            Request::Posteriors => {
                let (means, logvars) = now(self.engine()?.request_posteriors())?;
                Reply::Posteriors {
                    means: Floats::from_slice(&means),
                    logvars: Floats::from_slice(&logvars),
                }
            }
            Request::Decode { z } => {
                let images = now(self.engine()?.request_decode(Decoding::Slider, &z.to_vec()))?;
                Reply::Images(Floats::from_slice(&images))
            }
            Request::Encode { x } => {
                let (mean, logvar) = now(self.engine()?.request_encode(&x.to_vec()))?;
                Reply::Posterior {
                    mean: Floats::from_slice(&mean),
                    logvar: Floats::from_slice(&logvar),
                }
            }
            Request::Reconstruct { x } => {
                let images = now(self.engine()?.request_reconstruction(&x.to_vec()))?;
                Reply::Images(Floats::from_slice(&images))
            }
            Request::EncodeAndReconstruct { x } => {
                let (mean, image) = self.engine()?.request_encode_and_reconstruct(&x.to_vec())?;
                Reply::EncodedAndReconstructed {
                    mean: Floats::from_slice(&now(Ok(mean))?),
                    image: Floats::from_slice(&now(Ok(image))?),
                }
            }
            Request::LogLikelihood {
                first,
                count,
                samples,
            } => {
                let (first, count) = (first as usize, count as usize);
                let images = first..first.saturating_add(count);
                let values = now(self.engine()?.request_log_likelihood(images, samples))?;
                Reply::LogLikelihoods(Floats::from_slice(&values))
            }
            Request::Save => Reply::Saved(now(Ok(self.engine()?.begin_save()))?),
            Request::Share { index, count } => {
                let share = Share { index, count };
                if count > 2 || share.check(u32::MAX).is_err() {
                    return Err(EngineError::invalid(format!(
                        "share {index} of {count}: training is shared by two workers at most"
                    )));
                }
                self.share = (count > 1).then_some(share);
                Reply::Done
            }
            Request::Calibrate { steps } => {
                let config = vae_model::VaeConfig::default();
                let mut vae = vae_cpu::CpuVae::new(config)?;
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
