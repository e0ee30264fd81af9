//! What several panels show alike: a canvas of decoded digits, and counts as people read them.

pub use crate::data::grouped;

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::draw::DigitGrid;

/// A canvas for `grid` digits at the model's pixel size, an image to screen readers.
#[component]
pub fn DigitCanvas(
    canvas: NodeRef<Canvas>,
    id: &'static str,
    class: &'static str,
    grid: DigitGrid,
    label: &'static str,
) -> impl IntoView {
    let (width, height) = (grid.width().to_string(), grid.height().to_string());
    view! { <canvas node_ref=canvas id=id class=class width=width height=height role="img" aria-label=label></canvas> }
}
