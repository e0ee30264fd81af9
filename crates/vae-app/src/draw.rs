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
    if values.len() < width * height * channels.max(1) {
        // A model of another size than the data's (while one replaces the other): nothing fits.
        return;
    }
    let (stride, rows) = (grid.columns * width, grid.rows * height);
    // The canvas follows the data's size (setting it clears it; it is redrawn whole below).
    if canvas.width() as usize != stride || canvas.height() as usize != rows {
        canvas.set_width(stride as u32);
        canvas.set_height(rows as u32);
    }
    let rgba = grid_rgba(values, grid, shape, paper, ink);
    if let Ok(image) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&rgba),
        stride as u32,
        rows as u32,
    ) {
        let _ = context.put_image_data(&image, 0.0, 0.0);
    }
}

/// An 8-bit level as `value.round() as u8` gives it for a `value` in [0, 255], without the
/// call to `roundf` that `round` is in wasm (a grid of 225 digits is 530,000 of them): a half
/// added in f64 is exact for every f32, and the cast truncates.
fn level(value: f32) -> u8 {
    (f64::from(value) + 0.5) as u8
}

/// The RGBA pixels of `values` (images of `shape`, channels interleaved) laid out in `grid`,
/// row by row: colour as it is, grey from `paper` (0) to `ink` (1). What is not finite is 0.
fn grid_rgba(
    values: &[f32],
    grid: DigitGrid,
    shape: ImageShape,
    paper: [f32; 3],
    ink: [f32; 3],
) -> Vec<u8> {
    let (width, height, channels) = (shape.width, shape.height, shape.channels.max(1));
    let (stride, rows) = (grid.columns * width, grid.rows * height);
    let mut rgba = vec![255u8; stride * rows * 4];
    let unit = |value: f32| {
        if value.is_finite() {
            value.clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let images = values
        .chunks_exact(width * height * channels)
        .take(grid.rows * grid.columns);
    for (index, image) in images.enumerate() {
        let (top, left) = (
            (index / grid.columns) * height,
            (index % grid.columns) * width,
        );
        for (y, row) in image.chunks_exact(width * channels).enumerate() {
            let start = ((top + y) * stride + left) * 4;
            let out = rgba[start..start + width * 4].chunks_exact_mut(4);
            for (pixel, out) in row.chunks_exact(channels).zip(out) {
                if channels == 3 {
                    for (out, &value) in out.iter_mut().zip(pixel) {
                        *out = level(unit(value) * 255.0);
                    }
                } else {
                    let value = unit(pixel[0]);
                    for ((out, paper), ink) in out.iter_mut().zip(paper).zip(ink) {
                        *out = level(paper + (ink - paper) * value);
                    }
                }
            }
        }
    }
    rgba
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What each canvas pixel should be, found the other way round from [`grid_rgba`]: from
    /// the pixel's place to the image and value under it, rounded by `round` as the page
    /// drew it before (a `roundf` per channel).
    fn expected(
        values: &[f32],
        grid: DigitGrid,
        shape: ImageShape,
        paper: [f32; 3],
        ink: [f32; 3],
    ) -> Vec<u8> {
        let (width, height, channels) = (shape.width, shape.height, shape.channels.max(1));
        let (stride, rows) = (grid.columns * width, grid.rows * height);
        let images = values.len() / (width * height * channels);
        let mut rgba = Vec::with_capacity(stride * rows * 4);
        for y in 0..rows {
            for x in 0..stride {
                let image = (y / height) * grid.columns + x / width;
                let at = ((image * height + y % height) * width + x % width) * channels;
                for channel in 0..3 {
                    let level = if image >= images {
                        255.0
                    } else {
                        let value = values[at + if channels == 3 { channel } else { 0 }];
                        let value = if value.is_finite() {
                            value.clamp(0.0, 1.0)
                        } else {
                            0.0
                        };
                        if channels == 3 {
                            value * 255.0
                        } else {
                            paper[channel] + (ink[channel] - paper[channel]) * value
                        }
                    };
                    rgba.push(level.round() as u8);
                }
                rgba.push(255);
            }
        }
        rgba
    }

    fn shape(width: usize, height: usize, channels: usize) -> ImageShape {
        ImageShape {
            width,
            height,
            channels,
        }
    }

    #[test]
    fn grid_pixels_are_the_levels_round_gives() {
        // Every level's neighbourhood (the halves where rounding turns), the ends, what is not
        // finite, and a seeded spread between.
        let mut values = vec![
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.3,
            1.7,
            0.0,
            1.0,
        ];
        for k in 0..=255u32 {
            let half = (k as f32 + 0.5) / 255.0;
            values.extend([
                half,
                f32::from_bits(half.to_bits() - 1),
                f32::from_bits(half.to_bits() + 1),
            ]);
        }
        values.push(f32::from_bits(0.5f32.to_bits() - 1) / 255.0);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        while values.len() % (7 * 5 * 3) != 0 || values.len() < 20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push((state >> 40) as f32 / (1u64 << 24) as f32);
        }
        let dark = ([28.0, 25.0, 23.0], [255.0, 255.0, 255.0]);
        let light = ([255.0, 255.0, 255.0], [0.0, 0.0, 0.0]);
        for (shape, grid) in [
            (shape(7, 5, 1), DigitGrid::new(20, 30)),
            (shape(7, 5, 3), DigitGrid::new(9, 11)),
            (shape(5, 7, 1), DigitGrid::new(3, 4)),
        ] {
            for (paper, ink) in [dark, light] {
                assert_eq!(
                    grid_rgba(&values, grid, shape, paper, ink),
                    expected(&values, grid, shape, paper, ink),
                    "{shape:?} in {grid:?}"
                );
            }
        }
    }
}
