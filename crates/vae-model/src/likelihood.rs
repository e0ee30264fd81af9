//! The importance-weighted estimate of the test log-likelihood, as both engines compute it and
//! every caller runs it: which noise each draw uses, how the images are split into requests
//! ([`LikelihoodRun`]), and the figure with its standard error ([`LikelihoodEstimate`]).
//!
//! An engine computes, for each image of a request, L_K = log (1/K) Σ_k p(x, z_k) / q(z_k | x)
//! (`vae_reference::importance` states the math; K = 1 takes the KL in closed form, so L_1 is the
//! ELBO `vae eval` reports); this module turns those into −L_K in nats per image.

use std::collections::VecDeque;
use std::ops::Range;

use crate::engine::{Engine, EngineError};
use crate::{ModelError, EVALUATION_STEP_BASE};

/// Importance draws beyond the first use step keys from here on: one key per image, apart from
/// training's (from 0) and the evaluations' ([`EVALUATION_STEP_BASE`] onward).
pub const IMPORTANCE_STEP_BASE: u32 = 0xC000_0000;

/// The most draws per image an estimate takes (Burda et al.'s convention is 5,000).
pub const MAX_IMPORTANCE_SAMPLES: u32 = 100_000;

/// The noise key `(step, first element)` of draw `sample` of test image `image`: draw 0 is the
/// ε the evaluation gives that image (draw 0 of `vae eval`, batches of `batch` images), so at
/// K = 1 the estimate is exactly the evaluation's −ELBO; draw k ≥ 1 is keyed by the image
/// alone, so an image's estimate does not depend on how the images were split into requests.
pub fn importance_key(image: u32, sample: u32, batch: u32, latent: u32) -> (u32, u32) {
    let batch = batch.max(1);
    if sample == 0 {
        (
            EVALUATION_STEP_BASE.wrapping_add(image / batch + 1),
            (image % batch) * latent,
        )
    } else {
        (
            IMPORTANCE_STEP_BASE.wrapping_add(image),
            (sample - 1) * latent,
        )
    }
}

/// The draws ε of one image, `[samples, latent]`, as [`importance_key`] keys them.
pub fn importance_noise(seed: u64, image: u32, samples: u32, batch: u32, latent: u32) -> Vec<f64> {
    let mut eps = Vec::with_capacity((samples * latent) as usize);
    for sample in 0..samples {
        let (step, first) = importance_key(image, sample, batch, latent);
        eps.extend(
            (first..first + latent)
                .map(|element| vae_reference::noise::standard_normal(seed, step, element)),
        );
    }
    eps
}

/// Checks a number of draws per image.
pub fn check_samples(samples: u32) -> Result<(), ModelError> {
    if samples == 0 || samples > MAX_IMPORTANCE_SAMPLES {
        return Err(ModelError::InvalidInput(format!(
            "{samples} importance samples per image: between 1 and {MAX_IMPORTANCE_SAMPLES} please"
        )));
    }
    Ok(())
}

/// Refuses a request that is not a range of the `test_images` bound.
pub fn check_request(images: &Range<usize>, test_images: usize) -> Result<(), ModelError> {
    if images.is_empty() || images.end > test_images {
        return Err(ModelError::InvalidInput(format!(
            "test images {}..{} of {test_images}: not a range of them",
            images.start, images.end
        )));
    }
    Ok(())
}

/// What an engine that runs requests of any size on the model's own buffers does to prepare
/// an estimate ([`Engine::prepare_log_likelihood`]): check the number of draws.
pub fn prepared_at_once(samples: u32) -> crate::engine::Pending<()> {
    crate::engine::ready(check_samples(samples).map_err(EngineError::from))
}

/// The estimate over a set of images: −L_K in nats per image, its standard error over the
/// images, and each image's L_K.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LikelihoodEstimate {
    pub samples: u32,
    /// −L_K, the mean over the images (nats per image; an upper bound on −log p(x)).
    pub neg_log_likelihood: f64,
    /// The standard error of that mean over the images.
    pub standard_error: f64,
    /// Each image's L_K (nats; negative), in the order of the images.
    pub per_image: Vec<f32>,
}

impl LikelihoodEstimate {
    /// The figure from each image's L_K, summed in f64.
    pub fn new(samples: u32, per_image: Vec<f32>) -> Self {
        let n = per_image.len().max(1) as f64;
        let mean = per_image.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = per_image
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0).max(1.0);
        Self {
            samples,
            neg_log_likelihood: -mean,
            standard_error: (variance / n).sqrt(),
            per_image,
        }
    }
}

/// An estimate over the first `images` test images, a request at a time: each request holds
/// as many images as fit `rows` decoder rows (K per image; at least one image), so a caller
/// sizes the work between two looks at the page (or a progress bar).
#[derive(Clone, Debug)]
pub struct LikelihoodRun {
    samples: u32,
    images: usize,
    per_request: usize,
    values: Vec<f32>,
    /// Images requested so far.
    next: usize,
}

impl LikelihoodRun {
    pub fn new(samples: u32, images: usize, rows: usize) -> Result<Self, ModelError> {
        check_samples(samples)?;
        if images == 0 {
            return Err(ModelError::InvalidInput(
                "the estimate needs at least one test image".into(),
            ));
        }
        Ok(Self {
            samples,
            images,
            per_request: images_per_request(samples, rows),
            values: Vec::with_capacity(images),
            next: 0,
        })
    }

    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// The next request's images, if any are left.
    pub fn next_request(&mut self) -> Option<Range<usize>> {
        self.next_request_of_at_most(self.per_request)
    }

    /// The next request, of at most `images` images (at least one) and no more than the run's
    /// own size: smaller requests for a while, when something else must not wait long behind
    /// one (a page whose sliders are moving).
    pub fn next_request_of_at_most(&mut self, images: usize) -> Option<Range<usize>> {
        let size = images.clamp(1, self.per_request);
        (self.next < self.images).then(|| {
            let end = (self.next + size).min(self.images);
            let range = self.next..end;
            self.next = end;
            range
        })
    }

    /// A request's answer, in the order the requests were made.
    pub fn record(&mut self, values: &[f32]) -> Result<(), ModelError> {
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(ModelError::InvalidInput(format!(
                "an image's estimate came back as {bad}: the model's parameters are not finite"
            )));
        }
        self.values.extend_from_slice(values);
        Ok(())
    }

    /// Images whose estimate has come back.
    pub fn done(&self) -> usize {
        self.values.len()
    }

    /// The estimate, once every image is in.
    pub fn finish(self) -> Result<LikelihoodEstimate, ModelError> {
        if self.values.len() != self.images {
            return Err(ModelError::InvalidInput(format!(
                "{} of {} images' estimates came back",
                self.values.len(),
                self.images
            )));
        }
        Ok(LikelihoodEstimate::new(self.samples, self.values))
    }
}

/// The estimate over the first `images` bound test images of `engine`, requests of up to
/// `rows` decoder rows, two in flight (an engine's next request is queued while the last one's
/// figures come back); `progress` hears the images done after each. For callers that hold the
/// engine throughout (the CLI, tests); the page runs a [`LikelihoodRun`] between its frames.
pub async fn estimate(
    engine: &mut dyn Engine,
    samples: u32,
    images: usize,
    rows: usize,
    mut progress: impl FnMut(usize),
) -> Result<LikelihoodEstimate, EngineError> {
    let mut run = LikelihoodRun::new(samples, images, rows)?;
    engine
        .prepare_log_likelihood(samples, run.per_request)
        .await?;
    let mut in_flight = VecDeque::new();
    loop {
        while in_flight.len() < 2 {
            let Some(range) = run.next_request() else {
                break;
            };
            in_flight.push_back(engine.request_log_likelihood(range, samples)?);
        }
        let Some(next) = in_flight.pop_front() else {
            break;
        };
        run.record(&next.await?)?;
        progress(run.done());
    }
    Ok(run.finish()?)
}

/// Images per request for `samples` draws each within `rows` decoder rows (at least one).
pub fn images_per_request(samples: u32, rows: usize) -> usize {
    (rows / samples.max(1) as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cover_the_images_once_in_order() {
        let mut run = LikelihoodRun::new(100, 250, 4096).unwrap();
        let mut seen = Vec::new();
        while let Some(range) = run.next_request() {
            assert!(range.len() <= 40);
            let values: Vec<f32> = range.clone().map(|i| -(i as f32)).collect();
            run.record(&values).unwrap();
            seen.extend(range);
        }
        assert_eq!(seen, (0..250).collect::<Vec<_>>());
        let estimate = run.finish().unwrap();
        assert!((estimate.neg_log_likelihood - 124.5).abs() < 1e-9);
        // Sample standard deviation of 0..249 is 72.31; over √250 images.
        assert!((estimate.standard_error - 72.312_977 / 250f64.sqrt()).abs() < 1e-4);
        // More draws than rows: one image a request.
        assert_eq!(images_per_request(5000, 4096), 1);
        assert!(LikelihoodRun::new(0, 10, 4096).is_err());
        assert!(LikelihoodRun::new(10, 0, 4096).is_err());
        assert!(LikelihoodRun::new(MAX_IMPORTANCE_SAMPLES + 1, 10, 4096).is_err());
        let mut bad = LikelihoodRun::new(1, 1, 4096).unwrap();
        assert!(bad.record(&[f32::NAN]).is_err());
    }

    #[test]
    fn smaller_requests_for_a_while_still_cover_the_images_once() {
        let mut run = LikelihoodRun::new(10, 30, 100).unwrap();
        assert_eq!(run.next_request_of_at_most(0), Some(0..1));
        assert_eq!(run.next_request_of_at_most(3), Some(1..4));
        assert_eq!(run.next_request_of_at_most(1000), Some(4..14));
        assert_eq!(run.next_request(), Some(14..24));
        assert_eq!(run.next_request(), Some(24..30));
        assert_eq!(run.next_request_of_at_most(1), None);
    }

    #[test]
    fn draw_zero_is_the_evaluations_and_the_rest_are_per_image() {
        // Image 130 in batches of 128: the second batch, row 2.
        assert_eq!(
            importance_key(130, 0, 128, 20),
            (EVALUATION_STEP_BASE + 2, 40)
        );
        assert_eq!(
            importance_key(130, 3, 128, 20),
            (IMPORTANCE_STEP_BASE + 130, 40)
        );
        let eps = importance_noise(7, 130, 3, 128, 20);
        assert_eq!(eps.len(), 60);
        let evaluation = vae_reference::noise::batch_noise(7, EVALUATION_STEP_BASE + 2, 3, 20);
        assert_eq!(eps[..20], evaluation[40..60]);
    }
}
