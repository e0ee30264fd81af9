//! A lost GPU device, recovered. The lab always holds a model it can rebuild without the GPU:
//! what the current one was started from, replaced by each checkpoint confirmed since (read back
//! whole and finite for the autosave or a download). When the device is lost (a driver reset,
//! the browser's GPU process restarting, memory pressure) training stops and the page offers a
//! restart, which asks the browser for a new device and rebuilds the newer of that snapshot and
//! this browser's autosave, with its curve.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::GpuContext;
use wasm_bindgen::prelude::*;

use super::{Curve, LabController, Loaded, ModelSource, Notice, Phase};
use crate::persist;

/// A model the lab can rebuild from memory alone.
#[derive(Clone)]
pub(super) struct Kept {
    pub model: KeptModel,
    pub step: u64,
    /// `Date.now()` when it was confirmed, to compare with the autosave's.
    pub at: f64,
    /// The autosave in this browser holds it too.
    pub in_browser: bool,
    /// What it is, for the message after a restart.
    pub what: &'static str,
}

#[derive(Clone)]
pub(super) enum KeptModel {
    /// What the model in use was opened from.
    Opened(Box<ModelSource>),
    /// A checkpoint read back since. Its bytes live in the JS heap: WebAssembly memory never
    /// shrinks, and a 10 MB block kept there across epochs fragments it (a soak saw the page's
    /// memory step up by one checkpoint's size every few minutes).
    Snapshot(js_sys::Uint8Array),
}

/// The curve as it stood at `step` (points after it belong to steps the snapshot lacks).
fn curve_at(curve: &Curve, step: u64) -> Curve {
    Curve {
        train: curve
            .train
            .iter()
            .filter(|p| p.step <= step)
            .copied()
            .collect(),
        test: curve
            .test
            .iter()
            .filter(|p| p.step <= step)
            .copied()
            .collect(),
        likelihood: curve
            .likelihood
            .iter()
            .filter(|p| p.step <= step)
            .copied()
            .collect(),
    }
}

impl LabController {
    /// The GPU device, if the browser gave one.
    pub(super) fn context(&self) -> Option<GpuContext> {
        self.context.borrow().clone()
    }

    /// Remembers what a model that is now in use was built from.
    pub(super) fn keep_source(&self, source: ModelSource, step: u64, in_browser: bool) {
        let model = KeptModel::Opened(Box::new(source));
        self.keep(model, step, in_browser, "the model as it was opened");
    }

    fn keep(&self, model: KeptModel, step: u64, in_browser: bool, what: &'static str) {
        *self.kept.borrow_mut() = Some(Kept {
            model,
            step,
            at: js_sys::Date::now(),
            in_browser,
            what,
        });
    }

    /// A checkpoint of the model in use at `step`, read back whole: the newest state a lost
    /// device can be recovered to.
    pub(super) fn keep_checkpoint(&self, bytes: js_sys::Uint8Array, step: u64, in_browser: bool) {
        let model = KeptModel::Snapshot(bytes);
        self.keep(model, step, in_browser, "this page's last snapshot");
    }

    /// Waits for this controller's device to be lost, then stops the lab (once per device).
    pub fn watch_device(&self) {
        let Some(context) = self.context() else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let reason = context.when_lost().await;
            // A device replaced since (a restart) is not the lab's any more.
            if this
                .context()
                .is_some_and(|now| now.device == context.device)
            {
                this.device_lost(reason);
            }
        });
    }

    /// The device is gone and every model on it: training stops, the page says so and offers a
    /// restart. What the visitor had stays in [`Kept`] and the autosave.
    pub(super) fn device_lost(&self, reason: String) {
        if self.on_cpu.get() {
            // The model is on the CPU and goes on; only switching back to the GPU is gone.
            *self.context.borrow_mut() = None;
            self.ui.engine.update(|e| e.gpu = None);
            return;
        }
        if self
            .ui
            .phase
            .with_untracked(|p| matches!(p, Phase::Lost(_)))
        {
            return;
        }
        let step = self.ui.progress.with_untracked(|p| p.step);
        self.lost_at_step.set(step);
        // Late replies for the old model find no lab and are dropped.
        *self.lab.borrow_mut() = None;
        self.ui.phase.set(Phase::Lost(reason));
        crate::draw::mark("device-lost");
    }

    /// A new device, and on it the newest model the lab kept: the last confirmed snapshot or
    /// the autosave, whichever was written later. A failure leaves the offer to try again.
    pub fn restart_gpu(&self) {
        let Phase::Lost(reason) = self.ui.phase.get_untracked() else {
            return;
        };
        self.ui.phase.set(Phase::Building);
        self.ui.notice.set(Some(Notice::info(
            "Asking the browser for a new GPU device…",
        )));
        let this = self.clone();
        spawn_local(async move {
            let context = match GpuContext::new().await {
                Ok(context) => context,
                Err(error) => {
                    this.ui.notice.set(None);
                    return this.ui.phase.set(Phase::Lost(format!(
                        "{reason}. A new device could not be had either: {error}"
                    )));
                }
            };
            *this.context.borrow_mut() = Some(context);
            this.watch_device();
            let kept = this.kept.borrow().clone();
            let saved = persist::load().await.ok().flatten();
            let lost = this.lost_at_step.get();
            let (source, step, from) = match (kept, saved) {
                (Some(kept), Some(saved)) if saved.saved_at > kept.at => from_autosave(saved),
                (Some(kept), _) => {
                    let source = match kept.model {
                        KeptModel::Opened(source) => *source,
                        KeptModel::Snapshot(bytes) => ModelSource::Checkpoint(Box::new(Loaded {
                            bytes: Arc::new(bytes.to_vec()),
                            settings: None,
                            info: super::ModelInfo {
                                resumed: true,
                                ..this.ui.model_info.get_untracked()
                            },
                            // The lost model's curve up to the snapshot.
                            curve: Some(curve_at(&this.ui.curve.get_untracked(), kept.step)),
                            notice: None,
                            // Saved again so a reload finds it too.
                            save_after: !kept.in_browser,
                        })),
                    };
                    (source, kept.step, kept.what)
                }
                (None, Some(saved)) => from_autosave(saved),
                (None, None) => {
                    return this.ui.phase.set(Phase::Failed(
                        "the GPU device was lost before any model was kept".into(),
                    ))
                }
            };
            let gone = lost.saturating_sub(step);
            let text = format!(
                "The GPU device was lost ({reason}). A new one is in use and your model is back \
                 at step {step}, from {from}{}.",
                if gone > 0 {
                    format!("; the {gone} steps trained after it could not be kept")
                } else {
                    String::new()
                }
            );
            let source = match source {
                ModelSource::Checkpoint(loaded) => ModelSource::Checkpoint(Box::new(Loaded {
                    notice: Some(Notice::info(text)),
                    ..*loaded
                })),
                fresh => {
                    this.ui.notice.set(Some(Notice::info(text)));
                    fresh
                }
            };
            crate::draw::mark("device-restarted");
            this.start(source, false);
        });
    }
}

fn from_autosave(saved: persist::Saved) -> (ModelSource, u64, &'static str) {
    let step = saved.step();
    let source = ModelSource::Checkpoint(Box::new(Loaded::from_autosave(saved)));
    (source, step, "the autosave in this browser")
}

/// `window.vaeLabTest.loseDevice()`, on a page opened with `?test-hooks` only: destroys the
/// device as a driver reset would, for the browser tests.
pub fn install_test_hooks(lab: super::LabHandle) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let lose = Closure::<dyn Fn()>::new(move || {
        lab.with_value(|controller| {
            if let Some(context) = controller.context() {
                context.destroy_device();
            }
        });
    });
    let hooks = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&hooks, &"loseDevice".into(), lose.as_ref());
    let _ = js_sys::Reflect::set(&window, &"vaeLabTest".into(), &hooks);
    // The hook lives as long as the page.
    lose.forget();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{TestPoint, TrainPoint};

    #[test]
    fn the_curve_at_a_snapshot_ends_at_its_step() {
        let train = |step| TrainPoint {
            step,
            neg_elbo: 100.0,
            bce: 80.0,
            kl: 20.0,
        };
        let test = |epoch, step| TestPoint {
            epoch,
            step,
            train_ms: 0.0,
            neg_elbo: 100.0,
            bce: 80.0,
            kl: 20.0,
        };
        let curve = Curve {
            train: (1..=12).map(train).collect(),
            test: vec![test(0, 0), test(1, 10)],
            likelihood: Vec::new(),
        };
        let at = curve_at(&curve, 9);
        assert_eq!(at.train, (1..=9).map(train).collect::<Vec<_>>());
        assert_eq!(at.test, vec![test(0, 0)]);
        assert_eq!(curve_at(&curve, 12), curve);
    }
}
