//! The page's files: compact F16/BF16 weights with their description, what a file says about
//! itself before it is loaded, a run going on at a new learning rate, the size limit, and a save
//! that refuses to write a model holding NaN.

mod common;

use vae_gpu::vae::Vae;
use vae_model::{
    check_checkpoint_size, inspect_checkpoint, TestScores, WeightDtype, MAX_CHECKPOINT_BYTES,
};

use common::{context, small, with_shard};

#[test]
fn compact_weights_load_as_a_state_dict_rounded_as_their_dtype_says() {
    let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
    let params = pollster::block_on(vae.read_parameters()).unwrap();
    for dtype in [WeightDtype::F32, WeightDtype::F16, WeightDtype::BF16] {
        let scores = TestScores {
            neg_elbo: Some(98.7654),
            neg_log_likelihood: Some((94.125, 5000)),
        };
        let bytes = pollster::block_on(vae.save_weights(dtype, "made by a test", scores)).unwrap();
        let summary = inspect_checkpoint(&bytes).unwrap();
        assert_eq!(summary.sizes, small().sizes);
        assert_eq!(summary.step, None, "a state dict trains from step 0");
        assert_eq!(summary.description.as_deref(), Some("made by a test"));
        assert_eq!(summary.scores, scores);
        let loaded = pollster::block_on(Vae::load(context(), &bytes)).unwrap();
        assert_eq!(loaded.step(), 0);
        assert_eq!(
            pollster::block_on(loaded.read_parameters()).unwrap(),
            dtype.round(&params),
            "{dtype:?}"
        );
    }
    // Half precision is smaller by half, and rounds.
    let f32_len = pollster::block_on(vae.save_weights(WeightDtype::F32, "", TestScores::default()))
        .unwrap()
        .len();
    let bf16_len =
        pollster::block_on(vae.save_weights(WeightDtype::BF16, "", TestScores::default()))
            .unwrap()
            .len();
    assert!(bf16_len * 2 < f32_len + 4096);
    assert_ne!(WeightDtype::BF16.round(&params), params);
}

#[test]
fn a_full_checkpoint_says_its_step_and_goes_on_at_a_new_learning_rate() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        vae.train_steps(3).unwrap();
        let bytes = pollster::block_on(vae.begin_save().wait()).unwrap();
        assert_eq!(inspect_checkpoint(&bytes).unwrap().step, Some(3));
        let loaded = pollster::block_on(Vae::load_with(context(), &bytes, |config| {
            config.adam.lr = 3e-4;
        }))
        .unwrap();
        assert_eq!(loaded.config().adam.lr, 3e-4);
        assert_eq!(loaded.config().sizes, small().sizes);
        assert_eq!(loaded.step(), 3);
        // A state dict takes settings with its own sizes, and refuses others.
        let weights =
            pollster::block_on(vae.save_weights(WeightDtype::F32, "", TestScores::default()))
                .unwrap();
        let mut other = small();
        other.batch = 16;
        let as_other =
            pollster::block_on(Vae::load_state_dict_as(context(), &weights, other)).unwrap();
        assert_eq!(as_other.config().batch, 16);
        other.sizes.latent += 1;
        let refused = pollster::block_on(Vae::load_state_dict_as(context(), &weights, other));
        assert!(refused
            .err()
            .unwrap()
            .to_string()
            .contains("settings ask for"));
    });
}

#[test]
fn files_past_the_size_limit_are_refused_before_parsing() {
    assert!(check_checkpoint_size(MAX_CHECKPOINT_BYTES).is_ok());
    let error = check_checkpoint_size(2 << 30).unwrap_err().to_string();
    assert!(error.contains("2147.5 MB"), "{error}");
    // A header that claims gigabytes is named as not a safetensors file.
    let mut huge = (3u64 << 30).to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}      ");
    let error = inspect_checkpoint(&huge).unwrap_err().to_string();
    assert!(error.contains("not a safetensors file"), "{error}");
}

#[test]
fn a_model_holding_nan_is_not_saved() {
    with_shard(|shard| {
        let mut config = small();
        config.adam.lr = 1.0;
        let mut vae = pollster::block_on(Vae::new(context(), config)).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        // lr 1 blows the loss up within a few steps (the divergence test's setting), and 200
        // steps past that the parameters are NaN.
        vae.train_steps(200).unwrap();
        let params = pollster::block_on(vae.read_parameters()).unwrap();
        assert!(
            params.iter().any(|p| !p.is_finite()),
            "lr 1 did not diverge"
        );
        let error = pollster::block_on(vae.begin_save().wait())
            .unwrap_err()
            .to_string();
        assert!(error.contains("not saved"), "{error}");
    });
}
