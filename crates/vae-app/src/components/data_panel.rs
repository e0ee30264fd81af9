use super::data_import::ImportPanel;
use super::digits::grouped;
use crate::data::{DataState, Preview};
use crate::datasets::{DataId, DataSets};
use crate::draw::{draw_images, DigitGrid};
use leptos::html::Canvas;
use leptos::prelude::*;

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// The training data: the data set in use (the bundled MNIST's download, what it holds, or why
/// it cannot be used), every data set the lab can train on, and bringing one's own.
#[component]
pub fn DataPanel(state: RwSignal<DataState>, sets: DataSets) -> impl IntoView {
    let mnist = move || {
        match state.get() {
            DataState::Downloading { received, total } => {
                let label = match total {
                    Some(total) => format!("Downloading MNIST: {} of {}", megabytes(received), megabytes(total)),
                    None => format!("Downloading MNIST: {}", megabytes(received)),
                };
                view! {
                    <p id="data-progress-label">{label.clone()}</p>
                    <progress
                        id="data-progress"
                        aria-label=label
                        max=total.unwrap_or(0).max(received).to_string()
                        value=received.to_string()
                    ></progress>
                }
                    .into_any()
            }
            DataState::Ready { train, test, download_bytes, preview, .. } => {
                view! {
                    <p id="data-summary">
                        {format!(
                            "MNIST: {} training and {} test images ({} downloaded), binarised.",
                            grouped(train as u64),
                            grouped(test as u64),
                            megabytes(download_bytes as u64),
                        )}
                    </p>
                    <DigitStrip preview />
                    <p class="caption">"The first test digits, as the model sees them."</p>
                }
                    .into_any()
            }
            DataState::Failed(message) => {
                view! {
                    <div class="error-text" id="data-error" role="alert">
                        <p>"The training data could not be loaded: "{message}</p>
                        <p>"Reload the page to try again. The GPU check does not need the data and still works."</p>
                    </div>
                }
                    .into_any()
            }
        }
    };
    let in_use = move || match sets.current.get() {
        DataId::Mnist => mnist().into_any(),
        DataId::Stored(id) => {
            let set = sets
                .own
                .with(|own| own.iter().find(|s| s.id == id).cloned());
            match set {
                Some(set) => view! {
                    <p id="data-summary">{format!("{}: {}.", set.name, set.summary())}</p>
                    <DigitStrip preview=set.preview.clone() />
                    <p class="caption">"The first test images, as the model sees them."</p>
                }
                .into_any(),
                None => view! { <p id="data-summary">"…"</p> }.into_any(),
            }
        }
    };
    let own_rows = move || {
        let current = sets.current.get();
        sets.own
            .get()
            .into_iter()
            .map(|set| {
                let id = DataId::Stored(set.id.clone());
                let used = current == id;
                let (choose_id, remove_id) = (id.clone(), set.id.clone());
                view! {
                    <li class="data-set" data-id=set.id.clone() class:in-use=used>
                        <span class="data-set-name">{set.name.clone()}</span>
                        <span class="caption">
                            {format!(
                                " {}{}",
                                set.summary(),
                                if set.kept { "" } else { " (this visit only)" }
                            )}
                        </span>
                        <button class="use-data" disabled=used on:click=move |_| sets.choose(choose_id.clone())>
                            {if used { "In use" } else { "Train on it" }}
                        </button>
                        <button class="remove-data" disabled=used on:click=move |_| sets.remove(remove_id.clone())>
                            "Remove"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="panel" id="data" aria-live="polite">
            <h2>"Training data"</h2>
            {in_use}
            <ul id="data-sets">
                <li class="data-set" data-id="mnist" class:in-use=move || sets.current.get() == DataId::Mnist>
                    <span class="data-set-name">"MNIST"</span>
                    <span class="caption">" 50,000 training and 10,000 test digits of 28×28, bundled"</span>
                    <button
                        class="use-data"
                        disabled=move || sets.current.get() == DataId::Mnist
                        on:click=move |_| sets.choose(DataId::Mnist)
                    >
                        {move || if sets.current.get() == DataId::Mnist { "In use" } else { "Train on it" }}
                    </button>
                </li>
                {own_rows}
            </ul>
            <ImportPanel sets />
        </section>
    }
}

/// Digits drawn pixel for pixel (the canvas is scaled up by CSS without smoothing).
#[component]
fn DigitStrip(preview: Preview) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let columns = preview.digits.len().max(1);
    let labels = preview
        .digits
        .iter()
        .map(|(label, _)| label.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    Effect::new(move |_| {
        if let Some(canvas) = canvas.get() {
            let values: Vec<f32> = preview
                .digits
                .iter()
                .flat_map(|(_, values)| values.iter().copied())
                .collect();
            draw_images(
                &canvas,
                &values,
                DigitGrid::new(1, preview.digits.len()),
                preview.shape,
            );
        }
    });
    view! {
        <canvas
            node_ref=canvas
            id="data-preview"
            class="digits"
            width=(preview.shape.width * columns).to_string()
            height=preview.shape.height.to_string()
            role="img"
            aria-label=format!("test digits {labels}")
            data-labels=labels
        ></canvas>
    }
}
