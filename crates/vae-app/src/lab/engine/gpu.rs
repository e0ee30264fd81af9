//! The model on WebGPU: [`vae_gpu::vae::Vae`] and the fixed-size sessions the lab decodes with.

use vae_gpu::vae::{
    Evaluation, Evaluator, Inference, LineDecoder, MetricsReport, Snapshot, Vae, VaeConfig,
};
use vae_gpu::{GpuContext, GpuError};
use vae_reference::latent::LatentLines;

use super::{
    DecodeSizes, Decoding, EngineError, Lines, MetricsReply, Opening, Pending, PendingPair,
    Posterior,
};

/// Made once the data is bound.
struct Bound {
    samples: Inference,
    reconstructions: Inference,
    evaluator: Evaluator,
    grid: LineDecoder,
    strips: LineDecoder,
    interpolation: LineDecoder,
    pad: Inference,
}

pub struct GpuModel {
    vae: Vae,
    slider: Inference,
    bound: Option<Bound>,
}

fn pending<T: 'static>(
    future: impl std::future::Future<Output = Result<T, GpuError>> + 'static,
) -> Pending<T> {
    Box::pin(async move { future.await.map_err(EngineError::from) })
}

fn unbound() -> EngineError {
    EngineError::Gpu(GpuError::InvalidInput(
        "the model has no data bound yet".into(),
    ))
}

impl GpuModel {
    pub async fn open(context: GpuContext, opening: Opening<'_>) -> Result<Self, GpuError> {
        let vae = match opening {
            Opening::Fresh(config) => Vae::new(context, config).await?,
            Opening::Checkpoint {
                bytes,
                settings: Some(settings),
            } => Vae::load_state_dict_as(context, bytes, settings).await?,
            Opening::Checkpoint { bytes, .. } => Vae::load(context, bytes).await?,
        };
        let slider = vae.inference(1).await?;
        Ok(Self {
            vae,
            slider,
            bound: None,
        })
    }

    pub async fn bind_data(
        &mut self,
        shard: &mnist_shard::Shard<'_>,
        sizes: DecodeSizes,
    ) -> Result<(), EngineError> {
        let vae = &mut self.vae;
        vae.set_training_data(&shard.train()).await?;
        let latent = vae.config().sizes.latent as u32;
        let grid = sizes.grid_side as u32;
        self.bound = Some(Bound {
            samples: vae.inference(sizes.samples as u32).await?,
            reconstructions: vae.inference(sizes.reconstructions as u32).await?,
            evaluator: vae.evaluator(&shard.test()).await?,
            grid: vae.line_decoder(grid, grid).await?,
            strips: vae.line_decoder(latent, sizes.strip_points as u32).await?,
            interpolation: vae
                .line_decoder(1, sizes.interpolation_frames as u32)
                .await?,
            pad: vae.inference(1).await?,
        });
        Ok(())
    }

    fn bound(&self) -> Result<&Bound, EngineError> {
        self.bound.as_ref().ok_or_else(unbound)
    }

    pub fn adapter_name(&self) -> String {
        self.vae.context().adapter.name.clone()
    }

    pub fn config(&self) -> &VaeConfig {
        self.vae.config()
    }

    pub fn step(&self) -> u64 {
        self.vae.step()
    }

    pub fn epoch_progress(&self) -> Option<(u64, u64)> {
        self.vae.epoch_progress()
    }

    pub fn steps_per_epoch(&self) -> Option<u64> {
        self.vae.steps_per_epoch()
    }

    pub fn dispatches_per_step(&self) -> u32 {
        self.vae.dispatches_per_step()
    }

    pub fn train(&mut self, n: u32) -> Result<Pending<()>, EngineError> {
        let fence = self.vae.train_steps_fenced(n)?;
        Ok(pending(async move { fence.bytes().await.map(|_| ()) }))
    }

    pub fn begin_metrics(
        &mut self,
        snapshot: Snapshot,
    ) -> Result<Pending<MetricsReply>, EngineError> {
        let read = self.vae.begin_metrics_with(snapshot)?;
        Ok(pending(
            async move { read.wait().await.map(MetricsReply::Gpu) },
        ))
    }

    pub fn finish_metrics(
        &mut self,
        reply: Result<MetricsReply, EngineError>,
    ) -> Result<MetricsReport, EngineError> {
        let data = match reply {
            Ok(MetricsReply::Gpu(data)) => Ok(data),
            Ok(MetricsReply::Cpu { .. }) => Err(GpuError::InvalidInput(
                "a CPU engine's metrics given to the GPU engine".into(),
            )),
            Err(EngineError::Gpu(error)) => Err(error),
            Err(EngineError::Cpu(message)) => Err(GpuError::InvalidInput(message)),
        };
        Ok(self.vae.finish_metrics(data)?)
    }

    pub fn rollback(&mut self) {
        self.vae.rollback();
    }

    pub fn evaluation_remaining(&self) -> u32 {
        self.bound.as_ref().map_or(0, |b| b.evaluator.remaining())
    }

    pub fn run_evaluation(&mut self, n: u32) -> Result<(u32, Pending<()>), EngineError> {
        let bound = self.bound.as_mut().ok_or_else(unbound)?;
        let remaining = self.vae.run_evaluation(&mut bound.evaluator, n)?;
        let fence = self.vae.step_fence();
        Ok((
            remaining,
            pending(async move { fence.bytes().await.map(|_| ()) }),
        ))
    }

    pub fn request_evaluation(&mut self) -> Result<Pending<Evaluation>, EngineError> {
        let bound = self.bound.as_mut().ok_or_else(unbound)?;
        let read = self.vae.request_evaluation(&mut bound.evaluator)?;
        Ok(pending(read.wait()))
    }

    pub fn cancel_evaluation(&mut self) {
        if let Some(bound) = self.bound.as_mut() {
            bound.evaluator.cancel();
        }
    }

    pub fn request_posteriors(&self) -> Result<Pending<Posterior>, EngineError> {
        let read = self.vae.request_posteriors(&self.bound()?.evaluator)?;
        Ok(pending(read.wait()))
    }

    pub fn request_decode(
        &self,
        what: Decoding,
        z: &[f32],
    ) -> Result<Pending<Vec<f32>>, EngineError> {
        let session = match what {
            Decoding::Slider => &self.slider,
            Decoding::Samples => &self.bound()?.samples,
        };
        let read = self.vae.request_decode(session, z)?;
        Ok(pending(read.wait()))
    }

    pub fn request_encode(&self, x: &[f32]) -> Result<Pending<Posterior>, EngineError> {
        let read = self.vae.request_encode(&self.slider, x)?;
        Ok(pending(read.wait()))
    }

    pub fn request_reconstruction(&self, x: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        let read = self
            .vae
            .request_reconstruction(&self.bound()?.reconstructions, x)?;
        Ok(pending(read.wait()))
    }

    pub fn request_line_sets(
        &self,
        sets: &[(Lines, &LatentLines)],
    ) -> Result<Vec<Pending<Vec<f32>>>, EngineError> {
        let bound = self.bound()?;
        let sets: Vec<(&LineDecoder, &LatentLines)> = sets
            .iter()
            .map(|&(which, lines)| {
                let decoder = match which {
                    Lines::Grid => &bound.grid,
                    Lines::Strips => &bound.strips,
                    Lines::Interpolation => &bound.interpolation,
                };
                (decoder, lines)
            })
            .collect();
        let reads = self.vae.request_line_sets(&sets)?;
        Ok(reads.into_iter().map(|read| pending(read.wait())).collect())
    }

    pub fn request_encode_and_reconstruct(&self, x: &[f32]) -> Result<PendingPair, EngineError> {
        let (posterior, image) = self
            .vae
            .request_encode_and_reconstruct(&self.bound()?.pad, x)?;
        Ok((
            pending(async move { posterior.wait().await.map(|(mean, _)| mean) }),
            pending(image.wait()),
        ))
    }

    pub fn begin_save(&self) -> Pending<Vec<u8>> {
        pending(self.vae.begin_save().wait())
    }
}
