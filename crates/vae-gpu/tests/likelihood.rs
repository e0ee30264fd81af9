//! The importance-weighted bound on a real adapter (importance_sample.wgsl, the decoder,
//! importance_weight.wgsl, log_mean_exp.wgsl) against the f64 reference with the same draws, for
//! the shipped model on real test digits: requests that split the images unevenly, a request
//! whose draws span two decoder blocks, and K = 1 against the evaluation's −ELBO.

use std::sync::Arc;

use mnist_shard::build::subset;
use mnist_shard::{decompress, Shard};
use vae_gpu::{GpuContext, GpuEngine};
use vae_model::conformance::assert_log_likelihoods_match_reference;
use vae_model::engine::Opening;
use vae_model::likelihood::estimate;
use vae_model::Engine;

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");
const PRETRAINED: &[u8] = include_bytes!("../../../web/pretrained.safetensors");

/// The shipped model on a shard of 256 training and `test` test images of the bundled one.
fn engine_on(test: usize) -> (GpuEngine, Vec<u8>) {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let small = subset(&Shard::parse(&raw, "mnist.shard.gz").unwrap(), 256, test).unwrap();
    let context = pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"));
    let opening = Opening::Checkpoint {
        bytes: PRETRAINED,
        settings: None,
    };
    let mut engine = pollster::block_on(GpuEngine::open(context, opening)).unwrap();
    pollster::block_on(engine.bind_data(&Arc::new(small.clone()))).unwrap();
    (engine, small)
}

fn bounds(engine: &mut GpuEngine, samples: u32, images: usize, rows: usize) -> Vec<f32> {
    let estimate = estimate(engine, samples, images, rows, |_| {});
    pollster::block_on(estimate).unwrap().per_image
}

#[test]
fn each_images_bound_matches_the_reference_however_the_requests_split_them() {
    let (mut engine, shard) = engine_on(10);
    let test = Shard::parse(&shard, "subset").unwrap().test();
    // 7 draws, 3 images (21 rows) a request: 10 images in four requests, the last of one.
    let seven = bounds(&mut engine, 7, 10, 21);
    let error = assert_log_likelihoods_match_reference(PRETRAINED, &test, 7, &seven);
    // The same images in other requests give the same figures: each draw is keyed by its image.
    let alone = bounds(&mut engine, 7, 10, 7);
    assert_eq!(seven, alone);
    // 600 draws, 2 images a request: 1,200 rows, two decoder blocks of a submit.
    let many = bounds(&mut engine, 600, 2, 1200);
    let error_many = assert_log_likelihoods_match_reference(PRETRAINED, &test, 600, &many);
    println!(
        "largest difference from the reference: K = 7 {error:.2e}, K = 600 {error_many:.2e} nats"
    );
}

#[test]
fn one_draw_is_the_evaluations_elbo_and_the_bound_rises_with_draws() {
    let (mut engine, _) = engine_on(50);
    let estimate = pollster::block_on(estimate(&mut engine, 1, 50, 16, |_| {})).unwrap();
    engine.cancel_evaluation();
    let (_, evaluated) = engine.run_evaluation(u32::MAX).unwrap();
    pollster::block_on(evaluated).unwrap();
    let evaluation = pollster::block_on(engine.request_evaluation().unwrap()).unwrap();
    let difference = (estimate.neg_log_likelihood - evaluation.neg_elbo).abs();
    assert!(
        difference < 1e-4,
        "−L_1 {} against the evaluation's −ELBO {}",
        estimate.neg_log_likelihood,
        evaluation.neg_elbo
    );
    // Over 50 digits the mean bound rises with K by far more than 0.5 nat (measured: −L_1 93.92,
    // −L_10 90.96, −L_100 89.76).
    let ten = pollster::block_on(vae_model::likelihood::estimate(
        &mut engine,
        10,
        50,
        4096,
        |_| {},
    ));
    let hundred = pollster::block_on(vae_model::likelihood::estimate(
        &mut engine,
        100,
        50,
        4096,
        |_| {},
    ));
    let (ten, hundred) = (ten.unwrap(), hundred.unwrap());
    println!(
        "−L_1 {:.3}, −L_10 {:.3}, −L_100 {:.3}",
        estimate.neg_log_likelihood, ten.neg_log_likelihood, hundred.neg_log_likelihood
    );
    assert!(estimate.neg_log_likelihood > ten.neg_log_likelihood + 0.5);
    assert!(ten.neg_log_likelihood > hundred.neg_log_likelihood + 0.5);
}
