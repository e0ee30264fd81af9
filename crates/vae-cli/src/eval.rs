//! `vae eval`: a checkpoint's test −ELBO (BCE + KL) on a data set, averaged over K draws of ε.

use std::path::PathBuf;

use clap::Args;

use crate::common::{context, load_checkpoint, GpuArgs};
use crate::data;

#[derive(Args)]
pub struct EvalArgs {
    /// A checkpoint from `vae train` (or a PyTorch state dict saved with safetensors).
    checkpoint: PathBuf,
    /// The data whose test part is evaluated (as for `vae train`; the bundled shard by default).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Draws of ε per image: the printed figures are the mean over the draws.
    #[arg(long, default_value_t = 1)]
    samples: u32,
    /// Score only the first N images of the test part (all by default): a quick figure, on the
    /// same images as the page's `?subset=…,N`.
    #[arg(long, value_name = "N")]
    test_images: Option<usize>,
    #[command(flatten)]
    gpu: GpuArgs,
}

pub fn run(args: EvalArgs) -> Result<(), String> {
    if args.samples == 0 || args.samples > 1000 {
        return Err(format!(
            "--samples {} must be between 1 and 1000",
            args.samples
        ));
    }
    if args.test_images == Some(0) {
        return Err("--test-images 0: give at least 1 (or leave it out for all)".into());
    }
    let data = data::load(args.data.as_deref())?;
    let shard = data.shard()?;
    let test = args
        .test_images
        .map_or(shard.test(), |count| shard.test().first(count));
    let vae = load_checkpoint(context(&args.gpu)?, &args.checkpoint)?;
    let draws =
        pollster::block_on(vae.evaluate_draws(&test, args.samples)).map_err(|e| e.to_string())?;
    let mean = |f: fn(&vae_model::Evaluation) -> f64| {
        draws.iter().map(f).sum::<f64>() / draws.len() as f64
    };
    let (neg_elbo, bce, kl) = (mean(|e| e.neg_elbo), mean(|e| e.bce), mean(|e| e.kl));
    let spread = if draws.len() > 1 {
        let variance = draws
            .iter()
            .map(|e| (e.neg_elbo - neg_elbo).powi(2))
            .sum::<f64>()
            / (draws.len() - 1) as f64;
        format!(
            " ± {:.3} (standard error over {} draws)",
            (variance / draws.len() as f64).sqrt(),
            draws.len()
        )
    } else {
        String::new()
    };
    println!(
        "{}: test −ELBO {neg_elbo:.4}{spread} nats per image = BCE {bce:.4} + KL {kl:.4}, on {} images of {}",
        args.checkpoint.display(),
        test.len(),
        data.name
    );
    Ok(())
}
