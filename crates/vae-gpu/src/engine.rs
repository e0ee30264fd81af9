//! The GPU engine behind the model's [`Engine`] interface: a [`Vae`] and the fixed-size
//! sessions its decodes run in (the slider's made at once, the gallery's and the views' by
//! [`Engine::prepare_decodes`]).

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use mnist_shard::{OwnedSplit, Shard};
use vae_model::engine::{
    ready, Binding, DecodeSizes, Decoding, Lines, MetricsReply, Opening, PendingPair, Posterior,
};
use vae_model::{Engine, EngineError, Evaluation, MetricsReport, Pending, Snapshot, VaeConfig};
use vae_reference::latent::LatentLines;

use crate::vae::{Evaluator, Inference, LikelihoodSession, LineDecoder, MetricsData, Vae};
use crate::{GpuContext, GpuError};

/// The views' sessions, made for the lab's sizes.
struct Decodes {
    samples: Inference,
    reconstructions: Inference,
    grid: LineDecoder,
    strips: LineDecoder,
    interpolation: LineDecoder,
    pad: Inference,
}

pub struct GpuEngine {
    vae: Vae,
    slider: Inference,
    evaluator: Option<Evaluator>,
    decodes: Option<Decodes>,
    /// The test images on the host too: a log-likelihood request uploads its few.
    test: Option<OwnedSplit>,
    /// Filled by the future [`Engine::prepare_log_likelihood`] returns, which holds it too.
    likelihood: Rc<RefCell<Option<LikelihoodSession>>>,
}

fn pending<T: 'static>(
    future: impl std::future::Future<Output = Result<T, GpuError>> + 'static,
) -> Pending<T> {
    Box::pin(async move { future.await.map_err(EngineError::from) })
}

fn unbound(what: &str) -> EngineError {
    EngineError::invalid(format!("the model has no {what} yet"))
}

impl GpuEngine {
    /// A model on `context`, opened as `opening` says.
    pub async fn open(context: GpuContext, opening: Opening<'_>) -> Result<Self, GpuError> {
        let vae = match opening {
            Opening::Fresh(config) => Vae::new(context, config).await?,
            Opening::Checkpoint {
                bytes,
                settings: Some(settings),
            } => Vae::load_state_dict_as(context, bytes, settings).await?,
            Opening::Checkpoint { bytes, .. } => Vae::load(context, bytes).await?,
        };
        Self::new(vae).await
    }

    /// The engine around a model made otherwise (the CLI's, with its own learning rate).
    pub async fn new(vae: Vae) -> Result<Self, GpuError> {
        let slider = vae.inference(1).await?;
        Ok(Self {
            vae,
            slider,
            evaluator: None,
            decodes: None,
            test: None,
            likelihood: Rc::default(),
        })
    }

    pub fn vae(&self) -> &Vae {
        &self.vae
    }

    fn decodes(&self) -> Result<&Decodes, EngineError> {
        self.decodes
            .as_ref()
            .ok_or_else(|| unbound("decode sessions"))
    }

    fn evaluator(&self) -> Result<&Evaluator, EngineError> {
        self.evaluator.as_ref().ok_or_else(|| unbound("test data"))
    }

    async fn bind(&mut self, raw: &[u8]) -> Result<(), GpuError> {
        let shard =
            Shard::parse(raw, "the shard").map_err(|e| GpuError::InvalidInput(e.to_string()))?;
        self.vae.set_training_data(&shard.train()).await?;
        self.evaluator = Some(self.vae.evaluator(&shard.test()).await?);
        self.test = Some(shard.test().to_owned_split());
        self.likelihood.take();
        Ok(())
    }

    async fn make_decodes(&mut self, sizes: DecodeSizes) -> Result<(), GpuError> {
        let vae = &self.vae;
        let latent = vae.config().sizes.latent as u32;
        let grid = sizes.grid_side as u32;
        self.decodes = Some(Decodes {
            samples: vae.inference(sizes.samples as u32).await?,
            reconstructions: vae.inference(sizes.reconstructions as u32).await?,
            grid: vae.line_decoder(grid, grid).await?,
            strips: vae.line_decoder(latent, sizes.strip_points as u32).await?,
            interpolation: vae
                .line_decoder(1, sizes.interpolation_frames as u32)
                .await?,
            pad: vae.inference(1).await?,
        });
        Ok(())
    }
}

impl Engine for GpuEngine {
    fn engine_name(&self) -> String {
        // "WebGPU (…)" in a browser, "Vulkan (…)", "Metal (…)", … natively.
        let adapter = &self.vae.context().adapter;
        format!("{} ({})", adapter.backend, adapter.name)
    }

    fn is_cpu(&self) -> bool {
        false
    }

    fn dispatches_per_step(&self) -> u32 {
        self.vae.dispatches_per_step()
    }

    fn config(&self) -> &VaeConfig {
        self.vae.config()
    }

    fn step(&self) -> u64 {
        self.vae.step()
    }

    fn steps_per_epoch(&self) -> Option<u64> {
        self.vae.steps_per_epoch()
    }

    fn epoch_progress(&self) -> Option<(u64, u64)> {
        self.vae.epoch_progress()
    }

    fn bind_data(&mut self, shard: &Arc<Vec<u8>>) -> Binding<'_> {
        let shard = Arc::clone(shard);
        Box::pin(async move { Ok(self.bind(&shard).await?) })
    }

    fn prepare_decodes(&mut self, sizes: DecodeSizes) -> Binding<'_> {
        Box::pin(async move { Ok(self.make_decodes(sizes).await?) })
    }

    fn train(&mut self, n: u32) -> Result<Pending<()>, EngineError> {
        let fence = self.vae.train_steps_fenced(n)?;
        Ok(pending(async move { fence.bytes().await.map(|_| ()) }))
    }

    fn begin_metrics(&mut self, snapshot: Snapshot) -> Result<Pending<MetricsReply>, EngineError> {
        let read = self.vae.begin_metrics_with(snapshot)?;
        Ok(pending(
            async move { read.wait().await.map(MetricsReply::new) },
        ))
    }

    fn finish_metrics(
        &mut self,
        reply: Result<MetricsReply, EngineError>,
    ) -> Result<MetricsReport, EngineError> {
        match reply.and_then(MetricsReply::take::<MetricsData>) {
            Ok(data) => Ok(self.vae.finish_metrics(Ok(data))?),
            Err(error) => {
                // The model forgets the failed read; the caller gets its error as it came.
                let _ = self
                    .vae
                    .finish_metrics(Err(GpuError::Map("the metrics read failed".into())));
                Err(error)
            }
        }
    }

    fn rollback(&mut self) {
        self.vae.rollback();
    }

    fn evaluation_remaining(&self) -> u32 {
        self.evaluator.as_ref().map_or(0, Evaluator::remaining)
    }

    fn run_evaluation(&mut self, n: u32) -> Result<(u32, Pending<()>), EngineError> {
        let evaluator = self
            .evaluator
            .as_mut()
            .ok_or_else(|| unbound("test data"))?;
        let remaining = self.vae.run_evaluation(evaluator, n)?;
        let fence = self.vae.step_fence();
        Ok((
            remaining,
            pending(async move { fence.bytes().await.map(|_| ()) }),
        ))
    }

    fn request_evaluation(&mut self) -> Result<Pending<Evaluation>, EngineError> {
        let evaluator = self
            .evaluator
            .as_mut()
            .ok_or_else(|| unbound("test data"))?;
        let read = self.vae.request_evaluation(evaluator)?;
        Ok(pending(read.wait()))
    }

    fn cancel_evaluation(&mut self) {
        if let Some(evaluator) = self.evaluator.as_mut() {
            evaluator.cancel();
        }
    }

    fn request_posteriors(&self) -> Result<Pending<Posterior>, EngineError> {
        let read = self.vae.request_posteriors(self.evaluator()?)?;
        Ok(pending(read.wait()))
    }

    fn prepare_log_likelihood(&mut self, samples: u32, images: usize) -> Pending<()> {
        let Some(test_images) = self.test.as_ref().map(|test| test.split().len()) else {
            return ready(Err(unbound("test data")));
        };
        let images = u32::try_from(images).unwrap_or(u32::MAX);
        let made = self
            .likelihood
            .borrow()
            .as_ref()
            .map(|s| (s.samples(), s.images()));
        if made == Some((samples, images)) {
            return ready(Ok(()));
        }
        // The old session goes now (its memory with it); the new one is made off the model.
        self.likelihood.take();
        let (sessions, slot) = (self.vae.sessions(), Rc::clone(&self.likelihood));
        pending(async move {
            let session = sessions
                .likelihood_session(samples, images, test_images)
                .await?;
            slot.replace(Some(session));
            Ok(())
        })
    }

    fn request_log_likelihood(
        &self,
        images: Range<usize>,
        samples: u32,
    ) -> Result<Pending<Vec<f32>>, EngineError> {
        let test = self.test.as_ref().ok_or_else(|| unbound("test data"))?;
        let session = self.likelihood.borrow();
        let session = session
            .as_ref()
            .filter(|session| session.samples() == samples)
            .ok_or_else(|| unbound(&format!("estimate prepared for {samples} draws an image")))?;
        let read = self
            .vae
            .request_log_likelihood(session, &test.split(), images)?;
        Ok(pending(read.wait()))
    }

    fn request_decode(&self, what: Decoding, z: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        let session = match what {
            Decoding::Slider => &self.slider,
            Decoding::Samples => &self.decodes()?.samples,
        };
        let read = self.vae.request_decode(session, z)?;
        Ok(pending(read.wait()))
    }

    fn request_encode(&self, x: &[f32]) -> Result<Pending<Posterior>, EngineError> {
        let read = self.vae.request_encode(&self.slider, x)?;
        Ok(pending(read.wait()))
    }

    fn request_reconstruction(&self, x: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        let read = self
            .vae
            .request_reconstruction(&self.decodes()?.reconstructions, x)?;
        Ok(pending(read.wait()))
    }

    fn request_line_sets(
        &self,
        sets: &[(Lines, &LatentLines)],
    ) -> Result<Vec<Pending<Vec<f32>>>, EngineError> {
        let decodes = self.decodes()?;
        let sets: Vec<(&LineDecoder, &LatentLines)> = sets
            .iter()
            .map(|&(which, lines)| {
                let decoder = match which {
                    Lines::Grid => &decodes.grid,
                    Lines::Strips => &decodes.strips,
                    Lines::Interpolation => &decodes.interpolation,
                };
                (decoder, lines)
            })
            .collect();
        let reads = self.vae.request_line_sets(&sets)?;
        Ok(reads.into_iter().map(|read| pending(read.wait())).collect())
    }

    fn request_encode_and_reconstruct(&self, x: &[f32]) -> Result<PendingPair, EngineError> {
        let (posterior, image) = self
            .vae
            .request_encode_and_reconstruct(&self.decodes()?.pad, x)?;
        Ok((
            pending(async move { posterior.wait().await.map(|(mean, _)| mean) }),
            pending(image.wait()),
        ))
    }

    fn begin_save(&self) -> Pending<Vec<u8>> {
        pending(self.vae.begin_save().wait())
    }
}
