//! The CPU engine against the references: one step against the f64 reference (loss, every
//! gradient, Adam) on real MNIST, one step against PyTorch's fixture, and the gradient against
//! finite differences of the engine's own loss.

use mnist_shard::{decompress, Shard};
use vae_cpu::step::{Batch, Workspace};
use vae_cpu::{CpuLayout, CpuVae};
use vae_model::conformance::{
    assert_first_step_matches_pytorch, assert_first_step_matches_reference,
    assert_skewed_iwae_step_matches_reference, iwae_first_step_configs, other_input_sizes,
    pytorch_step_input, skewed_iwae_input, FirstStep,
};
use vae_model::VaeConfig;
use vae_reference::noise::batch_noise;
use vae_reference::{init_params, Layout, Sizes};

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");
const FIXTURE: &[u8] = include_bytes!("../../vae-gpu/tests/fixtures/pytorch_step.safetensors");

fn first_step(vae: &mut CpuVae) -> FirstStep {
    let packed = Layout::new(vae.config().sizes);
    let report = vae.metrics();
    assert_eq!((report.diverged_at, report.steps.len()), (None, 1));
    FirstStep {
        metrics: report.steps[0],
        gradients: vae.gradients_in(&packed),
        parameters: vae.parameters_in(&packed),
    }
}

#[test]
fn a_step_at_an_odd_input_size_matches_the_reference() {
    let data = other_input_sizes();
    for (config, bytes) in data {
        let shard = Shard::parse(&bytes, "odd size").unwrap();
        let mut vae = CpuVae::new(config).unwrap();
        vae.set_training_data(&shard.train()).unwrap();
        vae.train_steps(1).unwrap();
        assert_first_step_matches_reference(&config, &shard.train(), &first_step(&mut vae));
    }
}

fn one_step_matches_the_reference(config: VaeConfig) {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let mut vae = CpuVae::new(config).unwrap();
    vae.set_training_data(&shard.train()).unwrap();
    vae.train_steps(1).unwrap();
    assert_first_step_matches_reference(&config, &shard.train(), &first_step(&mut vae));
}

#[test]
fn one_training_step_matches_the_reference_in_loss_gradients_and_adam_update() {
    one_step_matches_the_reference(VaeConfig {
        seed: 11,
        ..VaeConfig::default()
    });
}

#[test]
fn a_beta_weighted_step_matches_the_reference() {
    one_step_matches_the_reference(VaeConfig {
        seed: 12,
        kl_weight: 0.5,
        batch: 37,
        ..VaeConfig::default()
    });
}

#[test]
fn an_iwae_step_matches_the_reference_objective_and_its_gradient() {
    for config in iwae_first_step_configs() {
        one_step_matches_the_reference(config);
    }
}

#[test]
fn one_step_reproduces_pytorch_loss_gradients_and_adam_update() {
    let (config, x) = pytorch_step_input(FIXTURE);
    let mut vae = CpuVae::new(config).unwrap();
    vae.train_step_on(&x).unwrap();
    assert_first_step_matches_pytorch(FIXTURE, &first_step(&mut vae));
}

#[test]
fn gradients_match_finite_differences_of_the_engines_own_loss() {
    let sizes = Sizes {
        input: 70,
        hidden: 13,
        latent: 3,
    };
    let rows = 5;
    let kl_weight = 0.7f32;
    let layout = CpuLayout::new(sizes);
    let packed = Layout::new(sizes);
    let params = layout.from_reference(&packed, &init_params(&packed, 5));
    let mut rng = vae_reference::SplitMix64::new(9);
    let x: Vec<f32> = (0..rows * sizes.input)
        .map(|_| f32::from(u8::from(rng.next_f32() < 0.3)))
        .collect();
    let mut batch = Batch::default();
    batch.from_values(&x, sizes.input);
    let eps: Vec<f32> = batch_noise(2, 1, rows, sizes.latent)
        .iter()
        .map(|&e| e as f32)
        .collect();
    let mut work = Workspace::new(&layout, rows);
    // The objective, and which ReLUs were active (a difference across a kink measures nothing).
    let objective = |work: &mut Workspace, params: &[f32]| {
        work.eps[..eps.len()].copy_from_slice(&eps);
        let sums = work.evaluate(&layout, params, &batch);
        let active: Vec<bool> = work.h1[..rows * sizes.hidden]
            .iter()
            .chain(&work.h2[..rows * sizes.hidden])
            .map(|&a| a > 0.0)
            .collect();
        (
            (sums.bce + f64::from(kl_weight) * sums.kl) / rows as f64,
            active,
        )
    };
    let (_, active) = objective(&mut work, &params);
    work.eps[..eps.len()].copy_from_slice(&eps);
    let mut grads = vec![0.0; layout.len()];
    work.train(&layout, &params, &batch, (kl_weight, rows), &mut grads);

    // Central differences in f32 with h = 1e-2: truncation ~h², rounding ~1e-7·loss/h.
    let h = 1e-2f32;
    let (mut checked, mut at_kinks) = (0, 0);
    for k in (0..layout.len()).step_by(7) {
        let mut plus = params.clone();
        plus[k] += h;
        let mut minus = params.clone();
        minus[k] -= h;
        let (up, up_active) = objective(&mut work, &plus);
        let (down, down_active) = objective(&mut work, &minus);
        if up_active != active || down_active != active {
            at_kinks += 1;
            continue;
        }
        let numeric = (up - down) / (2.0 * f64::from(h));
        let analytic = f64::from(grads[k]);
        assert!(
            (numeric - analytic).abs() <= 2e-3 + 2e-2 * analytic.abs(),
            "parameter {k}: finite difference {numeric:e}, gradient {analytic:e}"
        );
        checked += 1;
    }
    assert!(
        checked > 150 && at_kinks < checked / 4,
        "{checked} checked, {at_kinks} at kinks"
    );
}

/// The importance-weighted bound of the shipped model on real test digits against the f64
/// reference with the same draws, in requests that split the images unevenly; K = 1 is the
/// evaluation's −ELBO.
#[test]
fn the_log_likelihood_bound_matches_the_reference_and_k_1_is_the_elbo() {
    use std::sync::Arc;
    use vae_cpu::CpuEngine;
    use vae_model::conformance::assert_log_likelihoods_match_reference;
    use vae_model::engine::{ready_now, Opening};
    use vae_model::likelihood::estimate;
    use vae_model::Engine;

    const PRETRAINED: &[u8] = include_bytes!("../../../web/pretrained.safetensors");
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let small = mnist_shard::build::subset(&Shard::parse(&raw, "shard").unwrap(), 256, 10).unwrap();
    let test = Shard::parse(&small, "subset").unwrap().test();
    let opening = Opening::Checkpoint {
        bytes: PRETRAINED,
        settings: None,
    };
    let mut engine = CpuEngine::open(opening).unwrap();
    ready_now(engine.bind_data(&Arc::new(small.clone())))
        .unwrap()
        .unwrap();
    let mut bounds = |samples, rows| {
        let estimate = ready_now(estimate(&mut engine, samples, 10, rows, |_| {}));
        estimate.expect("the CPU engine answers at once").unwrap()
    };
    // 7 draws, 3 images a request; 300 draws, more than the workspace's rows an image.
    let seven = bounds(7, 21);
    assert_log_likelihoods_match_reference(PRETRAINED, &test, 7, &seven.per_image);
    let many = bounds(300, 300);
    assert_log_likelihoods_match_reference(PRETRAINED, &test, 300, &many.per_image);
    let one = bounds(1, 4);
    let (_, evaluated) = engine.run_evaluation(u32::MAX).unwrap();
    ready_now(evaluated).unwrap().unwrap();
    let evaluation = ready_now(engine.request_evaluation().unwrap())
        .unwrap()
        .unwrap();
    // The same terms; each image's figure comes back in f32.
    let difference = (one.neg_log_likelihood - evaluation.neg_elbo).abs();
    assert!(difference < 1e-4, "−L_1 {one:?} against {evaluation:?}");
}

#[test]
fn the_iwae_gradient_matches_the_reference_where_the_weights_are_far_from_uniform() {
    let (config, params, x) = skewed_iwae_input();
    let layout = CpuLayout::new(config.sizes);
    let params = layout.from_reference(&Layout::new(config.sizes), &params);
    let mut vae = CpuVae::with_parameters(config, params).unwrap();
    vae.train_step_on(&x).unwrap();
    assert_skewed_iwae_step_matches_reference(&first_step(&mut vae));
}
