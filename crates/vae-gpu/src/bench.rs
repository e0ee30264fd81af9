//! Benchmarks of the engine on whatever adapter it runs, natively or in a browser: each matmul
//! kernel's GFLOP/s on the model's shapes, a training step, and decoding one latent vector.
//! Timed on the host around submits that are waited for (a small read queued after the work),
//! after a warm-up; the same numbers on every backend.

use std::time::Duration;

pub use crate::kernels::dense::KernelChoice;
use crate::kernels::dense::{DenseBuffers, DenseForward, DenseShape};
use crate::kernels::dense_backward::{
    BackwardInputBuffers, BackwardWeightBuffers, DenseBackwardInput, DenseBackwardWeight,
};
use crate::readback::PendingRead;
use crate::vae::Vae;
use crate::{GpuContext, GpuError};
use vae_model::VaeConfig;

/// One matmul kernel on one shape.
#[derive(Clone, Debug)]
pub struct MatmulResult {
    pub kernel: &'static str,
    /// `m×k×n`: an `m×k` matrix times a `k×n` one.
    pub shape: String,
    pub gflops: f64,
    pub ms: f64,
    /// The first run, pipeline compilation included (what a page waits for at start-up).
    pub first_ms: f64,
}

/// Training, measured over many steps.
#[derive(Clone, Debug)]
pub struct StepResult {
    pub batch: u32,
    pub ms_per_step: f64,
    pub images_per_second: f64,
    /// Host (main-thread) time to encode and submit one step, in chunks of [`STEP_CHUNK`]
    /// steps: the CPU floor under a step, whatever the GPU.
    pub encode_ms_per_step: f64,
    /// The same for a chunk of one step and its fence: what each submit costs besides.
    pub encode_ms_single_step: f64,
    pub dispatches_per_step: u32,
}

/// Steps per submit while timing training.
pub const STEP_CHUNK: u32 = 20;

/// Seconds on a monotonic clock (`performance.now()` in a browser, where `Instant` panics).
fn now() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|window| window.performance())
            .map_or(0.0, |performance| performance.now() / 1000.0)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
    }
}

/// Waits, without blocking a browser, until the work submitted so far is done.
async fn wait(context: &GpuContext, fence: &wgpu::Buffer) -> Result<(), GpuError> {
    PendingRead::copy_of(context, fence, 0, 4, None)
        .bytes()
        .await
        .map(|_| ())
}

fn fence_buffer(context: &GpuContext) -> wgpu::Buffer {
    context.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("bench fence"),
        size: 4,
        usage: wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

fn buffer(context: &GpuContext, floats: usize) -> wgpu::Buffer {
    // Filled with a small constant: timing does not depend on the values, but NaN-free inputs
    // keep every backend on its ordinary path.
    let data = vec![0.01f32; floats.max(1)];
    wgpu::util::DeviceExt::create_buffer_init(
        &context.device,
        &wgpu::util::BufferInitDescriptor {
            label: Some("bench"),
            contents: bytemuck::cast_slice(&data),
            usage: wgpu::BufferUsages::STORAGE,
        },
    )
}

/// Runs `encode` `repeats` times per submit until `budget` has passed (at least 3 submits)
/// and returns the mean time of one repeat.
async fn time_dispatches(
    context: &GpuContext,
    repeats: u32,
    budget: Duration,
    encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
) -> Result<(Duration, Duration), GpuError> {
    let fence = fence_buffer(context);
    let submit = || async {
        let mut encoder = context
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("bench"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("bench"),
                timestamp_writes: None,
            });
            for _ in 0..repeats {
                encode(&mut pass);
            }
        }
        context.queue.submit([encoder.finish()]);
        wait(context, &fence).await
    };
    let start = now();
    submit().await?; // warm-up: pipeline compilation, first-touch of memory
    let first = Duration::from_secs_f64(now() - start);
    let start = now();
    let mut submits = 0u32;
    while submits < 3 || now() - start < budget.as_secs_f64() {
        submit().await?;
        submits += 1;
    }
    Ok((
        Duration::from_secs_f64((now() - start) / f64::from(submits * repeats)),
        first,
    ))
}

/// GFLOP/s of each matmul kernel on the shapes of the default model at `batch`.
pub async fn matmuls(
    context: &GpuContext,
    batch: u32,
    choice: KernelChoice,
    budget: Duration,
) -> Result<Vec<MatmulResult>, GpuError> {
    let forward = DenseForward::with_choice(context, choice).await?;
    let input_grad = DenseBackwardInput::with_choice(context, choice).await?;
    let weight_grad = DenseBackwardWeight::with_choice(context, choice).await?;
    let mut results = Vec::new();
    let b = batch;
    let cases: [(&'static str, u32, u32, u32); 6] = [
        // (kernel, rows, inputs, outputs) of the layer
        ("dense_forward", b, 784, 500),
        ("dense_forward", b, 500, 784),
        ("dense_forward", b, 20, 500),
        ("dense_backward_input", b, 500, 784),
        ("dense_backward_weight", b, 500, 784),
        ("dense_backward_weight", b, 784, 500),
    ];
    for (kernel, rows, inputs, outputs) in cases {
        let (r, i, o) = (rows as usize, inputs as usize, outputs as usize);
        let shape = DenseShape::new(r, i, o, true);
        // Every buffer lives until the timing is done.
        let buffers: Vec<wgpu::Buffer> = match kernel {
            "dense_forward" => vec![r * i, o * i, o, r * o],
            "dense_backward_input" => vec![r * o, o * i, r * i, r * i],
            _ => vec![r * o, r * i, o * i, o],
        }
        .into_iter()
        .map(|floats| buffer(context, floats))
        .collect();
        let whole = |k: usize| buffers[k].as_entire_buffer_binding();
        let (label, binding) = match kernel {
            "dense_forward" => (
                format!("{rows}×{inputs}×{outputs}"),
                forward
                    .bind(
                        context,
                        shape,
                        DenseBuffers {
                            x: whole(0),
                            w: whole(1),
                            b: whole(2),
                            y: whole(3),
                        },
                    )
                    .await?,
            ),
            "dense_backward_input" => (
                format!("{rows}×{outputs}×{inputs}"),
                input_grad
                    .bind(
                        context,
                        shape,
                        BackwardInputBuffers {
                            dy: whole(0),
                            w: whole(1),
                            act: whole(2),
                            dx: whole(3),
                        },
                    )
                    .await?,
            ),
            _ => (
                format!("{outputs}×{rows}×{inputs} (dyᵀ·x)"),
                weight_grad
                    .bind(
                        context,
                        shape,
                        BackwardWeightBuffers {
                            dy: whole(0),
                            x: whole(1),
                            dw: whole(2),
                            db: whole(3),
                        },
                    )
                    .await?,
            ),
        };
        let (time, first) =
            time_dispatches(context, 8, budget, &|pass| binding.encode(pass)).await?;
        let flops = 2.0 * f64::from(rows) * f64::from(inputs) * f64::from(outputs);
        results.push(MatmulResult {
            kernel,
            shape: label,
            gflops: flops / time.as_secs_f64() / 1e9,
            ms: time.as_secs_f64() * 1e3,
            first_ms: first.as_secs_f64() * 1e3,
        });
    }
    Ok(results)
}

/// Training steps of the default model at `config`, on `split`, after a warm-up.
pub async fn training(
    context: GpuContext,
    config: VaeConfig,
    split: &mnist_shard::Split<'_>,
    budget: Duration,
) -> Result<(StepResult, Duration), GpuError> {
    let mut vae = Vae::new(context, config).await?;
    vae.set_training_data(split).await?;
    vae.train_steps(5)?;
    vae.metrics().await?;
    let chunk = STEP_CHUNK;
    let start = now();
    let mut steps = 0u32;
    let mut encoding = 0.0;
    while steps < 3 * chunk || now() - start < budget.as_secs_f64() {
        let encode_start = now();
        vae.train_steps(chunk)?;
        encoding += now() - encode_start;
        // One small read per chunk, as the app does: it also waits for the chunk to finish.
        vae.metrics().await?;
        steps += chunk;
    }
    let per_step = Duration::from_secs_f64((now() - start) / f64::from(steps));
    // One step per submit, with its fence, as a page with a slow GPU queues them.
    let mut single = 0.0;
    let singles = 5;
    for _ in 0..singles {
        let encode_start = now();
        let fence = vae.train_steps_fenced(1)?;
        single += now() - encode_start;
        fence.bytes().await?;
    }
    // Decoding one z: what a latent slider costs, end to end (upload, 2 dispatches, read back).
    let z = vec![0.0f32; config.sizes.latent];
    vae.decode(&z).await?;
    // With a session made once, as the page's sliders use it.
    let session = vae.inference(1).await?;
    vae.request_decode(&session, &z)?.wait().await?;
    let start = now();
    let decodes = 20;
    for _ in 0..decodes {
        vae.request_decode(&session, &z)?.wait().await?;
    }
    let decode = Duration::from_secs_f64((now() - start) / f64::from(decodes));
    Ok((
        StepResult {
            batch: config.batch,
            ms_per_step: per_step.as_secs_f64() * 1e3,
            images_per_second: f64::from(config.batch) / per_step.as_secs_f64(),
            encode_ms_per_step: encoding * 1e3 / f64::from(steps),
            encode_ms_single_step: single * 1e3 / f64::from(singles),
            dispatches_per_step: vae.dispatches_per_step(),
        },
        decode,
    ))
}
