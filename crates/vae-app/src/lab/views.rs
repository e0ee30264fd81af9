//! The latent-space views' GPU side: the test set's posteriors (kept by each evaluation, read
//! back after it), the manifold grid and the per-axis strips around the sliders' point (one
//! submit), an interpolation between two points, and a drawing encoded as it is drawn. Each view
//! has at most one request in flight and remembers that another is wanted, so input never
//! queues more GPU work than one refresh.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::vae::{Inference, LineDecoder, Vae};
use vae_gpu::GpuError;
use vae_reference::latent::{kl_per_dimension, LatentLines, Plane, ACTIVE_KL_NATS};

use super::{Axes, Endpoint, LabController, LatentMap};
use crate::draw::{draw_digits, DigitGrid, DIGIT_SIDE};

/// The manifold grid's side: 15 × 15 decodes.
pub const GRID_SIDE: usize = 15;
/// Decodes per slider's preview strip, from −2 to +2.
pub const STRIP_POINTS: usize = 9;
const STRIP_RANGE: f32 = 2.0;
/// Decodes along an interpolation, both ends included; the strip shows every fourth.
pub const INTERPOLATION_FRAMES: usize = 33;
pub const INTERPOLATION_SHOWN: usize = 9;
/// After the sliders stop, the grid and strips follow this much later: they are 405 decodes,
/// which would queue ahead of the next slider decode while dragging (the schedule's own
/// "at the sliders" window is as long).
const SETTLE_MS: i32 = 500;
/// While training, the grid, strips and interpolation follow the model this often. Each
/// refresh is GPU time taken from training (405 decodes are ~80 ms on SwiftShader here).
const FOLLOW_TRAINING_MS: f64 = 3000.0;

/// The sessions the views decode with, made once per model.
pub(super) struct ViewSessions {
    grid: LineDecoder,
    strips: LineDecoder,
    interpolation: LineDecoder,
    pad: Inference,
}

impl ViewSessions {
    pub async fn new(vae: &Vae) -> Result<Self, GpuError> {
        let latent = vae.config().sizes.latent as u32;
        Ok(Self {
            grid: vae.line_decoder(GRID_SIDE as u32, GRID_SIDE as u32).await?,
            strips: vae.line_decoder(latent, STRIP_POINTS as u32).await?,
            interpolation: vae.line_decoder(1, INTERPOLATION_FRAMES as u32).await?,
            pad: vae.inference(1).await?,
        })
    }
}

/// The views' state in the lab: what came back last and what is in flight.
#[derive(Default)]
pub(super) struct ViewState {
    /// Every test image's posterior mean and log-variance, `[images, latent]` each.
    means: Vec<f32>,
    logvars: Vec<f32>,
    /// The posteriors' principal plane, once they have come back.
    principal: Option<Plane>,
    map_in_flight: bool,
    map_again: bool,
    decodes_in_flight: bool,
    decodes_again: bool,
    /// Bumped by each slider move: a settle timer acts only if no move came after it.
    settle: u64,
    interpolation_in_flight: bool,
    interpolation_again: bool,
    /// `[INTERPOLATION_FRAMES, pixels]`, the latest interpolation's decodes.
    frames: Vec<f32>,
    pad_in_flight: bool,
    pad_waiting: Option<Vec<f32>>,
    /// When the views last followed training (`performance.now()`).
    followed_training_at: f64,
}

/// Whether `element` is (partly) in the viewport: while training, views off screen are not
/// decoded (they are when the visitor stops training or moves the sliders).
fn on_screen(element: Option<web_sys::Element>) -> bool {
    let (Some(element), Some(window)) = (element, web_sys::window()) else {
        return false;
    };
    let rect = element.get_bounding_client_rect();
    let height = window
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    rect.bottom() > 0.0 && rect.top() < height && rect.width() > 0.0
}

impl LabController {
    /// Called about once a second while training: the grid, strips and interpolation follow the
    /// model every [`FOLLOW_TRAINING_MS`], never while a slider moves.
    pub(super) fn views_follow_training(&self) {
        let now = crate::draw::now_ms();
        let due = self.with_lab(None, |lab| {
            let due = now - lab.views.followed_training_at >= FOLLOW_TRAINING_MS
                && !lab.schedule.interactive(now);
            if due {
                lab.views.followed_training_at = now;
            }
            due
        });
        if due == Some(true) {
            self.refresh_decodes();
            self.refresh_interpolation();
        }
    }

    /// The sliders' point moved: the grid and strips follow once it settles.
    pub(super) fn views_follow_sliders(&self) {
        let Some(settle) = self.with_lab(None, |lab| {
            lab.views.settle += 1;
            lab.views.settle
        }) else {
            return;
        };
        let this = self.clone();
        let on_timeout = wasm_bindgen::closure::Closure::once_into_js(move || {
            if this.with_lab(None, |lab| lab.views.settle) == Some(settle) {
                this.refresh_decodes();
                let views = this.ui.views;
                if [views.from, views.to]
                    .iter()
                    .any(|end| end.get_untracked() == Endpoint::Sliders)
                {
                    this.refresh_interpolation();
                }
            }
        });
        if let Some(window) = web_sys::window() {
            use wasm_bindgen::JsCast;
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                on_timeout.unchecked_ref(),
                SETTLE_MS,
            );
        }
    }

    /// Reads back the test posteriors of the last evaluation and redraws the map, the
    /// information bars and the interpolation from them. Call right after an evaluation, before
    /// training goes on, so they describe the model the evaluation measured.
    pub(super) fn refresh_map(&self) {
        let request = self.with_lab(None, |lab| {
            if lab.views.map_in_flight {
                lab.views.map_again = true;
                return None;
            }
            let read = lab.vae.request_posteriors(&lab.evaluator).ok()?;
            lab.views.map_in_flight = true;
            Some((lab.generation, lab.vae.step(), read))
        });
        let Some(Some((generation, step, read))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = read.wait().await;
            let Some(again) = this.with_lab(Some(generation), |lab| {
                lab.views.map_in_flight = false;
                std::mem::take(&mut lab.views.map_again)
            }) else {
                return;
            };
            match result {
                Ok((means, logvars)) => {
                    let started = crate::draw::now_ms();
                    this.with_lab(Some(generation), |lab| {
                        let latent = lab.vae.config().sizes.latent;
                        lab.views.principal = Some(Plane::principal(&means, latent));
                        lab.views.means = means;
                        lab.views.logvars = logvars;
                    });
                    this.project_map(Some(step));
                    // Main-thread time for the principal axes, the projection and the drawing.
                    crate::draw::measure("map-refreshed", started, crate::draw::now_ms());
                    this.refresh_decodes();
                    this.refresh_interpolation();
                }
                Err(error) => return this.fail(error),
            }
            if again {
                this.refresh_map();
            }
        });
    }

    /// Projects the posteriors on the map's axes (no GPU work) and redraws the map. `step`:
    /// the model's step the posteriors are of (None: the map's own, for a change of axes).
    pub fn project_map(&self, step: Option<u64>) {
        let axes = self.ui.views.map_axes.get_untracked();
        let step = step.or_else(|| {
            self.ui
                .views
                .map
                .with_untracked(|m| m.as_ref().map(|m| m.step))
        });
        let map = self.with_lab(None, |lab| {
            let v = &lab.views;
            let latent = lab.vae.config().sizes.latent;
            if v.means.is_empty() {
                return None;
            }
            let plane = match axes {
                Axes::Principal => v.principal.clone()?,
                Axes::Dimensions(x, y) => {
                    Plane::dimensions(latent, x.min(latent - 1), y.min(latent - 1))
                }
            };
            let kl = kl_per_dimension(&v.means, &v.logvars, latent);
            let points = plane.project(&v.means);
            Some(LatentMap {
                step: step.unwrap_or(0),
                axes,
                bounds: crate::scatter::bounds(&points),
                points,
                labels: lab.test_set.split().labels().to_vec(),
                active: kl.iter().filter(|&&kl| kl > ACTIVE_KL_NATS).count(),
                kl,
            })
        });
        if let Some(Some(map)) = map {
            self.ui.views.map.set(Some(Arc::new(map)));
            self.draw_map();
        }
    }

    /// Redraws the map (after a refresh, a change of axes, or the hovered digit moving); with no
    /// map (a new model not yet evaluated) the canvas is cleared.
    pub fn draw_map(&self) {
        let Some(canvas) = self.ui.canvases.map.get_untracked() else {
            return;
        };
        let hovered = self.ui.views.hovered.get_untracked();
        self.ui.views.map.with_untracked(|map| match map {
            Some(map) => crate::scatter::draw_map(&canvas, map, hovered),
            None => crate::scatter::clear(&canvas),
        });
    }

    /// A new model is in: what the views showed was the old one's.
    pub(super) fn forget_views(&self) {
        self.ui.views.map.set(None);
        self.ui.views.hovered.set(None);
        self.draw_map();
        let side = DIGIT_SIDE as f64;
        for canvas in [
            self.ui.canvases.interpolation.get_untracked(),
            self.ui.canvases.interpolation_frame.get_untracked(),
        ]
        .into_iter()
        .flatten()
        {
            crate::scatter::clear_to(&canvas, canvas.width().into(), side);
        }
    }

    /// The pixels of test digit `index` (0/1), for the map's hover.
    pub fn test_image(&self, index: usize) -> Option<Vec<f32>> {
        self.with_lab(None, |lab| {
            let split = lab.test_set.split();
            (index < split.len()).then(|| split.image_f32(index))
        })
        .flatten()
    }

    /// The sliders jump to test digit `index`'s posterior mean, as the last map read it.
    pub fn pick_test_digit(&self, index: usize) {
        let z = self.with_lab(None, |lab| {
            let latent = lab.vae.config().sizes.latent;
            lab.views
                .means
                .get(index * latent..(index + 1) * latent)
                .map(<[f32]>::to_vec)
        });
        if let Some(Some(z)) = z {
            self.set_z(z, None);
        }
    }

    /// The manifold grid and the per-slider strips around the sliders' point, in one submit.
    pub fn refresh_decodes(&self) {
        let z = self.ui.z.get_untracked();
        let (axes, range) = (
            self.ui.views.grid_axes.get_untracked(),
            self.ui.views.grid_range.get_untracked(),
        );
        let request = self.with_lab(None, |lab| {
            if lab.views.decodes_in_flight {
                lab.views.decodes_again = true;
                return None;
            }
            let latent = lab.vae.config().sizes.latent;
            if z.len() != latent {
                return None;
            }
            let plane = match (axes, &lab.views.principal) {
                (Axes::Principal, Some(plane)) => plane.clone(),
                (Axes::Dimensions(x, y), _) => {
                    Plane::dimensions(latent, x.min(latent - 1), y.min(latent - 1))
                }
                // Before the first map: the first two latents.
                (Axes::Principal, None) => Plane::dimensions(latent, 0, 1.min(latent - 1)),
            };
            let grid = LatentLines::grid(&z, &plane, GRID_SIDE, range);
            let strips = LatentLines::axis_strips(&z, STRIP_POINTS, STRIP_RANGE);
            let sessions = lab.view_sessions.as_ref()?;
            let training = lab.schedule.training;
            let document = web_sys::window().and_then(|w| w.document());
            let visible = |id: &str| {
                !training || on_screen(document.as_ref().and_then(|d| d.get_element_by_id(id)))
            };
            let (show_grid, show_strips) = (visible("manifold"), visible("strip-0"));
            let mut sets = Vec::new();
            if show_grid {
                sets.push((&sessions.grid, &grid));
            }
            if show_strips {
                sets.push((&sessions.strips, &strips));
            }
            if sets.is_empty() {
                return None;
            }
            let reads = lab.vae.request_line_sets(&sets);
            lab.views.decodes_in_flight = true;
            Some((lab.generation, reads, show_grid, show_strips))
        });
        let Some(Some((generation, reads, show_grid, show_strips))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = async {
                let mut images = Vec::new();
                for read in reads? {
                    images.push(read.wait().await?);
                }
                Ok::<_, GpuError>(images)
            }
            .await;
            let Some(again) = this.with_lab(Some(generation), |lab| {
                lab.views.decodes_in_flight = false;
                std::mem::take(&mut lab.views.decodes_again)
            }) else {
                return;
            };
            match result {
                Ok(images) => {
                    let mut images = images.into_iter();
                    if show_grid {
                        if let (Some(image), Some(canvas)) =
                            (images.next(), this.ui.canvases.grid.get_untracked())
                        {
                            draw_digits(&canvas, &image, DigitGrid::new(GRID_SIDE, GRID_SIDE));
                            crate::draw::mark("grid-drawn");
                        }
                    }
                    if show_strips {
                        if let Some(image) = images.next() {
                            draw_strips(&image);
                        }
                    }
                }
                Err(error) => return this.fail(error),
            }
            if again {
                this.refresh_decodes();
            }
        });
    }

    fn endpoint(&self, lab: &super::Lab, endpoint: Endpoint, z: &[f32]) -> Option<Vec<f32>> {
        let latent = lab.vae.config().sizes.latent;
        match endpoint {
            Endpoint::Sliders => (z.len() == latent).then(|| z.to_vec()),
            Endpoint::Test(index) => lab
                .views
                .means
                .get(index * latent..(index + 1) * latent)
                .map(<[f32]>::to_vec),
        }
    }

    /// Decodes the straight line between the two chosen endpoints.
    pub fn refresh_interpolation(&self) {
        let (from, to) = (
            self.ui.views.from.get_untracked(),
            self.ui.views.to.get_untracked(),
        );
        let z = self.ui.z.get_untracked();
        let request = self.with_lab(None, |lab| {
            if lab.views.interpolation_in_flight {
                lab.views.interpolation_again = true;
                return None;
            }
            if lab.schedule.training
                && !on_screen(
                    web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.get_element_by_id("interpolation")),
                )
            {
                return None;
            }
            let (a, b) = (self.endpoint(lab, from, &z)?, self.endpoint(lab, to, &z)?);
            let line = LatentLines::interpolation(&a, &b, INTERPOLATION_FRAMES);
            let sessions = lab.view_sessions.as_ref()?;
            let read = lab.vae.request_lines(&sessions.interpolation, &line);
            lab.views.interpolation_in_flight = true;
            Some((lab.generation, read))
        });
        let Some(Some((generation, read))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = match read {
                Ok(read) => read.wait().await,
                Err(error) => Err(error),
            };
            let Some(again) = this.with_lab(Some(generation), |lab| {
                lab.views.interpolation_in_flight = false;
                std::mem::take(&mut lab.views.interpolation_again)
            }) else {
                return;
            };
            match result {
                Ok(frames) => {
                    if let Some(canvas) = this.ui.canvases.interpolation.get_untracked() {
                        let pixels = DIGIT_SIDE * DIGIT_SIDE;
                        let every = (INTERPOLATION_FRAMES - 1) / (INTERPOLATION_SHOWN - 1);
                        let shown: Vec<f32> = frames
                            .chunks_exact(pixels)
                            .step_by(every)
                            .flatten()
                            .copied()
                            .collect();
                        draw_digits(&canvas, &shown, DigitGrid::new(1, INTERPOLATION_SHOWN));
                        crate::draw::mark("interpolation-drawn");
                    }
                    this.with_lab(Some(generation), |lab| lab.views.frames = frames);
                    this.show_frame(this.ui.views.frame.get_untracked());
                }
                Err(error) => return this.fail(error),
            }
            if again {
                this.refresh_interpolation();
            }
        });
    }

    /// Shows frame `frame` of the latest interpolation (no GPU work: the frames are here).
    pub fn show_frame(&self, frame: usize) {
        let pixels = DIGIT_SIDE * DIGIT_SIDE;
        let image = self.with_lab(None, |lab| {
            lab.views
                .frames
                .get(frame * pixels..(frame + 1) * pixels)
                .map(<[f32]>::to_vec)
        });
        if let (Some(Some(image)), Some(canvas)) =
            (image, self.ui.canvases.interpolation_frame.get_untracked())
        {
            draw_digits(&canvas, &image, DigitGrid::single());
        }
    }

    /// A drawing (`[784]` ink values in [0, 1]) to encode: the sliders jump to its posterior
    /// mean and its reconstruction is drawn beside it. While one is on the GPU, only the latest
    /// drawing waits.
    pub fn encode_drawing(&self, pixels: Vec<f32>) {
        let request = self.with_lab(None, |lab| {
            if lab.views.pad_in_flight {
                lab.views.pad_waiting = Some(pixels.clone());
                return None;
            }
            let sessions = lab.view_sessions.as_ref()?;
            let reads = lab
                .vae
                .request_encode_and_reconstruct(&sessions.pad, &pixels);
            lab.views.pad_in_flight = true;
            Some((lab.generation, reads))
        });
        let Some(Some((generation, reads))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = async {
                let (posterior, image) = reads?;
                let (mean, _) = posterior.wait().await?;
                Ok::<_, GpuError>((mean, image.wait().await?))
            }
            .await;
            let Some(waiting) = this.with_lab(Some(generation), |lab| {
                lab.views.pad_in_flight = false;
                lab.views.pad_waiting.take()
            }) else {
                return;
            };
            match result {
                Ok((mean, image)) => {
                    if let Some(canvas) = this.ui.canvases.pad_reconstruction.get_untracked() {
                        draw_digits(&canvas, &image, DigitGrid::single());
                        crate::draw::mark("pad-reconstructed");
                    }
                    this.set_z(mean, None);
                }
                Err(error) => return this.fail(error),
            }
            if let Some(pixels) = waiting {
                this.encode_drawing(pixels);
            }
        });
    }
}

/// Each slider's strip into its own canvas (`strip-{d}`), found by id: the sliders are listed
/// in an order the page chooses.
fn draw_strips(images: &[f32]) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let per_strip = STRIP_POINTS * DIGIT_SIDE * DIGIT_SIDE;
    for (d, strip) in images.chunks_exact(per_strip).enumerate() {
        if let Some(canvas) = document
            .get_element_by_id(&format!("strip-{d}"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        {
            draw_digits(&canvas, strip, DigitGrid::new(1, STRIP_POINTS));
        }
    }
}
