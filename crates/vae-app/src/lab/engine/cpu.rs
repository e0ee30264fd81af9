//! The model on the CPU engine in its own Web Worker. The worker answers in order, so this side
//! mirrors what the page plans with (the step, the epoch's position, the evaluation's batches)
//! at the moment work is queued, as the GPU engine does, and only waits for results.

use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use vae_model::engine::{Binding, DecodeSizes};
use vae_model::{BatchCursor, Evaluation, MetricsReport, Snapshot, VaeConfig};
use vae_reference::latent::LatentLines;
use vae_worker::protocol::{Floats, Reply, Request, SharedBytes, Source};
use vae_worker::workers::CpuWorkers;

use super::{
    Decoding, Engine, EngineError, Lines, MetricsReply, Opening, Pending, PendingPair, Posterior,
};

pub struct WorkerEngine {
    worker: Rc<CpuWorkers>,
    /// How many workers train and why, as the page says it.
    workers_why: String,
    config: VaeConfig,
    step: u64,
    /// The training position after the queued steps, moved by the engine's own rule.
    cursor: BatchCursor,
    train_images: Option<usize>,
    evaluation_batches: u32,
    /// Batches of the evaluation under way already queued.
    evaluation_next: u32,
    rollback_to: u64,
}

fn unexpected(reply: Reply) -> EngineError {
    EngineError::Failed(format!("the CPU worker answered oddly: {reply:?}"))
}

/// A request whose reply `read` turns into the result.
fn ask<T: 'static>(
    worker: &CpuWorkers,
    request: Request,
    read: impl FnOnce(Reply) -> Result<T, EngineError> + 'static,
) -> Pending<T> {
    let reply = worker.request(request);
    Box::pin(async move { read(reply.await.map_err(EngineError::Failed)?) })
}

fn images(reply: Reply) -> Result<Vec<f32>, EngineError> {
    match reply {
        Reply::Images(image) => Ok(image.to_vec()),
        other => Err(unexpected(other)),
    }
}

fn done(reply: Reply) -> Result<(), EngineError> {
    match reply {
        Reply::Trained { .. }
        | Reply::Evaluated { .. }
        | Reply::Done
        | Reply::RolledBack { .. } => Ok(()),
        other => Err(unexpected(other)),
    }
}

impl WorkerEngine {
    pub async fn open(
        worker: Rc<CpuWorkers>,
        workers_why: String,
        opening: Opening<'_>,
    ) -> Result<Self, EngineError> {
        let source = match opening {
            Opening::Fresh(config) => Source::Fresh(config),
            Opening::Checkpoint { bytes, settings } => Source::Checkpoint {
                bytes: bytes.to_vec(),
                settings,
            },
        };
        let standing = match worker.request(Request::Open(source)).await {
            Ok(Reply::Opened(standing)) => standing,
            Ok(other) => return Err(unexpected(other)),
            Err(message) => return Err(EngineError::Failed(message)),
        };
        Ok(Self {
            worker,
            workers_why,
            config: standing.config,
            step: standing.step,
            cursor: standing.cursor,
            train_images: None,
            evaluation_batches: 0,
            evaluation_next: 0,
            rollback_to: standing.step,
        })
    }

    /// Sends the shard's bytes to the worker, which parses them itself.
    async fn send_data(&mut self, raw: Arc<Vec<u8>>) -> Result<(), EngineError> {
        let request = Request::SetData {
            shard: SharedBytes(raw),
        };
        match self.worker.request(request).await {
            Ok(Reply::DataSet {
                train_images,
                evaluation_batches,
                ..
            }) => {
                self.train_images = Some(train_images);
                self.evaluation_batches = evaluation_batches;
                Ok(())
            }
            Ok(other) => Err(unexpected(other)),
            Err(message) => Err(EngineError::Failed(message)),
        }
    }

    fn check(&self, values: &[f32], width: usize, what: &str) -> Result<(), EngineError> {
        if values.is_empty() || !values.len().is_multiple_of(width) {
            return Err(EngineError::invalid(format!(
                "{} values are not a whole number of {width}-{what}",
                values.len()
            )));
        }
        Ok(())
    }
}

impl Engine for WorkerEngine {
    fn engine_name(&self) -> String {
        match self.worker.count() {
            1 => format!("CPU ({})", self.worker.simd()),
            workers => format!("CPU ({}, {workers} workers)", self.worker.simd()),
        }
    }

    fn is_cpu(&self) -> bool {
        true
    }

    fn workers_why(&self) -> String {
        self.workers_why.clone()
    }

    fn bind_data(&mut self, shard: &Arc<Vec<u8>>) -> Binding<'_> {
        let shard = Arc::clone(shard);
        Box::pin(async move { self.send_data(shard).await })
    }

    fn prepare_decodes(&mut self, _sizes: DecodeSizes) -> Binding<'_> {
        // The worker decodes any number of images with the model's own buffers.
        Box::pin(std::future::ready(Ok(())))
    }

    fn config(&self) -> &VaeConfig {
        &self.config
    }

    fn step(&self) -> u64 {
        self.step
    }

    fn steps_per_epoch(&self) -> Option<u64> {
        Some(self.train_images? as u64 / u64::from(self.config.batch))
    }

    fn epoch_progress(&self) -> Option<(u64, u64)> {
        Some(
            self.cursor
                .progress(self.config.batch, self.steps_per_epoch()?),
        )
    }

    fn train(&mut self, n: u32) -> Result<Pending<()>, EngineError> {
        let count = self
            .train_images
            .ok_or_else(|| EngineError::invalid("the CPU worker has no training data"))?;
        let batch = self.config.batch;
        // The engine's own rule for where each step's batch comes from.
        for _ in 0..n {
            self.cursor.advance(batch, count);
        }
        self.step += u64::from(n);
        Ok(ask(&self.worker, Request::Train { steps: n }, done))
    }

    fn begin_metrics(&mut self, snapshot: Snapshot) -> Result<Pending<MetricsReply>, EngineError> {
        let request = Request::Metrics {
            snapshot: snapshot == Snapshot::Take,
        };
        Ok(ask(&self.worker, request, |reply| match reply {
            Reply::Metrics {
                report,
                rollback_to,
            } => Ok(MetricsReply::new((report, rollback_to))),
            other => Err(unexpected(other)),
        }))
    }

    fn finish_metrics(
        &mut self,
        reply: Result<MetricsReply, EngineError>,
    ) -> Result<MetricsReport, EngineError> {
        let (report, rollback_to) = reply?.take::<(MetricsReport, u64)>()?;
        self.rollback_to = rollback_to;
        Ok(report)
    }

    fn rollback(&mut self) {
        // Queued like everything else: the worker restores the state the last read confirmed.
        drop(self.worker.request(Request::Rollback));
        self.step = self.rollback_to;
        self.evaluation_next = 0;
    }

    fn evaluation_remaining(&self) -> u32 {
        self.evaluation_batches - self.evaluation_next
    }

    fn run_evaluation(&mut self, n: u32) -> Result<(u32, Pending<()>), EngineError> {
        if self.evaluation_batches == 0 {
            return Err(EngineError::invalid("the CPU worker has no test data"));
        }
        let end = self
            .evaluation_next
            .saturating_add(n)
            .min(self.evaluation_batches);
        let batches = end - self.evaluation_next;
        self.evaluation_next = end;
        let queued = ask(&self.worker, Request::Evaluate { batches }, done);
        Ok((self.evaluation_remaining(), queued))
    }

    fn request_evaluation(&mut self) -> Result<Pending<Evaluation>, EngineError> {
        if self.evaluation_remaining() > 0 {
            return Err(EngineError::invalid(format!(
                "{} of the evaluation's batches have not run yet",
                self.evaluation_remaining()
            )));
        }
        self.evaluation_next = 0;
        Ok(ask(
            &self.worker,
            Request::FinishEvaluation,
            |reply| match reply {
                Reply::Evaluation(evaluation) => Ok(evaluation),
                other => Err(unexpected(other)),
            },
        ))
    }

    fn cancel_evaluation(&mut self) {
        if self.evaluation_next > 0 {
            drop(self.worker.request(Request::CancelEvaluation));
        }
        self.evaluation_next = 0;
    }

    fn request_posteriors(&self) -> Result<Pending<Posterior>, EngineError> {
        if self.evaluation_next != 0 {
            return Err(EngineError::invalid(
                "the posteriors are read after a complete evaluation, not during one",
            ));
        }
        Ok(ask(
            &self.worker,
            Request::Posteriors,
            |reply| match reply {
                Reply::Posteriors { means, logvars } => Ok((means.to_vec(), logvars.to_vec())),
                other => Err(unexpected(other)),
            },
        ))
    }

    fn prepare_log_likelihood(&mut self, samples: u32, _images: usize) -> Pending<()> {
        vae_model::likelihood::prepared_at_once(samples)
    }

    fn request_log_likelihood(
        &self,
        images: Range<usize>,
        samples: u32,
    ) -> Result<Pending<Vec<f32>>, EngineError> {
        let request = Request::LogLikelihood {
            first: u32::try_from(images.start).unwrap_or(u32::MAX),
            count: u32::try_from(images.len()).unwrap_or(u32::MAX),
            samples,
        };
        Ok(ask(&self.worker, request, |reply| match reply {
            Reply::LogLikelihoods(values) => Ok(values.to_vec()),
            other => Err(unexpected(other)),
        }))
    }

    fn request_decode(&self, _what: Decoding, z: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        self.check(z, self.config.sizes.latent, "dimensional latent vectors")?;
        let z = Floats::from_slice(z);
        Ok(ask(&self.worker, Request::Decode { z }, images))
    }

    fn request_encode(&self, x: &[f32]) -> Result<Pending<Posterior>, EngineError> {
        self.check(x, self.config.sizes.input, "pixel images")?;
        let x = Floats::from_slice(x);
        Ok(ask(
            &self.worker,
            Request::Encode { x },
            |reply| match reply {
                Reply::Posterior { mean, logvar } => Ok((mean.to_vec(), logvar.to_vec())),
                other => Err(unexpected(other)),
            },
        ))
    }

    fn request_reconstruction(&self, x: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        self.check(x, self.config.sizes.input, "pixel images")?;
        let x = Floats::from_slice(x);
        Ok(ask(&self.worker, Request::Reconstruct { x }, images))
    }

    fn request_line_sets(
        &self,
        sets: &[(Lines, &LatentLines)],
    ) -> Result<Vec<Pending<Vec<f32>>>, EngineError> {
        Ok(sets
            .iter()
            .map(|(_, lines)| {
                let z = Floats::from_slice(&lines.evaluate());
                ask(&self.worker, Request::Decode { z }, images)
            })
            .collect())
    }

    fn request_encode_and_reconstruct(&self, x: &[f32]) -> Result<PendingPair, EngineError> {
        self.check(x, self.config.sizes.input, "pixel images")?;
        let x = Floats::from_slice(x);
        let both = self.worker.request(Request::EncodeAndReconstruct { x });
        // One reply carries both; the image's future takes it from the mean's.
        let (sender, receiver) =
            futures_channel::oneshot::channel::<Result<Vec<f32>, EngineError>>();
        let mean: Pending<Vec<f32>> = Box::pin(async move {
            match both.await {
                Ok(Reply::EncodedAndReconstructed { mean, image }) => {
                    let _ = sender.send(Ok(image.to_vec()));
                    Ok(mean.to_vec())
                }
                Ok(other) => {
                    let error = unexpected(other);
                    let _ = sender.send(Err(error.clone()));
                    Err(error)
                }
                Err(message) => {
                    let _ = sender.send(Err(EngineError::Failed(message.clone())));
                    Err(EngineError::Failed(message))
                }
            }
        });
        let image: Pending<Vec<f32>> = Box::pin(async move {
            receiver
                .await
                .unwrap_or_else(|_| Err(EngineError::Failed("the encode was dropped".into())))
        });
        Ok((mean, image))
    }

    fn begin_save(&self) -> Pending<Vec<u8>> {
        ask(&self.worker, Request::Save, |reply| match reply {
            Reply::Saved(bytes) => Ok(bytes),
            other => Err(unexpected(other)),
        })
    }
}
