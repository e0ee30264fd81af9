//! The CPU engine against the GPU engine on a real adapter (lavapipe in CI): a seeded run whose
//! curve matches step for step, the same test −ELBO, checkpoints that move between them, and
//! the one interface both implement answering alike.

use std::sync::Arc;

use mnist_shard::{decompress, Shard};
use vae_cpu::{CpuEngine, CpuVae};
use vae_gpu::vae::Vae;
use vae_gpu::{GpuContext, GpuEngine};
use vae_model::engine::{DecodeSizes, Decoding, Lines, Opening};
use vae_model::Engine;
use vae_model::{Snapshot, VaeConfig, ALIGN};
use vae_reference::latent::LatentLines;
use vae_reference::Layout;

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"))
}

fn relative(a: f32, b: f32) -> f32 {
    (a - b).abs() / b.abs().max(1e-6)
}

#[test]
fn an_iwae_run_has_the_gpu_engines_curve_and_parameters() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let config = VaeConfig {
        seed: 22,
        batch: 32,
        importance_samples: 4,
        ..VaeConfig::default()
    };
    let mut gpu = pollster::block_on(Vae::new(context(), config)).unwrap();
    pollster::block_on(gpu.set_training_data(&shard.train())).unwrap();
    let mut cpu = CpuVae::new(config).unwrap();
    cpu.set_training_data(&shard.train()).unwrap();
    let mut worst = [0.0f32; 3];
    for chunk in [1, 9, 20] {
        gpu.train_steps(chunk).unwrap();
        cpu.train_steps(chunk).unwrap();
        let theirs = pollster::block_on(gpu.metrics()).unwrap();
        let ours = cpu.metrics();
        assert_eq!(ours.steps.len(), theirs.steps.len());
        for (a, b) in ours.steps.iter().zip(&theirs.steps) {
            assert_eq!(a.step, b.step);
            for (w, d) in worst.iter_mut().zip([
                relative(a.neg_elbo, b.neg_elbo),
                relative(a.bce, b.bce),
                relative(a.kl, b.kl),
            ]) {
                *w = w.max(d);
            }
        }
    }
    eprintln!("30 IWAE steps: largest relative difference in −ELBO, BCE, KL {worst:?}");
    // As the VAE's run below: float drift only.
    assert!(
        worst[0] < 1e-3 && worst[1] < 1e-3 && worst[2] < 2e-2,
        "{worst:?}"
    );
    let layout = Layout::aligned(config.sizes, ALIGN);
    let theirs = pollster::block_on(gpu.read_parameters()).unwrap();
    let ours = cpu.parameters_in(&layout);
    let mean = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| f64::from((a - b).abs()))
        .sum::<f64>()
        / ours.len() as f64;
    eprintln!("parameters after 30 IWAE steps: mean difference {mean:.1e}");
    assert!(mean < 1e-4, "{mean:e}");
}

#[test]
fn a_seeded_run_has_the_gpu_engines_curve_evaluation_and_parameters() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let config = VaeConfig {
        seed: 21,
        kl_weight: 0.8,
        ..VaeConfig::default()
    };
    let mut gpu = pollster::block_on(Vae::new(context(), config)).unwrap();
    pollster::block_on(gpu.set_training_data(&shard.train())).unwrap();
    let mut cpu = CpuVae::new(config).unwrap();
    cpu.set_training_data(&shard.train()).unwrap();

    // 60 steps in uneven chunks, reading metrics between them as a page does.
    let mut worst = 0.0f32;
    let mut worst_at = Vec::new();
    for chunk in [1, 7, 20, 32] {
        gpu.train_steps(chunk).unwrap();
        cpu.train_steps(chunk).unwrap();
        let theirs = pollster::block_on(gpu.metrics()).unwrap();
        let ours = cpu.metrics();
        assert_eq!(ours.diverged_at, None);
        assert_eq!(ours.steps.len(), theirs.steps.len());
        for (a, b) in ours.steps.iter().zip(&theirs.steps) {
            assert_eq!(a.step, b.step);
            let differences = [
                relative(a.neg_elbo, b.neg_elbo),
                relative(a.bce, b.bce),
                relative(a.kl, b.kl),
            ];
            worst_at.push((a.step, differences));
            worst = differences.iter().fold(worst, |w, &d| w.max(d));
        }
    }
    eprintln!("60 steps: largest relative difference in a step's −ELBO, BCE or KL {worst:.1e}");
    for (step, d) in worst_at.iter().step_by(6) {
        eprintln!(
            "  step {step}: −ELBO {:.1e} BCE {:.1e} KL {:.1e}",
            d[0], d[1], d[2]
        );
    }
    // Float drift only: the sums run in other orders, and Adam's first steps turn a rounding of a
    // near-zero gradient into a full ±lr step. The KL, a small difference of large terms early
    // on, drifts most.
    for (step, d) in &worst_at {
        assert!(
            d[0] < 1e-3 && d[1] < 1e-3 && d[2] < 1e-2,
            "step {step}: {d:?}"
        );
    }
    assert_eq!(cpu.epoch_progress(), gpu.epoch_progress());

    let layout = Layout::aligned(config.sizes, ALIGN);
    let theirs = pollster::block_on(gpu.read_parameters()).unwrap();
    let ours = cpu.parameters_in(&layout);
    // Adam's normalised steps turn a gradient's rounding into whole ±lr steps where the gradient
    // is near zero: a few parameters move apart by several steps' worth, the rest agree closely.
    let differences: Vec<f32> = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let mean = differences.iter().map(|&d| f64::from(d)).sum::<f64>() / differences.len() as f64;
    let apart = differences.iter().filter(|&&d| d > 1e-3).count();
    let largest = differences.iter().fold(0.0f32, |m, &d| m.max(d));
    eprintln!(
        "parameters after 60 steps: mean difference {mean:.1e}, largest {largest:.1e}, {apart} of {} over 1e-3",
        differences.len()
    );
    // Nearly all of those are in the encoder's first layer and heads, behind hidden units on the
    // edge of dying (a ReLU that rounding turns on for one engine and off for the other); the
    // decoder, behind no such edge, agrees everywhere.
    let decoder_apart = vae_reference::Tensor::ALL
        .iter()
        .filter(|t| t.name().starts_with("decoder"))
        .map(|&t| {
            differences[layout.range(t)]
                .iter()
                .filter(|&&d| d > 1e-3)
                .count()
        })
        .sum::<usize>();
    eprintln!("  of them in the decoder: {decoder_apart}");
    assert!(
        mean < 1e-4 && apart * 50 < differences.len(),
        "{mean:e}, {apart}"
    );
    assert!(
        decoder_apart * 10_000 < differences.len(),
        "{decoder_apart}"
    );

    let test = shard.test();
    let a = cpu.evaluate(&test).unwrap();
    let b = pollster::block_on(gpu.evaluate(&test)).unwrap();
    eprintln!("test −ELBO: CPU {:.4}, GPU {:.4}", a.neg_elbo, b.neg_elbo);
    assert_eq!(a.images, b.images);
    assert!((a.neg_elbo - b.neg_elbo).abs() < 0.05 && (a.kl - b.kl).abs() < 0.05);
}

#[test]
fn checkpoints_move_between_the_engines_and_training_goes_on_alike() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    // A small epoch (the first 1,536 images at batch 128: 12 steps) so the resumed run crosses an
    // epoch's end; the full-size model, so every layer's layout and moments move between engines.
    let train = shard.train().first(1536);
    let config = VaeConfig {
        seed: 4,
        ..VaeConfig::default()
    };
    let mut gpu = pollster::block_on(Vae::new(context(), config)).unwrap();
    pollster::block_on(gpu.set_training_data(&train)).unwrap();
    gpu.train_steps(10).unwrap();
    pollster::block_on(gpu.metrics()).unwrap();
    let saved = pollster::block_on(gpu.save()).unwrap();

    // GPU → CPU: the same parameters, moments, step and position; the next steps agree.
    let mut cpu = CpuVae::load(&saved).unwrap();
    assert_eq!(cpu.step(), 10);
    let layout = Layout::aligned(config.sizes, ALIGN);
    assert_eq!(
        cpu.parameters_in(&layout),
        pollster::block_on(gpu.read_parameters()).unwrap()
    );
    let (m, v) = pollster::block_on(gpu.read_moments()).unwrap();
    assert_eq!(cpu.moments_in(&layout), (m, v));
    cpu.set_training_data(&train).unwrap();
    assert_eq!(cpu.epoch_progress(), gpu.epoch_progress());
    gpu.train_steps(5).unwrap();
    cpu.train_steps(5).unwrap();
    let theirs = pollster::block_on(gpu.metrics()).unwrap().steps;
    let ours = cpu.metrics().steps;
    assert_eq!(
        ours.iter().map(|m| m.step).collect::<Vec<_>>(),
        vec![11, 12, 13, 14, 15]
    );
    for (a, b) in ours.iter().zip(&theirs) {
        assert!(relative(a.neg_elbo, b.neg_elbo) < 1e-4, "{a:?} vs {b:?}");
    }
    assert_eq!(cpu.epoch_progress(), Some((2, 3)));

    // CPU → GPU: byte for byte the CPU's state, read back by the GPU engine.
    let from_cpu = cpu.save().unwrap();
    let reloaded = pollster::block_on(Vae::load(context(), &from_cpu)).unwrap();
    assert_eq!(reloaded.step(), 15);
    assert_eq!(
        pollster::block_on(reloaded.read_parameters()).unwrap(),
        cpu.parameters_in(&layout)
    );
    let again = CpuVae::load(&from_cpu).unwrap();
    assert_eq!(again.parameters_in(&layout), cpu.parameters_in(&layout));
    assert_eq!(again.moments_in(&layout), cpu.moments_in(&layout));
}

fn block<T>(future: impl std::future::Future<Output = Result<T, vae_model::EngineError>>) -> T {
    pollster::block_on(future).unwrap()
}

/// Drives a model only through the [`Engine`] interface, as the lab, the worker and the CLI
/// do: binds a shard, trains, reads metrics, evaluates in pieces, reads posteriors, decodes in
/// every form and saves. Every result is ready once the engine has finished the work.
fn through_the_interface(engine: &mut dyn Engine, shard: &Arc<Vec<u8>>) -> Vec<Vec<f32>> {
    assert_eq!(engine.steps_per_epoch(), None);
    block(engine.bind_data(shard));
    block(engine.prepare_decodes(DecodeSizes {
        samples: 4,
        reconstructions: 2,
        grid_side: 3,
        strip_points: 5,
        interpolation_frames: 6,
    }));
    assert_eq!(engine.steps_per_epoch(), Some(512 / 32));
    block(engine.train(20).unwrap());
    assert_eq!((engine.step(), engine.epoch_progress()), (20, Some((2, 4))));
    let reply = pollster::block_on(engine.begin_metrics(Snapshot::Take).unwrap());
    let report = engine.finish_metrics(reply).unwrap();
    assert_eq!(report.steps.len(), 20);
    assert_eq!(report.diverged_at, None);
    // 100 test images at batch 32: 4 batches, queued 3 then the rest.
    assert_eq!(engine.evaluation_remaining(), 4);
    let (remaining, done) = engine.run_evaluation(3).unwrap();
    assert_eq!(remaining, 1);
    block(done);
    let (remaining, done) = engine.run_evaluation(3).unwrap();
    assert_eq!(remaining, 0);
    block(done);
    let evaluation = block(engine.request_evaluation().unwrap());
    assert_eq!(evaluation.images, 100);
    let (means, logvars) = block(engine.request_posteriors().unwrap());
    assert_eq!((means.len(), logvars.len()), (100 * 8, 100 * 8));

    let z = [0.25f32; 8];
    let x: Vec<f32> = (0..784).map(|i| f32::from(u8::from(i % 7 == 0))).collect();
    let slider = block(engine.request_decode(Decoding::Slider, &z).unwrap());
    let samples = block(
        engine
            .request_decode(Decoding::Samples, &[z, z, z, z].concat())
            .unwrap(),
    );
    assert_eq!(samples[..784], slider[..]);
    let (mean, _) = block(engine.request_encode(&x).unwrap());
    let reconstruction = block(
        engine
            .request_reconstruction(&[x.clone(), x.clone()].concat())
            .unwrap(),
    );
    let (pad_mean, pad_image) = engine.request_encode_and_reconstruct(&x).unwrap();
    let (pad_mean, pad_image) = (block(pad_mean), block(pad_image));
    assert_eq!(pad_mean, mean);
    assert_eq!(pad_image[..], reconstruction[..784]);
    let lines = LatentLines::interpolation(&[0.0; 8], &z, 6);
    let decoded = engine
        .request_line_sets(&[(Lines::Interpolation, &lines)])
        .unwrap();
    let [line] = <[_; 1]>::try_from(decoded).ok().unwrap();
    let line = block(line);
    assert_eq!(line.len(), 6 * 784);
    assert!(engine.request_decode(Decoding::Slider, &[0.0; 7]).is_err());

    // The checkpoint holds the trained step; the other engine opens it.
    let saved = block(engine.begin_save());
    assert_eq!(CpuVae::load(&saved).unwrap().step(), 20);
    // The snapshot the first read took is confirmed by the next read that finds a fine step
    // after it: a rollback then returns to step 20.
    block(engine.train(2).unwrap());
    let reply = pollster::block_on(engine.begin_metrics(Snapshot::Skip).unwrap());
    assert_eq!(engine.finish_metrics(reply).unwrap().steps.len(), 2);
    engine.rollback();
    assert_eq!(engine.step(), 20);
    vec![
        slider,
        mean,
        reconstruction,
        line,
        vec![evaluation.neg_elbo as f32],
    ]
}

#[test]
fn both_engines_answer_the_one_interface_alike() {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap();
    let whole = Shard::parse(&raw, "mnist.shard.gz").unwrap();
    let shard = Arc::new(mnist_shard::build::subset(&whole, 512, 100).unwrap());
    let config = VaeConfig {
        sizes: vae_reference::Sizes {
            input: 784,
            hidden: 64,
            latent: 8,
        },
        batch: 32,
        seed: 9,
        ..VaeConfig::default()
    };
    let opening = Opening::Fresh(config);
    let mut gpu = pollster::block_on(GpuEngine::open(context(), opening)).unwrap();
    let mut cpu = CpuEngine::open(opening).unwrap();
    assert!(!gpu.is_cpu() && cpu.is_cpu());
    let ours = through_the_interface(&mut cpu, &shard);
    let theirs = through_the_interface(&mut gpu, &shard);
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| relative(*x, *y))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-2, "{worst}");
    }
}
