//! Training on the page: chunks of steps queued ahead so the GPU never waits for a completion
//! callback (the policy is [`Pacer`]'s), metrics read a few times a second while training goes
//! on, the test set evaluated in pieces at each epoch's end, and a hidden tab paused and resumed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_model::{Evaluation, Snapshot};

use super::engine::{EngineError, MetricsReply, Pending};

mod controls;
mod replies;

use super::pacing::{Pacer, Work};
use super::{Lab, LabController, Progress};
use crate::draw::now_ms;

/// Most steps in one chunk: a quarter of the GPU's metrics ring, so three chunks queued past a
/// read still in flight never overwrite steps it has not copied (only a GPU faster than a
/// quarter of a millisecond a step fills a frame with more).
const MAX_STEPS_PER_CHUNK: u32 = vae_model::METRICS_RING / 4;
/// Metrics are read (and the curve and readout redrawn) this often, or after this many steps
/// (the GPU keeps 256).
const METRICS_EVERY_MS: f64 = 250.0;
const METRICS_EVERY_STEPS: u64 = 128;
/// The same on a software adapter. Its GPU is an emulation on the CPU cores that also repaint
/// the page, and each redraw of the curve and readout takes time from it: in Firefox here, the
/// page at 4 redraws a second took 49 ms a step where the engine alone took 40-44, and with
/// the redraws, reads and gallery held back, 40-44 (`bench/browser.mjs`, alternated runs).
const SOFTWARE_METRICS_EVERY_MS: f64 = 1000.0;
/// A metrics read also takes a rollback snapshot (three copies the size of the model) at most
/// this often: a divergence then costs at most about two seconds of training, and the copies
/// stay off the GPU's time the rest of the while (a few percent of a step on a software GPU).
const SNAPSHOT_EVERY_MS: f64 = 1000.0;
/// Steps past the last read at which training waits for the read in flight.
const METRICS_BACKLOG_STEPS: u64 = 192;
const GALLERY_EVERY_MS: f64 = 1000.0;
/// The lab counts as interactive (short chunks, one queued) this long after a slider moved.
const INTERACTIVE_FOR_MS: f64 = 500.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Evaluating {
    /// Batches still to submit; the result becomes the point of `epoch`.
    Batches {
        epoch: u64,
        /// The result goes on the curve (not for a model whose curve already has it).
        record: bool,
    },
    Reading,
}

pub(super) struct Schedule {
    pub training: bool,
    /// How often the curve and readout are brought up to date.
    refresh_every_ms: f64,
    /// Training stopped because the page was hidden, and goes on when it is shown.
    resume_when_visible: bool,
    metrics_in_flight: bool,
    evaluating: Option<Evaluating>,
    pacer: Pacer,
    /// Main-thread time spent encoding training steps, and how many.
    encode_ms: f64,
    encoded_steps: u64,
    running_since: Option<f64>,
    elapsed_before: f64,
    last_read_at: f64,
    last_snapshot_at: f64,
    step_at_read: u64,
    last_gallery_at: f64,
    last_progress_at: f64,
    /// When a slider last moved (`performance.now()`).
    pub last_input_at: f64,
    /// The pointer is over the sliders: a drag may start any moment.
    pointer_at_sliders: bool,
    /// Slow work is held back while a slider moves, until this time (`performance.now()`),
    /// when a timer pumps again; None when nothing is held.
    held_until: Option<f64>,
    /// That timer is set.
    wake_pending: bool,
    /// Steps were queued since the last autosave: the next epoch end, Pause or hidden tab saves.
    pub trained_since_save: bool,
    /// A lab just opened queues nothing (its first evaluation, training) until the page has
    /// painted it ([`LabController::start_initial_evaluation`]).
    pub(super) waits_for_first_paint: bool,
}

/// Work to await, started while the lab was borrowed.
enum Action {
    Chunk {
        id: u64,
        done: Pending<()>,
    },
    Metrics(Pending<MetricsReply>),
    Evaluation {
        epoch: u64,
        step: u64,
        record: bool,
        read: Pending<Evaluation>,
    },
}

impl Schedule {
    /// Whether a test evaluation is under way (its end refreshes the map).
    pub fn is_evaluating(&self) -> bool {
        self.evaluating.is_some()
    }

    /// `software`: the adapter is a CPU emulation (redraws are held back to leave it the CPU);
    /// `worker`: the model is in the CPU engine's worker (a shallower queue, [`Pacer::for_worker`]).
    pub fn new(software: bool, worker: bool) -> Self {
        Self {
            training: false,
            refresh_every_ms: if software {
                SOFTWARE_METRICS_EVERY_MS
            } else {
                METRICS_EVERY_MS
            },
            resume_when_visible: false,
            metrics_in_flight: false,
            evaluating: None,
            pacer: if worker {
                Pacer::for_worker()
            } else {
                Pacer::default()
            },
            encode_ms: 0.0,
            encoded_steps: 0,
            running_since: None,
            elapsed_before: 0.0,
            last_read_at: 0.0,
            last_snapshot_at: f64::NEG_INFINITY,
            step_at_read: 0,
            last_gallery_at: 0.0,
            last_progress_at: f64::NEG_INFINITY,
            last_input_at: f64::NEG_INFINITY,
            pointer_at_sliders: false,
            held_until: None,
            wake_pending: false,
            trained_since_save: false,
            waits_for_first_paint: true,
        }
    }

    pub(super) fn interactive(&self, now: f64) -> bool {
        self.pointer_at_sliders || now - self.last_input_at < INTERACTIVE_FOR_MS
    }

    /// Whether `work` waits now: a slider moved in the last half second (the pointer merely
    /// resting over them holds nothing) and a unit of it takes more than two frames. Records
    /// when it may go.
    fn holds(&mut self, work: Work, now: f64) -> bool {
        let until = self.last_input_at + INTERACTIVE_FOR_MS;
        let held = now < until && self.pacer.is_slow(work);
        if held {
            self.held_until = Some(until);
        }
        held
    }

    fn elapsed(&self, now: f64) -> f64 {
        self.elapsed_before + self.running_since.map_or(0.0, |since| now - since)
    }

    fn stop_clock(&mut self, now: f64) {
        if let Some(since) = self.running_since.take() {
            self.elapsed_before += now - since;
        }
    }
}

impl Lab {
    /// Encodes the next pieces of work while the queue has room: as many chunks as the pacer
    /// allows, then a metrics read if one is due.
    fn next_work(&mut self, now: f64) -> Result<Vec<Action>, EngineError> {
        let mut actions = Vec::new();
        loop {
            let s = &mut self.schedule;
            if s.waits_for_first_paint || !s.pacer.has_room(s.interactive(now)) {
                break;
            }
            match s.evaluating {
                Some(Evaluating::Reading) => break,
                Some(Evaluating::Batches { epoch, record }) => {
                    if s.holds(Work::Evaluate, now) {
                        break;
                    }
                    let most = self.model.evaluation_remaining().max(1);
                    let n = s.pacer.units(Work::Evaluate, s.interactive(now), most);
                    let (remaining, done) = self.model.run_evaluation(n)?;
                    let id = s.pacer.submitted(Work::Evaluate, n, now);
                    actions.push(Action::Chunk { id, done });
                    if remaining == 0 {
                        s.evaluating = Some(Evaluating::Reading);
                        let read = self.model.request_evaluation()?;
                        let step = self.model.step();
                        actions.push(Action::Evaluation {
                            epoch,
                            step,
                            record,
                            read,
                        });
                    }
                    continue;
                }
                None => {}
            }
            if !s.training || s.holds(Work::Train, now) {
                break;
            }
            let step = self.model.step();
            if s.metrics_in_flight && step.saturating_sub(s.step_at_read) >= METRICS_BACKLOG_STEPS {
                break; // the read's return pumps again
            }
            let (epoch, done) = self.model.epoch_progress().unwrap_or((1, 0));
            let per_epoch = self.model.steps_per_epoch().unwrap_or(1).max(1);
            // A chunk never runs past an epoch's end, so the evaluation sees that epoch's model.
            let left = (per_epoch - done).min(u64::from(MAX_STEPS_PER_CHUNK)) as u32;
            let n = s.pacer.units(Work::Train, s.interactive(now), left);
            let encode_start = now_ms();
            let fence = self.model.train(n)?;
            s.encode_ms += now_ms() - encode_start;
            s.encoded_steps += u64::from(n);
            s.trained_since_save = true;
            let id = s.pacer.submitted(Work::Train, n, now);
            actions.push(Action::Chunk { id, done: fence });
            let epoch_done = done + u64::from(n) == per_epoch;
            if epoch_done {
                s.evaluating = Some(Evaluating::Batches {
                    epoch,
                    record: true,
                });
            }
        }
        let s = &mut self.schedule;
        let step = self.model.step();
        // Stopped, the curve catches up at once with what the last chunks did.
        let read_due = now - s.last_read_at >= s.refresh_every_ms
            || step.saturating_sub(s.step_at_read) >= METRICS_EVERY_STEPS
            || s.evaluating.is_some()
            || !s.training;
        if !s.metrics_in_flight && step != s.step_at_read && read_due {
            let snapshot = if now - s.last_snapshot_at >= SNAPSHOT_EVERY_MS {
                s.last_snapshot_at = now;
                Snapshot::Take
            } else {
                Snapshot::Skip
            };
            actions.push(Action::Metrics(self.model.begin_metrics(snapshot)?));
            s.metrics_in_flight = true;
            s.last_read_at = now;
            s.step_at_read = step;
        }
        Ok(actions)
    }

    pub(super) fn progress(&self, now: f64) -> Progress {
        let s = &self.schedule;
        let (epoch, epoch_step) = self.model.epoch_progress().unwrap_or((1, 0));
        let ms_per_step = s.pacer.ms_per_step().unwrap_or(0.0);
        Progress {
            step: self.model.step(),
            epoch,
            epoch_step,
            steps_per_epoch: self.model.steps_per_epoch().unwrap_or(0),
            images_per_second: if ms_per_step > 0.0 {
                f64::from(self.model.config().batch) * 1000.0 / ms_per_step
            } else {
                0.0
            },
            ms_per_step,
            gpu_ms_per_step: s.pacer.gpu_ms_per_step().unwrap_or(0.0),
            encode_ms_per_step: if s.encoded_steps > 0 {
                s.encode_ms / s.encoded_steps as f64
            } else {
                0.0
            },
            dispatches_per_step: self.model.dispatches_per_step(),
            elapsed_ms: s.elapsed(now),
            evaluating: s.evaluating.is_some(),
        }
    }

    /// Time spent training so far (evaluations and pauses left out), in milliseconds.
    pub(super) fn training_ms(&self) -> f64 {
        self.schedule.pacer.training_ms()
    }
}

impl LabController {
    /// Encodes whatever is due and sets its waits going.
    pub(super) fn pump(&self) {
        let now = now_ms();
        let Some((generation, work)) =
            self.with_lab(None, |lab| (lab.generation, lab.next_work(now)))
        else {
            return;
        };
        self.wake_when_released(generation, now);
        match work {
            Ok(actions) => {
                let evaluating = self
                    .with_lab(None, |lab| lab.schedule.evaluating.is_some())
                    .unwrap_or(false);
                if evaluating {
                    self.ui.progress.update(|p| p.evaluating = true);
                }
                for action in actions {
                    self.spawn(generation, action);
                }
            }
            Err(error) => self.fail(error),
        }
    }

    /// Work held back while a slider moves goes on when the sliders rest: one timer pumps then
    /// (a completion may pump sooner, and finds it held again or free).
    fn wake_when_released(&self, generation: u64, now: f64) {
        let wake = self.with_lab(Some(generation), |lab| {
            let s = &mut lab.schedule;
            let until = s.held_until.take()?;
            (!std::mem::replace(&mut s.wake_pending, true)).then_some(until)
        });
        let Some(Some(until)) = wake else {
            return;
        };
        let this = self.clone();
        let pump = wasm_bindgen::closure::Closure::once_into_js(move || {
            this.with_lab(Some(generation), |lab| lab.schedule.wake_pending = false);
            this.pump();
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                wasm_bindgen::JsCast::unchecked_ref(&pump),
                (until - now).ceil().max(1.0) as i32,
            );
        }
    }

    fn spawn(&self, generation: u64, action: Action) {
        let this = self.clone();
        spawn_local(async move {
            match action {
                Action::Chunk { id, done } => {
                    let done = done.await;
                    this.on_chunk_done(generation, id, done);
                }
                Action::Metrics(read) => {
                    let data = read.await;
                    this.on_metrics(generation, data);
                }
                Action::Evaluation {
                    epoch,
                    step,
                    record,
                    read,
                } => {
                    let result = read.await;
                    this.on_evaluation(generation, (epoch, step, record), result);
                }
            }
        });
    }

    fn on_chunk_done(&self, generation: u64, id: u64, done: Result<(), EngineError>) {
        let now = now_ms();
        if let Err(error) = done {
            self.with_lab(Some(generation), |lab| lab.schedule.pacer.abandon(id));
            return self.fail(error);
        }
        let Some((gallery_due, progress_due)) = self.with_lab(Some(generation), |lab| {
            let s = &mut lab.schedule;
            s.pacer.completed(id, now);
            // Not while a slider moves: its decode would queue behind the gallery's.
            let gallery_due =
                s.training && !s.interactive(now) && now - s.last_gallery_at >= GALLERY_EVERY_MS;
            if gallery_due {
                s.last_gallery_at = now;
            }
            let progress_due = now - s.last_progress_at >= s.refresh_every_ms || !s.training;
            if progress_due {
                s.last_progress_at = now;
            }
            (gallery_due, progress_due)
        }) else {
            return;
        };
        // The GPU first: the next chunk goes out before the page spends time on its readout.
        self.pump();
        if progress_due {
            if let Some(progress) = self.with_lab(Some(generation), |lab| lab.progress(now_ms())) {
                self.ui.progress.set(progress);
            }
        }
        if gallery_due {
            // The digit under the sliders and the gallery follow the model as it learns; the
            // latent views less often, and only those on screen.
            self.decode_sliders();
            self.refresh_gallery();
            self.views_follow_training();
        }
    }
}
