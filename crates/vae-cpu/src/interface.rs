//! The CPU engine behind the model's [`Engine`] interface, in-process: a [`CpuVae`], its data,
//! the evaluation under way and the posteriors of the last one. Work runs when it is queued, so
//! every future it returns is ready (a caller takes it with [`vae_model::engine::ready_now`] or
//! any executor). The CPU worker hosts one of these; the CLI trains with one.

use std::cell::{Ref, RefCell};
use std::ops::Range;
use std::sync::Arc;

use mnist_shard::{OwnedSplit, Shard};
use vae_model::engine::{
    ready, Binding, DecodeSizes, Decoding, Lines, MetricsReply, Opening, PendingPair, Posterior,
};
use vae_model::{Engine, EngineError, Evaluation, MetricsReport, Pending, Snapshot, VaeConfig};
use vae_reference::latent::LatentLines;

use crate::{simd_in_use, CpuError, CpuVae, EvaluationRun};

/// A shard's two parts, parsed once and shared by every model opened on them.
pub struct CpuData {
    pub train: OwnedSplit,
    pub test: OwnedSplit,
}

impl CpuData {
    /// A shard's uncompressed bytes, parsed and copied out.
    pub fn parse(raw: &[u8]) -> Result<Self, CpuError> {
        let shard =
            Shard::parse(raw, "the shard").map_err(|e| CpuError::InvalidInput(e.to_string()))?;
        Ok(Self {
            train: shard.train().to_owned_split(),
            test: shard.test().to_owned_split(),
        })
    }
}

pub struct CpuEngine {
    /// In a cell: decoding takes `&mut` (the model's scratch buffers), a request does not.
    vae: RefCell<CpuVae>,
    /// The model's configuration (fixed for its life), answered without a borrow.
    config: VaeConfig,
    data: Option<Arc<CpuData>>,
    evaluation: Option<EvaluationRun>,
    /// The last complete evaluation's means and log-variances, `[images, latent]` each.
    posteriors: Option<Posterior>,
}

impl From<CpuVae> for CpuEngine {
    fn from(vae: CpuVae) -> Self {
        Self {
            config: *vae.config(),
            vae: RefCell::new(vae),
            data: None,
            evaluation: None,
            posteriors: None,
        }
    }
}

impl CpuEngine {
    pub fn open(opening: Opening<'_>) -> Result<Self, CpuError> {
        let vae = match opening {
            Opening::Fresh(config) => CpuVae::new(config)?,
            Opening::Checkpoint {
                bytes,
                settings: Some(settings),
            } => CpuVae::load_state_dict_as(bytes, settings)?,
            Opening::Checkpoint { bytes, .. } => CpuVae::load(bytes)?,
        };
        Ok(vae.into())
    }

    pub fn vae(&self) -> Ref<'_, CpuVae> {
        self.vae.borrow()
    }

    /// The model itself, for what only the CPU engine does (two workers sharing a step).
    pub fn vae_mut(&mut self) -> &mut CpuVae {
        self.vae.get_mut()
    }

    pub fn data(&self) -> Option<&Arc<CpuData>> {
        self.data.as_ref()
    }

    /// Trains and evaluates on `data` from now on (data already parsed for another model).
    pub fn set_data(&mut self, data: Arc<CpuData>) -> Result<(), CpuError> {
        self.vae.get_mut().set_training_data(&data.train.split())?;
        self.data = Some(data);
        self.evaluation = None;
        self.posteriors = None;
        Ok(())
    }

    /// Batches in an evaluation of the test data (0 without data).
    pub fn evaluation_batches(&self) -> u32 {
        let images = self.data.as_ref().map_or(0, |d| d.test.split().len());
        vae_model::evaluation_batching(images, self.config.batch).1
    }

    fn evaluate(&mut self, n: u32) -> Result<u32, CpuError> {
        let data = Arc::clone(
            self.data
                .as_ref()
                .ok_or_else(|| CpuError::InvalidInput("the CPU engine has no test data".into()))?,
        );
        let test = data.test.split();
        let vae = self.vae.get_mut();
        let mut run = match self.evaluation.take() {
            Some(run) => run,
            None => vae.begin_evaluation(&test, 0, true)?,
        };
        let remaining = vae.evaluate_batches(&mut run, &test, n)?;
        self.evaluation = Some(run);
        Ok(remaining)
    }

    fn finish_evaluation(&mut self) -> Result<Evaluation, CpuError> {
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
        let latent = self.config.sizes.latent;
        let (evaluation, rows) = run.finish();
        let mut means = Vec::with_capacity(rows.len() / 2);
        let mut logvars = Vec::with_capacity(rows.len() / 2);
        for row in rows.chunks_exact(2 * latent) {
            means.extend_from_slice(&row[..latent]);
            logvars.extend_from_slice(&row[latent..]);
        }
        self.posteriors = Some((means, logvars));
        Ok(evaluation)
    }
}

/// A result computed now: a refusal at once (as an engine that checks a request before
/// queueing it answers), a value ready.
fn now<T: 'static>(result: Result<T, CpuError>) -> Result<Pending<T>, EngineError> {
    Ok(ready(Ok(result?)))
}

impl Engine for CpuEngine {
    fn engine_name(&self) -> String {
        format!("the CPU engine ({}, one thread)", simd_in_use())
    }

    fn is_cpu(&self) -> bool {
        true
    }

    fn config(&self) -> &VaeConfig {
        &self.config
    }

    fn step(&self) -> u64 {
        self.vae.borrow().step()
    }

    fn steps_per_epoch(&self) -> Option<u64> {
        self.vae.borrow().steps_per_epoch()
    }

    fn epoch_progress(&self) -> Option<(u64, u64)> {
        self.vae.borrow().epoch_progress()
    }

    fn bind_data(&mut self, shard: &Arc<Vec<u8>>) -> Binding<'_> {
        let bound = CpuData::parse(shard).and_then(|data| self.set_data(Arc::new(data)));
        Box::pin(std::future::ready(bound.map_err(EngineError::from)))
    }

    fn prepare_decodes(&mut self, _sizes: DecodeSizes) -> Binding<'_> {
        // Decodes of any size run on the model's own buffers.
        Box::pin(std::future::ready(Ok(())))
    }

    fn train(&mut self, n: u32) -> Result<Pending<()>, EngineError> {
        self.vae.get_mut().train_steps(n)?;
        Ok(ready(Ok(())))
    }

    fn begin_metrics(&mut self, snapshot: Snapshot) -> Result<Pending<MetricsReply>, EngineError> {
        let report = self.vae.get_mut().metrics_with(snapshot);
        Ok(ready(Ok(MetricsReply::new(report))))
    }

    fn finish_metrics(
        &mut self,
        reply: Result<MetricsReply, EngineError>,
    ) -> Result<MetricsReport, EngineError> {
        // The read judged the steps when it was taken: nothing is left to confirm.
        reply?.take::<MetricsReport>()
    }

    fn rollback(&mut self) {
        self.vae.get_mut().rollback();
        self.evaluation = None;
    }

    fn evaluation_remaining(&self) -> u32 {
        match &self.evaluation {
            Some(run) => run.remaining(),
            None => self.evaluation_batches(),
        }
    }

    fn run_evaluation(&mut self, n: u32) -> Result<(u32, Pending<()>), EngineError> {
        let remaining = self.evaluate(n)?;
        Ok((remaining, ready(Ok(()))))
    }

    fn request_evaluation(&mut self) -> Result<Pending<Evaluation>, EngineError> {
        now(self.finish_evaluation())
    }

    fn cancel_evaluation(&mut self) {
        self.evaluation = None;
    }

    fn request_posteriors(&self) -> Result<Pending<Posterior>, EngineError> {
        let posteriors = self.posteriors.clone().ok_or_else(|| {
            CpuError::InvalidInput("the posteriors are read after a complete evaluation".into())
        });
        now(posteriors)
    }

    fn prepare_log_likelihood(&mut self, samples: u32, _images: usize) -> Pending<()> {
        vae_model::likelihood::prepared_at_once(samples)
    }

    fn request_log_likelihood(
        &self,
        images: Range<usize>,
        samples: u32,
    ) -> Result<Pending<Vec<f32>>, EngineError> {
        let data = self
            .data
            .as_ref()
            .ok_or_else(|| CpuError::InvalidInput("the CPU engine has no test data".into()))?;
        let test = data.test.split();
        now(self
            .vae
            .borrow_mut()
            .log_likelihoods(&test, images, samples))
    }

    fn request_decode(&self, _what: Decoding, z: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        now(self.vae.borrow_mut().decode(z))
    }

    fn request_encode(&self, x: &[f32]) -> Result<Pending<Posterior>, EngineError> {
        now(self.vae.borrow_mut().encode(x))
    }

    fn request_reconstruction(&self, x: &[f32]) -> Result<Pending<Vec<f32>>, EngineError> {
        now(self.vae.borrow_mut().reconstruct(x))
    }

    fn request_line_sets(
        &self,
        sets: &[(Lines, &LatentLines)],
    ) -> Result<Vec<Pending<Vec<f32>>>, EngineError> {
        sets.iter()
            .map(|(_, lines)| now(self.vae.borrow_mut().decode(&lines.evaluate())))
            .collect()
    }

    fn request_encode_and_reconstruct(&self, x: &[f32]) -> Result<PendingPair, EngineError> {
        let mut vae = self.vae.borrow_mut();
        let (mean, _) = vae.encode(x)?;
        // A reconstruction is the decode at the posterior mean: no second encoder pass.
        let image = vae.decode(&mean)?;
        Ok((ready(Ok(mean)), ready(Ok(image))))
    }

    fn begin_save(&self) -> Pending<Vec<u8>> {
        ready(self.vae.borrow().save().map_err(EngineError::from))
    }
}
