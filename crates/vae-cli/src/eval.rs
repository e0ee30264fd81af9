//! `vae eval`: a checkpoint's test −ELBO (BCE + KL) on a data set, averaged over draws of ε, and
//! with `--iw-samples K` the importance-weighted estimate of the test log-likelihood beside it.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vae_model::{Engine, LikelihoodEstimate};

use crate::common::load_checkpoint;
use crate::data;
use crate::engine::{self, Blocking, EngineArgs, Start};

/// Decoder rows a request of the estimate holds (K per image): a few thousand keeps a GPU busy
/// and a progress bar moving.
const ROWS_PER_REQUEST: usize = 4096;

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
    /// Also estimate the test log-likelihood with K importance samples per image (the
    /// importance-weighted bound L_K of Burda et al. 2015; K = 5000 is the papers' convention):
    /// −L_K is printed with its standard error over the images.
    #[arg(long, value_name = "K")]
    iw_samples: Option<u32>,
    /// Score only the first N images of the test part (all by default): a quick figure, on the
    /// same images as the page's `?subset=…,N`.
    #[arg(long, value_name = "N")]
    test_images: Option<usize>,
    #[command(flatten)]
    engine: EngineArgs,
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
    if let Some(samples) = args.iw_samples {
        let most = vae_model::likelihood::MAX_IMPORTANCE_SAMPLES;
        if samples == 0 || samples > most {
            return Err(format!(
                "--iw-samples {samples} must be between 1 and {most}"
            ));
        }
    }
    let data = data::load(args.data.as_deref())?;
    let shard = data.shard()?;
    let test = args
        .test_images
        .map_or(shard.test(), |count| shard.test().first(count));
    let on = format!("on {} images of {}", test.len(), data.name);
    if args.samples > 1 {
        if args.engine.is_cpu() {
            return Err("--samples above 1 runs on the GPU: leave out --backend cpu".into());
        }
        let vae = load_checkpoint(args.engine.gpu_context()?, &args.checkpoint)?;
        let draws = pollster::block_on(vae.evaluate_draws(&test, args.samples))
            .map_err(|e| e.to_string())?;
        print_elbo(&args, &draws, &on);
        return Ok(());
    }
    // One draw: through the model's interface, on whichever engine --backend names, on a shard
    // whose test part is the images scored.
    let bytes = std::fs::read(&args.checkpoint)
        .map_err(|e| format!("{}: {e}", args.checkpoint.display()))?;
    let mut model = engine::open(
        &args.engine,
        Start::Resume {
            bytes: &bytes,
            lr: None,
        },
    )
    .map_err(|e| format!("{}: {e}", args.checkpoint.display()))?;
    let scored = mnist_shard::build::subset(&shard, shard.train().len(), test.len())
        .map_err(|e| e.to_string())?;
    model.bind_shard(&Arc::new(scored))?;
    let evaluation = model.evaluate()?;
    print_elbo(&args, &[evaluation], &on);
    if let Some(samples) = args.iw_samples {
        let estimate = estimate(model.as_mut(), samples, test.len())?;
        println!(
            "{}: test −log p(x) ≤ −L_{samples} = {:.4} ± {:.4} nats per image (importance-weighted \
             bound, K = {samples}; standard error over images), {on}, on {}",
            args.checkpoint.display(),
            estimate.neg_log_likelihood,
            estimate.standard_error,
            model.engine_name()
        );
    }
    Ok(())
}

fn print_elbo(args: &EvalArgs, draws: &[vae_model::Evaluation], on: &str) {
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
        "{}: test −ELBO {neg_elbo:.4}{spread} nats per image = BCE {bce:.4} + KL {kl:.4}, {on}",
        args.checkpoint.display(),
    );
}

/// The estimate over the first `images` bound test images, with a progress bar on a terminal.
pub(crate) fn estimate(
    model: &mut dyn Engine,
    samples: u32,
    images: usize,
) -> Result<LikelihoodEstimate, String> {
    let bar = ProgressBar::new(images as u64).with_style(
        ProgressStyle::with_template("estimating log p(x) {bar:30} {pos}/{len} images, {eta} left")
            .map_err(|e| e.to_string())?,
    );
    let estimate =
        vae_model::likelihood::estimate(model, samples, images, ROWS_PER_REQUEST, |done| {
            bar.set_position(done as u64)
        });
    let estimate = pollster::block_on(estimate).map_err(|e| e.to_string());
    bar.finish_and_clear();
    estimate
}
