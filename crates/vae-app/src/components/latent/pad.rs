//! Draw a digit: a 28 × 28 pad (mouse, touch, pen, or the keyboard's arrows and space) whose
//! drawing is encoded as it is drawn; the sliders jump to its posterior mean and its
//! reconstruction shows beside it.

use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::digits::DigitCanvas;
use crate::draw::{image_shape, image_size, DigitGrid, DIGIT_SIDE};
use crate::lab::{LabHandle, LabUi};

/// The pen's width in pixels of the 28 × 28 image: MNIST's strokes are two to three wide.
const PEN_WIDTH: f64 = 2.4;

fn context(canvas: &web_sys::HtmlCanvasElement) -> Option<web_sys::CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
}

/// The drawing as the model reads it: each pixel's ink (alpha) in [0, 1], in every channel of
/// a colour model (a white stroke on black).
fn ink(canvas: &web_sys::HtmlCanvasElement) -> Option<Vec<f32>> {
    let (width, height) = image_size();
    let channels = image_shape().channels;
    let data = context(canvas)?
        .get_image_data(0.0, 0.0, width as f64, height as f64)
        .ok()?
        .data();
    Some(
        data.chunks_exact(4)
            .flat_map(|rgba| std::iter::repeat_n(f32::from(rgba[3]) / 255.0, channels))
            .collect(),
    )
}

#[component]
pub fn PadView(lab: LabHandle, ui: LabUi) -> impl IntoView {
    let pad = NodeRef::<Canvas>::new();
    let last = RwSignal::new(None::<(f64, f64)>);
    // The keyboard's pen: where it is and whether it inks.
    let cursor = RwSignal::new((14.0f64, 14.0f64));
    let pen_down = RwSignal::new(false);
    let drawn = RwSignal::new(false);

    let stroke = move |from: (f64, f64), to: (f64, f64)| {
        let Some(canvas) = pad.get_untracked() else {
            return;
        };
        let Some(context) = context(&canvas) else {
            return;
        };
        context.set_stroke_style_str("#000");
        // The pen is as wide against the image as on MNIST's 28 pixels.
        let (width, height) = image_size();
        context.set_line_width(PEN_WIDTH * width.min(height) as f64 / DIGIT_SIDE as f64);
        context.set_line_cap("round");
        context.set_line_join("round");
        context.begin_path();
        context.move_to(from.0, from.1);
        context.line_to(to.0, to.1);
        context.stroke();
        drawn.set(true);
        if let Some(pixels) = ink(&canvas) {
            lab.with_value(|c| c.encode_drawing(pixels));
        }
    };
    let position = move |event: &web_sys::PointerEvent| {
        let canvas = pad.get_untracked()?;
        let rect = canvas.get_bounding_client_rect();
        // The image is fitted inside the pad's box (`object-fit: contain`), centred.
        let (width, height) = image_size();
        let (width, height) = (width as f64, height as f64);
        let shown = (rect.width() / width).min(rect.height() / height).max(1e-6);
        let left = rect.left() + (rect.width() - width * shown) / 2.0;
        let top = rect.top() + (rect.height() - height * shown) / 2.0;
        Some((
            (f64::from(event.client_x()) - left) / shown,
            (f64::from(event.client_y()) - top) / shown,
        ))
    };
    let on_down = move |event: web_sys::PointerEvent| {
        event.prevent_default();
        if let Some(canvas) = pad.get_untracked() {
            let _ = canvas.set_pointer_capture(event.pointer_id());
        }
        if let Some(at) = position(&event) {
            last.set(Some(at));
            stroke(at, at);
        }
    };
    let on_move = move |event: web_sys::PointerEvent| {
        let (Some(from), Some(to)) = (last.get_untracked(), position(&event)) else {
            return;
        };
        // Coalesced pointer events: each carries what the pointer did since the last.
        last.set(Some(to));
        stroke(from, to);
    };
    let on_up = move |_| last.set(None);
    let on_key = move |event: web_sys::KeyboardEvent| {
        let (x, y) = cursor.get_untracked();
        let moved = match event.key().as_str() {
            "ArrowLeft" => (x - 1.0, y),
            "ArrowRight" => (x + 1.0, y),
            "ArrowUp" => (x, y - 1.0),
            "ArrowDown" => (x, y + 1.0),
            " " | "Enter" => {
                event.prevent_default();
                pen_down.update(|down| *down = !*down);
                if pen_down.get_untracked() {
                    stroke((x, y), (x, y));
                }
                return;
            }
            _ => return,
        };
        event.prevent_default();
        let (width, height) = image_size();
        let to = (
            moved.0.clamp(1.0, (width as f64 - 1.0).max(1.0)),
            moved.1.clamp(1.0, (height as f64 - 1.0).max(1.0)),
        );
        cursor.set(to);
        if pen_down.get_untracked() {
            stroke((x, y), to);
        }
    };
    let clear = move |_| {
        let (width, height) = image_size();
        for canvas in [
            pad.get_untracked(),
            ui.canvases.pad_reconstruction.get_untracked(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(context) = context(&canvas) {
                context.clear_rect(0.0, 0.0, width as f64, height as f64);
            }
        }
        drawn.set(false);
        pen_down.set(false);
    };
    view! {
        <div class="latent-view pad-view">
            <h3>"Draw a digit"</h3>
            <div class="pad-row">
                <canvas
                    node_ref=pad
                    id="pad"
                    class="pad"
                    width=move || ui.image.get().0.to_string()
                    height=move || ui.image.get().1.to_string()
                    tabindex="0"
                    role="img"
                    aria-label="drawing pad: draw with a mouse, finger or pen; or move with the arrow keys and press space to put the pen down or lift it"
                    data-drawn=move || drawn.get().to_string()
                    on:pointerdown=on_down
                    on:pointermove=on_move
                    on:pointerup=on_up
                    on:pointercancel=on_up
                    on:keydown=on_key
                ></canvas>
                <DigitCanvas canvas=ui.canvases.pad_reconstruction id="pad-reconstruction" class="digit-medium" grid=DigitGrid::single()
                    label="the model's reconstruction of the drawing" />
            </div>
            <div class="button-row">
                <button id="pad-clear" on:click=clear>"Clear"</button>
                <span class="caption" aria-live="polite">{move || if pen_down.get() { "Pen down (space lifts it)" } else { "" }}</span>
            </div>
            <p class="caption">"Encoded as you draw: the sliders jump to the drawing's posterior mean; its reconstruction is on the right."</p>
        </div>
    }
}
