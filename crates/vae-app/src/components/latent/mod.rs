//! The latent space, four ways: the test set's map, a manifold grid, an interpolation and a
//! pad to draw on. Each view is drawn by the lab on the GPU; these components hold the controls.

mod axes;
mod grid;
mod interpolation;
mod map;
mod pad;

use leptos::prelude::*;

use crate::lab::{Axes, LabHandle, LabUi};

#[component]
pub fn LatentViews(lab: LabHandle, ui: LabUi, labels: RwSignal<Vec<u8>>) -> impl IntoView {
    let latent = move || ui.model.with(|m| m.map_or(0, |m| m.sizes.latent));
    // A model of another size: axes it does not have fall back to its default.
    Effect::new(move |_| {
        let latent = latent();
        if latent == 0 {
            return;
        }
        for axes in [ui.views.map_axes, ui.views.grid_axes] {
            let fits = match axes.get_untracked() {
                Axes::Principal => latent > 1,
                Axes::Dimensions(x, y) => x < latent && y < latent,
            };
            if !fits || latent <= 2 {
                axes.set(Axes::default_for(latent));
            }
        }
    });
    view! {
        <section class="panel latent" id="latent-space" aria-labelledby="latent-title">
            <h2 id="latent-title">"The latent space"</h2>
            <p class="caption">
                "All computed in this page from the model as it trains: the map at each epoch's end "
                "(or on Refresh), the grid and strips as the sliders settle."
            </p>
            <div class="latent-views">
                <map::MapView lab ui />
                <grid::GridView lab ui />
                <interpolation::InterpolationView lab ui labels />
                <pad::PadView lab ui />
            </div>
        </section>
    }
}
