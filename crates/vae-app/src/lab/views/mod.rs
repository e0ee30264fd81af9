//! The latent-space views' GPU side: the test set's posteriors (kept by each evaluation, read
//! back after it), the manifold grid and the per-axis strips around the sliders' point (one
//! submit), an interpolation between two points, and a drawing encoded as it is drawn. Each view
//! has at most one request in flight and remembers that another is wanted, so input never
//! queues more GPU work than one refresh.

mod decodes;
mod map;
mod pad;

use leptos::prelude::*;
use vae_reference::latent::Plane;

use super::{Endpoint, LabController, OneInFlight};

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

/// The views' state in the lab: what came back last and what is in flight.
#[derive(Default)]
pub(super) struct ViewState {
    /// Every test image's posterior mean and log-variance, `[images, latent]` each.
    means: Vec<f32>,
    logvars: Vec<f32>,
    /// The posteriors' principal plane, once they have come back.
    principal: Option<Plane>,
    map: OneInFlight,
    decodes: OneInFlight,
    /// Bumped by each slider move: a settle timer acts only if no move came after it.
    settle: u64,
    interpolation: OneInFlight,
    /// `[INTERPOLATION_FRAMES, pixels]`, the latest interpolation's decodes.
    frames: Vec<f32>,
    pad_in_flight: bool,
    pad_waiting: Option<Vec<f32>>,
    /// When the views last followed training (`performance.now()`).
    followed_training_at: f64,
}

impl super::Lab {
    /// Test digit `index`'s posterior mean, as the last map read it.
    fn test_mean(&self, index: usize) -> Option<Vec<f32>> {
        let latent = self.model.config().sizes.latent;
        self.views
            .means
            .get(index * latent..(index + 1) * latent)
            .map(<[f32]>::to_vec)
    }
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

    /// A new model is in: what the views showed was the old one's.
    pub(super) fn forget_views(&self) {
        self.ui.views.map.set(None);
        self.ui.views.hovered.set(None);
        self.draw_map();
        let side = crate::draw::image_size().1 as f64;
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
}
