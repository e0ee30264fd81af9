//! Using the model without training it: the test −ELBO of a data set, encoding and decoding.

use vae_reference::Layout;

use super::graph::{storage_buffer, Activations, ForwardPass, PassInputs};
use super::Vae;
use crate::data::GpuSplit;
use crate::kernels::gather::GatherBuffers;
use crate::kernels::step::advance_uniform;
use crate::GpuError;

/// Evaluation draws its noise with step keys from here on, never used by training steps, so an
/// evaluation neither repeats a training step's noise nor disturbs the training state.
const EVALUATION_STEP_BASE: u32 = 0x8000_0000;

/// Mean −ELBO, BCE and KL over a data set, in nats per image (one draw of ε per image).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub neg_elbo: f64,
    pub bce: f64,
    pub kl: f64,
    pub images: usize,
}

impl Vae {
    /// Mean −ELBO over every image of `split`, in batches, with the current parameters.
    /// Deterministic: the noise is keyed by the batch's position, not by the training step.
    pub async fn evaluate(&self, split: &mnist_shard::Split<'_>) -> Result<Evaluation, GpuError> {
        self.context.check_device()?;
        if split.pixels_per_image() != self.config.sizes.input {
            return Err(GpuError::InvalidInput(format!(
                "the data has {} pixels per image, the model takes {}",
                split.pixels_per_image(),
                self.config.sizes.input
            )));
        }
        let context = &self.context;
        let device = &context.device;
        let images = split.len() as u32;
        let batch = self.config.batch.min(images.max(1));
        let full = images / batch;
        let tail = images % batch;
        let passes = full + u32::from(tail > 0);
        let gpu_split = GpuSplit::upload(context, split)?;
        let identity: Vec<u32> = (0..images).collect();
        let order = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("evaluation order"),
            size: (u64::from(images) * 4).max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        context
            .queue
            .write_buffer(&order, 0, bytemuck::cast_slice(&identity));
        let state = storage_buffer(device, "evaluation step", 1);
        context
            .queue
            .write_buffer(&state, 0, &EVALUATION_STEP_BASE.to_le_bytes());
        let ring = storage_buffer(device, "evaluation records", 4 * passes as usize);
        let inputs = PassInputs {
            layout: &self.layout,
            params: &self.params,
            state: &state,
            ring: &ring,
            ring_slots: passes,
            seed: self.config.seed,
        };
        let advance = self
            .kernels
            .step
            .advance_step
            .bind(
                context,
                &advance_uniform(1),
                &[state.as_entire_buffer_binding()],
                (1, 1),
            )
            .await?;

        // One set of activations for the full batches, one for the remainder.
        let mut groups = Vec::new();
        for (rows, count, first) in [(batch, full, 0), (tail, u32::from(tail > 0), full * batch)] {
            if count == 0 {
                continue;
            }
            let activations = Activations::new(device, self.config.sizes, rows);
            let forward = ForwardPass::bind(context, &self.kernels, &inputs, &activations).await?;
            let gather = self
                .kernels
                .gather
                .bind(
                    context,
                    &gpu_split,
                    GatherBuffers {
                        order: &order,
                        order_len: images,
                        x: &activations.x,
                    },
                    rows,
                    count,
                )
                .await?;
            let firsts: Vec<u32> = (0..count).map(|k| first + k * rows).collect();
            self.kernels
                .gather
                .write_steps(&context.queue, &gather, &firsts)?;
            groups.push((rows, count, activations, forward, gather));
        }

        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("evaluation"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("evaluation"),
                timestamp_writes: None,
            });
            for (_, count, _, forward, gather) in &groups {
                for slot in 0..*count {
                    self.kernels.step.advance_step.encode(&mut pass, &advance);
                    self.kernels.gather.encode(&mut pass, gather, slot);
                    forward.encode(&self.kernels, &mut pass);
                }
            }
        }
        context.queue.submit([encoder.finish()]);
        let records = self.read_buffer(&ring).await?;

        // Record k (in step order) is batch k; weight each batch mean by its images.
        let mut by_step: Vec<(u32, [f32; 3])> = records
            .chunks_exact(4)
            .map(|r| (r[0].to_bits(), [r[1], r[2], r[3]]))
            .collect();
        by_step.sort_by_key(|(step, _)| *step);
        let rows_of = |k: u32| if k < full { batch } else { tail };
        let mut sums = [0.0f64; 3];
        for (k, (_, values)) in by_step.iter().enumerate() {
            for (sum, &value) in sums.iter_mut().zip(values) {
                *sum += f64::from(value) * f64::from(rows_of(k as u32));
            }
        }
        let n = f64::from(images.max(1));
        Ok(Evaluation {
            neg_elbo: sums[0] / n,
            bce: sums[1] / n,
            kl: sums[2] / n,
            images: images as usize,
        })
    }

    /// The posterior's mean and log-variance for each image of `x` (`[rows, input]`, 0/1 pixels).
    pub async fn encode(&self, x: &[f32]) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        let sizes = self.config.sizes;
        if x.is_empty() || !x.len().is_multiple_of(sizes.input) {
            return Err(GpuError::InvalidInput(format!(
                "{} values are not a whole number of {}-pixel images",
                x.len(),
                sizes.input
            )));
        }
        let rows = (x.len() / sizes.input) as u32;
        let (activations, forward) = self.scratch(rows).await?;
        self.context
            .queue
            .write_buffer(&activations.x, 0, bytemuck::cast_slice(x));
        self.run(|pass| forward.encode_encoder(&self.kernels, pass));
        let heads = self.read_buffer(&activations.heads).await?;
        let latent = sizes.latent;
        let (mut mean, mut logvar) = (Vec::new(), Vec::new());
        for row in heads.chunks_exact(2 * latent) {
            mean.extend_from_slice(&row[..latent]);
            logvar.extend_from_slice(&row[latent..]);
        }
        Ok((mean, logvar))
    }

    /// Pixel probabilities σ(logits) for each latent vector of `z` (`[rows, latent]`).
    pub async fn decode(&self, z: &[f32]) -> Result<Vec<f32>, GpuError> {
        let latent = self.config.sizes.latent;
        if z.is_empty() || !z.len().is_multiple_of(latent) {
            return Err(GpuError::InvalidInput(format!(
                "{} values are not a whole number of {latent}-dimensional latent vectors",
                z.len()
            )));
        }
        if let Some(bad) = z.iter().find(|v| !v.is_finite()) {
            return Err(GpuError::InvalidInput(format!(
                "latent value {bad} is not finite"
            )));
        }
        let rows = (z.len() / latent) as u32;
        let (activations, forward) = self.scratch(rows).await?;
        self.context
            .queue
            .write_buffer(&activations.z, 0, bytemuck::cast_slice(z));
        self.run(|pass| forward.encode_decoder(&self.kernels, pass));
        let logits = self.read_buffer(&activations.logits).await?;
        Ok(logits.iter().map(|&l| 1.0 / (1.0 + (-l).exp())).collect())
    }

    /// Activations and a forward binding for `rows` images outside training.
    async fn scratch(&self, rows: u32) -> Result<(Activations, ForwardPass), GpuError> {
        self.context.check_device()?;
        let device = &self.context.device;
        let activations = Activations::new(device, self.config.sizes, rows);
        let state = storage_buffer(device, "scratch step", 1);
        let ring = storage_buffer(device, "scratch record", 4);
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
        Ok((activations, forward))
    }

    fn run(&self, record: impl FnOnce(&mut wgpu::ComputePass<'_>)) {
        let mut encoder =
            self.context
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("inference"),
                });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("inference"),
                timestamp_writes: None,
            });
            record(&mut pass);
        }
        self.context.queue.submit([encoder.finish()]);
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
