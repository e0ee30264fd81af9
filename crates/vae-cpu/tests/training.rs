//! The CPU engine on its own: it learns, is reproducible, and recovers from a divergence as the
//! GPU engine does (rollback to the last confirmed snapshot).

use mnist_shard::{decompress, Shard};
use vae_cpu::CpuVae;
use vae_model::{Snapshot, VaeConfig};
use vae_reference::{AdamConfig, Layout};

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

fn shard_bytes() -> Vec<u8> {
    decompress(SHARD, "mnist.shard.gz").unwrap().into_owned()
}

#[test]
fn a_seeded_run_learns_and_repeats_exactly() {
    let raw = shard_bytes();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let run = || {
        let mut vae = CpuVae::new(VaeConfig {
            seed: 5,
            ..VaeConfig::default()
        })
        .unwrap();
        vae.set_training_data(&shard.train()).unwrap();
        let before = vae.evaluate(&shard.test()).unwrap();
        vae.train_steps(150).unwrap();
        let curve: Vec<f32> = vae.metrics().steps.iter().map(|m| m.neg_elbo).collect();
        let after = vae.evaluate(&shard.test()).unwrap();
        (before.neg_elbo, after.neg_elbo, curve)
    };
    let (before, after, curve) = run();
    eprintln!("test −ELBO {before:.2} → {after:.2} after 150 steps");
    assert!(before > 500.0 && after < 200.0, "{before} → {after}");
    assert!(curve.last().unwrap() < &(curve[0] / 2.0));
    assert_eq!(
        run(),
        (before, after, curve),
        "the same seed must give the same run"
    );
}

#[test]
fn a_divergence_is_reported_and_rolled_back_to_the_last_confirmed_snapshot() {
    let raw = shard_bytes();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let config = VaeConfig {
        seed: 6,
        adam: AdamConfig {
            lr: 1.0,
            ..AdamConfig::default()
        },
        ..VaeConfig::default()
    };
    let mut vae = CpuVae::new(config).unwrap();
    vae.set_training_data(&shard.train()).unwrap();
    let layout = Layout::new(config.sizes);
    let initial = vae.parameters_in(&layout);
    // A learning rate of 1 blows up within a few dozen steps.
    let mut diverged = None;
    let mut confirmed = (0, initial.clone());
    let mut last_read = (0, initial);
    for _ in 0..100 {
        vae.train_steps(2).unwrap();
        let report = vae.metrics_with(Snapshot::Take);
        if let Some(at) = report.diverged_at {
            diverged = Some(at);
            break;
        }
        // The previous read's state is confirmed by this read's fine steps.
        confirmed = last_read;
        last_read = (vae.step(), vae.parameters_in(&layout));
    }
    let at = diverged.expect("a learning rate of 1 diverges");
    vae.rollback();
    eprintln!("diverged at step {at}; rolled back to step {}", vae.step());
    assert!(vae.step() < at);
    // The last read before the divergence is confirmed too if a fine step followed it.
    let expected = if at > last_read.0 + 1 {
        last_read
    } else {
        confirmed
    };
    assert_eq!(vae.step(), expected.0);
    assert_eq!(vae.parameters_in(&layout), expected.1);
    assert!(vae.parameters_in(&layout).iter().all(|p| p.is_finite()));
    // Training goes on from there, its metrics numbered from the restored step.
    vae.train_steps(1).unwrap();
    assert_eq!(vae.metrics().steps[0].step, vae.step());
}

#[test]
fn bad_settings_and_files_are_refused_with_a_reason() {
    let bad = CpuVae::new(VaeConfig {
        batch: 0,
        ..VaeConfig::default()
    });
    assert!(bad.err().unwrap().to_string().contains("batch size 0"));
    let error = CpuVae::load(b"not a checkpoint").err().unwrap().to_string();
    assert!(error.contains("not a safetensors file"), "{error}");
    let mut vae = CpuVae::new(VaeConfig::default()).unwrap();
    assert!(vae.train_steps(1).is_err());
    assert!(vae.decode(&[f32::NAN; 20]).is_err());
    assert!(vae.decode(&[0.0; 19]).is_err());
    assert_eq!(vae.decode(&[0.0; 40]).unwrap().len(), 2 * 784);
}
