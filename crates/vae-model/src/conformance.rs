//! What every engine's first training step must match, written once: the f64 reference
//! (`vae-reference`) on the batch and noise the engines take for step 1, and PyTorch's fixture
//! (`tools/reference/make_fixture.py`). An engine's tests run the step and hand over what it
//! computed, so a third engine is checked by the same lines.

use mnist_shard::Split;
use safetensors::SafeTensors;
use vae_reference::importance::{iwae_backward, iwae_forward};
use vae_reference::noise::batch_noise;
use vae_reference::{adam_step, backward_weighted, forward, init_params, Layout, Tensor};

use crate::{epoch_order, StepMetrics, VaeConfig};

/// An engine after its first step, the tensors in the reference's packed [`Layout`].
pub struct FirstStep {
    pub metrics: StepMetrics,
    pub gradients: Vec<f32>,
    pub parameters: Vec<f32>,
}

/// What the step should have given: the loss terms, every gradient, the parameters after Adam.
struct Expected {
    neg_elbo: f64,
    bce: f64,
    kl: f64,
    gradients: Vec<f64>,
    parameters: Vec<f64>,
    /// Each gradient within this fraction of its tensor's largest.
    gradient_tolerance: f64,
    /// Gradients smaller than this may come out of an f32 engine with the other sign, and
    /// Adam's first step (±lr) with them: those parameters are not compared.
    sign_sensitive_below: f64,
}

/// The VAE's gradient: f32 sums against f64.
const ELBO_TOLERANCES: (f64, f64) = (1e-4, 1e-6);
/// IWAE's: each w̃ is a softmax of log weights near −550 nats, which f32 holds to ±3e-5 (its
/// spacing there is 6e-5), so the weights and every gradient through them carry ~1e-4 of
/// relative error before any sum is taken (the CPU engine, which keeps the log weights in f64,
/// lands within 2e-5; the GPU's are f32 buffers).
const IWAE_TOLERANCES: (f64, f64) = (5e-4, 1e-4);

/// Checks step 1 of `config` on `train` (the first batch of epoch 1's order, the noise for
/// step 1) against the f64 reference: the ELBO's gradient, or at K > 1 the IWAE objective's.
pub fn assert_first_step_matches_reference(config: &VaeConfig, train: &Split, ours: &FirstStep) {
    assert_eq!(ours.metrics.step, 1);
    let packed = Layout::new(config.sizes);
    let mut parameters: Vec<f64> = widen(&init_params(&packed, config.seed));
    let batch = config.batch as usize;
    let x: Vec<f64> = epoch_order(config.seed, 1, train.len())[..batch]
        .iter()
        .flat_map(|&i| train.image_in_epoch(i as usize, 1))
        .map(f64::from)
        .collect();
    // K draws per image, image after image: at K = 1 the VAE's noise for the step.
    let samples = config.importance_samples as usize;
    let eps = batch_noise(config.seed, 1, batch * samples, config.sizes.latent);
    let (terms, gradients) = if config.is_iwae() {
        let reference = iwae_forward(&packed, &parameters, &x, &eps);
        let gradients = iwae_backward(&packed, &parameters, &x, &eps, &reference);
        (reference.elbo_terms(), gradients)
    } else {
        let reference = forward(&packed, &parameters, &x, &eps);
        let gradients =
            backward_weighted(&packed, &parameters, &x, &eps, &reference, config.kl_weight);
        ((reference.bce, reference.kl), gradients)
    };
    let (mut m, mut v) = (vec![0.0; packed.len()], vec![0.0; packed.len()]);
    adam_step(config.adam, 1, &mut parameters, &gradients, &mut m, &mut v);
    let (gradient_tolerance, sign_sensitive_below) = if config.is_iwae() {
        IWAE_TOLERANCES
    } else {
        ELBO_TOLERANCES
    };
    let expected = Expected {
        neg_elbo: terms.0 + terms.1,
        bce: terms.0,
        kl: terms.1,
        gradients,
        parameters,
        gradient_tolerance,
        sign_sensitive_below,
    };
    assert_step(&packed, ours, &expected);
}

/// The configuration PyTorch's fixture was made at, and the 4 images of its batch.
pub fn pytorch_step_input(fixture: &[u8]) -> (VaeConfig, Vec<f32>) {
    let config = VaeConfig {
        batch: 4,
        seed: 3,
        ..VaeConfig::default()
    };
    let fixture = SafeTensors::deserialize(fixture).expect("the fixture reads");
    (config, floats(&fixture, "x"))
}

/// Checks the step on [`pytorch_step_input`] against what PyTorch computed in float64.
pub fn assert_first_step_matches_pytorch(fixture: &[u8], ours: &FirstStep) {
    let (config, _) = pytorch_step_input(fixture);
    let packed = Layout::new(config.sizes);
    let fixture = SafeTensors::deserialize(fixture).expect("the fixture reads");
    let mut gradients = vec![0.0; packed.len()];
    let mut parameters = vec![0.0; packed.len()];
    for t in Tensor::ALL {
        let range = packed.range(t);
        gradients[range.clone()]
            .copy_from_slice(&widen(&floats(&fixture, &format!("grad.{}", t.name()))));
        parameters[range].copy_from_slice(&widen(&floats(
            &fixture,
            &format!("after_adam.{}", t.name()),
        )));
    }
    let loss: Vec<f64> = bytemuck::pod_collect_to_vec(fixture.tensor("loss_f64").unwrap().data());
    let expected = Expected {
        neg_elbo: loss[0],
        bce: f64::from(floats(&fixture, "bce")[0]),
        kl: f64::from(floats(&fixture, "kl")[0]),
        gradients,
        parameters,
        gradient_tolerance: ELBO_TOLERANCES.0,
        sign_sensitive_below: ELBO_TOLERANCES.1,
    };
    assert_step(&packed, ours, &expected);
}

fn assert_step(packed: &Layout, ours: &FirstStep, expected: &Expected) {
    let metrics = ours.metrics;
    let close = |ours: f32, theirs: f64, tolerance: f64| {
        let error = (f64::from(ours) - theirs).abs() / theirs.abs();
        eprintln!("engine {ours} reference {theirs} (relative {error:.1e})");
        assert!(error <= tolerance, "{ours} vs {theirs}");
    };
    close(metrics.neg_elbo, expected.neg_elbo, 1e-5);
    close(metrics.bce, expected.bce, 1e-5);
    close(metrics.kl, expected.kl, 1e-4);

    for t in Tensor::ALL {
        let range = packed.range(t);
        let theirs = &expected.gradients[range.clone()];
        let largest = theirs.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        let error = ours.gradients[range]
            .iter()
            .zip(theirs)
            .fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs()));
        eprintln!(
            "{:<24} gradient max error {error:.1e} (largest {largest:.1e})",
            t.name()
        );
        assert!(
            error <= expected.gradient_tolerance * largest,
            "{}",
            t.name()
        );
    }

    // Adam's first step is ±lr wherever |g| ≫ ε, and 0 where g = 0 exactly; where |g| is
    // within the gradient's rounding of 0 its sign can flip, so those are not compared.
    let mut sign_sensitive = 0;
    for (k, &g) in expected.gradients.iter().enumerate() {
        if g != 0.0 && g.abs() < expected.sign_sensitive_below {
            sign_sensitive += 1;
            continue;
        }
        let (a, b) = (ours.parameters[k], expected.parameters[k]);
        assert!(
            (f64::from(a) - b).abs() <= 1e-5,
            "parameter {k}: {a} vs {b} (g {g:e})"
        );
    }
    eprintln!(
        "{sign_sensitive} of {} parameters with 0 < |g| < {:e} not compared",
        packed.len(),
        expected.sign_sensitive_below
    );
    assert!(sign_sensitive < packed.len() / 4);
}

/// A data set of 40 seeded 30 × 17 images (510 inputs, not a multiple of 4 or of 32: the
/// kernels' scalar paths and a bit-packed image's partial last word), built as `vae data` builds
/// one; and a small model for it. For the engines' first step at another input size than MNIST's.
pub fn odd_size_data() -> (VaeConfig, Vec<u8>) {
    use mnist_shard::import::ImportOptions;
    let options = ImportOptions {
        width: 30,
        height: 17,
        ..ImportOptions::default()
    };
    let mut rng = vae_reference::SplitMix64::new(17);
    let images: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            (0..30 * 17)
                .map(|p| {
                    let stroke = p % 30 == 3 + i % 20 || p / 30 == 2 + i % 13;
                    let chance = if stroke { 0.8 } else { 0.05 };
                    if rng.next_f32() < chance {
                        255
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect();
    small_data_set(&images, &options)
}

/// 40 seeded 30 × 17 colour images (1,530 inputs: not a multiple of 4, and 8-bit levels
/// that end mid-word) of strokes on a mostly black ground, stored as grey levels kept
/// (`Binarize::Keep`: the model takes them and the cross-entropy targets them) or drawn afresh
/// each epoch (`Binarize::EachEpoch`); and a small model for them.
pub fn odd_size_colour_data(binarize: mnist_shard::import::Binarize) -> (VaeConfig, Vec<u8>) {
    colour_data(30, 17, binarize, false)
}

/// 40 seeded `width × height` colour images of strokes, stored as `binarize` says, and a small
/// model for them (64 × 64: the largest images a data set holds, 12,288 inputs). Their ground is
/// mostly black (a fifth of it lit faintly), or with `photo` lit everywhere, as a photo's is:
/// the CPU engine takes the one sparsely and the other densely.
pub fn colour_data(
    width: usize,
    height: usize,
    binarize: mnist_shard::import::Binarize,
    photo: bool,
) -> (VaeConfig, Vec<u8>) {
    use mnist_shard::import::ImportOptions;
    let options = ImportOptions {
        width,
        height,
        colour: true,
        binarize,
        seed: 21,
        ..ImportOptions::default()
    };
    let mut rng = vae_reference::SplitMix64::new(23);
    let images: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            (0..width * height * 3)
                .map(|v| {
                    let (p, channel) = (v / 3, v % 3);
                    let stroke = p % width == 3 + i % 20 || p / width == 2 + (i + channel) % 13;
                    let chance = rng.next_f32();
                    let level = match (stroke, photo) {
                        (true, _) => 200.0,
                        (false, true) => 20.0,
                        (false, false) if chance < 0.2 => 60.0,
                        (false, false) => 0.0,
                    };
                    (level * (0.5 + rng.next_f32())).min(255.0) as u8
                })
                .collect()
        })
        .collect();
    small_data_set(&images, &options)
}

/// Every input size the engines' first step is checked at besides MNIST's, each engine against
/// the reference: 30 × 17 binary (510 inputs), 30 × 17 in colour (1,530) as grey levels and as
/// levels drawn each epoch, a photo-like 30 × 17 (the CPU engine's dense path) and the largest,
/// 64 × 64 in colour (12,288).
pub fn other_input_sizes() -> [(VaeConfig, Vec<u8>); 5] {
    use mnist_shard::import::Binarize;
    [
        odd_size_data(),
        odd_size_colour_data(Binarize::Keep),
        odd_size_colour_data(Binarize::EachEpoch),
        colour_data(30, 17, Binarize::Keep, true),
        colour_data(64, 64, Binarize::Keep, false),
    ]
}

/// `images` (40, labelled 0-9 in turn) as a data set, and a small model for its input size.
fn small_data_set(
    images: &[Vec<u8>],
    options: &mnist_shard::import::ImportOptions,
) -> (VaeConfig, Vec<u8>) {
    let labels: Vec<u8> = (0..images.len()).map(|i| (i % 10) as u8).collect();
    let shard =
        mnist_shard::import::build_shard(images, &labels, options).expect("a valid data set");
    let config = VaeConfig {
        sizes: vae_reference::Sizes {
            input: options.values(),
            hidden: 37,
            latent: 5,
        },
        batch: 12,
        seed: 9,
        ..VaeConfig::default()
    };
    (config, shard)
}

/// The IWAE first steps every engine checks against the reference: K = 5 on a batch of 32, and
/// K = 50 on an odd batch.
pub fn iwae_first_step_configs() -> [VaeConfig; 2] {
    [(13, 32, 5), (14, 9, 50)].map(|(seed, batch, samples)| VaeConfig {
        seed,
        batch,
        importance_samples: samples,
        ..VaeConfig::default()
    })
}

/// A small model at 3× its initial parameters training with K = 6 on 4 random 0/1 images: the
/// draws' log weights then differ by nats, so a wrong weighting cannot hide behind w̃ ≈ 1/K as
/// it can at the initial parameters. The configuration, the parameters (packed [`Layout`]) and
/// the batch, for an engine's `train_step_on`.
pub fn skewed_iwae_input() -> (VaeConfig, Vec<f32>, Vec<f32>) {
    let sizes = vae_reference::Sizes {
        input: 70,
        hidden: 13,
        latent: 3,
    };
    let config = VaeConfig {
        sizes,
        batch: 4,
        importance_samples: 6,
        seed: 3,
        ..VaeConfig::default()
    };
    let params = init_params(&Layout::new(sizes), 6)
        .iter()
        .map(|&p| 3.0 * p)
        .collect();
    let mut rng = vae_reference::SplitMix64::new(10);
    let x = (0..4 * sizes.input)
        .map(|_| f32::from(u8::from(rng.next_f32() < 0.3)))
        .collect();
    (config, params, x)
}

/// Checks an engine's step on [`skewed_iwae_input`] (its ELBO terms and every gradient) against
/// the f64 reference's IWAE step with the engine's noise for step 1.
pub fn assert_skewed_iwae_step_matches_reference(ours: &FirstStep) {
    let (config, params, x) = skewed_iwae_input();
    let packed = Layout::new(config.sizes);
    let (params, x) = (widen(&params), widen(&x));
    let draws = config.batch as usize * config.importance_samples as usize;
    let eps = batch_noise(config.seed, 1, draws, config.sizes.latent);
    let forward = iwae_forward(&packed, &params, &x, &eps);
    let largest_weight = forward.weights.iter().fold(0.0f64, |m, &w| m.max(w));
    assert!(
        largest_weight > 0.6,
        "weights nearly uniform: {largest_weight}"
    );
    let (bce, kl) = forward.elbo_terms();
    let metrics = ours.metrics;
    assert!(
        (f64::from(metrics.bce) - bce).abs() < 1e-4 * bce,
        "{metrics:?} vs BCE {bce}"
    );
    assert!(
        (f64::from(metrics.kl) - kl).abs() < 1e-3 * kl.abs().max(1.0),
        "{metrics:?} vs KL {kl}"
    );
    let expected = iwae_backward(&packed, &params, &x, &eps, &forward);
    let largest = expected.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (k, (&a, &b)) in ours.gradients.iter().zip(&expected).enumerate() {
        assert!(
            (f64::from(a) - b).abs() <= 1e-4 * largest,
            "parameter {k}: {a} vs {b} (largest {largest:e})"
        );
    }
}

fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

fn floats(fixture: &SafeTensors, name: &str) -> Vec<f32> {
    let view = fixture
        .tensor(name)
        .unwrap_or_else(|_| panic!("the fixture has no {name}"));
    bytemuck::pod_collect_to_vec(view.data())
}

/// Checks an engine's importance-weighted bounds `ours` (L_K of the first `ours.len()` images of
/// `test`, `samples` draws each) for the model in `checkpoint` against the f64 reference with
/// the same draws ([`crate::likelihood::importance_noise`]). Returns the largest difference.
pub fn assert_log_likelihoods_match_reference(
    checkpoint: &[u8],
    test: &Split,
    samples: u32,
    ours: &[f32],
) -> f64 {
    let contents = crate::read_checkpoint(checkpoint, &crate::BindingLimits::NONE, |_| {})
        .unwrap_or_else(|error| panic!("the checkpoint: {error}"));
    let config = contents.config;
    let (aligned, packed) = (
        Layout::aligned(config.sizes, crate::ALIGN),
        Layout::new(config.sizes),
    );
    let mut parameters = vec![0.0; packed.len()];
    for t in Tensor::ALL {
        for (to, &from) in parameters[packed.range(t)]
            .iter_mut()
            .zip(&contents.params[aligned.range(t)])
        {
            *to = f64::from(from);
        }
    }
    let batch = crate::evaluation_batching(test.len(), config.batch).0 as u32;
    let latent = config.sizes.latent as u32;
    let mut largest = 0.0f64;
    for (image, &value) in ours.iter().enumerate() {
        let x = widen(&test.image_f32(image));
        let eps =
            crate::likelihood::importance_noise(config.seed, image as u32, samples, batch, latent);
        let expected = vae_reference::importance::importance_bound(&packed, &parameters, &x, &eps);
        let error = (f64::from(value) - expected).abs();
        // f32 sums of 784 pixel terms and a K-term log-sum-exp against f64.
        assert!(
            error <= 2e-3 + 2e-5 * expected.abs(),
            "image {image}, K = {samples}: L_K {value} against the reference's {expected}"
        );
        largest = largest.max(error);
    }
    largest
}
