//! The engine against PyTorch: one training step of the article's model from the fixture that
//! `tools/reference/make_fixture.py` writes (PyTorch on the CPU in float64, our seeded
//! initialisation, 4 real test images, the engine's own noise for step 1).

use safetensors::SafeTensors;
use vae_gpu::vae::{pack_parameters, Vae};
use vae_gpu::GpuContext;
use vae_model::VaeConfig;
use vae_reference::{Layout, Tensor};

const FIXTURE: &[u8] = include_bytes!("fixtures/pytorch_step.safetensors");

fn tensor(fixture: &SafeTensors, name: &str) -> Vec<f32> {
    let view = fixture
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture has no {name}"));
    bytemuck::pod_collect_to_vec(view.data())
}

#[test]
fn one_step_reproduces_pytorch_loss_gradients_and_adam_update() {
    let fixture = SafeTensors::deserialize(FIXTURE).unwrap();
    let config = VaeConfig {
        batch: 4,
        seed: 3,
        ..VaeConfig::default()
    };
    let context = pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"));
    let mut vae = pollster::block_on(Vae::new(context, config)).unwrap();
    vae.train_step_on(&tensor(&fixture, "x")).unwrap();
    let metrics = pollster::block_on(vae.metrics()).unwrap().steps[0];

    let loss: Vec<f64> = bytemuck::pod_collect_to_vec(fixture.tensor("loss_f64").unwrap().data());
    let relative = (f64::from(metrics.neg_elbo) - loss[0]).abs() / loss[0];
    eprintln!(
        "loss: engine {} PyTorch {} (relative {relative:.1e})",
        metrics.neg_elbo, loss[0]
    );
    assert!(relative <= 1e-5);
    assert!((metrics.bce - tensor(&fixture, "bce")[0]).abs() / metrics.bce <= 1e-5);
    assert!((metrics.kl - tensor(&fixture, "kl")[0]).abs() <= 1e-4 * metrics.kl.max(1.0));

    let packed = Layout::new(config.sizes);
    let grads = pack_parameters(
        vae.layout(),
        &pollster::block_on(vae.read_gradients()).unwrap(),
    );
    let after = pack_parameters(
        vae.layout(),
        &pollster::block_on(vae.read_parameters()).unwrap(),
    );
    let mut sign_sensitive = 0;
    for t in Tensor::ALL {
        let expected_grad = tensor(&fixture, &format!("grad.{}", t.name()));
        let ours = &grads[packed.range(t)];
        let largest = expected_grad.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        let error = ours
            .iter()
            .zip(&expected_grad)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        eprintln!(
            "{:<24} gradient max error {error:.1e} (largest {largest:.1e})",
            t.name()
        );
        assert!(error <= 1e-4 * largest, "{}", t.name());

        // Adam's first step is ±lr wherever |g| ≫ ε, and 0 where g = 0 exactly (pixels that are
        // off in all 4 images); where 0 < |g| < 1e-6 rounding can flip its sign.
        let expected_after = tensor(&fixture, &format!("after_adam.{}", t.name()));
        for ((&ours, &theirs), &g) in after[packed.range(t)]
            .iter()
            .zip(&expected_after)
            .zip(&expected_grad)
        {
            if g != 0.0 && g.abs() < 1e-6 {
                sign_sensitive += 1;
                continue;
            }
            assert!(
                (ours - theirs).abs() <= 1e-5,
                "{}: {ours} vs {theirs} (g {g:e})",
                t.name()
            );
        }
    }
    eprintln!(
        "parameters after Adam within 1e-5 of PyTorch; {sign_sensitive} of {} with 0 < |g| < 1e-6 not compared",
        packed.len()
    );
}
