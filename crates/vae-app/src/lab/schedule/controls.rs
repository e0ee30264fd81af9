//! What the visitor does to training: Train, Pause, leaving the tab, reaching for the sliders.

use leptos::prelude::*;

use super::{Action, Evaluating};
use crate::draw::now_ms;
use crate::lab::{LabController, Phase};

impl LabController {
    /// Starts (or resumes) training.
    pub fn train(&self) {
        let now = now_ms();
        let started = self.with_lab(None, |lab| {
            // Training changes the model an estimate under way is measuring.
            lab.estimate = None;
            lab.schedule.training = true;
            lab.schedule.resume_when_visible = false;
            lab.schedule.running_since.get_or_insert(now);
        });
        if started.is_some() {
            if matches!(
                self.ui.estimate.get_untracked(),
                super::super::Estimate::Running { .. }
            ) {
                self.ui.estimate.set(super::super::Estimate::Idle);
            }
            self.ui.phase.set(Phase::Training);
            self.pump();
        }
    }

    /// Stops after the chunks in flight; their metrics are read so the curve ends where it
    /// stopped.
    pub fn pause(&self) {
        // Paused while hidden: Pause also cancels going on when shown.
        let waiting = self
            .with_lab(None, |lab| {
                std::mem::take(&mut lab.schedule.resume_when_visible)
            })
            .unwrap_or(false);
        if self.stop_training(false) || waiting {
            self.ui.phase.set(Phase::Ready);
            // Views off-screen did not follow the training; queued after the chunks in flight,
            // these decodes show the model it stopped at.
            self.refresh_decodes();
            self.refresh_interpolation();
        }
        self.autosave_if_trained();
    }

    /// Autosaves when steps were taken since the last save.
    fn autosave_if_trained(&self) {
        let trained = self.with_lab(None, |lab| {
            std::mem::take(&mut lab.schedule.trained_since_save)
        });
        if trained == Some(true) {
            self.autosave();
        }
    }

    /// The pointer came over the sliders or left them: while a visitor is at the sliders,
    /// training queues half a frame at a time.
    pub fn pointer_at_sliders(&self, there: bool) {
        self.with_lab(None, |lab| lab.schedule.pointer_at_sliders = there);
    }

    /// A slider took the keyboard focus: keys may follow, so the queue shrinks as after an
    /// input (for half a second; each key press extends it).
    pub fn slider_focused(&self) {
        self.with_lab(None, |lab| lab.schedule.last_input_at = now_ms());
    }

    /// The page was hidden or shown again. Hidden, training stops as on Pause (a background
    /// tab gets little time, and the visitor is not watching); shown, it goes on by itself.
    pub fn page_visibility(&self, hidden: bool) {
        if hidden {
            if self.stop_training(true) {
                self.ui.phase.set(Phase::Hidden);
            }
            // A hidden tab may be closed next: what it trained is kept first.
            self.autosave_if_trained();
            return;
        }
        let resume = self
            .with_lab(None, |lab| lab.schedule.resume_when_visible)
            .unwrap_or(false);
        if resume {
            self.train();
        }
    }

    /// Stops queueing training and reads the last metrics; true if training was running.
    pub(in crate::lab) fn stop_training(&self, resume_when_visible: bool) -> bool {
        let now = now_ms();
        let stopped = self.with_lab(None, |lab| {
            let s = &mut lab.schedule;
            if !s.training {
                return None;
            }
            s.training = false;
            s.resume_when_visible = resume_when_visible;
            s.stop_clock(now);
            if s.metrics_in_flight {
                return Some(Ok(None));
            }
            s.metrics_in_flight = true;
            s.last_read_at = now;
            s.step_at_read = lab.model.step();
            Some(
                lab.model
                    .begin_metrics(vae_model::Snapshot::Take)
                    .map(|read| Some((lab.generation, read))),
            )
        });
        match stopped.flatten() {
            None => false,
            Some(Ok(Some((generation, read)))) => {
                self.spawn(generation, Action::Metrics(read));
                true
            }
            Some(Ok(None)) => true,
            Some(Err(error)) => {
                self.fail(error);
                false
            }
        }
    }

    /// The test −ELBO of the model as it is, as the point of `epoch` (0 at initialisation).
    /// Evaluates the model as it is: its curve's first point when `record`, and the latent
    /// map's posteriors either way.
    ///
    /// It begins once the page has painted the lab just opened. The evaluation keeps the worker
    /// (or the GPU) busy for about a second, and begun beside building and laying out the lab
    /// it made those tasks longer on a phone's few cores (Lighthouse's mobile total blocking
    /// time). Training asked for meanwhile waits too, so the evaluation still sees the model as
    /// it opened.
    pub(in crate::lab) fn start_initial_evaluation(&self, epoch: u64, record: bool) {
        let generation = self.with_lab(None, |lab| {
            lab.schedule.evaluating = Some(Evaluating::Batches { epoch, record });
            lab.generation
        });
        self.ui.phase.set(Phase::Ready);
        let Some(generation) = generation else {
            return;
        };
        let this = self.clone();
        leptos::task::spawn_local(async move {
            crate::tasks::after_next_paint().await;
            let painted = this.with_lab(Some(generation), |lab| {
                lab.schedule.waits_for_first_paint = false;
            });
            if painted.is_some() {
                this.pump();
            }
        });
    }

    /// Reads the latent map afresh: an evaluation that adds nothing to the curve, run at once
    /// (between training chunks if training). Ignored while an evaluation is under way: its end
    /// refreshes the map anyway.
    pub fn refresh_map_now(&self) {
        let started = self.with_lab(None, |lab| {
            let s = &mut lab.schedule;
            if s.evaluating.is_some() {
                return false;
            }
            let epoch = lab.model.epoch_progress().map_or(0, |(epoch, _)| epoch - 1);
            s.evaluating = Some(Evaluating::Batches {
                epoch,
                record: false,
            });
            true
        });
        if started == Some(true) {
            self.pump();
        }
    }
}
