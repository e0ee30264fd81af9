//! Decodes along lines of the latent space: the manifold grid and the sliders' strips (one
//! submit), and the interpolation with its frames.

use crate::lab::engine::{settled, EngineError, Lines};
use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_reference::latent::{LatentLines, Plane};

use super::{
    on_screen, GRID_SIDE, INTERPOLATION_FRAMES, INTERPOLATION_SHOWN, STRIP_POINTS, STRIP_RANGE,
};
use crate::draw::{draw_digits, image_values, DigitGrid};
use crate::lab::{Axes, Endpoint, Lab, LabController};

impl LabController {
    /// The manifold grid and the per-slider strips around the sliders' point, in one submit.
    pub fn refresh_decodes(&self) {
        let z = self.ui.z.get_untracked();
        let (axes, range) = (
            self.ui.views.grid_axes.get_untracked(),
            self.ui.views.grid_range.get_untracked(),
        );
        let request = self.with_lab(None, |lab| {
            if lab.views.decodes.busy() {
                return None;
            }
            let latent = lab.model.config().sizes.latent;
            if z.len() != latent {
                return None;
            }
            // On the principal axes before the first map, with the map on its way (its end
            // refreshes these views): the grid waits for it rather than be drawn on the first
            // two latents and again a moment later. The strips do not depend on the axes.
            let map_coming = lab.schedule.is_evaluating() || lab.views.map.in_flight();
            let grid_waits = axes == Axes::Principal && lab.views.principal.is_none() && map_coming;
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
            let training = lab.schedule.training;
            let document = web_sys::window().and_then(|w| w.document());
            let visible = |id: &str| {
                !training || on_screen(document.as_ref().and_then(|d| d.get_element_by_id(id)))
            };
            let (show_grid, show_strips) = (!grid_waits && visible("manifold"), visible("strip-0"));
            let mut sets = Vec::new();
            if show_grid {
                sets.push((Lines::Grid, &grid));
            }
            if show_strips {
                sets.push((Lines::Strips, &strips));
            }
            if sets.is_empty() {
                return None;
            }
            let reads = lab.model.request_line_sets(&sets);
            lab.views.decodes.started();
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
                    images.push(read.await?);
                }
                Ok::<_, EngineError>(images)
            }
            .await;
            let Some(again) = this.with_lab(Some(generation), |lab| lab.views.decodes.finished())
            else {
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

    /// Decodes the straight line between the two chosen endpoints.
    pub fn refresh_interpolation(&self) {
        let (from, to) = (
            self.ui.views.from.get_untracked(),
            self.ui.views.to.get_untracked(),
        );
        let z = self.ui.z.get_untracked();
        let request = self.with_lab(None, |lab| {
            if lab.views.interpolation.busy() {
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
            let (a, b) = (endpoint(lab, from, &z)?, endpoint(lab, to, &z)?);
            let line = LatentLines::interpolation(&a, &b, INTERPOLATION_FRAMES);
            let read = lab
                .model
                .request_line_sets(&[(Lines::Interpolation, &line)])
                .map(|mut reads| reads.remove(0));
            lab.views.interpolation.started();
            Some((lab.generation, read))
        });
        let Some(Some((generation, read))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = settled(read).await;
            let Some(again) =
                this.with_lab(Some(generation), |lab| lab.views.interpolation.finished())
            else {
                return;
            };
            match result {
                Ok(frames) => {
                    if let Some(canvas) = this.ui.canvases.interpolation.get_untracked() {
                        let pixels = image_values();
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
        let pixels = image_values();
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
}

/// Each slider's strip into its own canvas (`strip-{d}`), found by id: the sliders are listed
/// in an order the page chooses.
fn draw_strips(images: &[f32]) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let per_strip = STRIP_POINTS * image_values();
    for (d, strip) in images.chunks_exact(per_strip).enumerate() {
        if let Some(canvas) = document
            .get_element_by_id(&format!("strip-{d}"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        {
            draw_digits(&canvas, strip, DigitGrid::new(1, STRIP_POINTS));
        }
    }
}

/// Where an interpolation end is: the sliders' point, or a test digit's posterior mean.
fn endpoint(lab: &Lab, endpoint: Endpoint, z: &[f32]) -> Option<Vec<f32>> {
    match endpoint {
        Endpoint::Sliders => (z.len() == lab.model.config().sizes.latent).then(|| z.to_vec()),
        Endpoint::Test(index) => lab.test_mean(index),
    }
}
