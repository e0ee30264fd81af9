//! The worker's host, natively: what the page asks of the CPU worker gives what the engine
//! itself gives, failures leave the model as it was, and the messages survive encoding.

use mnist_shard::{decompress, Shard};
use vae_cpu::CpuVae;
use vae_cpu_worker::host::Host;
use vae_model::VaeConfig;
use vae_worker::protocol::{Envelope, Floats, Reply, Request, Source};

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

fn now() -> f64 {
    0.0
}

fn ask(host: &mut Host, request: Request) -> Reply {
    host.handle(request, &now)
}

fn opened(settings: VaeConfig) -> (Host, Vec<u8>) {
    let raw = decompress(SHARD, "mnist.shard.gz").unwrap().into_owned();
    let mut host = Host::default();
    assert!(matches!(
        ask(&mut host, Request::Open(Source::Fresh(settings))),
        Reply::Opened(_)
    ));
    match ask(
        &mut host,
        Request::SetData {
            shard: raw.clone().into(),
        },
    ) {
        Reply::DataSet {
            train_images,
            test_images,
            evaluation_batches,
        } => {
            assert!(train_images >= 1000 && test_images > 0);
            assert_eq!(
                evaluation_batches as usize,
                test_images.div_ceil(settings.batch as usize)
            );
        }
        other => panic!("{other:?}"),
    }
    (host, raw)
}

#[test]
fn the_worker_trains_and_evaluates_as_the_engine_does() {
    let config = VaeConfig {
        batch: 64,
        ..VaeConfig::default()
    };
    let (mut host, raw) = opened(config);
    let shard = Shard::parse(&raw, "mnist.shard").unwrap();
    let mut engine = CpuVae::new(config).unwrap();
    engine.set_training_data(&shard.train()).unwrap();
    engine.train_steps(5).unwrap();
    let expected = engine.metrics();
    let expected_eval = engine.evaluate(&shard.test()).unwrap();

    assert!(matches!(
        ask(&mut host, Request::Train { steps: 2 }),
        Reply::Trained { step: 2, .. }
    ));
    assert!(matches!(
        ask(&mut host, Request::Train { steps: 3 }),
        Reply::Trained { step: 5, .. }
    ));
    match ask(&mut host, Request::Metrics { snapshot: true }) {
        Reply::Metrics { report, .. } => {
            assert_eq!(report.steps, expected.steps);
            assert_eq!(report.diverged_at, None);
        }
        other => panic!("{other:?}"),
    }
    // In pieces, with a decode between them, the evaluation is the engine's in one go.
    let mut remaining = u32::MAX;
    while remaining > 0 {
        remaining = match ask(&mut host, Request::Evaluate { batches: 40 }) {
            Reply::Evaluated { remaining } => remaining,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            ask(&mut host, Request::Decode { z: Floats::from_slice(&[0.0; 20]) }),
            Reply::Images(image) if image.to_vec().len() == 784
        ));
    }
    match ask(&mut host, Request::FinishEvaluation) {
        Reply::Evaluation(evaluation) => {
            assert_eq!(evaluation.neg_elbo, expected_eval.neg_elbo);
            assert_eq!(evaluation.images, shard.test().len());
        }
        other => panic!("{other:?}"),
    }
    match ask(&mut host, Request::Posteriors) {
        Reply::Posteriors { means, logvars } => {
            assert_eq!(means.to_vec().len(), shard.test().len() * 20);
            assert_eq!(logvars.to_vec().len(), shard.test().len() * 20);
            let (mean, _) = engine.encode(&shard.test().image_f32(3)).unwrap();
            // The evaluation's sparse first layer sums in another order than encode's dense one.
            let got = &means.to_vec()[3 * 20..4 * 20];
            assert!(
                got.iter().zip(&mean).all(|(a, b)| (a - b).abs() < 1e-5),
                "{got:?} {mean:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The log-likelihood bound of test images 5..9, as the engine gives it.
    let expected = engine.log_likelihoods(&shard.test(), 5..9, 6).unwrap();
    let request = Request::LogLikelihood {
        first: 5,
        count: 4,
        samples: 6,
    };
    match ask(&mut host, request) {
        Reply::LogLikelihoods(values) => assert_eq!(values.to_vec(), expected),
        other => panic!("{other:?}"),
    }
    let too_far = Request::LogLikelihood {
        first: 9_999,
        count: 2,
        samples: 6,
    };
    assert!(
        matches!(ask(&mut host, too_far), Reply::Failed(message) if message.contains("test images 9999..10001"))
    );
}

#[test]
fn a_bad_request_leaves_the_model_and_a_checkpoint_moves_it() {
    let (mut host, _) = opened(VaeConfig::default());
    ask(&mut host, Request::Train { steps: 3 });
    let before = match ask(
        &mut host,
        Request::Decode {
            z: Floats::from_slice(&[0.5; 20]),
        },
    ) {
        Reply::Images(image) => image,
        other => panic!("{other:?}"),
    };
    let bad = ask(
        &mut host,
        Request::Open(Source::Checkpoint {
            bytes: b"not a checkpoint".to_vec(),
            settings: None,
        }),
    );
    assert!(
        matches!(bad, Reply::Failed(ref why) if why.contains("checkpoint")),
        "{bad:?}"
    );
    assert!(matches!(
        ask(
            &mut host,
            Request::Decode {
                z: Floats::from_slice(&[0.5; 3])
            }
        ),
        Reply::Failed(_)
    ));
    assert!(matches!(
        ask(&mut host, Request::FinishEvaluation),
        Reply::Failed(_)
    ));
    let Reply::Images(after) = ask(
        &mut host,
        Request::Decode {
            z: Floats::from_slice(&[0.5; 20]),
        },
    ) else {
        panic!()
    };
    assert_eq!(before, after);

    // The pad's request: the reconstruction it returns is the gallery's for the same image.
    let lit: Vec<f32> = (0..784).map(|i| f32::from(u8::from(i % 7 == 0))).collect();
    let x = Floats::from_slice(&lit);
    let Reply::Images(reconstructed) = ask(&mut host, Request::Reconstruct { x: x.clone() }) else {
        panic!()
    };
    match ask(&mut host, Request::EncodeAndReconstruct { x }) {
        Reply::EncodedAndReconstructed { mean, image } => {
            assert_eq!(mean.to_vec().len(), 20);
            assert_eq!(image, reconstructed);
        }
        other => panic!("{other:?}"),
    }

    let Reply::Saved(bytes) = ask(&mut host, Request::Save) else {
        panic!()
    };
    let (mut other, _) = opened(VaeConfig::default());
    match ask(
        &mut other,
        Request::Open(Source::Checkpoint {
            bytes,
            settings: None,
        }),
    ) {
        Reply::Opened(standing) => {
            assert_eq!(standing.step, 3);
            assert_eq!(
                (standing.cursor.epoch, standing.cursor.position),
                (1, 3 * 128)
            );
        }
        other => panic!("{other:?}"),
    }
    let Reply::Images(moved) = ask(
        &mut other,
        Request::Decode {
            z: Floats::from_slice(&[0.5; 20]),
        },
    ) else {
        panic!()
    };
    assert_eq!(moved, before);
}

#[test]
fn messages_keep_their_payloads_through_encoding() {
    let request = Envelope {
        id: u64::MAX - 1,
        body: Request::Decode {
            z: Floats::from_slice(&[1.5, -0.25, f32::MIN_POSITIVE]),
        },
    };
    let text = serde_json::to_string(&request).unwrap();
    let back: Envelope<Request> = serde_json::from_str(&text).unwrap();
    assert_eq!(back.id, request.id);
    match back.body {
        Request::Decode { z } => assert_eq!(z.to_vec(), vec![1.5, -0.25, f32::MIN_POSITIVE]),
        other => panic!("{other:?}"),
    }
    // The model's settings travel as they are, every field exact.
    let config = VaeConfig {
        seed: u64::MAX,
        kl_weight: 0.3,
        ..VaeConfig::default()
    };
    let text = serde_json::to_string(&Request::Open(Source::Fresh(config))).unwrap();
    match serde_json::from_str::<Request>(&text).unwrap() {
        Request::Open(Source::Fresh(back)) => assert_eq!(back, config),
        other => panic!("{other:?}"),
    }
    // A shard's bytes arrive whole, and a request for each of two workers shares one copy.
    let shard: Vec<u8> = (0..=255).cycle().take(1000).collect();
    let request = Request::SetData {
        shard: shard.clone().into(),
    };
    let (Request::SetData { shard: first }, Request::SetData { shard: second }) =
        (&request, request.clone())
    else {
        unreachable!()
    };
    assert!(std::sync::Arc::ptr_eq(&first.0, &second.0));
    match serde_json::from_str::<Request>(&serde_json::to_string(&request).unwrap()).unwrap() {
        Request::SetData { shard: back } => assert_eq!(*back.0, shard),
        other => panic!("{other:?}"),
    }
}
