//! `vae bench`: the engine's speed on this machine's adapter, with PyTorch on the CPU measured in
//! the same run as the baseline when it is installed.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;
use mnist_shard::{decompress, Shard};
use vae_gpu::kernels::dense::MatmulStrategy;
use vae_gpu::{bench, GpuContext};
use vae_model::VaeConfig;

#[derive(Args)]
pub struct BenchArgs {
    /// Images per training step.
    #[arg(long, default_value_t = 128)]
    batch: u32,
    /// Seconds to spend on each measurement (after a warm-up).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// The Python with PyTorch to time the same step on the CPU; "none" to skip.
    #[arg(long, default_value = "python3")]
    python: String,
    /// How the matmul kernels multiply: "registers" (register blocks, what software GPUs get) or
    /// "tiles" (shared-memory tiles, what real GPUs get); the adapter's own choice by default.
    #[arg(long, value_parser = ["registers", "tiles"])]
    matmul: Option<String>,
    /// The shard whose images are trained on.
    #[arg(long, default_value = "web/mnist.shard.gz")]
    data: PathBuf,
    /// "cpu": time the CPU engine (crates/vae-cpu, one thread) instead of the GPU engine.
    #[arg(long, value_parser = ["cpu"])]
    backend: Option<String>,
    /// Also time the IWAE training step with K draws per image (its decoder runs over batch·K
    /// rows), against the VAE's step timed in the same run.
    #[arg(long, default_value_t = 1)]
    iw_samples: u32,
}

/// A training step's MFLOP of the 784-500-20 model at `batch` images of `samples` draws each
/// (`VaeConfig::step_flop`).
fn step_mflop(batch: u32, samples: u32) -> f64 {
    VaeConfig {
        batch,
        importance_samples: samples,
        ..VaeConfig::default()
    }
    .step_flop()
        / 1e6
}

/// Floating-point operations of one decoder row of the 784-500-20 model (20·500 + 500·784
/// multiply-adds): the log-likelihood estimate's work per draw.
const DECODER_ROW_FLOP: f64 = 2.0 * (20.0 * 500.0 + 500.0 * 784.0);
/// Draws per digit the estimate is timed at: the papers' convention.
const ESTIMATE_SAMPLES: u32 = 5000;

/// The log-likelihood estimate on `engine` (a fresh 784-500-20 model) at K = 5,000, timed over
/// about `budget` after one digit's warm-up, printed against the training step's FLOP/s.
fn likelihood_throughput(
    mut engine: Box<dyn vae_model::Engine>,
    raw: &[u8],
    step_gflops: f64,
    budget: Duration,
) -> Result<(), String> {
    pollster::block_on(engine.bind_data(&std::sync::Arc::new(raw.to_vec())))
        .map_err(|e| e.to_string())?;
    let estimate = |engine: &mut dyn vae_model::Engine, images| {
        let run = vae_model::likelihood::estimate(engine, ESTIMATE_SAMPLES, images, 4096, |_| {});
        pollster::block_on(run).map_err(|e| e.to_string())
    };
    estimate(engine.as_mut(), 1)?;
    // Twice the digits until one estimate takes the budget (or covers the test set).
    let mut images = 1;
    loop {
        let started = Instant::now();
        estimate(engine.as_mut(), images)?;
        let seconds = started.elapsed().as_secs_f64();
        if seconds >= budget.as_secs_f64() || images >= 10_000 {
            let gflops =
                f64::from(ESTIMATE_SAMPLES) * images as f64 * DECODER_ROW_FLOP / seconds / 1e9;
            println!(
                "  log-likelihood estimate, K = {ESTIMATE_SAMPLES} ({}): {:.0} ms a digit, \
                 {gflops:.1} GFLOP/s at {:.0} kFLOP a draw: {:.0} % of the training step's",
                engine.engine_name(),
                seconds * 1e3 / images as f64,
                DECODER_ROW_FLOP / 1e3,
                100.0 * gflops / step_gflops
            );
            return Ok(());
        }
        images = (images * 2).min(10_000);
    }
}

/// ", IWAE with K = …" for an IWAE step; nothing for the VAE's.
fn objective(config: &VaeConfig) -> String {
    if config.is_iwae() {
        format!(", IWAE with K = {}", config.importance_samples)
    } else {
        String::new()
    }
}

/// The IWAE step against the VAE's, both timed in this run.
fn iwae_ratio(vae_ms: f64, iwae_ms: f64, samples: u32) {
    println!(
        "  the IWAE step (K = {samples}) takes {:.2}× the VAE step's time, for {:.2}× its FLOPs",
        iwae_ms / vae_ms,
        step_mflop(1, samples) / step_mflop(1, 1)
    );
}

/// The CPU engine's training step and decode, timed over `budget` after a warm-up.
fn cpu_engine(config: VaeConfig, shard: &Shard<'_>, budget: Duration) -> Result<f64, String> {
    let mut vae = vae_cpu::CpuVae::new(config).map_err(|e| e.to_string())?;
    vae.set_training_data(&shard.train())
        .map_err(|e| e.to_string())?;
    vae.train_steps(3).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut steps = 0u32;
    while started.elapsed() < budget {
        vae.train_steps(5).map_err(|e| e.to_string())?;
        vae.metrics_with(vae_model::Snapshot::Skip);
        steps += 5;
    }
    let ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(steps);
    println!(
        "CPU engine ({}, one thread), training step (784-500-20, batch {}{}):",
        vae_cpu::simd_in_use(),
        config.batch,
        objective(&config)
    );
    let mflop = step_mflop(config.batch, config.importance_samples);
    println!(
        "  {ms:.2} ms/step, {:.0} images/s, {:.1} GFLOP/s at {mflop:.0} MFLOP a step",
        f64::from(config.batch) * 1e3 / ms,
        mflop / ms
    );
    let z = vec![0.5f32; config.sizes.latent];
    let started = Instant::now();
    for _ in 0..100 {
        vae.decode(&z).map_err(|e| e.to_string())?;
    }
    println!(
        "  decode one z: {:.3} ms",
        started.elapsed().as_secs_f64() * 10.0
    );
    Ok(ms)
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    let bytes = std::fs::read(&args.data).map_err(|e| format!("{}: {e}", args.data.display()))?;
    let name = args.data.display().to_string();
    let raw = decompress(&bytes, &name).map_err(|e| e.to_string())?;
    let shard = Shard::parse(&raw, &name).map_err(|e| e.to_string())?;
    if args.backend.as_deref() == Some("cpu") {
        let config = VaeConfig {
            batch: args.batch,
            ..VaeConfig::default()
        };
        let ms = cpu_engine(config, &shard, budget)?;
        if args.iw_samples > 1 {
            let iwae = VaeConfig {
                importance_samples: args.iw_samples,
                ..config
            };
            iwae_ratio(ms, cpu_engine(iwae, &shard, budget)?, args.iw_samples);
        }
        let engine = vae_cpu::CpuEngine::open(vae_model::engine::Opening::Fresh(config))
            .map_err(|e| e.to_string())?;
        let step_gflops = step_mflop(config.batch, 1) / ms;
        likelihood_throughput(Box::new(engine), &raw, step_gflops, budget)?;
        torch_baseline(&args, ms);
        return Ok(());
    }

    let context = pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?;
    let adapter = context.adapter.clone();
    println!(
        "adapter: {} ({}{})",
        adapter.name,
        adapter.backend,
        if adapter.is_software {
            ", software"
        } else {
            ""
        }
    );
    let strategy = args.matmul.as_deref().map(|name| match name {
        "tiles" => MatmulStrategy::SharedTiles,
        _ => MatmulStrategy::RegisterBlocks,
    });
    let chosen = strategy.unwrap_or_else(|| MatmulStrategy::for_adapter(&context));
    println!("\nmatmul kernels ({chosen:?}, batch {}):", args.batch);
    let choice = strategy.map_or(bench::KernelChoice::Adapter, bench::KernelChoice::Strategy);
    let matmuls = pollster::block_on(bench::matmuls(&context, args.batch, choice, budget))
        .map_err(|e| e.to_string())?;
    for m in &matmuls {
        println!(
            "  {:<22} {:<26} {:>8.2} GFLOP/s  {:>8.3} ms",
            m.kernel, m.shape, m.gflops, m.ms
        );
    }
    let config = VaeConfig {
        batch: args.batch,
        ..VaeConfig::default()
    };
    let (step, decode) = pollster::block_on(bench::training(
        context.clone(),
        config,
        &shard.train(),
        budget,
    ))
    .map_err(|e| e.to_string())?;
    println!("\ntraining step (784-500-20, batch {}):", step.batch);
    println!(
        "  {:.2} ms/step, {:.0} images/s",
        step.ms_per_step, step.images_per_second
    );
    println!(
        "  host time to encode a step: {:.4} ms in submits of {} steps, {:.4} ms alone with its \
         fence ({} dispatches a step)",
        step.encode_ms_per_step,
        bench::STEP_CHUNK,
        step.encode_ms_single_step,
        step.dispatches_per_step
    );
    println!(
        "  decode one z (upload, decoder, read back): {:.3} ms",
        decode.as_secs_f64() * 1e3
    );
    println!(
        "  {:.1} GFLOP/s at {:.0} MFLOP a step",
        step_mflop(step.batch, 1) / step.ms_per_step,
        step_mflop(step.batch, 1)
    );
    if args.iw_samples > 1 {
        let iwae = VaeConfig {
            importance_samples: args.iw_samples,
            ..config
        };
        let (iwae_step, _) = pollster::block_on(bench::training(
            context.clone(),
            iwae,
            &shard.train(),
            budget,
        ))
        .map_err(|e| e.to_string())?;
        let mflop = step_mflop(iwae.batch, iwae.importance_samples);
        println!(
            "\ntraining step (784-500-20, batch {}{}):\n  {:.2} ms/step, {:.0} images/s, \
             {:.1} GFLOP/s at {mflop:.0} MFLOP a step ({} dispatches a step)",
            iwae.batch,
            objective(&iwae),
            iwae_step.ms_per_step,
            iwae_step.images_per_second,
            mflop / iwae_step.ms_per_step,
            iwae_step.dispatches_per_step
        );
        iwae_ratio(step.ms_per_step, iwae_step.ms_per_step, args.iw_samples);
    }
    let engine = pollster::block_on(vae_gpu::GpuEngine::open(
        context,
        vae_model::engine::Opening::Fresh(config),
    ))
    .map_err(|e| e.to_string())?;
    let step_gflops = step_mflop(step.batch, 1) / step.ms_per_step;
    likelihood_throughput(Box::new(engine), &raw, step_gflops, budget)?;

    torch_baseline(&args, step.ms_per_step);
    Ok(())
}

/// PyTorch on the CPU, the same step in the same run, against `ours_ms`: skipped with a line
/// saying why when that Python cannot run it.
fn torch_baseline(args: &BenchArgs, ours_ms: f64) {
    if args.python != "none" {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/reference/bench_torch.py");
        let output = Command::new(&args.python)
            .arg(&script)
            .args([
                "--batch",
                &args.batch.to_string(),
                "--seconds",
                &args.seconds.to_string(),
            ])
            .output();
        match output {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout);
                let ms = text
                    .split("\"ms_per_step\": ")
                    .nth(1)
                    .and_then(|rest| rest.split([',', '}']).next())
                    .and_then(|n| n.trim().parse::<f64>().ok());
                match ms {
                    Some(ms) => println!(
                        "\nPyTorch on the CPU, same step, same run: {ms:.2} ms/step ({})\n  ratio PyTorch/ours: {:.2}× (above 1: we are faster)",
                        text.trim(),
                        ms / ours_ms
                    ),
                    None => println!("\nPyTorch baseline: unreadable output {text}"),
                }
            }
            Ok(out) => println!(
                "\nPyTorch baseline skipped: {} could not run it ({})",
                args.python,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("no message")
            ),
            Err(error) => println!("\nPyTorch baseline skipped: {}: {error}", args.python),
        }
    }
}
