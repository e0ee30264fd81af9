//! The test −ELBO of a data set: an [`Evaluator`] holds the data and bindings once and runs its
//! batches in as many submits as the caller likes, so a page can evaluate a frame at a time.
//! Each batch's posteriors are kept too, so after an evaluation every image's posterior can be
//! read back ([`Vae::request_posteriors`]) without running the encoder again.

use super::graph::{storage_buffer, Activations, ForwardPass, PassInputs};
use super::inference::PosteriorRead;
use super::Vae;
use crate::data::GpuSplit;
use crate::kernels::gather::{GatherBinding, GatherBuffers};
use crate::kernels::step::advance_uniform;
use crate::kernels::Binding;
use crate::readback::PendingRead;
use crate::GpuError;
use mnist_shard::draw::EVALUATION_EPOCH;
use vae_model::{Evaluation, EVALUATION_STEP_BASE};

/// Batches of equal size that share one set of activations.
struct BatchGroup {
    count: u32,
    forward: ForwardPass,
    gather: GatherBinding,
    /// Where each of the group's batches starts, in images.
    firsts: Vec<u32>,
    activations: Activations,
}

/// A data set on the GPU with everything needed to evaluate the model on it, made once by
/// [`Vae::evaluator`] and bound to that model's parameters.
pub struct Evaluator {
    images: u32,
    batch: u32,
    full: u32,
    tail: u32,
    state: wgpu::Buffer,
    ring: wgpu::Buffer,
    advance: Binding,
    groups: Vec<BatchGroup>,
    /// The next batch of the evaluation under way.
    next: u32,
    /// Which draw of ε the next evaluation uses.
    draw: u32,
    /// `[images, 2·latent]`: every image's [mean | logvar], as of the last evaluation.
    posteriors: wgpu::Buffer,
    /// An evaluation has run to its end since the evaluator was made.
    completed: bool,
    _split: GpuSplit,
    _order: wgpu::Buffer,
}

impl Evaluator {
    /// Batches in one evaluation.
    pub fn batches(&self) -> u32 {
        self.full + u32::from(self.tail > 0)
    }

    /// Makes the next evaluation use draw `draw` of ε (0 unless set): independent draws give
    /// independent estimates of the same −ELBO.
    pub fn set_draw(&mut self, draw: u32) {
        self.draw = draw;
    }

    /// Abandons the evaluation under way (its batches already submitted are simply unread);
    /// the next run starts afresh.
    pub fn cancel(&mut self) {
        self.next = 0;
        // Its batches overwrote part of the last evaluation's posteriors.
        self.completed = false;
    }

    /// Batches of the evaluation under way not yet submitted.
    pub fn remaining(&self) -> u32 {
        self.batches() - self.next
    }
}

/// An evaluation's records on their way back ([`Vae::request_evaluation`]).
pub struct EvaluationRead {
    read: PendingRead,
    images: u32,
    batch: u32,
    full: u32,
    tail: u32,
}

impl EvaluationRead {
    pub async fn wait(self) -> Result<Evaluation, GpuError> {
        let records = self.read.floats().await?;
        // Record k (in step order) is batch k; weight each batch mean by its images.
        let mut by_step: Vec<(u32, [f32; 3])> = records
            .chunks_exact(4)
            .map(|r| (r[0].to_bits(), [r[1], r[2], r[3]]))
            .collect();
        by_step.sort_by_key(|(step, _)| *step);
        let rows_of = |k: u32| if k < self.full { self.batch } else { self.tail };
        let mut sums = [0.0f64; 3];
        for (k, (_, values)) in by_step.iter().enumerate() {
            for (sum, &value) in sums.iter_mut().zip(values) {
                *sum += f64::from(value) * f64::from(rows_of(k as u32));
            }
        }
        let n = f64::from(self.images.max(1));
        Ok(Evaluation {
            neg_elbo: sums[0] / n,
            bce: sums[1] / n,
            kl: sums[2] / n,
            images: self.images as usize,
        })
    }
}

impl Vae {
    /// Mean −ELBO over every image of `split`, in batches, with the current parameters.
    /// Deterministic: the noise is keyed by the batch's position, not by the training step.
    pub async fn evaluate(&self, split: &mnist_shard::Split<'_>) -> Result<Evaluation, GpuError> {
        let mut evaluator = self.evaluator(split).await?;
        self.run_evaluation(&mut evaluator, u32::MAX)?;
        self.request_evaluation(&mut evaluator)?.wait().await
    }

    /// `draws` evaluations over `split`, each with its own draw of ε (draw 0 is [`Vae::evaluate`]'s).
    pub async fn evaluate_draws(
        &self,
        split: &mnist_shard::Split<'_>,
        draws: u32,
    ) -> Result<Vec<Evaluation>, GpuError> {
        let mut evaluator = self.evaluator(split).await?;
        let mut results = Vec::with_capacity(draws as usize);
        for draw in 0..draws {
            evaluator.set_draw(draw);
            self.run_evaluation(&mut evaluator, u32::MAX)?;
            results.push(self.request_evaluation(&mut evaluator)?.wait().await?);
        }
        Ok(results)
    }

    /// Uploads `split` and binds everything an evaluation on it needs, once.
    pub async fn evaluator(&self, split: &mnist_shard::Split<'_>) -> Result<Evaluator, GpuError> {
        self.context.check_device()?;
        self.config.check_shape(vae_model::ImageShape::of(split))?;
        let context = &self.context;
        let device = &context.device;
        let images = split.len() as u32;
        let batch = self.config.batch.min(images.max(1));
        let full = images / batch;
        let tail = images % batch;
        let passes = full + u32::from(tail > 0);
        let split_on_gpu = GpuSplit::upload(context, split)?;
        let identity: Vec<u32> = (0..images).collect();
        let order = storage_buffer(device, "evaluation order", identity.len());
        context
            .queue
            .write_buffer(&order, 0, bytemuck::cast_slice(&identity));
        let state = storage_buffer(device, "evaluation step", 1);
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
                    &split_on_gpu,
                    GatherBuffers {
                        order: &order,
                        order_len: images,
                        x: &activations.x,
                        step_counter: None,
                    },
                    rows,
                    count,
                )
                .await?;
            let firsts: Vec<u32> = (0..count).map(|k| first + k * rows).collect();
            self.kernels
                .gather
                .write_steps(&context.queue, &gather, &firsts, EVALUATION_EPOCH)?;
            groups.push(BatchGroup {
                count,
                forward,
                gather,
                firsts,
                activations,
            });
        }
        Ok(Evaluator {
            images,
            batch,
            full,
            tail,
            state,
            ring,
            advance,
            groups,
            next: 0,
            draw: 0,
            posteriors: storage_buffer(
                device,
                "evaluation posteriors",
                images as usize * 2 * self.config.sizes.latent,
            ),
            completed: false,
            _split: split_on_gpu,
            _order: order,
        })
    }

    /// Submits up to `n` more batches of an evaluation (starting one if none is under way) and
    /// returns how many remain. The parameters must not change until the last batch is in:
    /// interleave these with inference, not with training.
    pub fn run_evaluation(&self, evaluator: &mut Evaluator, n: u32) -> Result<u32, GpuError> {
        self.context.check_device()?;
        let context = &self.context;
        if evaluator.next == 0 {
            evaluator.completed = false;
            // Each draw keys its batches' noise apart from every other draw's.
            let base =
                EVALUATION_STEP_BASE.wrapping_add(evaluator.draw.wrapping_mul(evaluator.batches()));
            context
                .queue
                .write_buffer(&evaluator.state, 0, &base.to_le_bytes());
        }
        let end = evaluator.next.saturating_add(n).min(evaluator.batches());
        let mut encoder = context
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("evaluation"),
            });
        let row_bytes = (2 * self.config.sizes.latent * 4) as u64;
        for k in evaluator.next..end {
            let (group, slot) = if k < evaluator.full || evaluator.tail == 0 {
                (&evaluator.groups[0], k)
            } else {
                (&evaluator.groups[evaluator.groups.len() - 1], 0)
            };
            debug_assert!(slot < group.count);
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("evaluation"),
                    timestamp_writes: None,
                });
                self.kernels
                    .step
                    .advance_step
                    .encode(&mut pass, &evaluator.advance);
                self.kernels.gather.encode(&mut pass, &group.gather, slot);
                group.forward.encode(&self.kernels, &mut pass);
            }
            // The batch's posteriors, kept beside the others: the latent map needs them all.
            let heads = &group.activations.heads;
            let first = u64::from(group.firsts[slot as usize]);
            encoder.copy_buffer_to_buffer(
                heads,
                0,
                &evaluator.posteriors,
                first * row_bytes,
                u64::from(group.activations.rows) * row_bytes,
            );
        }
        context.queue.submit([encoder.finish()]);
        evaluator.next = end;
        if end == evaluator.batches() {
            evaluator.completed = true;
        }
        Ok(evaluator.remaining())
    }

    /// Starts reading the result of a completed evaluation; the evaluator is then ready for the
    /// next one.
    pub fn request_evaluation(
        &self,
        evaluator: &mut Evaluator,
    ) -> Result<EvaluationRead, GpuError> {
        self.context.check_device()?;
        if evaluator.remaining() > 0 {
            return Err(GpuError::InvalidInput(format!(
                "{} of the evaluation's batches have not run yet",
                evaluator.remaining()
            )));
        }
        evaluator.next = 0;
        Ok(EvaluationRead {
            read: self.read_later(&evaluator.ring),
            images: evaluator.images,
            batch: evaluator.batch,
            full: evaluator.full,
            tail: evaluator.tail,
        })
    }

    /// Starts reading every image's posterior (mean and log-variance) as the last complete
    /// evaluation computed them: queued after it, so what comes back is that model's, whatever
    /// is queued later.
    pub fn request_posteriors(&self, evaluator: &Evaluator) -> Result<PosteriorRead, GpuError> {
        self.context.check_device()?;
        if !evaluator.completed || evaluator.next != 0 {
            return Err(GpuError::InvalidInput(
                "the posteriors are read after a complete evaluation, not during one".into(),
            ));
        }
        Ok(PosteriorRead {
            read: self.read_later(&evaluator.posteriors),
            latent: self.config.sizes.latent,
        })
    }
}
