//! Using the model without training it: encoding, decoding and reconstructing, through
//! sessions whose buffers and bindings are made once (a slider decodes every frame).

use vae_reference::Layout;

use super::graph::{storage_buffer, Activations, ForwardPass, PassInputs};
use super::Vae;
use crate::readback::{PendingRead, StagingPool};
use crate::GpuError;

/// Buffers and bindings for running `rows` images through the encoder and decoder outside
/// training. Made by [`Vae::inference`] for one model; bound to its parameters, so it follows
/// training as it goes.
pub struct Inference {
    rows: u32,
    pub(super) activations: Activations,
    pub(super) forward: ForwardPass,
    // The forward pass's bindings need a step counter and a metrics slot, unused here.
    _state: wgpu::Buffer,
    _ring: wgpu::Buffer,
    /// Staging buffers for what requests read back (the heads or the images), reused.
    pub(super) heads_reads: StagingPool,
    pub(super) image_reads: StagingPool,
}

impl Inference {
    /// How many images (or latent vectors) each request takes.
    pub fn rows(&self) -> u32 {
        self.rows
    }
}

/// Pixel probabilities on their way back ([`Vae::request_decode`], [`Vae::request_reconstruction`]).
pub struct ImageRead(pub(super) PendingRead);

impl ImageRead {
    /// `[rows, input]` probabilities σ(logits), once the GPU has got there.
    pub async fn wait(self) -> Result<Vec<f32>, GpuError> {
        let logits = self.0.floats().await?;
        Ok(logits.iter().map(|&l| 1.0 / (1.0 + (-l).exp())).collect())
    }
}

/// A posterior on its way back ([`Vae::request_encode`]).
pub struct PosteriorRead {
    pub(super) read: PendingRead,
    pub(super) latent: usize,
}

impl PosteriorRead {
    /// `([rows, latent]` means, `[rows, latent]` log-variances`)`.
    pub async fn wait(self) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        let heads = self.read.floats().await?;
        let (mut mean, mut logvar) = (Vec::new(), Vec::new());
        for row in heads.chunks_exact(2 * self.latent) {
            mean.extend_from_slice(&row[..self.latent]);
            logvar.extend_from_slice(&row[self.latent..]);
        }
        Ok((mean, logvar))
    }
}

/// What making a session needs of a model, held rather than borrowed, so a future that makes
/// one borrows nothing (a page awaits it without holding the model).
#[derive(Clone)]
pub(crate) struct Sessions {
    pub context: crate::GpuContext,
    pub config: vae_model::VaeConfig,
    pub layout: Layout,
    pub kernels: std::rc::Rc<super::graph::Kernels>,
    pub params: wgpu::Buffer,
}

impl Sessions {
    /// A session for `rows` images at a time (bindings made once, reused by every request).
    pub async fn inference(&self, rows: u32) -> Result<Inference, GpuError> {
        self.context.check_device()?;
        if rows == 0 || u64::from(rows) > u64::from(self.config.batch).max(4096) {
            return Err(GpuError::InvalidInput(format!(
                "{rows} rows per request: between 1 and {} please",
                self.config.batch.max(4096)
            )));
        }
        let device = &self.context.device;
        let activations = Activations::new(device, self.config.sizes, rows);
        let state = storage_buffer(device, "inference step", 1);
        let ring = storage_buffer(device, "inference record", 4);
        let inputs = PassInputs {
            layout: &self.layout,
            params: &self.params,
            state: &state,
            ring: &ring,
            ring_slots: 1,
            seed: self.config.seed,
        };
        let forward =
            ForwardPass::bind(&self.context, &self.kernels, &inputs, &activations).await?;
        Ok(Inference {
            rows,
            heads_reads: StagingPool::new(activations.heads.size()),
            image_reads: StagingPool::new(activations.logits.size()),
            activations,
            forward,
            _state: state,
            _ring: ring,
        })
    }
}

impl Vae {
    /// What a session is made from, to make one without borrowing the model.
    pub(crate) fn sessions(&self) -> Sessions {
        Sessions {
            context: self.context.clone(),
            config: self.config,
            layout: self.layout.clone(),
            kernels: std::rc::Rc::clone(&self.kernels),
            params: self.params.clone(),
        }
    }

    /// A session for `rows` images at a time (bindings made once, reused by every request).
    pub async fn inference(&self, rows: u32) -> Result<Inference, GpuError> {
        self.sessions().inference(rows).await
    }

    /// The posterior's mean and log-variance for each image of `x` (`[rows, input]`, 0/1 pixels).
    pub async fn encode(&self, x: &[f32]) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        let session = self
            .inference(self.rows_of(x, self.config.sizes.input, "pixel images")?)
            .await?;
        self.request_encode(&session, x)?.wait().await
    }

    /// Pixel probabilities σ(logits) for each latent vector of `z` (`[rows, latent]`).
    pub async fn decode(&self, z: &[f32]) -> Result<Vec<f32>, GpuError> {
        let latent = self.config.sizes.latent;
        let session = self
            .inference(self.rows_of(z, latent, "dimensional latent vectors")?)
            .await?;
        self.request_decode(&session, z)?.wait().await
    }

    /// Queues the encoder over `x` (exactly `session.rows()` images) and starts reading the
    /// posterior back; the model is free again at once.
    pub fn request_encode(
        &self,
        session: &Inference,
        x: &[f32],
    ) -> Result<PosteriorRead, GpuError> {
        self.check_request(session, x, self.config.sizes.input, "pixel images")?;
        let a = &session.activations;
        self.context
            .queue
            .write_buffer(&a.x, 0, bytemuck::cast_slice(x));
        let read = self.submit_and_read(&a.heads, &session.heads_reads, |encoder| {
            self.compute(encoder, |pass| session.forward.encode_encoder(pass));
        });
        Ok(PosteriorRead {
            read,
            latent: self.config.sizes.latent,
        })
    }

    /// Queues the decoder over `z` (exactly `session.rows()` latent vectors) and starts reading
    /// the pixel probabilities back.
    pub fn request_decode(&self, session: &Inference, z: &[f32]) -> Result<ImageRead, GpuError> {
        let latent = self.config.sizes.latent;
        self.check_request(session, z, latent, "dimensional latent vectors")?;
        if let Some(bad) = z.iter().find(|v| !v.is_finite()) {
            return Err(GpuError::InvalidInput(format!(
                "latent value {bad} is not finite"
            )));
        }
        let a = &session.activations;
        self.context
            .queue
            .write_buffer(&a.z, 0, bytemuck::cast_slice(z));
        Ok(ImageRead(self.submit_and_read(
            &a.logits,
            &session.image_reads,
            |encoder| {
                self.compute(encoder, |pass| session.forward.encode_decoder(pass));
            },
        )))
    }

    /// Queues encoder, then decoder at each image's posterior mean (no sampling: the picture
    /// of what the model has learned), over `x`, and starts reading the probabilities back.
    pub fn request_reconstruction(
        &self,
        session: &Inference,
        x: &[f32],
    ) -> Result<ImageRead, GpuError> {
        self.check_request(session, x, self.config.sizes.input, "pixel images")?;
        let a = &session.activations;
        self.context
            .queue
            .write_buffer(&a.x, 0, bytemuck::cast_slice(x));
        Ok(ImageRead(self.submit_and_read(
            &a.logits,
            &session.image_reads,
            |encoder| self.record_reconstruction(session, encoder),
        )))
    }

    /// Records the encoder over the session's x, each row's posterior mean copied to z, and the
    /// decoder over z: a reconstruction, for [`Vae::request_reconstruction`] and the drawing pad.
    pub(super) fn record_reconstruction(
        &self,
        session: &Inference,
        encoder: &mut wgpu::CommandEncoder,
    ) {
        let a = &session.activations;
        let latent_bytes = (self.config.sizes.latent * 4) as u64;
        self.compute(encoder, |pass| session.forward.encode_encoder(pass));
        // heads rows are [mean | logvar]: the means go to z row by row.
        for row in 0..u64::from(session.rows) {
            encoder.copy_buffer_to_buffer(
                &a.heads,
                row * 2 * latent_bytes,
                &a.z,
                row * latent_bytes,
                latent_bytes,
            );
        }
        self.compute(encoder, |pass| session.forward.encode_decoder(pass));
    }

    fn rows_of(&self, values: &[f32], width: usize, what: &str) -> Result<u32, GpuError> {
        if values.is_empty() || !values.len().is_multiple_of(width) {
            return Err(GpuError::InvalidInput(format!(
                "{} values are not a whole number of {width}-{what}",
                values.len()
            )));
        }
        Ok((values.len() / width) as u32)
    }

    pub(super) fn check_request(
        &self,
        session: &Inference,
        values: &[f32],
        width: usize,
        what: &str,
    ) -> Result<(), GpuError> {
        self.context.check_device()?;
        let rows = self.rows_of(values, width, what)?;
        if rows != session.rows {
            return Err(GpuError::InvalidInput(format!(
                "{rows} rows given to a session made for {}",
                session.rows
            )));
        }
        Ok(())
    }

    /// Records `work`, copies `output` to a staging buffer of `pool` in the same submit, and
    /// starts mapping it.
    pub(super) fn submit_and_read(
        &self,
        output: &wgpu::Buffer,
        pool: &StagingPool,
        work: impl FnOnce(&mut wgpu::CommandEncoder),
    ) -> PendingRead {
        let device = &self.context.device;
        let staging = pool.take(device);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("inference"),
        });
        work(&mut encoder);
        encoder.copy_buffer_to_buffer(output, 0, &staging, 0, output.size());
        self.context.queue.submit([encoder.finish()]);
        PendingRead::start(&self.context, staging, Some(pool))
    }

    pub(super) fn compute(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        record: impl FnOnce(&mut wgpu::ComputePass<'_>),
    ) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("inference"),
            timestamp_writes: None,
        });
        record(&mut pass);
    }
}

/// Parameters in the packed layout of `vae-reference` (and PyTorch's state dict order), from
/// the GPU layout.
pub fn pack_parameters(gpu_layout: &Layout, gpu: &[f32]) -> Vec<f32> {
    let packed = Layout::new(gpu_layout.sizes);
    let mut out = vec![0.0; packed.len()];
    for tensor in vae_reference::Tensor::ALL {
        out[packed.range(tensor)].copy_from_slice(&gpu[gpu_layout.range(tensor)]);
    }
    out
}

/// `rows` latent vectors drawn from the prior N(0, I): draw number `draw` for `seed`, the same
/// on every machine (the engine's counter-based noise, keyed apart from training's steps).
pub fn prior_sample(seed: u64, draw: u32, rows: usize, latent: usize) -> Vec<f32> {
    // Training keys its noise by step from 1 and evaluation from 2^31: draws live at the top.
    let key = u32::MAX - draw;
    (0..(rows * latent) as u32)
        .map(|element| vae_reference::noise::standard_normal(seed, key, element) as f32)
        .collect()
}
