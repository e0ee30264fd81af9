//! The test set's posterior means in 2-D, coloured by label: hover shows the digit, a click (or
//! a test digit's number, from the keyboard) sets the sliders to its point.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::axes::AxesPicker;
use crate::draw::{draw_digits, DigitGrid, DIGIT_SIDE};
use crate::lab::{LabHandle, LabUi, PICKABLE_DIGITS};
use crate::scatter::{nearest, to_canvas, LABEL_COLOURS, MAP_PIXELS};

#[component]
pub fn MapView(lab: LabHandle, ui: LabUi) -> impl IntoView {
    let views = ui.views;
    let latent = Signal::derive(move || ui.model.with(|m| m.map_or(0, |m| m.sizes.latent)));
    let hover_canvas = NodeRef::<Canvas>::new();
    let picked = RwSignal::new(String::from("1"));
    let pick_error = RwSignal::new(None::<String>);

    // Canvas pixels under a pointer event (the canvas is scaled by CSS).
    let at = |event: &web_sys::PointerEvent| {
        let target = event.target()?;
        let element = wasm_bindgen::JsCast::dyn_ref::<web_sys::Element>(&target)?;
        let rect = element.get_bounding_client_rect();
        let scale = MAP_PIXELS as f64 / rect.width().max(1.0);
        Some((
            ((f64::from(event.client_x()) - rect.left()) * scale) as f32,
            ((f64::from(event.client_y()) - rect.top()) * scale) as f32,
        ))
    };
    let hit = move |event: &web_sys::PointerEvent| {
        let (x, y) = at(event)?;
        views
            .map
            .with_untracked(|map| map.as_ref().and_then(|map| nearest(map, x, y)))
    };
    let on_move = move |event: web_sys::PointerEvent| {
        let index = hit(&event);
        if index != views.hovered.get_untracked() {
            views.hovered.set(index);
            lab.with_value(|c| {
                c.draw_map();
                if let (Some(i), Some(canvas)) = (index, hover_canvas.get_untracked()) {
                    if let Some(image) = c.test_image(i) {
                        draw_digits(&canvas, &image, DigitGrid::single());
                    }
                }
            });
        }
    };
    let on_leave = move |_| {
        views.hovered.set(None);
        lab.with_value(|c| c.draw_map());
    };
    let on_click = move |event: web_sys::PointerEvent| {
        if let Some(index) = hit(&event) {
            lab.with_value(|c| c.pick_test_digit(index));
        }
    };
    let go = move || {
        let count = views
            .map
            .with_untracked(|m| m.as_ref().map_or(0, |m| m.points.len()));
        match picked.get_untracked().trim().parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => {
                pick_error.set(None);
                lab.with_value(|c| c.pick_test_digit(n - 1));
            }
            _ => pick_error.set(Some(format!("Enter a test digit's number, 1 to {count}."))),
        }
    };
    let hovered_text = move || {
        let index = views.hovered.get()?;
        let label = views
            .map
            .with(|m| m.as_ref().and_then(|m| m.labels.get(index).copied()))?;
        Some(format!(
            "Test image {} ({}); click to go there",
            index + 1,
            ui.class_name(label)
        ))
    };
    // Where the pickable test digits are, as fractions of the canvas: what a test (or a script)
    // needs to click one.
    let marks = move || {
        views.map.with(|map| {
            map.as_ref().map_or(String::new(), |map| {
                let size = MAP_PIXELS as f32;
                map.points
                    .iter()
                    .take(PICKABLE_DIGITS)
                    .map(|&p| {
                        let (x, y) = to_canvas(map, p);
                        format!("{:.5},{:.5}", x / size, y / size)
                    })
                    .collect::<Vec<_>>()
                    .join(";")
            })
        })
    };
    let summary = move || {
        views.map.with(|map| match map {
            Some(map) => {
                let (x, y) = map.axes.names();
                let when = if map.step == 0 {
                    "as loaded".to_string()
                } else {
                    format!("after step {}", map.step)
                };
                format!(
                    "{} test digits' posterior means {when}, on {x} (across) and {y} (up). Hover to see a digit, click to go to its point.",
                    map.points.len(),
                )
            }
            None => "Waiting for the first evaluation…".to_string(),
        })
    };
    view! {
        <div class="latent-view map-view">
            <h3>"Map of the test set"</h3>
            <AxesPicker id="map-axes" axes=views.map_axes latent on_change=move || lab.with_value(|c| c.project_map(None)) />
            <div class="map-wrap">
                <canvas
                    node_ref=ui.canvases.map
                    id="latent-map"
                    width=MAP_PIXELS.to_string()
                    height=MAP_PIXELS.to_string()
                    role="img"
                    aria-label="scatter plot of the test digits' posterior means, coloured by label"
                    data-step=move || views.map.with(|m| m.as_ref().map(|m| m.step.to_string()))
                    data-marks=marks
                    on:pointermove=on_move
                    on:pointerleave=on_leave
                    on:click=move |event: web_sys::MouseEvent| {
                        if let Ok(event) = wasm_bindgen::JsCast::dyn_into::<web_sys::PointerEvent>(event) {
                            on_click(event);
                        }
                    }
                ></canvas>
                <div class="map-hover" id="map-hover" class:hidden=move || views.hovered.get().is_none() aria-live="polite">
                    <canvas node_ref=hover_canvas class="digit-small" width=DIGIT_SIDE.to_string() height=DIGIT_SIDE.to_string() aria-hidden="true"></canvas>
                    <span>{hovered_text}</span>
                </div>
            </div>
            <ul class="map-legend" aria-label="colours by label">
                {move || {
                    let classes = ui.classes.get().len().clamp(1, LABEL_COLOURS.len());
                    LABEL_COLOURS
                        .iter()
                        .take(classes)
                        .enumerate()
                        .map(|(label, colour)| view! {
                            <li><span class="swatch" style=format!("background:{colour}")></span>{ui.class_name(label as u8)}</li>
                        })
                        .collect_view()
                }}
            </ul>
            <p class="caption" id="map-summary">{summary}</p>
            <div class="button-row">
                <label for="map-pick">"Go to test digit"</label>
                <input
                    id="map-pick"
                    type="text"
                    inputmode="numeric"
                    size="6"
                    prop:value=move || picked.get()
                    on:input=move |event| picked.set(event_target_value(&event))
                    on:keydown=move |event: web_sys::KeyboardEvent| if event.key() == "Enter" { go() }
                    aria-describedby="map-pick-error"
                />
                <button id="map-go" on:click=move |_| go() disabled=move || views.map.with(Option::is_none)>"Go"</button>
                <button id="map-refresh" on:click=move |_| lab.with_value(|c| c.refresh_map_now())>"Refresh map"</button>
            </div>
            <p class="field-error" id="map-pick-error" role="alert">{move || pick_error.get()}</p>
        </div>
    }
}
