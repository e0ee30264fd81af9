//! Keeping the model: the autosave (at epoch ends, on Pause, when the tab is hidden), Download,
//! Open, and forgetting the autosave. Every read of the model is an owned future, as for
//! training, so none of this holds the model while the GPU copies it out.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_model::inspect_checkpoint;

use super::engine::Pending;

use super::{LabController, Loaded, ModelInfo, ModelKind, ModelSource, Notice, Offer, SaveState};
use crate::persist;

impl LabController {
    /// The model's checkpoint, copied out after the work queued so far; None while no model.
    pub(super) fn begin_save_now(&self) -> Option<(u64, u64, Pending<Vec<u8>>)> {
        self.with_lab(None, |lab| {
            (lab.generation, lab.model.step(), lab.model.begin_save())
        })
    }

    /// Saves the model, its Adam state, position, settings and curve to this browser. A save
    /// asked for while one is being written follows it. Failures are shown; training goes on.
    pub fn autosave(&self) {
        let busy = self.with_lab(None, |lab| {
            let busy = lab.saving.busy();
            if !busy {
                lab.saving.started();
            }
            busy
        });
        if busy != Some(false) {
            return;
        }
        let Some((generation, step, read)) = self.begin_save_now() else {
            return;
        };
        self.ui.saved.set(SaveState::Saving);
        let this = self.clone();
        spawn_local(async move {
            let result = match read.await {
                Ok(bytes) => {
                    let curve = this.ui.curve.get_untracked();
                    let info = this.ui.model_info.get_untracked();
                    // One copy out of WebAssembly memory, for the browser and for the snapshot.
                    let bytes = js_sys::Uint8Array::from(bytes.as_slice());
                    let saved = persist::save(&bytes, &curve, &info).await;
                    // Kept in memory whether or not the browser took it (a full IndexedDB):
                    // a lost device comes back to it.
                    if this.is_current(generation) {
                        this.keep_checkpoint(bytes, step, saved.is_ok());
                    }
                    saved
                }
                Err(error) => Err(error.to_string()),
            };
            let again = this
                .with_lab(Some(generation), |lab| lab.saving.finished())
                .unwrap_or(false);
            this.ui.saved.set(match result {
                Ok(()) => SaveState::Saved(step),
                Err(text) => SaveState::Failed(text),
            });
            if again {
                this.autosave();
            }
        });
    }

    /// Removes the autosave; the model in use stays.
    pub fn forget_saved(&self) {
        let this = self.clone();
        spawn_local(async move {
            match persist::forget().await {
                Ok(()) => {
                    this.ui.saved.set(SaveState::Nothing);
                    this.ui.notice.set(Some(Notice::info(
                        "The saved model is forgotten: a reload starts from the pretrained model.",
                    )));
                }
                Err(text) => this
                    .ui
                    .notice
                    .set(Some(Notice::error(format!("Could not forget it: {text}")))),
            }
        });
    }

    /// Offers the model as the file `vae train` writes.
    pub fn download(&self) {
        let Some((generation, step, read)) = self.begin_save_now() else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = match read.await {
                Ok(bytes) => {
                    let name = format!("vae-lab-step-{step}.safetensors");
                    let offered =
                        persist::files::download(&bytes, &name).map(|()| (name, bytes.len()));
                    if this.is_current(generation) {
                        this.keep_checkpoint(
                            js_sys::Uint8Array::from(bytes.as_slice()),
                            step,
                            false,
                        );
                    }
                    offered
                }
                Err(error) => Err(error.to_string()),
            };
            this.ui.notice.set(Some(match result {
                Ok((name, size)) => Notice::info(format!(
                    "Downloaded {name} ({:.1} MB): load it here with Open, in the CLI with \
                     `vae eval {name}`, or in PyTorch with safetensors.torch.load_file.",
                    size as f64 / 1e6
                )),
                Err(text) => Notice::error(format!("The download failed: {text}")),
            }));
        });
    }

    /// A visitor's file: checked, then loaded (the current model stays until the new one is
    /// whole). A model of other sizes waits for the visitor to agree to switch settings.
    pub fn open_file(&self, name: String, bytes: Vec<u8>) {
        self.ui.offer.set(None);
        let summary = match inspect_checkpoint(&bytes) {
            Ok(summary) => summary,
            Err(error) => {
                return self.ui.notice.set(Some(Notice::error(format!(
                    "{name}: {error}. The current model is unchanged."
                ))))
            }
        };
        let data = self.training_data().shape;
        let fits = match summary.image {
            Some(shape) => shape == data,
            None => summary.sizes.input == data.values(),
        };
        if !fits {
            let model = match summary.image {
                Some(shape) => format!("is for images of {}", shape.describe()),
                None => format!("takes {} inputs", summary.sizes.input),
            };
            return self.ui.notice.set(Some(Notice::error(format!(
                "{name}: its model {model}; the training data in use has images of {} = {} \
                 values (choose other data under Training data to open it). The current model \
                 is unchanged.",
                data.describe(),
                data.values()
            ))));
        }
        let offer = Offer {
            name,
            bytes: Arc::new(bytes),
            summary,
        };
        let current = self.ui.model.get_untracked().map(|c| c.sizes);
        if current.is_some_and(|sizes| sizes != offer.summary.sizes) {
            self.ui.offer.set(Some(offer));
        } else {
            self.load_file(offer);
        }
    }

    /// The visitor agreed to the file's sizes.
    pub fn accept_offer(&self) {
        if let Some(offer) = self.ui.offer.get_untracked() {
            self.ui.offer.set(None);
            self.load_file(offer);
        }
    }

    fn load_file(&self, file: Offer) {
        let notice = Notice::info(format!("Opened {}.", file.name));
        self.start(
            ModelSource::Checkpoint(Box::new(Loaded {
                bytes: file.bytes,
                settings: None,
                info: ModelInfo {
                    kind: ModelKind::File,
                    name: file.name,
                    description: file.summary.description,
                    scores: file.summary.scores,
                    resumed: false,
                },
                curve: None,
                notice: Some(notice),
                save_after: false,
            })),
            false,
        );
    }
}
