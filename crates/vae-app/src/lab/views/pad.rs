//! A drawing encoded as it is drawn.

use crate::lab::engine::EngineError;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::draw::{draw_digits, DigitGrid};
use crate::lab::LabController;

impl LabController {
    /// A drawing (`[784]` ink values in [0, 1]) to encode: the sliders jump to its posterior
    /// mean and its reconstruction is drawn beside it. While one is on the GPU, only the latest
    /// drawing waits.
    pub fn encode_drawing(&self, pixels: Vec<f32>) {
        let request = self.with_lab(None, |lab| {
            if lab.views.pad_in_flight {
                lab.views.pad_waiting = Some(pixels.clone());
                return None;
            }
            let reads = lab.model.request_encode_and_reconstruct(&pixels);
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
                let mean = posterior.await?;
                Ok::<_, EngineError>((mean, image.await?))
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
