//! The whole model on a real adapter: one training step against the CPU reference and against
//! PyTorch (loss, every gradient, the parameters after Adam), the IWAE objective's step against
//! the reference, then a seeded run on real MNIST that learns, twice.

use mnist_shard::{decompress, Shard};
use vae_gpu::vae::{pack_parameters, Vae};
use vae_gpu::GpuContext;
use vae_model::conformance::{
    assert_first_step_matches_pytorch, assert_first_step_matches_reference,
    assert_skewed_iwae_step_matches_reference, iwae_first_step_configs, other_input_sizes,
    pytorch_step_input, skewed_iwae_input, FirstStep,
};
use vae_model::{VaeConfig, ALIGN};
use vae_reference::{Layout, Tensor};

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");
const FIXTURE: &[u8] = include_bytes!("fixtures/pytorch_step.safetensors");

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"))
}

fn first_step(vae: &mut Vae) -> FirstStep {
    let report = pollster::block_on(vae.metrics()).unwrap();
    assert_eq!((report.diverged_at, report.steps.len()), (None, 1));
    let gradients = pollster::block_on(vae.read_gradients()).unwrap();
    let parameters = pollster::block_on(vae.read_parameters()).unwrap();
    FirstStep {
        metrics: report.steps[0],
        gradients: pack_parameters(vae.layout(), &gradients),
        parameters: pack_parameters(vae.layout(), &parameters),
    }
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

/// IWAE: K draws per image through the decoder, the gradient of −L_K.
#[test]
fn an_iwae_step_matches_the_reference_objective_and_its_gradient() {
    for config in iwae_first_step_configs() {
        one_step_matches_the_reference(config);
    }
}

#[test]
fn the_iwae_gradient_matches_the_reference_where_the_weights_are_far_from_uniform() {
    let (config, packed_params, x) = skewed_iwae_input();
    let (packed, aligned) = (
        Layout::new(config.sizes),
        Layout::aligned(config.sizes, ALIGN),
    );
    let mut params = vec![0.0f32; aligned.len()];
    for t in Tensor::ALL {
        params[aligned.range(t)].copy_from_slice(&packed_params[packed.range(t)]);
    }
    let mut vae = pollster::block_on(Vae::with_parameters(context(), config, &params)).unwrap();
    vae.train_step_on(&x).unwrap();
    assert_skewed_iwae_step_matches_reference(&first_step(&mut vae));
}

/// Other input sizes than MNIST's (`other_input_sizes`: up to 64 × 64 in colour).
#[test]
fn a_step_at_an_odd_input_size_matches_the_reference() {
    let data = other_input_sizes();
    let context = context();
    for (config, bytes) in data {
        let shard = Shard::parse(&bytes, "odd size").unwrap();
        let mut vae = pollster::block_on(Vae::new(context.clone(), config)).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        vae.train_steps(1).unwrap();
        assert_first_step_matches_reference(&config, &shard.train(), &first_step(&mut vae));
    }
}

fn one_step_matches_the_reference(config: VaeConfig) {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
    pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
    vae.train_steps(1).unwrap();
    assert_first_step_matches_reference(&config, &shard.train(), &first_step(&mut vae));
}

/// PyTorch on the CPU in float64 from the same initialisation, 4 real test images and the
/// engine's own noise for step 1 (`tools/reference/make_fixture.py` writes the fixture).
#[test]
fn one_step_reproduces_pytorch_loss_gradients_and_adam_update() {
    let (config, x) = pytorch_step_input(FIXTURE);
    let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
    vae.train_step_on(&x).unwrap();
    assert_first_step_matches_pytorch(FIXTURE, &first_step(&mut vae));
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
