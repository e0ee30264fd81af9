//! What several panels show alike: a canvas of decoded digits, and counts as people read them.

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

/// Thousands separated, as people read counts.
pub fn grouped(n: u64) -> String {
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
