//! The engine's API on a real adapter: checkpoints, resuming, bad settings, divergence and
//! rollback, encoding and decoding. A small hidden width keeps these fast; the math is the same.

use mnist_shard::Shard;
use vae_gpu::vae::Vae;
use vae_gpu::GpuError;
use vae_model::VaeConfig;
use vae_reference::AdamConfig;

mod common;
use common::{context, small, with_shard};

fn losses(vae: &mut Vae, steps: u32) -> Vec<f32> {
    vae.train_steps(steps).unwrap();
    let report = pollster::block_on(vae.metrics()).unwrap();
    report.steps.iter().map(|m| m.neg_elbo).collect()
}

#[test]
fn a_checkpoint_restores_everything_and_training_resumes_identically() {
    // β other than 1, and K other than 1: the checkpoint must carry them for the resumed steps
    // to match.
    let beta = VaeConfig {
        kl_weight: 0.75,
        ..small()
    };
    let iwae = VaeConfig {
        importance_samples: 3,
        ..small()
    };
    for config in [beta, iwae] {
        with_shard(|shard| {
            let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
            pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
            losses(&mut vae, 20);
            let bytes = pollster::block_on(vae.save()).unwrap();
            let continued = losses(&mut vae, 10);

            let mut loaded = pollster::block_on(Vae::load(context(), &bytes)).unwrap();
            assert_eq!(loaded.step(), 20);
            assert_eq!(loaded.config(), &config);
            pollster::block_on(loaded.set_training_data(&shard.train())).unwrap();
            assert_eq!(losses(&mut loaded, 10), continued);
            assert_eq!(
                pollster::block_on(vae.read_parameters()).unwrap(),
                pollster::block_on(loaded.read_parameters()).unwrap()
            );
        });
    }
}

#[test]
fn damaged_or_mismatched_checkpoints_are_refused_with_the_reason() {
    let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
    let bytes = pollster::block_on(vae.save()).unwrap();
    let load = |bytes: &[u8]| match pollster::block_on(Vae::load(context(), bytes)) {
        Ok(_) => panic!("a bad checkpoint loaded"),
        Err(GpuError::Checkpoint(message)) => message,
        Err(other) => panic!("unexpected error {other}"),
    };
    let truncated = load(&bytes[..bytes.len() / 2]);
    eprintln!("truncated checkpoint: {truncated}");
    assert!(truncated.contains("file not fully covered"), "{truncated}");
    assert!(load(b"definitely not a checkpoint").contains("not a safetensors file"));
    // A checkpoint whose metadata claims other sizes than its tensors have.
    let text = String::from_utf8_lossy(&bytes[8..8 + 2000]).to_string();
    assert!(text.contains("\"vae-lab.hidden\":\"64\""), "{text}");
    let mut other = bytes.clone();
    let at = 8 + text.find("\"vae-lab.hidden\":\"64\"").unwrap() + "\"vae-lab.hidden\":\"".len();
    other[at..at + 2].copy_from_slice(b"65");
    let message = load(&other);
    assert!(
        message.contains("encoder.enc1.weight") && message.contains("[65, 784]"),
        "{message}"
    );
}

#[test]
fn absurd_settings_are_refused_before_touching_the_gpu() {
    let limits = context().binding_limits();
    let check = |change: &dyn Fn(&mut VaeConfig)| {
        let mut config = VaeConfig::default();
        change(&mut config);
        config.validate(&limits).unwrap_err().to_string()
    };
    assert!(check(&|c| c.batch = 0).contains("batch size 0"));
    assert!(check(&|c| c.sizes.latent = 0).contains("latent size 0"));
    assert!(check(&|c| c.adam.lr = f64::NAN).contains("learning rate NaN"));
    assert!(check(&|c| c.adam.lr = 0.0).contains("learning rate 0"));
    assert!(check(&|c| c.adam.beta2 = 1.0).contains("beta2 1"));
    assert!(check(&|c| c.kl_weight = -0.5).contains("KL weight β -0.5"));
    assert!(check(&|c| c.kl_weight = f64::INFINITY).contains("KL weight β inf"));
    assert!(check(&|c| c.kl_weight = 1e3).contains("KL weight β 1000"));
    assert!(check(&|c| c.sizes.hidden = 60_000).contains("max_storage_buffer_binding_size"));
    assert!(check(&|c| c.importance_samples = 0).contains("importance samples K = 0"));
    assert!(check(&|c| c.importance_samples = 1001).contains("K = 1001 must be between 1"));
    let iwae_with_beta = |c: &mut VaeConfig| {
        c.importance_samples = 5;
        c.kl_weight = 0.5;
    };
    assert!(check(&iwae_with_beta).contains("the IWAE objective has no β"));
    let too_many_rows = |c: &mut VaeConfig| {
        c.batch = 4096;
        c.importance_samples = 17;
    };
    assert!(check(&too_many_rows).contains("69632 decoder rows"));
    // The decoder's activations grow with K: 60 × 1000 rows of 784 floats pass 128 MiB.
    let wide = VaeConfig {
        batch: 60,
        importance_samples: 1000,
        ..VaeConfig::default()
    };
    let small = vae_model::BindingLimits {
        max_storage_buffer_binding_size: 128 << 20,
        max_storage_buffers_per_shader_stage: 8,
    };
    let refused = wide.validate(&small).unwrap_err().to_string();
    assert!(
        refused.contains("the largest activation need 188160000 bytes"),
        "{refused}"
    );
    assert!(VaeConfig::default().validate(&limits).is_ok());
}

#[test]
fn divergence_is_reported_and_rollback_restores_the_last_good_parameters() {
    with_shard(|shard| {
        // lr 1 is legal but wild: with it the loss blows up to inf or NaN within a few steps.
        let config = VaeConfig {
            adam: AdamConfig {
                lr: 1.0,
                ..AdamConfig::default()
            },
            ..small()
        };
        let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        let good = pollster::block_on(vae.read_parameters()).unwrap();
        let mut diverged = None;
        for _ in 0..20 {
            vae.train_steps(10).unwrap();
            let report = pollster::block_on(vae.metrics()).unwrap();
            if let Some(step) = report.diverged_at {
                diverged = Some(step);
                break;
            }
        }
        let step = diverged.expect("lr 1 should diverge within 200 steps");
        eprintln!("diverged at step {step}");
        // No read before the divergence was clean except the initial state (or a later clean
        // read): rolling back gives finite parameters and a working model again.
        vae.rollback();
        let restored = pollster::block_on(vae.read_parameters()).unwrap();
        assert!(restored.iter().all(|v| v.is_finite()));
        assert!(vae.step() < step);
        if vae.step() == 0 {
            assert_eq!(restored, good);
        }
        let probabilities = pollster::block_on(vae.decode(&[0.0; 8])).unwrap();
        assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
    });
}

#[test]
fn encode_decode_and_evaluate_work_on_any_number_of_images() {
    with_shard(|shard| {
        let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        let test = shard.test();
        let x: Vec<f32> = (0..3).flat_map(|i| test.image_f32(i)).collect();
        let (mean, logvar) = pollster::block_on(vae.encode(&x)).unwrap();
        assert_eq!((mean.len(), logvar.len()), (24, 24));
        let decoded = pollster::block_on(vae.decode(&mean)).unwrap();
        assert_eq!(decoded.len(), 3 * 784);
        assert!(decoded.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(matches!(
            pollster::block_on(vae.decode(&[0.0; 7])),
            Err(GpuError::InvalidInput(_))
        ));
        assert!(matches!(
            pollster::block_on(vae.decode(&[f32::NAN; 8])),
            Err(GpuError::InvalidInput(_))
        ));
        assert!(matches!(
            pollster::block_on(vae.encode(&[0.0; 100])),
            Err(GpuError::InvalidInput(_))
        ));

        // 10,000 test images in batches of 32 leave a tail of 16; at initialisation every image
        // costs about 784·ln 2 nats.
        let evaluation = pollster::block_on(vae.evaluate(&test)).unwrap();
        assert_eq!(evaluation.images, 10_000);
        assert!(
            (540.0..560.0).contains(&evaluation.neg_elbo),
            "{evaluation:?}"
        );
        assert!(
            (evaluation.neg_elbo - evaluation.bce - evaluation.kl).abs()
                < 1e-6 * evaluation.neg_elbo
        );
        // Deterministic: the evaluation noise does not depend on training.
        assert_eq!(evaluation, pollster::block_on(vae.evaluate(&test)).unwrap());
    });
}

#[test]
fn a_lost_device_is_an_error_the_caller_can_act_on_not_a_panic() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        vae.train_steps(2).unwrap();
        // What a driver reset or an unplugged GPU does, on purpose.
        vae.context().device.destroy();
        let _ = vae
            .context()
            .device
            .poll(wgpu::PollType::wait_indefinitely());
        for result in [
            vae.train_steps(1).err(),
            pollster::block_on(vae.metrics()).err(),
            pollster::block_on(vae.decode(&[0.0; 8])).err(),
        ] {
            assert!(
                matches!(result, Some(GpuError::DeviceLost(_))),
                "{result:?}"
            );
        }
        let message = vae.train_steps(1).unwrap_err().to_string();
        assert!(message.contains("reload the page or restart"), "{message}");
    });
}

#[test]
fn steps_across_epoch_ends_in_one_call_equal_the_same_steps_one_by_one() {
    // The corpus's real 16-image shard with batches of 4: an epoch every 4 steps, so 10 steps
    // cross two epoch ends (the second in a submit of its own).
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mnist-shard/tests/corpus/valid-16-train-4-test.shard"
    ))
    .unwrap();
    let shard = Shard::parse(&raw, "valid-16-train-4-test.shard").unwrap();
    let config = VaeConfig {
        batch: 4,
        ..small()
    };
    let run = |chunks: &[u32]| {
        let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        for &n in chunks {
            vae.train_steps(n).unwrap();
        }
        assert_eq!(vae.epoch_progress(), Some((3, 2)));
        let report = pollster::block_on(vae.metrics()).unwrap();
        report
            .steps
            .iter()
            .map(|m| (m.step, m.neg_elbo))
            .collect::<Vec<_>>()
    };
    let together = run(&[10]);
    assert_eq!(together.len(), 10);
    assert_eq!(together, run(&[1; 10]));
    assert_eq!(together, run(&[3, 7]));
}

#[test]
fn a_plain_state_dict_loads_with_sizes_from_its_shapes() {
    use safetensors::tensor::TensorView;
    let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
    let bytes = pollster::block_on(vae.save()).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    // Only the model's tensors, no metadata: what PyTorch's safetensors.torch.save_file writes.
    let plain: Vec<(String, TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("optimizer."))
        .collect();
    assert_eq!(plain.len(), 10);
    let state_dict = safetensors::serialize(plain.clone(), None).unwrap();
    let loaded = pollster::block_on(Vae::load(context(), &state_dict)).unwrap();
    assert_eq!(loaded.config().sizes, small().sizes);
    assert_eq!(loaded.step(), 0);
    assert_eq!(
        pollster::block_on(loaded.read_parameters()).unwrap(),
        pollster::block_on(vae.read_parameters()).unwrap()
    );
    // A tensor of the wrong shape is named in the error.
    let broken: Vec<(String, TensorView<'_>)> = plain
        .into_iter()
        .filter(|(name, _)| name != "decoder.dec1.bias")
        .collect();
    let state_dict = safetensors::serialize(broken, None).unwrap();
    match pollster::block_on(Vae::load(context(), &state_dict)) {
        Err(GpuError::Checkpoint(message)) => {
            assert!(message.contains("decoder.dec1.bias"), "{message}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a state dict without decoder.dec1.bias loaded"),
    }
}

/// The model's ten tensors of `vae`'s checkpoint, as `dtype` (F32, F16 or BF16), with `metadata`.
fn state_dict(
    vae: &Vae,
    dtype: safetensors::Dtype,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Vec<u8> {
    use safetensors::tensor::TensorView;
    let bytes = pollster::block_on(vae.save()).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let converted: Vec<(String, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("optimizer."))
        .map(|(name, view)| {
            let values: Vec<f32> = bytemuck::pod_collect_to_vec(view.data());
            let data: Vec<u8> = match dtype {
                safetensors::Dtype::F16 => values
                    .iter()
                    .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                    .collect(),
                safetensors::Dtype::BF16 => values
                    .iter()
                    .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                    .collect(),
                _ => view.data().to_vec(),
            };
            (name, view.shape().to_vec(), data)
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = converted
        .iter()
        .map(|(name, shape, data)| {
            (
                name.clone(),
                TensorView::new(dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, metadata).unwrap()
}

#[test]
fn state_dicts_of_other_programs_load_whatever_their_metadata_and_precision() {
    let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
    let params = pollster::block_on(vae.read_parameters()).unwrap();
    let layout = vae.layout().clone();
    let load = |bytes: &[u8]| pollster::block_on(Vae::load(context(), bytes));
    // What `safetensors.torch.save_file(model.state_dict(), path, metadata={"format": "pt"})`
    // writes: that key is PyTorch's, and the file is a plain state dict.
    let pt = [("format".to_string(), "pt".to_string())]
        .into_iter()
        .collect();
    let loaded = load(&state_dict(&vae, safetensors::Dtype::F32, Some(pt))).unwrap();
    assert_eq!(loaded.step(), 0);
    assert_eq!(
        pollster::block_on(loaded.read_parameters()).unwrap(),
        params
    );
    // Any other program's keys are ignored too.
    let foreign = [("producer".to_string(), "someone else".to_string())]
        .into_iter()
        .collect();
    assert!(load(&state_dict(&vae, safetensors::Dtype::F32, Some(foreign))).is_ok());
    // Half precision, widened on load: each value is its f16 or bf16 rounding.
    for (dtype, round) in [
        (
            safetensors::Dtype::F16,
            (|v: f32| half::f16::from_f32(v).to_f32()) as fn(f32) -> f32,
        ),
        (safetensors::Dtype::BF16, |v: f32| {
            half::bf16::from_f32(v).to_f32()
        }),
    ] {
        let loaded = load(&state_dict(&vae, dtype, None)).unwrap();
        let got = pollster::block_on(loaded.read_parameters()).unwrap();
        for tensor in vae_reference::Tensor::ALL {
            let range = layout.range(tensor);
            let want: Vec<f32> = params[range.clone()].iter().map(|&v| round(v)).collect();
            assert_eq!(got[range], want[..], "{dtype:?} {}", tensor.name());
        }
    }
}

#[test]
fn our_metadata_has_keys_of_its_own_and_older_or_newer_layouts_are_told_apart() {
    let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
    let bytes = pollster::block_on(vae.save()).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"));
    assert_eq!(meta.get("vae-lab.format").map(String::as_str), Some("2"));
    assert_eq!(meta.get("vae-lab.hidden").map(String::as_str), Some("64"));
    assert!(meta
        .keys()
        .all(|key| key == "format" || key.starts_with("vae-lab.")));
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let with = |metadata: std::collections::HashMap<String, String>| {
        safetensors::serialize(file.tensors(), Some(metadata)).unwrap()
    };
    // A checkpoint of the layout before the prefix: `format: vae-lab/1`, keys as they are.
    let mut legacy: std::collections::HashMap<String, String> = meta
        .iter()
        .filter(|(key, _)| key.starts_with("vae-lab."))
        .map(|(key, value)| (key["vae-lab.".len()..].to_string(), value.clone()))
        .collect();
    legacy.insert("format".into(), "vae-lab/1".into());
    legacy.insert("step".into(), "7".into());
    let loaded = pollster::block_on(Vae::load(context(), &with(legacy))).unwrap();
    assert_eq!((loaded.step(), loaded.config()), (7, &small()));
    // One from a later version of this lab is refused, not misread.
    let mut newer = meta.clone();
    newer.insert("vae-lab.format".into(), "3".into());
    match pollster::block_on(Vae::load(context(), &with(newer))) {
        Err(GpuError::Checkpoint(message)) => {
            assert!(message.contains("another version"), "{message}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a newer layout loaded"),
    }
    // A tensor of a dtype no checkpoint of ours has is named, with what this build reads.
    let ints: Vec<u8> = vec![0; 8 * 784 * 64];
    let mut views = file.tensors();
    let at = views
        .iter()
        .position(|(name, _)| name == "encoder.enc1.weight")
        .unwrap();
    views[at].1 =
        safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![64, 784], &ints)
            .unwrap();
    let bytes = safetensors::serialize(views, Some(meta)).unwrap();
    match pollster::block_on(Vae::load(context(), &bytes)) {
        Err(GpuError::Checkpoint(message)) => assert!(
            message.contains("encoder.enc1.weight")
                && message.contains("I64")
                && message.contains("F16"),
            "{message}"
        ),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("an I64 tensor loaded"),
    }
}
