//! Encoding training steps: many per submit, across epoch ends, with or without a fence.

use super::{Vae, MAX_STEPS_PER_SUBMIT};
use crate::readback::PendingRead;
use crate::GpuError;
use vae_model::epoch_order;

impl Vae {
    /// Encodes `n` training steps (gather, forward, backward, Adam) into one submit, across an
    /// epoch's end too (the next epoch's order goes into the other order buffer). A submit holds
    /// at most [`MAX_STEPS_PER_SUBMIT`] steps, and at most one epoch change after its first step
    /// (more only with tiny data sets); beyond that the steps go into further submits. Nothing
    /// is read back.
    pub fn train_steps(&mut self, n: u32) -> Result<(), GpuError> {
        self.encode_training(n, false).map(|_| ())
    }

    /// [`Vae::train_steps`] and a [`Vae::step_fence`] after them, the fence's copy recorded in
    /// the steps' own submit: one submit less per chunk for a page that paces its training by
    /// fences (each submit costs a browser's main thread a few tenths of a millisecond).
    pub fn train_steps_fenced(&mut self, n: u32) -> Result<PendingRead, GpuError> {
        match self.encode_training(n, true)? {
            Some(fence) => Ok(fence),
            None => Ok(self.step_fence()),
        }
    }

    fn encode_training(&mut self, n: u32, fenced: bool) -> Result<Option<PendingRead>, GpuError> {
        self.context.check_device()?;
        let batch = self.config.batch;
        let seed = self.config.seed;
        let data = self.data.as_mut().ok_or_else(|| {
            GpuError::InvalidInput("no training data: call set_training_data first".into())
        })?;
        let count = data.split.len() as u32;
        let dispatches_before = crate::kernels::dispatches_recorded();
        let mut remaining = n;
        let mut fence = None;
        while remaining > 0 {
            // (order buffer, gather slot) of each step of this submit, and each buffer's firsts.
            let mut plan: Vec<(usize, u32)> = Vec::new();
            let mut firsts: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
            // Each buffer's steps in a submit are of one epoch (what drawn levels are drawn for).
            let mut epochs = [0u32; 2];
            while remaining > 0 {
                let starts_epoch = data.cursor.starts_epoch(batch, count as usize);
                let buffer = if starts_epoch {
                    1 - data.active
                } else {
                    data.active
                };
                if starts_epoch && !firsts[buffer].is_empty() {
                    break; // this submit still reads that buffer: the epoch starts in the next
                }
                if firsts[buffer].len() as u32 == MAX_STEPS_PER_SUBMIT {
                    break;
                }
                let (first, new_epoch) = data.cursor.advance(batch, count as usize);
                if new_epoch {
                    data.active = buffer;
                    let order = epoch_order(seed, data.cursor.epoch, count as usize);
                    self.context.queue.write_buffer(
                        &data.orders[buffer],
                        0,
                        bytemuck::cast_slice(&order),
                    );
                }
                epochs[buffer] = data.cursor.epoch as u32;
                plan.push((buffer, firsts[buffer].len() as u32));
                firsts[buffer].push(first);
                remaining -= 1;
            }
            for ((gather, firsts), epoch) in data.gathers.iter().zip(&firsts).zip(epochs) {
                if !firsts.is_empty() {
                    self.kernels
                        .gather
                        .write_steps(&self.context.queue, gather, firsts, epoch)?;
                }
            }
            let mut encoder =
                self.context
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("training steps"),
                    });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("training steps"),
                    timestamp_writes: None,
                });
                for &(buffer, slot) in &plan {
                    // The gather also advances the step counter.
                    self.kernels
                        .gather
                        .encode(&mut pass, &data.gathers[buffer], slot);
                    self.forward.encode(&self.kernels, &mut pass);
                    self.backward.encode(&self.kernels, &mut pass);
                }
            }
            let staging = (fenced && remaining == 0).then(|| {
                let staging = self.reads.fences.take(&self.context.device);
                encoder.copy_buffer_to_buffer(&self.state, 0, &staging, 0, self.state.size());
                staging
            });
            self.context.queue.submit([encoder.finish()]);
            self.step += plan.len() as u64;
            fence = staging.map(|staging| {
                PendingRead::start(&self.context, staging, Some(&self.reads.fences))
            });
        }
        let dispatches = crate::kernels::dispatches_recorded() - dispatches_before;
        if n > 0 {
            self.dispatches_per_step = (dispatches / u64::from(n)) as u32;
        }
        Ok(fence)
    }

    /// Compute dispatches the last [`Vae::train_steps`] recorded per step: what a step costs
    /// the CPU that encodes it is mostly these (each a pipeline, a bind group and a dispatch).
    pub fn dispatches_per_step(&self) -> u32 {
        self.dispatches_per_step
    }

    /// One training step on the given images (`[batch, input]`, 0/1 pixels) instead of the next
    /// batch of the training data: for checks against other implementations (PyTorch).
    pub fn train_step_on(&mut self, x: &[f32]) -> Result<(), GpuError> {
        self.context.check_device()?;
        let expected = self.config.batch as usize * self.config.sizes.input;
        if x.len() != expected {
            return Err(GpuError::InvalidInput(format!(
                "{} values given, a batch is {expected}",
                x.len()
            )));
        }
        self.context
            .queue
            .write_buffer(&self.train_batch.x, 0, bytemuck::cast_slice(x));
        let mut encoder =
            self.context
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("training step"),
                });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("training step"),
                timestamp_writes: None,
            });
            self.backward.encode_advance(&self.kernels, &mut pass);
            self.forward.encode(&self.kernels, &mut pass);
            self.backward.encode(&self.kernels, &mut pass);
        }
        self.context.queue.submit([encoder.finish()]);
        self.step += 1;
        Ok(())
    }
}
