//! Reading the model's state back: metrics with divergence detection and rollback, parameters,
//! gradients and moments. Every read is asynchronous and queued after the work already submitted.

use vae_model::{MetricsReport, Snapshot, StepMetrics};

use super::Vae;
use crate::readback::PendingRead;
use crate::GpuError;

/// A metrics read in flight ([`Vae::begin_metrics`]); it holds no borrow of the model.
pub struct MetricsRead {
    read: PendingRead,
    candidate: Option<usize>,
    step_at_copy: u64,
}

/// What a completed [`MetricsRead`] brought back, for [`Vae::finish_metrics`].
pub struct MetricsData {
    records: Vec<f32>,
    candidate: Option<usize>,
    step_at_copy: u64,
}

impl MetricsRead {
    /// Waits for the copy (after all the work submitted before it) without blocking.
    pub async fn wait(self) -> Result<MetricsData, GpuError> {
        Ok(MetricsData {
            records: self.read.floats().await?,
            candidate: self.candidate,
            step_at_copy: self.step_at_copy,
        })
    }
}

impl Vae {
    /// Reads the metrics of the steps since the last read. Asynchronous and never stalls the
    /// queue: the ring is copied after the work already submitted and mapped when it is done.
    /// A read whose losses are all finite also becomes the point [`Vae::rollback`] returns to.
    pub async fn metrics(&mut self) -> Result<MetricsReport, GpuError> {
        let read = self.begin_metrics()?;
        let data = read.wait().await;
        self.finish_metrics(data)
    }

    /// The first half of [`Vae::metrics`], for callers that keep using the model while the read
    /// completes (a page that trains and decodes meanwhile): copies the metrics ring and a
    /// snapshot of the parameters after the submitted work. One read at a time: hand its result
    /// to [`Vae::finish_metrics`] before beginning another.
    pub fn begin_metrics(&mut self) -> Result<MetricsRead, GpuError> {
        self.begin_metrics_with(Snapshot::Take)
    }

    /// [`Vae::begin_metrics`], with or without the snapshot. A read without one still confirms
    /// the snapshot before it (its steps ran on those parameters) and still detects divergence;
    /// a rollback then returns to the last snapshot taken and confirmed.
    pub fn begin_metrics_with(&mut self, snapshot: Snapshot) -> Result<MetricsRead, GpuError> {
        self.context.check_device()?;
        if self.metrics_in_flight {
            return Err(GpuError::InvalidInput(
                "a metrics read is already in flight: finish it first".into(),
            ));
        }
        let device = &self.context.device;
        let bytes = self.ring.size();
        let staging = self.reads.metrics.take(device);
        // The slot neither good nor pending.
        let (good, pending) = (*self.points.good(), self.points.pending().copied());
        let candidate = (0..3)
            .find(|&slot| slot != good && Some(slot) != pending)
            .unwrap_or_else(|| unreachable!("three slots, at most two in use"));
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("metrics read"),
        });
        encoder.copy_buffer_to_buffer(&self.ring, 0, &staging, 0, bytes);
        let candidate = (snapshot == Snapshot::Take).then_some(candidate);
        if let Some(slot) = candidate {
            for (live, copy) in self.live_buffers().iter().zip(&self.snapshots[slot]) {
                encoder.copy_buffer_to_buffer(live, 0, copy, 0, live.size());
            }
        }
        self.context.queue.submit([encoder.finish()]);
        self.metrics_in_flight = true;
        Ok(MetricsRead {
            read: PendingRead::start(&self.context, staging, Some(&self.reads.metrics)),
            candidate,
            step_at_copy: self.step,
        })
    }

    /// The second half of [`Vae::metrics`]: the steps the read covers and whether any diverged.
    /// Takes the read's result as it came, failed or not, so a new read can begin either way.
    pub fn finish_metrics(
        &mut self,
        data: Result<MetricsData, GpuError>,
    ) -> Result<MetricsReport, GpuError> {
        self.metrics_in_flight = false;
        let MetricsData {
            records,
            candidate,
            step_at_copy,
        } = data?;
        let mut steps: Vec<StepMetrics> = records
            .chunks_exact(4)
            .map(|record| StepMetrics {
                step: u64::from(record[0].to_bits()),
                neg_elbo: record[1],
                bce: record[2],
                kl: record[3],
            })
            .filter(|m| m.step > self.reported_step && m.step <= step_at_copy)
            .collect();
        steps.sort_by_key(|m| m.step);
        self.reported_step = self.reported_step.max(step_at_copy);
        // What the steps say about the pending snapshot is the model's rule; a new snapshot is
        // kept only from a read that found the run fine.
        let judged = self.points.judge(steps);
        if judged.report.diverged_at.is_none() {
            if let Some(slot) = candidate.filter(|_| self.points.wants(step_at_copy)) {
                self.points.offer(slot, step_at_copy);
            }
        }
        Ok(judged.report)
    }

    pub(super) fn live_buffers(&self) -> [&wgpu::Buffer; 4] {
        [&self.params, &self.m, &self.v, &self.state]
    }

    pub(super) fn snapshot_into_good(&self) {
        let mut encoder =
            self.context
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("snapshot"),
                });
        let good = &self.snapshots[*self.points.good()];
        for (live, copy) in self.live_buffers().iter().zip(good) {
            encoder.copy_buffer_to_buffer(live, 0, copy, 0, live.size());
        }
        self.context.queue.submit([encoder.finish()]);
    }

    /// Restores the parameters, Adam moments and step of the last snapshot known good (or the
    /// initial ones): one taken at a metrics read whose following step still had a finite loss
    /// below the blow-up limit. After a divergence, training can go on from there.
    pub fn rollback(&mut self) {
        let mut encoder =
            self.context
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("rollback"),
                });
        let good = &self.snapshots[*self.points.good()];
        for (copy, live) in good.iter().zip(self.live_buffers()) {
            encoder.copy_buffer_to_buffer(copy, 0, live, 0, live.size());
        }
        self.context.queue.submit([encoder.finish()]);
        self.step = self.points.good_step();
        self.reported_step = self.step;
        self.points.take_pending();
    }

    /// The parameters, in the GPU layout ([`Vae::layout`]).
    pub async fn read_parameters(&self) -> Result<Vec<f32>, GpuError> {
        self.read_buffer(&self.params).await
    }

    /// The gradients of the last step, in the GPU layout.
    pub async fn read_gradients(&self) -> Result<Vec<f32>, GpuError> {
        self.read_buffer(&self.grads).await
    }

    /// Adam's first and second moments, in the GPU layout.
    pub async fn read_moments(&self) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        Ok((
            self.read_buffer(&self.m).await?,
            self.read_buffer(&self.v).await?,
        ))
    }

    pub(crate) async fn read_buffer(&self, buffer: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
        self.read_later(buffer).floats().await
    }

    /// A fence: resolves (to the GPU's step counter, a little-endian u32) once every step
    /// submitted so far is done. A page paces its training with it, a few chunks in flight;
    /// its staging buffers are reused.
    pub fn step_fence(&self) -> PendingRead {
        let size = self.state.size();
        PendingRead::copy_of(
            &self.context,
            &self.state,
            0,
            size,
            Some(&self.reads.fences),
        )
    }

    /// Starts a read of `buffer` queued after the submitted work.
    pub(crate) fn read_later(&self, buffer: &wgpu::Buffer) -> PendingRead {
        PendingRead::copy_of(&self.context, buffer, 0, buffer.size(), None)
    }
}
