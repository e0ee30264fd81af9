//! Moving the model between engines: its checkpoint (parameters, Adam state, position) is read
//! out of one and opened in the other, its curve kept, so training goes on where it was.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::engine::{remember_switch, Pending};
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
            let Some(bytes) = this
                .read_out(read, "to move it: it stays where it is")
                .await
            else {
                return;
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

impl LabController {
    /// The training data changed (the page's slot holds the new shard, of images of `shape`):
    /// a model that takes that many values goes on training on it, its curve begun again
    /// (test figures on other data do not compare); any other is replaced by a fresh one with
    /// the same settings at the new size. Either way the current model stays until the next
    /// one is whole.
    pub fn use_data(&self, name: &str, shape: crate::draw::ImageShape) {
        let Some(config) = self.ui.model.get_untracked() else {
            return;
        };
        if self
            .ui
            .phase
            .with_untracked(|p| matches!(p, Phase::Lost(_)))
        {
            return self.ui.notice.set(Some(Notice::error(
                "The GPU device was lost: press Restart, then choose the data again.",
            )));
        }
        let images = self.training_data().images;
        let batch_fits = config.batch as usize <= images;
        if !config.takes(shape) || !batch_fits {
            let input = shape.values();
            let mut fresh = config.for_images(shape);
            let mut said = format!(
                "Training data: {name}, images of {}. A fresh model takes them ({input} inputs, \
                 the other settings as they were",
                shape.describe()
            );
            if !batch_fits {
                // A batch cannot hold more images than there are.
                fresh.batch = images.max(1) as u32;
                said.push_str(&format!(
                    ", the batch lowered to its {images} training images"
                ));
            }
            said.push_str("): press Train.");
            return self.start(ModelSource::FreshSaying(fresh, Notice::info(said)), false);
        }
        let Some((_, _, read)) = self.begin_save_now() else {
            return;
        };
        self.stop_training(false);
        let (this, name) = (self.clone(), name.to_string());
        spawn_local(async move {
            let purpose = format!("to train it on {name}");
            let Some(bytes) = this.read_out(read, &purpose).await else {
                return;
            };
            let loaded = Loaded {
                bytes: Arc::new(bytes),
                settings: None,
                info: this.ui.model_info.get_untracked(),
                curve: None,
                notice: Some(Notice::info(format!(
                    "Training data: {name}. The model takes its images as they are ({}), so it \
                     goes on from where it was; its curve starts again on this data.",
                    shape.describe()
                ))),
                save_after: true,
            };
            this.start(ModelSource::Checkpoint(Box::new(loaded)), false);
        });
    }

    /// The checkpoint `read` copies out of the model, or None once the failure is said
    /// ("The model could not be read out {purpose}").
    async fn read_out(&self, read: Pending<Vec<u8>>, purpose: &str) -> Option<Vec<u8>> {
        match read.await {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                self.ui.notice.set(Some(Notice::error(format!(
                    "The model could not be read out {purpose} ({error})."
                ))));
                None
            }
        }
    }
}
