//! The page's estimate of the test log-likelihood (`vae_model::likelihood`): requests of a few
//! hundred decoder rows, one out at a time, so a slider's decode waits behind one at most; each
//! awaited in a task that takes the model only to queue the next. Training changes the model,
//! so it stops an estimate, as a new model does.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_model::likelihood::images_per_request;
use vae_model::{LikelihoodEstimate, LikelihoodRun};

use super::engine::{EngineError, Pending};
use super::ui::{Estimate, Ranked, RankedDigit};
use super::{LabController, LikelihoodPoint, RECONSTRUCTIONS};

/// Decoder rows a request holds: a few milliseconds of the CPU engine, so the sliders' decode
/// behind it still lands in the next frame or so.
const ROWS_PER_REQUEST: usize = 256;
/// While the sliders move (the schedule's `interactive`), requests hold at most this many rows
/// (one digit's draws at least), and after each the estimate rests [`INTERACTIVE_REST`] times as
/// long as it took (a frame at least): the device is then mostly free when a slider's decode
/// comes, and when it is not, the decode waits behind a small request. (On SwiftShader 256 rows
/// take 50-70 ms, and one digit's 100 draws 25-35.)
const INTERACTIVE_ROWS: usize = 64;
const INTERACTIVE_REST: f64 = 2.0;

/// An estimate under way on the lab's model.
pub(super) struct EstimateRun {
    token: u64,
    step: u64,
    run: LikelihoodRun,
}

/// The test indices of the `count` lowest and `count` highest of `values`, lowest and highest
/// first.
pub fn extremes(values: &[f32], count: usize) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let count = count.min(order.len());
    let least = order[..count].to_vec();
    let most = order.iter().rev().take(count).copied().collect();
    (least, most)
}

/// What the task does next.
enum Next {
    Request(Pending<Vec<f32>>),
    /// Every image is in.
    Finished,
    /// Cancelled, or the model was replaced or trained.
    Stopped,
}

/// Resolves after `ms` milliseconds (at once for none).
async fn pause(ms: f64) {
    if ms < 1.0 {
        return;
    }
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                ms.min(1e4) as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Resolves at the next animation frame: a gap in which a slider's decode goes first.
async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.request_animation_frame(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

impl LabController {
    /// Estimates −log p(x) with `samples` draws a digit over the first `images` test digits.
    pub fn estimate_likelihood(&self, samples: u32, images: usize) {
        let token = self.estimate_tokens.get() + 1;
        self.estimate_tokens.set(token);
        let started = self.with_lab(None, |lab| {
            if lab.schedule.training {
                return Err(EngineError::invalid(
                    "training changes the model: pause it to estimate",
                ));
            }
            let images = images.min(lab.test_set.split().len());
            let run = LikelihoodRun::new(samples, images, ROWS_PER_REQUEST)?;
            let per_request = images_per_request(samples, ROWS_PER_REQUEST);
            let prepared = lab.model.prepare_log_likelihood(samples, per_request);
            lab.estimate = Some(EstimateRun {
                token,
                step: lab.model.step(),
                run,
            });
            Ok((lab.generation, images, prepared))
        });
        match started {
            None => {}
            Some(Err(error)) => self.ui.estimate.set(Estimate::Failed(error.to_string())),
            Some(Ok((generation, images, prepared))) => {
                self.ui.estimate.set(Estimate::Running {
                    token,
                    samples,
                    images,
                    done: 0,
                });
                let this = self.clone();
                spawn_local(async move { this.run_estimate(generation, token, prepared).await });
            }
        }
    }

    /// Stops the estimate under way; what it computed is dropped.
    pub fn cancel_estimate(&self) {
        self.with_lab(None, |lab| lab.estimate = None);
        self.ui.estimate.set(Estimate::Idle);
    }

    async fn run_estimate(&self, generation: u64, token: u64, prepared: Pending<()>) {
        if let Err(error) = prepared.await {
            return self.estimate_failed(generation, token, error);
        }
        loop {
            let next = self.with_lab(Some(generation), |lab| {
                let Some(estimate) = lab.estimate.as_mut().filter(|e| e.token == token) else {
                    return Ok((Next::Stopped, false));
                };
                let samples = estimate.run.samples();
                let interactive = lab.schedule.interactive(crate::draw::now_ms());
                let most = if interactive {
                    images_per_request(samples, INTERACTIVE_ROWS)
                } else {
                    usize::MAX
                };
                match estimate.run.next_request_of_at_most(most) {
                    Some(images) => Ok((
                        Next::Request(lab.model.request_log_likelihood(images, samples)?),
                        interactive,
                    )),
                    None => Ok((Next::Finished, interactive)),
                }
            });
            let (request, interactive) = match next.unwrap_or(Ok((Next::Stopped, false))) {
                Err(error) => return self.estimate_failed(generation, token, error),
                Ok((Next::Stopped, _)) => return self.estimate_stopped(token),
                Ok((Next::Finished, _)) => break,
                Ok((Next::Request(request), interactive)) => (request, interactive),
            };
            let began = crate::draw::now_ms();
            let values = match request.await {
                Ok(values) => values,
                Err(error) => return self.estimate_failed(generation, token, error),
            };
            let recorded = self.with_lab(Some(generation), |lab| {
                let estimate = lab.estimate.as_mut().filter(|e| e.token == token)?;
                Some(estimate.run.record(&values).map(|()| estimate.run.done()))
            });
            match recorded.flatten() {
                None => return self.estimate_stopped(token),
                Some(Err(error)) => return self.estimate_failed(generation, token, error.into()),
                Some(Ok(done)) => self.ui.estimate.update(|shown| {
                    if let Estimate::Running {
                        token: t, done: d, ..
                    } = shown
                    {
                        if *t == token {
                            *d = done;
                        }
                    }
                }),
            }
            if interactive {
                let rest = INTERACTIVE_REST * (crate::draw::now_ms() - began);
                next_frame().await;
                pause(rest).await;
            }
        }
        let finished = self.with_lab(Some(generation), |lab| {
            let estimate = lab.estimate.take().filter(|e| e.token == token)?;
            let step = estimate.step;
            Some(estimate.run.finish().map(|figure| (step, figure)))
        });
        match finished.flatten() {
            None => self.estimate_stopped(token),
            Some(Err(error)) => self.estimate_failed(generation, token, error.into()),
            Some(Ok((step, figure))) => {
                crate::draw::mark("estimate-done");
                let point = LikelihoodPoint {
                    step,
                    samples: figure.samples,
                    images: figure.per_image.len(),
                    neg_log_likelihood: figure.neg_log_likelihood,
                    standard_error: figure.standard_error,
                };
                self.rank_digits(generation, step, &figure).await;
                self.ui.curve.update(|curve| curve.likelihood.push(point));
                self.ui.estimate.set(Estimate::Idle);
                // A model this browser keeps keeps its estimate too; any other model's curve
                // carries it into its first save.
                if matches!(self.ui.saved.get_untracked(), super::SaveState::Saved(_)) {
                    self.autosave();
                }
            }
        }
    }

    /// The estimate's least and most likely digits, with their reconstructions, for the page.
    async fn rank_digits(&self, generation: u64, step: u64, figure: &LikelihoodEstimate) {
        let (least, most) = extremes(&figure.per_image, RECONSTRUCTIONS);
        let requests = self.with_lab(Some(generation), |lab| {
            let test = lab.test_set.split();
            [least, most].map(|indices| {
                let pixels: Vec<Vec<f32>> = indices.iter().map(|&i| test.image_f32(i)).collect();
                // The reconstructions' session takes exactly its number of digits.
                let mut x = pixels.concat();
                x.resize(RECONSTRUCTIONS * test.values_per_image(), 0.0);
                (indices, pixels, lab.model.request_reconstruction(&x))
            })
        });
        let Some(requests) = requests else { return };
        let mut sides = Vec::new();
        for (indices, pixels, request) in requests {
            let Ok(images) = super::settled(request).await else {
                // A view, not a figure: without it the estimate stands.
                return;
            };
            let size = images.len() / RECONSTRUCTIONS;
            sides.push(
                indices
                    .iter()
                    .zip(pixels)
                    .enumerate()
                    .map(|(k, (&index, pixels))| RankedDigit {
                        index,
                        log_likelihood: figure.per_image[index],
                        pixels,
                        reconstruction: images[k * size..(k + 1) * size].to_vec(),
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let (Some(most), Some(least)) = (sides.pop(), sides.pop()) else {
            return;
        };
        if self.is_current(generation) {
            self.ui.ranked.set(Some(Arc::new(Ranked {
                samples: figure.samples,
                step,
                least,
                most,
            })));
        }
    }

    fn estimate_failed(&self, generation: u64, token: u64, error: EngineError) {
        self.with_lab(Some(generation), |lab| {
            if lab.estimate.as_ref().is_some_and(|e| e.token == token) {
                lab.estimate = None;
            }
        });
        if self.showing(token) {
            self.ui
                .estimate
                .set(Estimate::Failed(format!("The estimate stopped: {error}")));
        }
    }

    /// The page stops showing this estimate as under way (unless another has begun since).
    fn estimate_stopped(&self, token: u64) {
        if self.showing(token) {
            self.ui.estimate.set(Estimate::Idle);
        }
    }

    fn showing(&self, token: u64) -> bool {
        self.ui.estimate.with_untracked(
            |shown| matches!(shown, Estimate::Running { token: t, .. } if *t == token),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::extremes;

    #[test]
    fn the_extremes_are_the_lowest_and_highest_in_order_ties_by_index() {
        let values = [-90.0, -120.0, -85.0, -120.0, -100.0];
        assert_eq!(extremes(&values, 2), (vec![1, 3], vec![2, 0]));
        assert_eq!(extremes(&values[..1], 8), (vec![0], vec![0]));
    }
}
