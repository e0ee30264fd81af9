//! The latent map on a 2D canvas: 10,000 points as small squares coloured by label (one
//! `fillRect` each; SVG nodes by the thousand would not stay responsive), the hovered digit
//! ringed, and the inverse: which point is under the pointer.

use wasm_bindgen::JsCast;

use crate::lab_types::LatentMap;

/// The canvas's own pixels (CSS scales it to the panel).
pub const MAP_PIXELS: u32 = 480;
/// Points this close to the pointer (canvas pixels) can be picked.
const PICK_RADIUS: f32 = 8.0;
/// Tableau's ten colours (distinct for most colour vision), one per digit.
pub const LABEL_COLOURS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// The data range shown: the middle 99% of the points on each axis, padded, so a few outliers
/// do not squeeze the rest into a corner. `[x_min, x_max, y_min, y_max]`.
pub fn bounds(points: &[[f32; 2]]) -> [f32; 4] {
    let range = |axis: usize| {
        let mut values: Vec<f32> = points
            .iter()
            .map(|p| p[axis])
            .filter(|v| v.is_finite())
            .collect();
        if values.is_empty() {
            return (-1.0, 1.0);
        }
        values.sort_by(f32::total_cmp);
        let at = |q: f32| values[((values.len() - 1) as f32 * q).round() as usize];
        let (low, high) = (at(0.005), at(0.995));
        let pad = ((high - low) * 0.06).max(1e-3);
        (low - pad, high + pad)
    };
    let ((x0, x1), (y0, y1)) = (range(0), range(1));
    [x0, x1, y0, y1]
}

/// Where `point` is drawn, in canvas pixels (y up, as a chart's).
pub fn to_canvas(map: &LatentMap, point: [f32; 2]) -> (f32, f32) {
    let [x0, x1, y0, y1] = map.bounds;
    let size = MAP_PIXELS as f32;
    (
        (point[0] - x0) / (x1 - x0) * size,
        size - (point[1] - y0) / (y1 - y0) * size,
    )
}

/// The point nearest to canvas position (x, y), if one is within reach.
pub fn nearest(map: &LatentMap, x: f32, y: f32) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (index, &point) in map.points.iter().enumerate() {
        let (px, py) = to_canvas(map, point);
        let distance = (px - x).powi(2) + (py - y).powi(2);
        if distance <= PICK_RADIUS * PICK_RADIUS && best.is_none_or(|(_, d)| distance < d) {
            best = Some((index, distance));
        }
    }
    best.map(|(index, _)| index)
}

/// Clears the map's canvas.
pub fn clear(canvas: &web_sys::HtmlCanvasElement) {
    clear_to(canvas, f64::from(MAP_PIXELS), f64::from(MAP_PIXELS));
}

/// Clears `width` × `height` pixels of a canvas.
pub fn clear_to(canvas: &web_sys::HtmlCanvasElement, width: f64, height: f64) {
    if let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    {
        context.clear_rect(0.0, 0.0, width, height);
    }
}

pub fn draw_map(canvas: &web_sys::HtmlCanvasElement, map: &LatentMap, hovered: Option<usize>) {
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let size = f64::from(MAP_PIXELS);
    context.clear_rect(0.0, 0.0, size, size);
    // The axes' zeros, where they are in view.
    context.set_stroke_style_str("rgba(128, 128, 128, 0.35)");
    context.set_line_width(1.0);
    let (zx, zy) = to_canvas(map, [0.0, 0.0]);
    context.begin_path();
    if (0.0..=MAP_PIXELS as f32).contains(&zx) {
        context.move_to(f64::from(zx), 0.0);
        context.line_to(f64::from(zx), size);
    }
    if (0.0..=MAP_PIXELS as f32).contains(&zy) {
        context.move_to(0.0, f64::from(zy));
        context.line_to(size, f64::from(zy));
    }
    context.stroke();
    // One colour at a time: ten fill-style changes, not ten thousand.
    context.set_global_alpha(0.75);
    for (label, colour) in LABEL_COLOURS.iter().enumerate() {
        context.set_fill_style_str(colour);
        for (point, _) in map
            .points
            .iter()
            .zip(&map.labels)
            .filter(|(_, &l)| usize::from(l) == label)
        {
            let (x, y) = to_canvas(map, *point);
            context.fill_rect(f64::from(x) - 1.5, f64::from(y) - 1.5, 3.0, 3.0);
        }
    }
    context.set_global_alpha(1.0);
    if let Some(point) = hovered.and_then(|i| map.points.get(i)) {
        let (x, y) = to_canvas(map, *point);
        context.set_stroke_style_str("#111");
        context.set_line_width(2.0);
        context.begin_path();
        let _ = context.arc(f64::from(x), f64::from(y), 6.0, 0.0, std::f64::consts::TAU);
        context.stroke();
    }
}
