//! Training on the page: chunks of steps sized to about a frame of GPU time, one chunk in
//! flight (the next is encoded the moment the last is done, so the GPU stays busy and a slider's
//! decode never queues behind more than one chunk), metrics read a few times a second, and the
//! test set evaluated in pieces at each epoch's end.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::vae::{EvaluationRead, MetricsData, MetricsRead};
use vae_gpu::{GpuError, PendingRead};

use super::{Lab, LabController, Phase, Progress, TestPoint, TrainPoint};
use crate::draw::now_ms;

/// GPU time a chunk should take: short enough that a decode queued behind it is still on
/// screen within a couple of frames.
const CHUNK_TARGET_MS: f64 = 20.0;
const MAX_STEPS_PER_CHUNK: u32 = 32;
/// Metrics are read this often, or after this many steps (the GPU keeps 256).
const METRICS_EVERY_MS: f64 = 250.0;
const METRICS_EVERY_STEPS: u64 = 128;
/// Steps past the last read at which training waits for the read in flight.
const METRICS_BACKLOG_STEPS: u64 = 192;
const GALLERY_EVERY_MS: f64 = 1000.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Evaluating {
    /// Batches still to submit; the result becomes the point of `epoch`.
    Batches {
        epoch: u64,
    },
    Reading,
}

#[derive(Clone, Copy, Debug)]
enum ChunkKind {
    Train(u32),
    Evaluate(u32),
}

pub(super) struct Schedule {
    pub training: bool,
    chunk_in_flight: bool,
    metrics_in_flight: bool,
    evaluating: Option<Evaluating>,
    ms_per_step: Option<f64>,
    ms_per_eval_batch: Option<f64>,
    trained_ms: f64,
    trained_steps: u64,
    running_since: Option<f64>,
    elapsed_before: f64,
    last_read_at: f64,
    step_at_read: u64,
    last_gallery_at: f64,
}

/// Work to await, started while the lab was borrowed.
enum Action {
    Chunk {
        kind: ChunkKind,
        started: f64,
        fence: PendingRead,
    },
    Metrics(MetricsRead),
    Evaluation {
        epoch: u64,
        step: u64,
        read: EvaluationRead,
    },
}

fn smooth(previous: Option<f64>, sample: f64) -> f64 {
    previous.map_or(sample, |p| 0.7 * p + 0.3 * sample)
}

impl Schedule {
    pub fn new() -> Self {
        Self {
            training: false,
            chunk_in_flight: false,
            metrics_in_flight: false,
            evaluating: None,
            ms_per_step: None,
            ms_per_eval_batch: None,
            trained_ms: 0.0,
            trained_steps: 0,
            running_since: None,
            elapsed_before: 0.0,
            last_read_at: 0.0,
            step_at_read: 0,
            last_gallery_at: 0.0,
        }
    }

    fn steps_per_chunk(&self) -> u32 {
        self.ms_per_step.map_or(1, |ms| {
            ((CHUNK_TARGET_MS / ms.max(1e-3)) as u32).clamp(1, MAX_STEPS_PER_CHUNK)
        })
    }

    fn batches_per_piece(&self) -> u32 {
        self.ms_per_eval_batch.map_or(2, |ms| {
            ((CHUNK_TARGET_MS / ms.max(1e-3)) as u32).clamp(1, 4 * MAX_STEPS_PER_CHUNK)
        })
    }

    fn elapsed(&self, now: f64) -> f64 {
        self.elapsed_before + self.running_since.map_or(0.0, |since| now - since)
    }
}

impl Lab {
    /// Encodes the next piece of work, if any is due and none is in flight.
    fn next_work(&mut self, now: f64) -> Result<Vec<Action>, GpuError> {
        let s = &mut self.schedule;
        if s.chunk_in_flight {
            return Ok(Vec::new());
        }
        match s.evaluating {
            Some(Evaluating::Reading) => return Ok(Vec::new()),
            Some(Evaluating::Batches { epoch }) => {
                let n = s.batches_per_piece();
                let remaining = self.vae.run_evaluation(&mut self.evaluator, n)?;
                if remaining == 0 {
                    s.evaluating = Some(Evaluating::Reading);
                    let read = self.vae.request_evaluation(&mut self.evaluator)?;
                    let step = self.vae.step();
                    return Ok(vec![Action::Evaluation { epoch, step, read }]);
                }
                s.chunk_in_flight = true;
                return Ok(vec![Action::Chunk {
                    kind: ChunkKind::Evaluate(n),
                    started: now,
                    fence: self.vae.step_fence(),
                }]);
            }
            None => {}
        }
        if !s.training {
            return Ok(Vec::new());
        }
        let step = self.vae.step();
        if s.metrics_in_flight && step - s.step_at_read >= METRICS_BACKLOG_STEPS {
            return Ok(Vec::new()); // the read's return pumps again
        }
        let (epoch, done) = self.vae.epoch_progress().unwrap_or((1, 0));
        let per_epoch = self.vae.steps_per_epoch().unwrap_or(1).max(1);
        // A chunk never runs past an epoch's end, so the evaluation sees that epoch's model.
        let n = u64::from(s.steps_per_chunk()).min(per_epoch - done) as u32;
        self.vae.train_steps(n)?;
        let epoch_done = done + u64::from(n) == per_epoch;
        s.chunk_in_flight = true;
        let mut actions = vec![Action::Chunk {
            kind: ChunkKind::Train(n),
            started: now,
            fence: self.vae.step_fence(),
        }];
        let step = self.vae.step();
        let read_due = now - s.last_read_at >= METRICS_EVERY_MS
            || step - s.step_at_read >= METRICS_EVERY_STEPS
            || epoch_done;
        if !s.metrics_in_flight && read_due {
            actions.push(Action::Metrics(self.vae.begin_metrics()?));
            s.metrics_in_flight = true;
            s.last_read_at = now;
            s.step_at_read = step;
        }
        if epoch_done {
            s.evaluating = Some(Evaluating::Batches { epoch });
        }
        Ok(actions)
    }

    fn progress(&self, now: f64) -> Progress {
        let s = &self.schedule;
        let (epoch, epoch_step) = self.vae.epoch_progress().unwrap_or((1, 0));
        let seconds = s.trained_ms / 1000.0;
        Progress {
            step: self.vae.step(),
            epoch,
            epoch_step,
            steps_per_epoch: self.vae.steps_per_epoch().unwrap_or(0),
            images_per_second: if seconds > 0.0 {
                (s.trained_steps * u64::from(self.vae.config().batch)) as f64 / seconds
            } else {
                0.0
            },
            ms_per_step: if s.trained_steps > 0 {
                s.trained_ms / s.trained_steps as f64
            } else {
                0.0
            },
            elapsed_ms: s.elapsed(now),
            evaluating: s.evaluating.is_some(),
        }
    }
}

impl LabController {
    /// Starts (or resumes) training.
    pub fn train(&self) {
        let now = now_ms();
        let started = self.with_lab(None, |lab| {
            lab.schedule.training = true;
            lab.schedule.running_since.get_or_insert(now);
        });
        if started.is_some() {
            self.ui.phase.set(Phase::Training);
            self.pump();
        }
    }

    /// Stops after the chunk in flight; its metrics are read so the curve ends where it stopped.
    pub fn pause(&self) {
        let now = now_ms();
        let paused = self.with_lab(None, |lab| {
            let s = &mut lab.schedule;
            s.training = false;
            if let Some(since) = s.running_since.take() {
                s.elapsed_before += now - since;
            }
            if s.metrics_in_flight {
                return Ok(None);
            }
            s.metrics_in_flight = true;
            s.last_read_at = now;
            s.step_at_read = lab.vae.step();
            lab.vae.begin_metrics().map(Some)
        });
        if let Some(result) = paused {
            self.ui.phase.set(Phase::Ready);
            match result {
                Ok(Some(read)) => self.spawn(lab_generation(self), Action::Metrics(read)),
                Ok(None) => {}
                Err(error) => self.fail(error),
            }
        }
    }

    pub(super) fn start_initial_evaluation(&self) {
        self.with_lab(None, |lab| {
            lab.schedule.evaluating = Some(Evaluating::Batches { epoch: 0 });
        });
        self.ui.phase.set(Phase::Ready);
        self.pump();
    }

    /// Encodes whatever is due and sets its waits going.
    fn pump(&self) {
        let now = now_ms();
        let Some((generation, work)) =
            self.with_lab(None, |lab| (lab.generation, lab.next_work(now)))
        else {
            return;
        };
        match work {
            Ok(actions) => {
                if actions.iter().any(|a| {
                    matches!(
                        a,
                        Action::Evaluation { .. }
                            | Action::Chunk {
                                kind: ChunkKind::Evaluate(_),
                                ..
                            }
                    )
                }) {
                    self.ui.progress.update(|p| p.evaluating = true);
                }
                for action in actions {
                    self.spawn(generation, action);
                }
            }
            Err(error) => self.fail(error),
        }
    }

    fn spawn(&self, generation: u64, action: Action) {
        let this = self.clone();
        spawn_local(async move {
            match action {
                Action::Chunk {
                    kind,
                    started,
                    fence,
                } => {
                    let done = fence.bytes().await;
                    this.on_chunk_done(generation, kind, started, done.map(|_| ()));
                }
                Action::Metrics(read) => {
                    let data = read.wait().await;
                    this.on_metrics(generation, data);
                }
                Action::Evaluation { epoch, step, read } => {
                    let result = read.wait().await;
                    this.on_evaluation(generation, epoch, step, result);
                }
            }
        });
    }

    fn on_chunk_done(
        &self,
        generation: u64,
        kind: ChunkKind,
        started: f64,
        done: Result<(), GpuError>,
    ) {
        if let Err(error) = done {
            return self.fail(error);
        }
        let now = now_ms();
        let elapsed = now - started;
        let Some((progress, gallery_due)) = self.with_lab(Some(generation), |lab| {
            let s = &mut lab.schedule;
            s.chunk_in_flight = false;
            match kind {
                ChunkKind::Train(n) => {
                    s.trained_ms += elapsed;
                    s.trained_steps += u64::from(n);
                    s.ms_per_step = Some(smooth(s.ms_per_step, elapsed / f64::from(n)));
                }
                ChunkKind::Evaluate(n) => {
                    let per_batch = elapsed / f64::from(n);
                    s.ms_per_eval_batch = Some(smooth(s.ms_per_eval_batch, per_batch));
                }
            }
            let gallery_due = s.training && now - s.last_gallery_at >= GALLERY_EVERY_MS;
            if gallery_due {
                s.last_gallery_at = now;
            }
            (lab.progress(now), gallery_due)
        }) else {
            return;
        };
        self.ui.progress.set(progress);
        if gallery_due {
            self.redraw_everything();
        }
        self.pump();
    }

    fn on_metrics(&self, generation: u64, data: Result<MetricsData, GpuError>) {
        let Some(outcome) = self.with_lab(Some(generation), |lab| {
            lab.schedule.metrics_in_flight = false;
            let report = lab.vae.finish_metrics(data)?;
            let diverged = report.diverged_at.map(|at| {
                lab.schedule.training = false;
                if let Some(since) = lab.schedule.running_since.take() {
                    lab.schedule.elapsed_before += now_ms() - since;
                }
                if lab.schedule.evaluating.is_some() {
                    lab.evaluator.cancel();
                    lab.schedule.evaluating = None;
                }
                lab.vae.rollback();
                (at, lab.vae.step(), lab.vae.config().adam.lr)
            });
            Ok::<_, GpuError>((report.steps, diverged, lab.progress(now_ms())))
        }) else {
            return;
        };
        let (steps, diverged, progress) = match outcome {
            Ok(outcome) => outcome,
            Err(error) => return self.fail(error),
        };
        let finite = steps
            .iter()
            .filter(|m| m.neg_elbo.is_finite() && m.bce.is_finite() && m.kl.is_finite())
            .map(|m| TrainPoint {
                step: m.step,
                neg_elbo: m.neg_elbo,
                bce: m.bce,
                kl: m.kl,
            });
        self.ui.curve.update(|curve| curve.train.extend(finite));
        if let Some((at, good, lr)) = diverged {
            self.ui
                .curve
                .update(|curve| curve.train.retain(|p| p.step <= good));
            self.ui.progress.set(progress);
            self.ui.phase.set(Phase::Diverged(format!(
                "Training diverged at step {at}: the loss became NaN or infinite. The model is \
                 back at step {good}, its last good state. Lower the learning rate (now {lr}; \
                 0.001 is the classic value) and press Train again."
            )));
            self.redraw_everything();
            return;
        }
        self.pump();
    }

    fn on_evaluation(
        &self,
        generation: u64,
        epoch: u64,
        step: u64,
        result: Result<vae_gpu::vae::Evaluation, GpuError>,
    ) {
        let evaluation = match result {
            Ok(evaluation) => evaluation,
            Err(error) => return self.fail(error),
        };
        let Some((progress, train_ms)) = self.with_lab(Some(generation), |lab| {
            lab.schedule.evaluating = None;
            (lab.progress(now_ms()), lab.schedule.trained_ms)
        }) else {
            return;
        };
        self.ui.curve.update(|curve| {
            curve.test.push(TestPoint {
                epoch,
                step,
                train_ms,
                neg_elbo: evaluation.neg_elbo,
                bce: evaluation.bce,
                kl: evaluation.kl,
            })
        });
        self.ui.progress.set(progress);
        self.refresh_gallery();
        self.pump();
    }
}

fn lab_generation(controller: &LabController) -> u64 {
    controller.with_lab(None, |lab| lab.generation).unwrap_or(0)
}
