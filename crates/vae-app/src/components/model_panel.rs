//! The model: where it came from and what it scores, and the visitor's ways to keep it or
//! replace it: Train from scratch, Download, Open (a file, or one dropped on the page), and
//! forgetting the autosave.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::lab::{LabHandle, LabUi, ModelKind, Phase, SaveState};
use crate::persist::files;

/// Reads a chosen or dropped file and hands it to the lab; a file too large is refused before
/// it is read.
pub fn open_chosen_file(lab: LabHandle, ui: LabUi, file: web_sys::File) {
    let name = file.name();
    ui.notice
        .set(Some(crate::lab::Notice::info(format!("Reading {name}…"))));
    leptos::task::spawn_local(async move {
        match files::read(&file).await {
            Ok(bytes) => lab.with_value(|c| c.open_file(name, bytes)),
            Err(text) => ui.notice.set(Some(crate::lab::Notice::error(format!(
                "{name}: {text}. The current model is unchanged."
            )))),
        }
    });
}

fn sizes_text(sizes: vae_reference::Sizes) -> String {
    format!("{} → {} → {}", sizes.input, sizes.hidden, sizes.latent)
}

#[component]
pub fn ModelPanel(
    lab: LabHandle,
    ui: LabUi,
    #[prop(into)] on_scratch: Callback<()>,
) -> impl IntoView {
    let phase = ui.phase;
    let idle = move || phase.with(|p| matches!(p, Phase::Ready | Phase::Diverged(_)));
    let have_model =
        move || !phase.with(|p| matches!(p, Phase::Building | Phase::Lost(_) | Phase::Failed(_)));
    let on_file = move |event: leptos::ev::Event| {
        let Some(input) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            open_chosen_file(lab, ui, file);
        }
        // The same file chosen again is a new choice.
        input.set_value("");
    };
    let title = move || {
        ui.model_info.with(|info| {
            let origin = match info.kind {
                ModelKind::Scratch => "A fresh model (seeded initialisation)".to_string(),
                ModelKind::Pretrained => "The pretrained model".to_string(),
                ModelKind::File => format!("Opened: {}", info.name),
            };
            if info.resumed {
                format!("Resumed from this browser · {origin}")
            } else {
                origin
            }
        })
    };
    let detail = move || {
        ui.model_info.with(|info| {
            let mut parts = Vec::new();
            if let Some(test) = info.scores.neg_elbo {
                parts.push(format!("test −ELBO {test:.2} nats as made"));
            }
            if let Some((bound, samples)) = info.scores.neg_log_likelihood {
                parts.push(format!(
                    "test −log p(x) ≤ {bound:.2} nats (importance-weighted, K = {})",
                    super::digits::grouped(u64::from(samples))
                ));
            }
            if let Some(description) = &info.description {
                parts.push(description.clone());
            }
            parts.join(" · ")
        })
    };
    let kind = move || ui.model_info.with(|info| info.kind.name());
    let resumed = move || ui.model_info.with(|info| info.resumed.to_string());
    let saved = move || {
        match ui.saved.get() {
        SaveState::Nothing => "Not saved in this browser yet: it saves at each epoch's end, on Pause and when the tab is hidden.".to_string(),
        SaveState::Saving => "Saving in this browser…".to_string(),
        SaveState::Saved(step) => format!("Saved in this browser at step {step}: a reload resumes here."),
        SaveState::Failed(text) => format!("Not saved: {text}. Training goes on."),
    }
    };
    let save_state = move || match ui.saved.get() {
        SaveState::Nothing => "nothing",
        SaveState::Saving => "saving",
        SaveState::Saved(_) => "saved",
        SaveState::Failed(_) => "failed",
    };
    view! {
        <section class="panel model" id="model" aria-labelledby="model-title">
            <h2 id="model-title">"Model"</h2>
            <p class="model-name" id="model-name" data-kind=kind data-resumed=resumed>{title}</p>
            <p class="caption" id="model-detail">{detail}</p>
            <div class="button-row">
                <button id="model-scratch" on:click=move |_| on_scratch.run(()) disabled=move || !idle()>
                    "Train from scratch"
                </button>
                <button id="model-download" on:click=move |_| lab.with_value(|c| c.download()) disabled=move || !have_model()>
                    "Download"
                </button>
                <input
                    type="file"
                    id="model-open"
                    class="visually-hidden"
                    accept=".safetensors,application/octet-stream"
                    on:change=on_file
                    disabled=move || !idle()
                />
                <label class="button" for="model-open" class:disabled=move || !idle()>"Open…"</label>
                <button id="model-forget" on:click=move |_| lab.with_value(|c| c.forget_saved())>
                    "Forget saved model"
                </button>
            </div>
            <p
                class="caption"
                id="save-state"
                data-state=save_state
                data-step=move || match ui.saved.get() { SaveState::Saved(step) => step.to_string(), _ => String::new() }
            >
                {saved}
            </p>
            <super::LikelihoodEstimate lab ui />
            <p class="caption">"Open takes a file from Download, from `vae train`, or a PyTorch state dict saved with safetensors; you can also drop it on the page."</p>
            {move || ui.offer.get().map(|offer| {
                let current = ui.model.get_untracked().map(|c| sizes_text(c.sizes)).unwrap_or_default();
                view! {
                    <div class="note" id="model-offer" role="alert">
                        <p>
                            {format!(
                                "{} holds a {} model; the current one is {current}. Switch the settings to the file's?",
                                offer.name,
                                sizes_text(offer.summary.sizes),
                            )}
                        </p>
                        <div class="button-row">
                            <button id="offer-accept" class="primary" on:click=move |_| lab.with_value(|c| c.accept_offer())>
                                "Switch to the file's settings"
                            </button>
                            <button id="offer-decline" on:click=move |_| ui.offer.set(None)>"Keep the current model"</button>
                        </div>
                    </div>
                }
            })}
            {move || ui.notice.get().map(|notice| {
                let class = if notice.error { "note warning" } else { "note" };
                let role = if notice.error { "alert" } else { "status" };
                view! { <p class=class id="model-notice" data-error=notice.error.to_string() role=role>{notice.text}</p> }
            })}
        </section>
    }
}
