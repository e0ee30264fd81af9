//! The importance-weighted bound L_K on log p(x) on the GPU (`vae_model::likelihood`): a
//! request's images through the encoder once, their K draws each through the decoder a block of
//! rows at a time (importance_sample.wgsl, the decoder, importance_weight.wgsl), and each image's
//! log-mean-exp (log_mean_exp.wgsl), all in one submit; only the images' figures come back.

use std::ops::Range;

use mnist_shard::Split;
use vae_model::likelihood::{check_request, check_samples, IMPORTANCE_STEP_BASE};
use vae_model::EVALUATION_STEP_BASE;

use super::graph::{storage_buffer, whole};
use super::inference::{Inference, Sessions};
use super::Vae;
use crate::kernels::step::{spread_workgroups, ROW_WORKGROUP};
use crate::kernels::Binding;
use crate::readback::{PendingRead, StagingPool};
use crate::GpuError;

/// Decoder rows per block: a request of more draws runs as several blocks in its submit.
const BLOCK_ROWS: u32 = 1024;

/// Buffers and bindings for estimates with `samples` draws per image, up to `images` images a
/// request, on one test set; bound to the model's parameters, so it follows training.
pub struct LikelihoodSession {
    samples: u32,
    images: u32,
    encoder: Inference,
    decoder: Inference,
    /// `{ image_first, images }` of the request under way.
    request: wgpu::Buffer,
    /// Per block: importance_sample.wgsl and importance_weight.wgsl.
    blocks: Vec<(Binding, Binding)>,
    reduce: Binding,
    estimates: wgpu::Buffer,
    reads: StagingPool,
    _prior: wgpu::Buffer,
    _log_w: wgpu::Buffer,
}

impl LikelihoodSession {
    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// The most images a request takes.
    pub fn images(&self) -> u32 {
        self.images
    }
}

fn words<const N: usize>(values: [u32; N]) -> Vec<u8> {
    bytemuck::cast_slice(&values).to_vec()
}

/// Each image's L_K on its way back ([`Vae::request_log_likelihood`]).
pub struct LikelihoodRead {
    read: PendingRead,
    images: usize,
}

impl LikelihoodRead {
    pub async fn wait(self) -> Result<Vec<f32>, GpuError> {
        let mut values = self.read.floats().await?;
        values.truncate(self.images);
        Ok(values)
    }
}

impl Sessions {
    /// A session for `samples` draws per image, up to `images` images a request, on a test set
    /// of `test_images` images (its evaluation's batching keys the first draw).
    pub async fn likelihood_session(
        &self,
        samples: u32,
        images: u32,
        test_images: usize,
    ) -> Result<LikelihoodSession, GpuError> {
        self.context.check_device()?;
        check_samples(samples).map_err(|e| GpuError::InvalidInput(e.to_string()))?;
        let rows = u64::from(samples) * u64::from(images);
        if images == 0 || rows > (1 << 26) {
            return Err(GpuError::InvalidInput(format!(
                "{images} images of {samples} draws a request: between 1 and {} draws please",
                1u64 << 26
            )));
        }
        let s = self.config.sizes;
        let (latent, pixels) = (s.latent as u32, s.input as u32);
        let block_rows = BLOCK_ROWS.min(rows as u32);
        let encoder = self.inference(images).await?;
        let decoder = self.inference(block_rows).await?;
        let device = &self.context.device;
        let request = storage_buffer(device, "likelihood request", 2);
        let prior = storage_buffer(device, "likelihood prior", block_rows as usize);
        let log_w = storage_buffer(device, "likelihood log weights", rows as usize);
        let estimates = storage_buffer(device, "likelihood estimates", images as usize);
        let kernels = &self.kernels;
        let (sample, weight, reduce) = (
            kernels.importance_sample.get(&self.context).await?,
            kernels.importance_weight.get(&self.context).await?,
            kernels.log_mean_exp.get(&self.context).await?,
        );
        let eval_batch = vae_model::evaluation_batching(test_images, self.config.batch).0 as u32;
        let seed = self.config.seed;
        let groups = spread_workgroups(block_rows, ROW_WORKGROUP);
        let mut blocks = Vec::new();
        for block_first in (0..rows as u32).step_by(block_rows as usize) {
            let sample_params = words([
                block_rows,
                latent,
                samples,
                block_first,
                eval_batch,
                EVALUATION_STEP_BASE,
                IMPORTANCE_STEP_BASE,
                seed as u32,
                (seed >> 32) as u32,
                0,
                0,
                0,
            ]);
            let e = &encoder.activations;
            let d = &decoder.activations;
            let buffers = [whole(&e.heads), whole(&request), whole(&d.z), whole(&prior)];
            let draw = sample
                .bind(&self.context, &sample_params, &buffers, groups)
                .await?;
            let weight_params = words([block_rows, pixels, samples, block_first]);
            let buffers = [
                whole(&d.logits),
                whole(&e.x),
                whole(&prior),
                whole(&request),
                whole(&log_w),
            ];
            let weigh = weight
                .bind(&self.context, &weight_params, &buffers, groups)
                .await?;
            blocks.push((draw, weigh));
        }
        let buffers = [whole(&log_w), whole(&request), whole(&estimates)];
        let reduce = reduce
            .bind(
                &self.context,
                &words([samples, 0, 0, 0]),
                &buffers,
                spread_workgroups(images, ROW_WORKGROUP),
            )
            .await?;
        Ok(LikelihoodSession {
            samples,
            images,
            encoder,
            decoder,
            request,
            blocks,
            reduce,
            reads: StagingPool::new(estimates.size()),
            estimates,
            _prior: prior,
            _log_w: log_w,
        })
    }
}

impl Vae {
    /// Queues the estimate for `split[images]` (at most the session's images; `split` is the
    /// test set the session was made for) and starts reading each image's L_K back.
    pub fn request_log_likelihood(
        &self,
        session: &LikelihoodSession,
        split: &Split<'_>,
        images: Range<usize>,
    ) -> Result<LikelihoodRead, GpuError> {
        self.context.check_device()?;
        self.config.check_shape(vae_model::ImageShape::of(split))?;
        check_request(&images, split.len())?;
        let count = images.len();
        if count > session.images as usize {
            return Err(GpuError::InvalidInput(format!(
                "{count} images in a request of a session made for {}",
                session.images
            )));
        }
        let x: Vec<f32> = images
            .clone()
            .flat_map(|index| split.image_f32(index))
            .collect();
        let queue = &self.context.queue;
        queue.write_buffer(&session.encoder.activations.x, 0, bytemuck::cast_slice(&x));
        let request = [images.start as u32, count as u32];
        queue.write_buffer(&session.request, 0, bytemuck::cast_slice(&request));
        let rows = count as u32 * session.samples;
        let needed = rows.div_ceil(session.decoder.rows()) as usize;
        let read = self.submit_and_read(&session.estimates, &session.reads, |encoder| {
            self.compute(encoder, |pass| {
                session.encoder.forward.encode_encoder(pass);
                for (draw, weigh) in &session.blocks[..needed] {
                    draw.encode(pass);
                    session.decoder.forward.encode_decoder(pass);
                    weigh.encode(pass);
                }
                session.reduce.encode(pass);
            });
        });
        Ok(LikelihoodRead {
            read,
            images: count,
        })
    }
}
