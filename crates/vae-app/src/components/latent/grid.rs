//! The manifold grid: 15 × 15 decodes over two directions around the sliders' point, one pass.

use leptos::prelude::*;

use super::axes::AxesPicker;
use crate::components::digits::DigitCanvas;
use crate::draw::DigitGrid;
use crate::lab::{LabHandle, LabUi, GRID_SIDE};

const RANGES: [f32; 4] = [0.5, 1.0, 2.0, 3.0];

#[component]
pub fn GridView(lab: LabHandle, ui: LabUi) -> impl IntoView {
    let views = ui.views;
    let latent = Signal::derive(move || ui.model.with(|m| m.map_or(0, |m| m.sizes.latent)));
    let refresh = move || lab.with_value(|c| c.refresh_decodes());
    let caption = move || {
        let (x, y) = views.grid_axes.get().names();
        format!(
            "Decoded on {x} (across) and {y} (up), ±{} around the sliders' point, which is the middle digit.",
            views.grid_range.get()
        )
    };
    view! {
        <div class="latent-view grid-view">
            <h3>"Manifold grid"</h3>
            <div class="button-row">
                <AxesPicker id="grid-axes" axes=views.grid_axes latent on_change=refresh />
                <label for="grid-range">"Range"</label>
                <select
                    id="grid-range"
                    on:change=move |event| {
                        if let Ok(range) = event_target_value(&event).parse::<f32>() {
                            views.grid_range.set(range);
                            refresh();
                        }
                    }
                >
                    {RANGES.iter().map(|&r| view! {
                        <option value=r.to_string() selected=move || views.grid_range.get() == r>{format!("±{r}")}</option>
                    }).collect_view()}
                </select>
            </div>
            <DigitCanvas canvas=ui.canvases.grid id="manifold" class="digits" grid=DigitGrid::new(GRID_SIDE, GRID_SIDE)
                label="a grid of digits decoded over two latent directions" />
            <p class="caption">{caption}</p>
        </div>
    }
}
