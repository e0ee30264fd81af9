//! The whole model on a real adapter: one training step against the CPU reference (loss, every
//! gradient, the parameters after Adam), then a seeded run on real MNIST that learns, twice.

use mnist_shard::{decompress, Shard};
use vae_gpu::vae::{pack_parameters, Vae};
use vae_gpu::GpuContext;
use vae_model::epoch_order;
use vae_model::VaeConfig;
use vae_reference::noise::batch_noise;
use vae_reference::{adam_step, backward_weighted, forward, init_params, Layout, Tensor};

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"))
}

fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn one_training_step_matches_the_reference_in_loss_gradients_and_adam_update() {
    one_step_matches_the_reference(VaeConfig {
        seed: 11,
        ..VaeConfig::default()
    });
}

#[test]
fn a_beta_weighted_step_matches_the_reference_and_still_reports_the_elbo() {
    one_step_matches_the_reference(VaeConfig {
        seed: 12,
        kl_weight: 0.5,
        ..VaeConfig::default()
    });
}

fn one_step_matches_the_reference(config: VaeConfig) {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let train = shard.train();
    let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
    pollster::block_on(vae.set_training_data(&train)).unwrap();
    vae.train_steps(1).unwrap();
    let report = pollster::block_on(vae.metrics()).unwrap();
    assert_eq!(report.diverged_at, None);
    assert_eq!(report.steps.len(), 1);
    let gpu_metrics = report.steps[0];
    assert_eq!(gpu_metrics.step, 1);

    // The same step on the CPU: the first batch of epoch 1's order, the GPU's noise for step 1.
    let packed = Layout::new(config.sizes);
    let params = f64s(&init_params(&packed, config.seed));
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

    let relative = |gpu: f32, cpu: f64| (f64::from(gpu) - cpu).abs() / cpu.abs();
    assert!(
        relative(gpu_metrics.neg_elbo, reference.loss()) < 1e-5,
        "{gpu_metrics:?} vs {}",
        reference.loss()
    );
    assert!(relative(gpu_metrics.bce, reference.bce) < 1e-5);
    assert!(
        relative(gpu_metrics.kl, reference.kl) < 1e-4,
        "{} vs {}",
        gpu_metrics.kl,
        reference.kl
    );

    let gpu_grads = pack_parameters(
        vae.layout(),
        &pollster::block_on(vae.read_gradients()).unwrap(),
    );
    for tensor in Tensor::ALL {
        let range = packed.range(tensor);
        let largest = grads[range.clone()]
            .iter()
            .fold(0.0f64, |m, g| m.max(g.abs()));
        let error = range
            .clone()
            .map(|k| (f64::from(gpu_grads[k]) - grads[k]).abs())
            .fold(0.0, f64::max);
        assert!(
            error <= 1e-4 * largest,
            "{tensor:?}: error {error:e}, largest {largest:e}"
        );
    }

    // Adam's first step moves each parameter by about lr·sign(g): compare where |g| is not tiny.
    let mut expected = params.clone();
    let (mut m, mut v) = (vec![0.0; packed.len()], vec![0.0; packed.len()]);
    adam_step(config.adam, 1, &mut expected, &grads, &mut m, &mut v);
    let updated = pack_parameters(
        vae.layout(),
        &pollster::block_on(vae.read_parameters()).unwrap(),
    );
    let mut sign_sensitive = 0;
    for k in 0..packed.len() {
        if grads[k] != 0.0 && grads[k].abs() < 1e-6 {
            sign_sensitive += 1;
            continue;
        }
        let error = (f64::from(updated[k]) - expected[k]).abs();
        assert!(
            error <= 1e-5,
            "parameter {k}: {} vs {} (g = {:e})",
            updated[k],
            expected[k],
            grads[k]
        );
    }
    eprintln!(
        "{sign_sensitive} of {} parameters have |g| < 1e-6 and were not compared",
        packed.len()
    );
    assert!(sign_sensitive < packed.len() / 4);
}

/// A seeded model on the training set, its test −ELBO before any step.
fn seeded_model(shard: &Shard) -> (Vae, f64) {
    let config = VaeConfig {
        seed: 5,
        ..VaeConfig::default()
    };
    let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
    pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
    let before = pollster::block_on(vae.evaluate(&shard.test()))
        .unwrap()
        .neg_elbo;
    (vae, before)
}

/// Trains `steps` steps in chunks of 25 and returns every step's −ELBO.
fn train(vae: &mut Vae, steps: u32) -> Vec<f32> {
    let mut curve = Vec::new();
    for _ in 0..steps / 25 {
        vae.train_steps(25).unwrap();
        let report = pollster::block_on(vae.metrics()).unwrap();
        assert_eq!(report.diverged_at, None);
        curve.extend(report.steps.iter().map(|m| m.neg_elbo));
    }
    curve
}

#[test]
fn a_seeded_run_learns_and_repeats_exactly() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let (mut vae, before) = seeded_model(&shard);
    let mut curve = train(&mut vae, 50);
    let parameters = pollster::block_on(vae.read_parameters()).unwrap();
    curve.extend(train(&mut vae, 150));
    let after = pollster::block_on(vae.evaluate(&shard.test())).unwrap();
    assert_eq!(after.images, 10_000);
    let after = after.neg_elbo;
    assert_eq!(curve.len(), 200);
    eprintln!(
        "test −ELBO {before:.1} → {after:.1}; train −ELBO {:.1} → {:.1}",
        curve[0], curve[199]
    );
    // At initialisation every pixel is a coin flip: 784·ln 2 ≈ 543 nats, plus a small KL.
    assert!((540.0..560.0).contains(&before), "before {before}");
    assert!(after < 200.0, "test −ELBO after 200 steps: {after}");

    // The same seed again, 50 steps (each step's sums, noise and batch would show a difference in
    // its first step already): the same curve and, bit for bit, the same parameters.
    let (mut again, before_again) = seeded_model(&shard);
    assert_eq!(before, before_again);
    assert_eq!(
        curve[..50],
        train(&mut again, 50),
        "the same seed on the same adapter must give the same curve"
    );
    assert!(parameters == pollster::block_on(again.read_parameters()).unwrap());
}
