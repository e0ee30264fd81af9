//! What the lab does with the GPU's replies to training: metrics (the curve, divergence and
//! its rollback) and the test evaluation (the curve's markers, the autosave, the latent map).

use crate::lab::engine::{EngineError, MetricsReply};
use leptos::prelude::*;

use crate::draw::now_ms;
use crate::lab::{LabController, Phase, TestPoint, TrainPoint};

impl LabController {
    pub(super) fn on_metrics(&self, generation: u64, data: Result<MetricsReply, EngineError>) {
        let Some(outcome) = self.with_lab(Some(generation), |lab| {
            lab.schedule.metrics_in_flight = false;
            let report = lab.model.finish_metrics(data)?;
            let diverged = report.diverged_at.map(|at| {
                let s = &mut lab.schedule;
                s.training = false;
                s.resume_when_visible = false;
                s.stop_clock(now_ms());
                if s.evaluating.is_some() {
                    lab.model.cancel_evaluation();
                    s.evaluating = None;
                }
                lab.model.rollback();
                (at, lab.model.step(), lab.model.config().adam.lr)
            });
            Ok::<_, EngineError>((report.steps, diverged, lab.progress(now_ms())))
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

    pub(super) fn on_evaluation(
        &self,
        generation: u64,
        (epoch, step, record): (u64, u64, bool),
        result: Result<vae_model::Evaluation, EngineError>,
    ) {
        let evaluation = match result {
            Ok(evaluation) => evaluation,
            Err(error) => return self.fail(error),
        };
        let Some((progress, train_ms, save)) = self.with_lab(Some(generation), |lab| {
            lab.schedule.evaluating = None;
            let save = std::mem::take(&mut lab.schedule.trained_since_save);
            (lab.progress(now_ms()), lab.training_ms(), save)
        }) else {
            return;
        };
        if record {
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
        }
        self.ui.progress.set(progress);
        // The page's script waits for the first of these to save the lab for offline use.
        crate::draw::mark("evaluated");
        if save {
            // An epoch's end: the model, its curve now included, goes to the autosave.
            self.autosave();
        }
        self.refresh_gallery();
        // Queued before training goes on: the map shows the model just measured.
        self.refresh_map();
        self.pump();
    }
}
