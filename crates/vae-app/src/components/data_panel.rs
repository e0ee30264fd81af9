use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};

use crate::data::{DataState, Preview};

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// Thousands separated, as people read counts.
fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
                DataState::Ready { train, test, download_bytes, preview } => {
                    view! {
                        <p id="data-summary">
                            {format!(
                                "MNIST: {} training and {} test images ({} downloaded), binarised.",
                                count(train),
                                count(test),
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
            draw_digits(&canvas, &preview);
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

fn draw_digits(canvas: &web_sys::HtmlCanvasElement, preview: &Preview) {
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|context| context.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let columns = preview.digits.len();
    let stride = preview.width * columns;
    let mut rgba = vec![255u8; stride * preview.height * 4];
    for (column, (_, pixels)) in preview.digits.iter().enumerate() {
        for (p, &on) in pixels.iter().enumerate() {
            if on {
                let (x, y) = (
                    column * preview.width + p % preview.width,
                    p / preview.width,
                );
                let at = (y * stride + x) * 4;
                rgba[at..at + 3].fill(0);
            }
        }
    }
    if let Ok(image) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&rgba),
        stride as u32,
        preview.height as u32,
    ) {
        let _ = context.put_image_data(&image, 0.0, 0.0);
    }
}
