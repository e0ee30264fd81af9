//! Pixels on the page: digits drawn into 2D canvases pixel for pixel, and frame timing.

use wasm_bindgen::prelude::*;
use wasm_bindgen::{Clamped, JsCast};

use std::cell::Cell;

/// MNIST's image size, the canvases' until the lab's data says otherwise.
pub const DIGIT_SIDE: usize = 28;

thread_local! {
    /// The shape (width, height, channels) of the images the page draws: the training data's.
    /// One page, one data set at a time; the lab sets it when it binds data.
    static IMAGE_SHAPE: Cell<(usize, usize, usize)> =
        const { Cell::new((DIGIT_SIDE, DIGIT_SIDE, 1)) };
}

/// The size (width, height) every digit canvas draws at.
pub fn image_size() -> (usize, usize) {
    let shape = image_shape();
    (shape.width, shape.height)
}

/// Width, height and channels (1 grey, 3 colour) of the images drawn.
pub fn image_shape() -> ImageShape {
    let (width, height, channels) = IMAGE_SHAPE.with(Cell::get);
    ImageShape {
        width,
        height,
        channels,
    }
}

/// Values in one image at [`image_shape`]: the model's inputs.
pub fn image_values() -> usize {
    image_shape().values()
}

/// Sets the shape images are drawn at (the data's); canvases take it at their next draw.
pub fn set_image_shape(shape: ImageShape) {
    let channels = if shape.channels == 3 { 3 } else { 1 };
    IMAGE_SHAPE.with(|cell| cell.set((shape.width.max(1), shape.height.max(1), channels)));
}

/// What the page's images are: width, height and channels (1 grey, 3 colour).
pub use vae_model::ImageShape;

/// How digits are laid out in one canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigitGrid {
    pub rows: usize,
    pub columns: usize,
}

impl DigitGrid {
    pub fn new(rows: usize, columns: usize) -> Self {
        Self { rows, columns }
    }

    pub fn single() -> Self {
        Self::new(1, 1)
    }

    /// In pixels, at the data's image size.
    pub fn width(self) -> usize {
        self.columns * image_size().0
    }

    pub fn height(self) -> usize {
        self.rows * image_size().1
    }
}

fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|window| {
            window
                .match_media("(prefers-color-scheme: dark)")
                .ok()
                .flatten()
        })
        .is_some_and(|query| query.matches())
}

/// Draws the sliders' digit, decoded at `z`, into `canvas` and marks it `decoded`; the canvas's
/// `data-z` says which point it shows (a slider moved during a decode is decoded again after
/// it, so a reader waiting for one point must tell the decodes apart).
pub fn draw_decoded(canvas: &web_sys::HtmlCanvasElement, pixels: &[f32], z: &[f32]) {
    if pixels.len() != image_values() {
        // A model for other data than the page's, on its way out.
        return;
    }
    draw_digits(canvas, pixels, DigitGrid::single());
    let point: Vec<String> = z.iter().map(f32::to_string).collect();
    let _ = canvas.set_attribute("data-z", &point.join(","));
    mark("decoded");
}

/// Draws images of [`image_shape`] values in [0, 1] row by row into `canvas`: grey values (ink
/// probability) ink dark on light paper, or light on dark in a dark theme; colour values (each
/// channel's) as the colours they are. The canvas is scaled up by CSS without smoothing, so
/// each pixel stays one crisp square.
pub fn draw_digits(canvas: &web_sys::HtmlCanvasElement, values: &[f32], grid: DigitGrid) {
    draw_images(canvas, values, grid, image_shape());
}

/// [`draw_digits`] for images of another shape than the lab's (a data set not in use).
pub fn draw_images(
    canvas: &web_sys::HtmlCanvasElement,
    values: &[f32],
    grid: DigitGrid,
    shape: ImageShape,
) {
    let (width, height, channels) = (shape.width, shape.height, shape.channels);
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|context| context.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let (paper, ink) = if prefers_dark() {
        ([28.0, 25.0, 23.0], [255.0, 255.0, 255.0])
    } else {
        ([255.0, 255.0, 255.0], [0.0, 0.0, 0.0])
    };
    let channels = channels.max(1);
    let pixels = width * height;
    if values.len() < pixels * channels {
        // A model of another size than the data's (while one replaces the other): nothing fits.
        return;
    }
    let (stride, rows) = (grid.columns * width, grid.rows * height);
    // The canvas follows the data's size (setting it clears it; it is redrawn whole below).
    if canvas.width() as usize != stride || canvas.height() as usize != rows {
        canvas.set_width(stride as u32);
        canvas.set_height(rows as u32);
    }
    let mut rgba = vec![255u8; stride * rows * 4];
    for (index, image) in values.chunks_exact(pixels * channels).enumerate() {
        if index >= grid.rows * grid.columns {
            break;
        }
        let (top, left) = (
            (index / grid.columns) * height,
            (index % grid.columns) * width,
        );
        let unit = |value: f32| {
            if value.is_finite() {
                value.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        for (p, pixel) in image.chunks_exact(channels).enumerate() {
            let at = ((top + p / width) * stride + left + p % width) * 4;
            for channel in 0..3 {
                rgba[at + channel] = if channels == 3 {
                    (unit(pixel[channel]) * 255.0).round() as u8
                } else {
                    let mixed = paper[channel] + (ink[channel] - paper[channel]) * unit(pixel[0]);
                    mixed.round() as u8
                };
            }
        }
    }
    if let Ok(image) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&rgba),
        stride as u32,
        rows as u32,
    ) {
        let _ = context.put_image_data(&image, 0.0, 0.0);
    }
}

/// A User Timing mark: milestones of the page's start-up, read by the benchmark.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
        let _ = performance.mark(name);
    }
}

/// `performance.now()`, in milliseconds.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or(0.0, |performance| performance.now())
}

/// Records a User Timing measure `name` from `start` (a `performance.now()` time) to the next
/// animation frame: the frame that shows what was just drawn. Benchmarks read these entries.
pub fn measure_to_next_frame(name: &'static str, start: f64) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_frame = Closure::once_into_js(move |frame_time: f64| {
        measure(name, start, frame_time.max(start));
    });
    let _ = window.request_animation_frame(on_frame.unchecked_ref());
}

/// Records a User Timing measure `name` from `start` to `end` (`performance.now()` times).
pub fn measure(name: &str, start: f64, end: f64) {
    let Some(performance) = web_sys::window().and_then(|window| window.performance()) else {
        return;
    };
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"start".into(), &start.into());
    let _ = js_sys::Reflect::set(&options, &"end".into(), &end.into());
    if let Ok(measure) = js_sys::Reflect::get(&performance, &"measure".into()) {
        if let Some(measure) = measure.dyn_ref::<js_sys::Function>() {
            let _ = measure.call2(&performance, &name.into(), &options);
        }
    }
}
