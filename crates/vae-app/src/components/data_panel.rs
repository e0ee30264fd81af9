use super::digits::grouped;
use crate::data::{DataState, Preview};
use crate::draw::{draw_digits, DigitGrid};
use leptos::html::Canvas;
use leptos::prelude::*;

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// The bundled training data: download progress, then what it holds, or why it cannot be used.
#[component]
pub fn DataPanel(state: RwSignal<DataState>) -> impl IntoView {
    view! {
        <section class="panel" id="data" aria-live="polite">
            <h2>"Training data"</h2>
            {move || match state.get() {
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
            }}
        </section>
    }
}

/// Digits drawn pixel for pixel (the canvas is scaled up by CSS without smoothing).
#[component]
fn DigitStrip(preview: Preview) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let (width, height) = (preview.width, preview.height);
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
                .flat_map(|(_, pixels)| pixels.iter().map(|&on| if on { 1.0 } else { 0.0 }))
                .collect();
            draw_digits(&canvas, &values, DigitGrid::new(1, preview.digits.len()));
        }
    });
    view! {
        <canvas
            node_ref=canvas
            id="data-preview"
            class="digits"
            width=(width * columns).to_string()
            height=height.to_string()
            role="img"
            aria-label=format!("test digits {labels}")
            data-labels=labels
        ></canvas>
    }
}
