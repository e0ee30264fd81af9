//! Steps shared between two engines (halves of each batch, gradients summed) are the whole-batch
//! run up to the order of the gradient's sums, and keep the two engines identical bit for bit.

use mnist_shard::{decompress, Shard};
use vae_cpu::{CpuVae, Share, StepShare};
use vae_model::VaeConfig;
use vae_reference::Layout;

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

fn halves(config: VaeConfig, shard: &Shard<'_>) -> [CpuVae; 2] {
    [0, 1].map(|_| {
        let mut vae = CpuVae::new(config).unwrap();
        vae.set_training_data(&shard.train()).unwrap();
        vae
    })
}

/// One step on both halves, each finishing with the other's share.
fn shared_step(pair: &mut [CpuVae; 2]) {
    let shares: Vec<StepShare> = (0..2)
        .map(|index| {
            pair[index]
                .begin_shared_step(Share {
                    index: index as u32,
                    count: 2,
                })
                .unwrap()
        })
        .collect();
    let grads: Vec<Vec<f32>> = pair.iter().map(|v| v.share_gradients().to_vec()).collect();
    for index in 0..2 {
        let other = 1 - index;
        pair[index]
            .finish_shared_step(shares[index], &[(shares[other], &grads[other])])
            .unwrap();
    }
}

#[test]
fn two_halves_train_as_the_whole_batch_and_stay_identical() {
    // An odd batch, so the halves differ in size, and a KL weight that is not 1.
    halves_train_as_the_whole_batch(
        VaeConfig {
            seed: 11,
            batch: 37,
            kl_weight: 0.7,
            ..VaeConfig::default()
        },
        40,
    );
}

#[test]
fn two_halves_train_the_iwae_objective_as_the_whole_batch() {
    // Each half draws its images' K draws as the whole batch would.
    halves_train_as_the_whole_batch(
        VaeConfig {
            seed: 15,
            batch: 19,
            importance_samples: 4,
            ..VaeConfig::default()
        },
        12,
    );
}

fn halves_train_as_the_whole_batch(config: VaeConfig, steps: u32) {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap().into_owned();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let mut whole = CpuVae::new(config).unwrap();
    whole.set_training_data(&shard.train()).unwrap();
    let mut pair = halves(config, &shard);
    whole.train_steps(steps).unwrap();
    for _ in 0..steps {
        shared_step(&mut pair);
    }
    let layout = Layout::new(config.sizes);
    let [first, second] = &mut pair;
    assert_eq!(first.step(), u64::from(steps));
    assert_eq!(first.position(), whole.position());
    assert_eq!(second.position(), whole.position());
    assert!(
        first.parameters_in(&layout) == second.parameters_in(&layout)
            && first.moments_in(&layout) == second.moments_in(&layout),
        "the two halves must hold the same model bit for bit"
    );
    let (whole_curve, half_curve, other_curve) = (
        whole.metrics().steps,
        first.metrics().steps,
        second.metrics().steps,
    );
    assert_eq!(half_curve, other_curve);
    assert_eq!(half_curve.len(), steps as usize);
    let mut worst = 0f32;
    for (w, h) in whole_curve.iter().zip(&half_curve) {
        assert_eq!(w.step, h.step);
        for (a, b) in [(w.neg_elbo, h.neg_elbo), (w.bce, h.bce), (w.kl, h.kl)] {
            worst = worst.max((a - b).abs() / a.abs().max(1.0));
        }
    }
    let (p, q) = (whole.parameters_in(&layout), first.parameters_in(&layout));
    let mean_difference = p
        .iter()
        .zip(&q)
        .map(|(a, b)| f64::from((a - b).abs()))
        .sum::<f64>()
        / p.len() as f64;
    eprintln!(
        "{steps} steps: metrics within {worst:.2e} relative, parameters {mean_difference:.2e} apart on average"
    );
    assert!(worst < 1e-5, "metrics {worst} apart");
    assert!(mean_difference < 1e-7, "parameters {mean_difference} apart");
    // The first step's loss judges the same initial parameters on the same images and noise.
    assert!((whole_curve[0].neg_elbo - half_curve[0].neg_elbo).abs() < 1e-3);
}

#[test]
fn shares_that_do_not_fit_are_refused_and_an_abandoned_step_takes_its_batch_again() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap().into_owned();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let config = VaeConfig {
        seed: 12,
        batch: 16,
        ..VaeConfig::default()
    };
    let mut pair = halves(config, &shard);
    for share in [
        Share { index: 2, count: 2 },
        Share { index: 0, count: 0 },
        Share {
            index: 0,
            count: 17,
        },
    ] {
        assert!(pair[0].begin_shared_step(share).is_err(), "{share:?}");
    }
    let first = pair[0]
        .begin_shared_step(Share { index: 0, count: 2 })
        .unwrap();
    let grads = pair[0].share_gradients().to_vec();
    // Its own share twice, a share of another step, a gradient of the wrong length.
    let later = StepShare {
        step: first.step + 1,
        share: Share { index: 1, count: 2 },
        ..first
    };
    let second = StepShare {
        share: Share { index: 1, count: 2 },
        ..first
    };
    assert!(pair[0]
        .finish_shared_step(first, &[(first, &grads)])
        .is_err());
    assert!(pair[0]
        .finish_shared_step(first, &[(later, &grads)])
        .is_err());
    assert!(pair[0]
        .finish_shared_step(first, &[(second, &grads[1..])])
        .is_err());
    assert!(
        pair[0].begin_shared_step(first.share).is_err(),
        "one at a time"
    );
    assert_eq!(pair[0].step(), 0);
    pair[0].abandon_shared_step();
    assert_eq!(pair[0].position(), pair[1].position());
    // After it, the pair steps together as if nothing happened.
    shared_step(&mut pair);
    let layout = Layout::new(config.sizes);
    assert_eq!(pair[0].step(), 1);
    assert_eq!(
        pair[0].parameters_in(&layout),
        pair[1].parameters_in(&layout)
    );
}

#[test]
fn shared_steps_on_a_given_batch_match_a_whole_step_on_it() {
    let config = VaeConfig {
        seed: 13,
        batch: 24,
        ..VaeConfig::default()
    };
    let input = config.sizes.input;
    let x: Vec<f32> = (0..24 * input)
        .map(|i| f32::from(u8::from(i % 7 == 0)))
        .collect();
    let mut whole = CpuVae::new(config).unwrap();
    let mut pair = [0, 1].map(|_| CpuVae::new(config).unwrap());
    for _ in 0..3 {
        whole.train_step_on(&x).unwrap();
        let shares: Vec<StepShare> = (0..2)
            .map(|i| {
                pair[i]
                    .begin_shared_step_on(
                        Share {
                            index: i as u32,
                            count: 2,
                        },
                        &x,
                    )
                    .unwrap()
            })
            .collect();
        let grads: Vec<Vec<f32>> = pair.iter().map(|v| v.share_gradients().to_vec()).collect();
        for i in 0..2 {
            pair[i]
                .finish_shared_step(shares[i], &[(shares[1 - i], &grads[1 - i])])
                .unwrap();
        }
    }
    assert!(pair[0].begin_shared_step_on(Share::WHOLE, &x[1..]).is_err());
    let (w, h) = (whole.metrics().steps, pair[0].metrics().steps);
    for (a, b) in w.iter().zip(&h) {
        assert!(
            (a.neg_elbo - b.neg_elbo).abs() < 1e-4 * a.neg_elbo,
            "{a:?} {b:?}"
        );
    }
    assert_eq!(
        pair[0].position(),
        vae_model::BatchCursor::START,
        "no training data was touched"
    );
}
