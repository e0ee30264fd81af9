//! What the model has learned, refreshed as it trains: samples from the prior, and test
//! digits above their reconstructions.

use leptos::prelude::*;

use super::digits::DigitCanvas;
use crate::draw::DigitGrid;
use crate::lab::{LabUi, RECONSTRUCTIONS, SAMPLE_COLUMNS, SAMPLE_ROWS};

#[component]
pub fn Gallery(ui: LabUi) -> impl IntoView {
    let samples = DigitGrid::new(SAMPLE_ROWS, SAMPLE_COLUMNS);
    let pairs = DigitGrid::new(2, RECONSTRUCTIONS);
    view! {
        <section class="panel gallery" id="gallery">
            <h2>"What the model has learned"</h2>
            <h3>"Samples from the prior"</h3>
            <DigitCanvas canvas=ui.canvases.samples id="samples" class="digits" grid=samples
                label="digits decoded from 32 fixed draws of z from the prior" />
            <h3>"Test digits (top) and their reconstructions (bottom)"</h3>
            <DigitCanvas canvas=ui.canvases.reconstructions id="reconstructions" class="digits" grid=pairs
                label="eight test digits above the model's reconstructions of them" />
            <p class="caption">"Reconstructions decode each digit's posterior mean. Both refresh about once a second while training."</p>
        </section>
    }
}
