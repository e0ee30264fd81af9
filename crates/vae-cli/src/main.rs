//! `vae`: the VAE lab on the command line, running the same WGSL kernels as the browser.

mod bench;
mod common;
mod data;
mod engine;
mod eval;
mod export;
mod import;
mod sample;
mod shard;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vae_gpu::{selftest, GpuContext, GpuError};

#[derive(Parser)]
#[command(
    name = "vae",
    version,
    about = "Train and run a VAE on your GPU with our own WGSL kernels"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the GPU adapter wgpu picks (narrow it with WGPU_BACKEND=vulkan|metal|dx12|gl) and
    /// check our kernels on it against the CPU reference.
    Info,
    /// Measure the engine on this adapter: matmul GFLOP/s, ms per training step, decode latency,
    /// and PyTorch on the CPU in the same run when it is installed.
    Bench(bench::BenchArgs),
    /// Train the VAE (the bundled data by default), with the test −ELBO and a checkpoint after
    /// every epoch; Ctrl-C saves and stops.
    Train(train::TrainArgs),
    /// A checkpoint's test −ELBO (BCE + KL), averaged over draws of ε.
    Eval(eval::EvalArgs),
    /// A checkpoint's parameters alone in F16 or BF16, scored on the test set: the compact
    /// file the page ships as its pretrained model.
    Export(export::ExportArgs),
    /// PNG grids of a checkpoint's samples from the prior, reconstructions, and a latent sweep.
    Sample(sample::SampleArgs),
    /// A data set from your own images (PNG, JPEG, WebP, GIF, BMP files and folders, IDX files,
    /// NumPy .npy arrays): resized, binarized and split into a shard `vae train --data` takes.
    Data(import::DataArgs),
    /// Build or inspect the bundled MNIST shard (`web/mnist.shard.gz`).
    #[command(subcommand)]
    Shard(shard::ShardCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info => pollster::block_on(info()).map_err(|error| error.to_string()),
        Command::Shard(command) => shard::run(command).map(|()| ExitCode::SUCCESS),
        Command::Data(args) => import::run(args).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(args).map(|()| ExitCode::SUCCESS),
        Command::Train(args) => train::run(args).map(|()| ExitCode::SUCCESS),
        Command::Eval(args) => eval::run(args).map(|()| ExitCode::SUCCESS),
        Command::Export(args) => export::run(args).map(|()| ExitCode::SUCCESS),
        Command::Sample(args) => sample::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn info() -> Result<ExitCode, GpuError> {
    let context = GpuContext::new().await?;
    let adapter = &context.adapter;
    println!("adapter:  {}", adapter.name);
    println!("backend:  {}", adapter.backend);
    if !adapter.driver.is_empty() {
        println!("driver:   {}", adapter.driver);
    }
    if adapter.is_software {
        println!("note:     a software (CPU) adapter: correct, but far slower than a real GPU");
    }
    let limits = &context.limits;
    println!(
        "limits:   {} storage buffers per stage, {} MiB per storage binding, {} invocations per workgroup",
        limits.max_storage_buffers_per_shader_stage,
        limits.max_storage_buffer_binding_size / (1 << 20),
        limits.max_compute_invocations_per_workgroup,
    );
    let check = selftest::check_dense_forward(&context).await?;
    let verdict = if check.passed() { "ok" } else { "FAILED" };
    println!(
        "kernel:   {} on {}: max |GPU − CPU| = {:.2e} (tolerance {:.2e}) {verdict}",
        check.kernel, check.shape, check.max_abs_error, check.tolerance
    );
    Ok(if check.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
