//! `vae export`: a checkpoint's parameters alone, in F16 or BF16, as a plain PyTorch state dict
//! that says how it was made and what it scores: the page's pretrained model is one of these.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use vae_gpu::vae::Vae;
use vae_model::{Engine, TestScores, WeightDtype};

use crate::common::{context, load_checkpoint, GpuArgs};
use crate::data;

#[derive(Clone, Copy, ValueEnum)]
enum DtypeArg {
    F32,
    F16,
    Bf16,
}

#[derive(Args)]
pub struct ExportArgs {
    /// A checkpoint from `vae train` (or any state dict `vae eval` reads).
    checkpoint: PathBuf,
    /// Where the compact file goes.
    #[arg(long, short)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "f16")]
    dtype: DtypeArg,
    /// The data the model was trained on, whose test part scores the exported numbers (the
    /// bundled shard by default).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Words added to the recorded description (how the run changed its settings, say).
    #[arg(long)]
    note: Option<String>,
    /// Draws of ε averaged for the recorded test −ELBO.
    #[arg(long, default_value_t = 10)]
    samples: u32,
    /// Also record the test log-likelihood bound −L_K with K importance samples a digit (as
    /// `vae eval --iw-samples K` computes it; 5000 is the papers' convention, and slow).
    #[arg(long, value_name = "K")]
    iw_samples: Option<u32>,
    #[command(flatten)]
    gpu: GpuArgs,
}

pub fn run(args: ExportArgs) -> Result<(), String> {
    if let Some(samples) = args.iw_samples {
        vae_model::likelihood::check_samples(samples).map_err(|_| {
            format!(
                "--iw-samples {samples} must be between 1 and {}",
                vae_model::likelihood::MAX_IMPORTANCE_SAMPLES
            )
        })?;
    }
    if args.samples == 0 || args.samples > 1000 {
        return Err(format!(
            "--samples {} must be between 1 and 1000",
            args.samples
        ));
    }
    let dtype = match args.dtype {
        DtypeArg::F32 => WeightDtype::F32,
        DtypeArg::F16 => WeightDtype::F16,
        DtypeArg::Bf16 => WeightDtype::BF16,
    };
    let data = data::load(args.data.as_deref())?;
    let shard = data.shard()?;
    let context = context(&args.gpu)?;
    let vae = load_checkpoint(context.clone(), &args.checkpoint)?;
    let config = *vae.config();
    let steps_per_epoch = (shard.train().len() as u64 / u64::from(config.batch)).max(1);
    let step = vae.step();
    let mut description = format!(
        "{} steps ({} epochs) of `vae train` on {}, batch {}, lr {}, seed {}; {dtype:?}",
        step,
        step / steps_per_epoch,
        data.name,
        config.batch,
        config.adam.lr,
        config.seed,
    );
    if let Some(note) = &args.note {
        description = format!("{description}; {note}");
    }
    let score = |bytes: &[u8]| -> Result<TestScores, String> {
        let loaded =
            pollster::block_on(Vae::load(context.clone(), bytes)).map_err(|e| e.to_string())?;
        let draws = pollster::block_on(loaded.evaluate_draws(&shard.test(), args.samples))
            .map_err(|e| e.to_string())?;
        let neg_elbo = draws.iter().map(|e| e.neg_elbo).sum::<f64>() / draws.len() as f64;
        let neg_log_likelihood = match args.iw_samples {
            None => None,
            Some(samples) => {
                let mut engine = pollster::block_on(vae_gpu::GpuEngine::new(loaded))
                    .map_err(|e| e.to_string())?;
                let raw = std::sync::Arc::new(data.bytes.clone());
                pollster::block_on(engine.bind_data(&raw)).map_err(|e| e.to_string())?;
                let images = shard.test().len();
                let estimate = crate::eval::estimate(&mut engine, samples, images)?;
                Some((estimate.neg_log_likelihood, samples))
            }
        };
        Ok(TestScores {
            neg_elbo: Some(neg_elbo),
            neg_log_likelihood,
        })
    };
    // Scored as it will be read: the rounded numbers, loaded back.
    let unscored = pollster::block_on(vae.save_weights(dtype, &description, TestScores::default()))
        .map_err(|e| e.to_string())?;
    let scores = score(&unscored)?;
    let bytes = pollster::block_on(vae.save_weights(dtype, &description, scores))
        .map_err(|e| e.to_string())?;
    let test_neg_elbo = scores.neg_elbo.unwrap_or(f64::NAN);
    std::fs::write(&args.out, &bytes).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "{}: {} bytes, {description}; test −ELBO {test_neg_elbo:.4} nats (mean of {} draws)",
        args.out.display(),
        bytes.len(),
        args.samples
    );
    if let Some((value, samples)) = scores.neg_log_likelihood {
        println!("  test −log p(x) ≤ −L_{samples} = {value:.4} nats");
    }
    Ok(())
}
