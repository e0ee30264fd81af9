//! How the page starts and what it keeps in the URL: the model to open first (this browser's
//! autosave, else the pretrained model, else a fresh one), the link's settings and latent point,
//! the fragment kept up to date, and files dropped on the page.

use std::sync::Arc;

use leptos::prelude::*;
use vae_model::{inspect_checkpoint, VaeConfig};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::lab::{LabUi, Loaded, ModelInfo, ModelKind, ModelSource, Notice};
use crate::link::{format_fragment, parse_fragment};
use crate::persist;

/// Served beside the page by trunk (index.html copies it from web/): `vae export`'s compact file.
pub const PRETRAINED_URL: &str = "pretrained.safetensors";
/// The fragment is rewritten at most this often while a slider is dragged (browsers limit how
/// often a page may replace its URL).
const FRAGMENT_EVERY_MS: i32 = 150;

/// What the lab opens with, and what to say about it.
pub struct StartPlan {
    pub source: ModelSource,
    pub notice: Option<Notice>,
    /// The link's latent point, shown once the model is in (if its size fits).
    pub z: Option<Vec<f32>>,
}

fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Decides the first model. The autosave wins (it is the visitor's own work); without one the
/// pretrained model opens with the link's training settings when the link keeps its sizes.
pub async fn choose_start(defaults: VaeConfig, data: vae_model::ImageShape) -> StartPlan {
    let mut notes: Vec<String> = Vec::new();
    let link = match parse_fragment(&fragment()) {
        Ok(link) => link,
        Err(reason) => {
            notes.push(format!("The link's settings were ignored: {reason}."));
            Default::default()
        }
    };
    let mut settings = link.settings(defaults);
    // The model takes the images of the data in use (MNIST's 784, or the visitor's).
    settings = settings.for_images(data);
    let z = link.z.clone();
    let plan = |source, notes: Vec<String>, error: bool| StartPlan {
        source,
        notice: (!notes.is_empty()).then(|| {
            let text = notes.join(" ");
            if error {
                Notice::error(text)
            } else {
                Notice::info(text)
            }
        }),
        z: z.clone(),
    };
    let mut error = !notes.is_empty();
    // A damaged autosave (truncated, NaN, another layout) is reported and the pretrained model
    // opens instead: the page must never start on a model it cannot build.
    let saved = persist::load().await.and_then(|saved| match saved {
        Some(saved) => check_autosave(&saved.checkpoint, data).map(|()| Some(saved)),
        None => Ok(None),
    });
    match saved {
        Ok(Some(saved)) => {
            let step = saved.step();
            notes.insert(
                0,
                format!(
                    "Resumed your model from this browser at step {step} (saved {}). Forget \
                     saved model to start from the pretrained one.",
                    saved_when(saved.saved_at)
                ),
            );
            if !link.is_empty() && link.settings(defaults) != defaults {
                notes.push(
                    "The link's settings were not applied to it; the sliders take the link's z."
                        .into(),
                );
            }
            return plan(
                ModelSource::Checkpoint(Box::new(Loaded::from_autosave(saved))),
                notes,
                error,
            );
        }
        Ok(None) => {}
        Err(text) => {
            notes.push(format!("The saved model could not be read: {text}."));
            error = true;
        }
    }
    if settings.sizes != defaults.sizes {
        return plan(ModelSource::Fresh(settings), notes, error);
    }
    match crate::fetch::fetch_with_progress(PRETRAINED_URL, |_, _| {}).await {
        Ok(bytes) => {
            let summary = inspect_checkpoint(&bytes).ok();
            let info = ModelInfo {
                kind: ModelKind::Pretrained,
                name: "the pretrained model".into(),
                description: summary.as_ref().and_then(|s| s.description.clone()),
                scores: summary.map(|s| s.scores).unwrap_or_default(),
                resumed: false,
            };
            let source = ModelSource::Checkpoint(Box::new(Loaded {
                bytes: Arc::new(bytes),
                settings: Some(settings),
                info,
                curve: None,
                notice: None,
                save_after: false,
            }));
            plan(source, notes, error)
        }
        Err(text) => {
            notes.push(format!(
                "The pretrained model could not be loaded ({text}); this is a fresh model: press Train."
            ));
            plan(ModelSource::Fresh(settings), notes, true)
        }
    }
}

/// Whether an autosave's checkpoint reads whole (every tensor, finite, valid settings) before a
/// GPU is involved. The adapter's own limits are checked when the model is built.
fn check_autosave(checkpoint: &[u8], data: vae_model::ImageShape) -> Result<(), String> {
    let contents = vae_model::read_checkpoint(checkpoint, &vae_model::BindingLimits::NONE, |_| {})
        .map_err(|error| format!("its checkpoint is damaged ({error})"))?;
    contents
        .config
        .check_shape(data)
        .map_err(|error| format!("{error}; choose that data under Training data to open it"))
}

fn saved_when(at: f64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at));
    String::from(date.to_locale_string("en-GB", &JsValue::UNDEFINED))
}

/// Keeps the URL's fragment on the model's settings and the sliders' z, replacing the history
/// entry (never pushing one) at most every [`FRAGMENT_EVERY_MS`].
pub fn keep_fragment(ui: LabUi) {
    let waiting = StoredValue::new(false);
    Effect::new(move |_| {
        // Tracked: a change of either schedules a write.
        let ready = ui.model.with(Option::is_some);
        ui.z.track();
        if !ready || waiting.get_value() {
            return;
        }
        waiting.set_value(true);
        let write = Closure::once_into_js(move || {
            waiting.set_value(false);
            let (Some(config), z) = (ui.model.get_untracked(), ui.z.get_untracked()) else {
                return;
            };
            if z.len() != config.sizes.latent {
                return;
            }
            let Some(window) = web_sys::window() else {
                return;
            };
            let url = format!("#{}", format_fragment(&config, &z));
            if window.location().hash().ok().as_deref() != Some(url.as_str()) {
                if let Ok(history) = window.history() {
                    let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
                }
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                write.unchecked_ref(),
                FRAGMENT_EVERY_MS,
            );
        }
    });
}

/// Files (and folders) dropped anywhere on the page go to `open` (the browser would otherwise
/// navigate away to them).
pub fn follow_drops(open: impl Fn(Vec<crate::datasets::files::PickedFile>) + 'static) {
    let open = std::rc::Rc::new(open);
    let Some(window) = web_sys::window() else {
        return;
    };
    let over = Closure::<dyn FnMut(web_sys::DragEvent)>::new(|event: web_sys::DragEvent| {
        event.prevent_default();
    });
    let drop = Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |event: web_sys::DragEvent| {
        event.prevent_default();
        if let Some(transfer) = event.data_transfer() {
            let listing = crate::datasets::files::from_drop(&transfer);
            let open = std::rc::Rc::clone(&open);
            leptos::task::spawn_local(async move {
                let files = listing.await;
                if !files.is_empty() {
                    open(files);
                }
            });
        }
    });
    let _ = window.add_event_listener_with_callback("dragover", over.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("drop", drop.as_ref().unchecked_ref());
    // Listeners for the page's lifetime.
    over.forget();
    drop.forget();
}
