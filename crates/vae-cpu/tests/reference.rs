//! The CPU engine against the references: one step against the f64 reference (loss, every
//! gradient, Adam) on real MNIST, one step against PyTorch's fixture, and the gradient against
//! finite differences of the engine's own loss.

use mnist_shard::{decompress, Shard};
use safetensors::SafeTensors;
use vae_cpu::step::{Batch, Workspace};
use vae_cpu::{CpuLayout, CpuVae};
use vae_model::{epoch_order, VaeConfig};
use vae_reference::noise::batch_noise;
use vae_reference::{adam_step, backward_weighted, forward, init_params, Layout, Sizes, Tensor};

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");
const FIXTURE: &[u8] = include_bytes!("../../vae-gpu/tests/fixtures/pytorch_step.safetensors");

fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

fn largest_error(ours: &[f32], theirs: &[f64]) -> (f64, f64) {
    let largest = theirs.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let error = ours
        .iter()
        .zip(theirs)
        .fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs()));
    (error, largest)
}

fn one_step_matches_the_reference(config: VaeConfig) {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let train = shard.train();
    let mut vae = CpuVae::new(config).unwrap();
    vae.set_training_data(&train).unwrap();
    vae.train_steps(1).unwrap();
    let report = vae.metrics();
    assert_eq!(report.diverged_at, None);
    let ours = report.steps[0];
    assert_eq!(ours.step, 1);

    let packed = Layout::new(config.sizes);
    let mut params = f64s(&init_params(&packed, config.seed));
    let order = epoch_order(config.seed, 1, train.len());
    let batch = config.batch as usize;
    let x: Vec<f64> = order[..batch]
        .iter()
        .flat_map(|&i| train.image_f32(i as usize))
        .map(f64::from)
        .collect();
    let eps = batch_noise(config.seed, 1, batch, config.sizes.latent);
    let reference = forward(&packed, &params, &x, &eps);
    let grads = backward_weighted(&packed, &params, &x, &eps, &reference, config.kl_weight);

    let relative = |a: f32, b: f64| (f64::from(a) - b).abs() / b.abs();
    assert!(
        relative(ours.neg_elbo, reference.loss()) < 1e-5,
        "{ours:?} vs {}",
        reference.loss()
    );
    assert!(relative(ours.bce, reference.bce) < 1e-5);
    assert!(
        relative(ours.kl, reference.kl) < 1e-4,
        "{} vs {}",
        ours.kl,
        reference.kl
    );

    let our_grads = vae.gradients_in(&packed);
    for tensor in Tensor::ALL {
        let (error, largest) = largest_error(
            &our_grads[packed.range(tensor)],
            &grads[packed.range(tensor)],
        );
        assert!(
            error <= 1e-4 * largest,
            "{}: {error:e} of {largest:e}",
            tensor.name()
        );
    }
    let (mut m, mut v) = (vec![0.0; packed.len()], vec![0.0; packed.len()]);
    let adam = vae_reference::AdamConfig {
        lr: config.adam.lr,
        ..config.adam
    };
    adam_step(adam, 1, &mut params, &grads, &mut m, &mut v);
    let after = vae.parameters_in(&packed);
    let mut compared = 0;
    for ((&ours, &theirs), &g) in after.iter().zip(&params).zip(&grads) {
        // Where 0 < |g| < 1e-6 the step's sign is at the mercy of rounding (Adam's first step is ±lr).
        if g != 0.0 && g.abs() < 1e-6 {
            continue;
        }
        compared += 1;
        assert!(
            (f64::from(ours) - theirs).abs() <= 1e-5,
            "{ours} vs {theirs} (g {g:e})"
        );
    }
    assert!(compared > packed.len() * 9 / 10);
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

fn tensor(fixture: &SafeTensors, name: &str) -> Vec<f32> {
    bytemuck::pod_collect_to_vec(fixture.tensor(name).unwrap().data())
}

#[test]
fn one_step_reproduces_pytorch_loss_gradients_and_adam_update() {
    let fixture = SafeTensors::deserialize(FIXTURE).unwrap();
    let config = VaeConfig {
        batch: 4,
        seed: 3,
        ..VaeConfig::default()
    };
    let mut vae = CpuVae::new(config).unwrap();
    vae.train_step_on(&tensor(&fixture, "x")).unwrap();
    let metrics = vae.metrics().steps[0];
    let loss: Vec<f64> = bytemuck::pod_collect_to_vec(fixture.tensor("loss_f64").unwrap().data());
    let relative = (f64::from(metrics.neg_elbo) - loss[0]).abs() / loss[0];
    eprintln!(
        "loss: CPU engine {} PyTorch {} (relative {relative:.1e})",
        metrics.neg_elbo, loss[0]
    );
    assert!(relative <= 1e-5);
    assert!((metrics.bce - tensor(&fixture, "bce")[0]).abs() / metrics.bce <= 1e-5);
    assert!((metrics.kl - tensor(&fixture, "kl")[0]).abs() <= 1e-4 * metrics.kl.max(1.0));

    let packed = Layout::new(config.sizes);
    let grads = vae.gradients_in(&packed);
    let after = vae.parameters_in(&packed);
    for t in Tensor::ALL {
        let expected = f64s(&tensor(&fixture, &format!("grad.{}", t.name())));
        let (error, largest) = largest_error(&grads[packed.range(t)], &expected);
        eprintln!(
            "{:<24} gradient max error {error:.1e} (largest {largest:.1e})",
            t.name()
        );
        assert!(error <= 1e-4 * largest, "{}", t.name());
        let expected_after = tensor(&fixture, &format!("after_adam.{}", t.name()));
        for ((&ours, &theirs), &g) in after[packed.range(t)]
            .iter()
            .zip(&expected_after)
            .zip(&expected)
        {
            if g != 0.0 && g.abs() < 1e-6 {
                continue;
            }
            assert!(
                (ours - theirs).abs() <= 1e-5,
                "{}: {ours} vs {theirs}",
                t.name()
            );
        }
    }
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
