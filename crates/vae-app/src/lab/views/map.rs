//! The map of the test set: the posteriors read back after an evaluation, projected and drawn,
//! and what hovering and clicking it ask for.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_reference::latent::{kl_per_dimension, Plane, ACTIVE_KL_NATS};

use crate::lab::{Axes, LabController, LatentMap};

impl LabController {
    /// Reads back the test posteriors of the last evaluation and redraws the map, the
    /// information bars and the interpolation from them. Call right after an evaluation, before
    /// training goes on, so they describe the model the evaluation measured.
    pub(in crate::lab) fn refresh_map(&self) {
        let request = self.with_lab(None, |lab| {
            if lab.views.map.busy() {
                return None;
            }
            let read = lab.model.request_posteriors().ok()?;
            lab.views.map.started();
            Some((lab.generation, lab.model.step(), read))
        });
        let Some(Some((generation, step, read))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = read.await;
            let Some(again) = this.with_lab(Some(generation), |lab| lab.views.map.finished())
            else {
                return;
            };
            match result {
                Ok((means, logvars)) => {
                    let started = crate::draw::now_ms();
                    this.with_lab(Some(generation), |lab| {
                        let latent = lab.model.config().sizes.latent;
                        lab.views.principal = Some(Plane::principal(&means, latent));
                        lab.views.means = means;
                        lab.views.logvars = logvars;
                    });
                    // Each part a task of its own, so a slow phone's page never stalls on the
                    // lot (10,000 posteriors: tens of milliseconds each there).
                    crate::tasks::next_task().await;
                    let projected = this.project_points(Some(step));
                    crate::tasks::next_task().await;
                    if projected {
                        this.draw_map();
                    }
                    // From the posteriors' arrival to the map drawn (three tasks, with the
                    // browser's own work between them).
                    crate::draw::measure("map-refreshed", started, crate::draw::now_ms());
                    crate::tasks::next_task().await;
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
        if self.project_points(step) {
            self.draw_map();
        }
    }

    /// [`LabController::project_map`] without the drawing; whether there was a map to make.
    fn project_points(&self, step: Option<u64>) -> bool {
        let axes = self.ui.views.map_axes.get_untracked();
        let step = step.or_else(|| {
            self.ui
                .views
                .map
                .with_untracked(|m| m.as_ref().map(|m| m.step))
        });
        let map = self.with_lab(None, |lab| {
            let v = &lab.views;
            let latent = lab.model.config().sizes.latent;
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
        let Some(Some(map)) = map else {
            return false;
        };
        self.ui.views.map.set(Some(Arc::new(map)));
        true
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
        let z = self.with_lab(None, |lab| lab.test_mean(index));
        if let Some(Some(z)) = z {
            self.set_z(z, None);
        }
    }
}
