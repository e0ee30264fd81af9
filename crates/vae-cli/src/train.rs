//! `vae train`: the classic VAE on this machine's GPU, epoch by epoch, with the test −ELBO after
//! each, a checkpoint after each, and Ctrl-C that saves before it stops.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vae_model::VaeConfig;
use vae_reference::{AdamConfig, Sizes};

use crate::common::write_checkpoint_file;
use crate::data;
use crate::engine::{self, Blocking, EngineArgs, Start};

#[derive(Args)]
pub struct TrainArgs {
    /// Training data: the bundled shard when left out; else a .shard[.gz] file, a folder of
    /// MNIST IDX files, or a folder (or file) of binarized MNIST .amat[.gz].
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 10)]
    epochs: u64,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    batch: u32,
    /// Adam's learning rate [default: 0.001]; with --resume, a new rate for the rest of the run.
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long, default_value_t = 20)]
    latent: usize,
    /// Units in each hidden layer.
    #[arg(long, default_value_t = 500)]
    hidden: usize,
    /// Seeds the initial parameters, the epoch shuffles and the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// β, the weight of the KL term in the objective (1: the ELBO; the figures printed are the
    /// ELBO's whatever β).
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// K, the draws of z per image a step takes: 1 trains the ELBO (the VAE), K > 1 the
    /// importance-weighted bound L_K (IWAE; the decoder then runs over batch·K rows). The
    /// figures printed are the ELBO's whatever K; `vae eval --iw-samples` estimates the bound.
    #[arg(long, default_value_t = 1)]
    iw_samples: u32,
    /// Where the checkpoint is written after each epoch (and on Ctrl-C).
    #[arg(long, short, default_value = "vae.safetensors")]
    checkpoint: PathBuf,
    /// Go on from this checkpoint (its settings win over the flags above, but for --lr).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Also write the per-epoch curve here, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// One epoch's figures, in nats per image.
struct EpochRecord {
    epoch: u64,
    step: u64,
    train_neg_elbo: f64,
    test_neg_elbo: f64,
    test_bce: f64,
    test_kl: f64,
    seconds: f64,
    /// Wall time spent training, evaluations excluded.
    train_seconds: f64,
}

fn write_json(
    path: &Path,
    config: &VaeConfig,
    data: &str,
    records: &[EpochRecord],
) -> Result<(), String> {
    let epochs: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "    {{\"epoch\": {}, \"step\": {}, \"train_neg_elbo\": {:.4}, \"test_neg_elbo\": {:.4}, \
                 \"test_bce\": {:.4}, \"test_kl\": {:.4}, \"seconds\": {:.2}, \"train_seconds\": {:.2}}}",
                r.epoch,
                r.step,
                r.train_neg_elbo,
                r.test_neg_elbo,
                r.test_bce,
                r.test_kl,
                r.seconds,
                r.train_seconds
            )
        })
        .collect();
    let text = format!(
        "{{\n  \"data\": {:?},\n  \"batch\": {},\n  \"importance_samples\": {},\n  \"lr\": {},\n  \
         \"latent\": {},\n  \"hidden\": {},\n  \"seed\": {},\n  \"epochs\": [\n{}\n  ]\n}}\n",
        data,
        config.batch,
        config.importance_samples,
        config.adam.lr,
        config.sizes.latent,
        config.sizes.hidden,
        config.seed,
        epochs.join(",\n")
    );
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// What a run minimises, for its first line.
fn objective_name(config: &VaeConfig) -> String {
    if config.is_iwae() {
        format!(
            "the IWAE objective −L_{k} (K = {k} draws per image)",
            k = config.importance_samples
        )
    } else if config.kl_weight != 1.0 {
        format!("the β-objective (β = {})", config.kl_weight)
    } else {
        "the −ELBO".to_string()
    }
}

pub fn run(args: TrainArgs) -> Result<(), String> {
    let data = data::load(args.data.as_deref())?;
    let shard = data.shard()?;
    let resumed = match &args.resume {
        Some(path) => Some(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let mut vae = match &resumed {
        Some(bytes) => engine::open(&args.engine, Start::Resume { bytes, lr: args.lr })?,
        None => {
            let config = VaeConfig {
                sizes: Sizes {
                    input: shard.train().values_per_image(),
                    hidden: args.hidden,
                    latent: args.latent,
                },
                batch: args.batch,
                adam: AdamConfig {
                    lr: args.lr.unwrap_or(AdamConfig::default().lr),
                    ..AdamConfig::default()
                },
                seed: args.seed,
                kl_weight: args.beta,
                importance_samples: args.iw_samples,
                image: Some(vae_model::ImageShape::of(&shard.train())),
            };
            engine::open(&args.engine, Start::Fresh(config))?
        }
    };
    let config = *vae.config();
    vae.bind_shard(&Arc::new(data.bytes.clone()))?;
    let per_epoch = vae.steps_per_epoch().unwrap_or(1);
    let total = args.epochs * per_epoch;
    eprintln!(
        "training on {} ({} training, {} test images), {} epochs of {per_epoch} steps, batch {}, \
         lr {}, {} → {} → {}, seed {}, minimising {}; on {}",
        data.name,
        shard.train().len(),
        shard.test().len(),
        args.epochs,
        config.batch,
        config.adam.lr,
        config.sizes.input,
        config.sizes.hidden,
        config.sizes.latent,
        config.seed,
        objective_name(&config),
        vae.engine_name(),
    );

    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| format!("cannot catch Ctrl-C: {e}"))?;

    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:32}] {pos}/{len} steps  {msg}  ETA {eta}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    bar.set_position(vae.step());
    let mut records = Vec::new();
    let mut epoch_losses = Vec::new();
    let started = Instant::now();
    let mut evaluating = Duration::ZERO;
    let mut last = (Instant::now(), vae.step());
    while vae.step() < total {
        if interrupted.load(Ordering::SeqCst) {
            bar.abandon();
            write_checkpoint_file(vae.save()?, &args.checkpoint)?;
            eprintln!(
                "interrupted at step {}: saved to {} (resume with --resume)",
                vae.step(),
                args.checkpoint.display()
            );
            return Ok(());
        }
        let (epoch, done) = vae.epoch_progress().unwrap_or((1, 0));
        bar.set_prefix(format!("epoch {epoch}"));
        let n = (per_epoch - done).min(50) as u32;
        vae.train_steps(n)?;
        let report = vae.metrics()?;
        if let Some(at) = report.diverged_at {
            bar.abandon();
            return Err(format!(
                "training diverged at step {at} (the loss became NaN or infinite); the last \
                 checkpoint ({}) was left as it was: lower --lr (now {}) and try again",
                args.checkpoint.display(),
                config.adam.lr
            ));
        }
        epoch_losses.extend(report.steps.iter().map(|m| f64::from(m.neg_elbo)));
        let now = Instant::now();
        let images = (vae.step() - last.1) * u64::from(config.batch);
        let rate = images as f64 / now.duration_since(last.0).as_secs_f64().max(1e-9);
        last = (now, vae.step());
        if let Some(latest) = report.steps.last() {
            bar.set_message(format!(
                "−ELBO {:.1}  {:.0} images/s",
                latest.neg_elbo, rate
            ));
        }
        bar.set_position(vae.step());
        if done + u64::from(n) == per_epoch {
            let evaluation_started = Instant::now();
            let test = vae.evaluate()?;
            evaluating += evaluation_started.elapsed();
            let train_mean = epoch_losses.iter().sum::<f64>() / epoch_losses.len().max(1) as f64;
            epoch_losses.clear();
            write_checkpoint_file(vae.save()?, &args.checkpoint)?;
            let record = EpochRecord {
                epoch,
                step: vae.step(),
                train_neg_elbo: train_mean,
                test_neg_elbo: test.neg_elbo,
                test_bce: test.bce,
                test_kl: test.kl,
                seconds: started.elapsed().as_secs_f64(),
                train_seconds: (started.elapsed() - evaluating).as_secs_f64(),
            };
            bar.suspend(|| {
                println!(
                    "epoch {:>3}  step {:>6}  train −ELBO {:>7.2}  test −ELBO {:>7.2} (BCE {:.2} + KL {:.2})  {:.0} s",
                    record.epoch,
                    record.step,
                    record.train_neg_elbo,
                    record.test_neg_elbo,
                    record.test_bce,
                    record.test_kl,
                    record.seconds
                )
            });
            records.push(record);
            if let Some(path) = &args.json {
                write_json(path, &config, &data.name, &records)?;
            }
        }
    }
    bar.finish_and_clear();
    eprintln!("done: checkpoint in {}", args.checkpoint.display());
    Ok(())
}
