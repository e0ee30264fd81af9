//! What every engine's first training step must match, written once: the f64 reference
//! (`vae-reference`) on the batch and noise the engines take for step 1, and PyTorch's fixture
//! (`tools/reference/make_fixture.py`). An engine's tests run the step and hand over what it
//! computed, so a third engine is checked by the same lines.

use mnist_shard::Split;
use safetensors::SafeTensors;
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
}

/// Checks step 1 of `config` on `train` (the first batch of epoch 1's order, the noise for
/// step 1) against the f64 reference.
pub fn assert_first_step_matches_reference(config: &VaeConfig, train: &Split, ours: &FirstStep) {
    assert_eq!(ours.metrics.step, 1);
    let packed = Layout::new(config.sizes);
    let mut parameters: Vec<f64> = widen(&init_params(&packed, config.seed));
    let batch = config.batch as usize;
    let x: Vec<f64> = epoch_order(config.seed, 1, train.len())[..batch]
        .iter()
        .flat_map(|&i| train.image_f32(i as usize))
        .map(f64::from)
        .collect();
    let eps = batch_noise(config.seed, 1, batch, config.sizes.latent);
    let reference = forward(&packed, &parameters, &x, &eps);
    let gradients = backward_weighted(&packed, &parameters, &x, &eps, &reference, config.kl_weight);
    let (mut m, mut v) = (vec![0.0; packed.len()], vec![0.0; packed.len()]);
    adam_step(config.adam, 1, &mut parameters, &gradients, &mut m, &mut v);
    let expected = Expected {
        neg_elbo: reference.loss(),
        bce: reference.bce,
        kl: reference.kl,
        gradients,
        parameters,
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
        assert!(error <= 1e-4 * largest, "{}", t.name());
    }

    // Adam's first step is ±lr wherever |g| ≫ ε, and 0 where g = 0 exactly; where
    // 0 < |g| < 1e-6 rounding can flip its sign, so those are not compared.
    let mut sign_sensitive = 0;
    for (k, &g) in expected.gradients.iter().enumerate() {
        if g != 0.0 && g.abs() < 1e-6 {
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
        "{sign_sensitive} of {} parameters with 0 < |g| < 1e-6 not compared",
        packed.len()
    );
    assert!(sign_sensitive < packed.len() / 4);
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
