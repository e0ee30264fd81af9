//! Moving the model between engines: its checkpoint (parameters, Adam state, position) is read
//! out of one and opened in the other, its curve kept, so training goes on where it was.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::engine::remember_switch;
use super::{LabController, Loaded, ModelSource, Notice, Phase};

impl LabController {
    /// Moves the model to the other engine (the CPU if it is on the GPU, and back). The current
    /// model stays in use until the new one is whole; a failure leaves it there.
    pub fn switch_engine(&self) {
        let to_cpu = !self.on_cpu.get();
        if !to_cpu && !self.has_gpu() {
            return self.ui.notice.set(Some(Notice::error(
                "This browser has no WebGPU device to move the model to.",
            )));
        }
        if self
            .ui
            .phase
            .with_untracked(|p| matches!(p, Phase::Building | Phase::Lost(_)))
        {
            return;
        }
        let Some((_, _, read)) = self.begin_save_now() else {
            return;
        };
        self.stop_training(false);
        self.ui.notice.set(Some(Notice::info(if to_cpu {
            "Moving the model to the CPU…"
        } else {
            "Moving the model to WebGPU…"
        })));
        let this = self.clone();
        spawn_local(async move {
            let bytes = match read.await {
                Ok(bytes) => bytes,
                Err(error) => {
                    return this.ui.notice.set(Some(Notice::error(format!(
                        "The model could not be read out to move it: {error}. It stays where it is."
                    ))))
                }
            };
            this.on_cpu.set(to_cpu);
            remember_switch(to_cpu);
            this.ui.engine.update(|e| {
                e.why = "Your choice, kept in this browser.".into();
            });
            let loaded = Loaded {
                bytes: Arc::new(bytes),
                settings: None,
                info: this.ui.model_info.get_untracked(),
                curve: Some(this.ui.curve.get_untracked()),
                notice: Some(Notice::info(if to_cpu {
                    "The model is on the CPU now, where it was."
                } else {
                    "The model is on WebGPU now, where it was."
                })),
                save_after: true,
            };
            this.start(ModelSource::Checkpoint(Box::new(loaded)), false);
        });
    }
}
