//! The small kernels of a training step besides the dense products: the step counter, the
//! reparameterisation and its backward, the BCE loss, the metrics ring and Adam. Each takes the
//! standard binding convention ([`Kernel`]); their uniforms are built here.

use super::Kernel;
use crate::{shaders, GpuContext, GpuError};

/// Parameters one invocation of adam.wgsl updates: 16 vec4s (its VEC4S_PER_INVOCATION), in
/// workgroups of 64.
pub const ADAM_PER_WORKGROUP: u32 = 16 * 4 * 64;
/// Invocations per workgroup of the per-row and per-element kernels.
pub const ROW_WORKGROUP: u32 = 64;

pub struct StepKernels {
    pub advance_step: Kernel,
    pub reparameterize: Kernel,
    pub reparameterize_backward: Kernel,
    pub bce_loss: Kernel,
    pub metrics: Kernel,
    pub adam: Kernel,
}

impl StepKernels {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        Ok(Self {
            advance_step: Kernel::new(context, &shaders::ADVANCE_STEP, &[]).await?,
            reparameterize: Kernel::new(context, &shaders::REPARAMETERIZE, &[]).await?,
            reparameterize_backward: Kernel::new(context, &shaders::REPARAMETERIZE_BACKWARD, &[])
                .await?,
            bce_loss: Kernel::new(context, &shaders::BCE_LOSS, &[]).await?,
            metrics: Kernel::new(context, &shaders::METRICS, &[]).await?,
            adam: Kernel::new(context, &shaders::ADAM, &[]).await?,
        })
    }
}

fn words<const N: usize>(values: [u32; N]) -> Vec<u8> {
    bytemuck::cast_slice(&values).to_vec()
}

/// `{ rows, width, 0, 0 }`: metrics (width = ring slots), scale_rows (columns).
pub fn rows_uniform(rows: u32, width: u32) -> Vec<u8> {
    words([rows, width, 0, 0])
}

/// bce_loss.wgsl's `{ rows, pixels, samples, scale }`: rows decode draws of image row / samples,
/// and the gradient at the logits is (σ − x)·scale.
pub fn bce_uniform(rows: u32, pixels: u32, samples: u32, scale: f32) -> Vec<u8> {
    words([rows, pixels, samples, scale.to_bits()])
}

/// iwae_weights.wgsl's `{ images, samples, 1/B, 0 }` and iwae_backward.wgsl's
/// `{ images, latent, samples, 1/B }`.
pub fn iwae_weights_uniform(images: u32, samples: u32) -> Vec<u8> {
    words([images, samples, (1.0 / images as f32).to_bits(), 0])
}

pub fn iwae_backward_uniform(images: u32, latent: u32, samples: u32) -> Vec<u8> {
    words([images, latent, samples, (1.0 / images as f32).to_bits()])
}

/// The IWAE step's three kernels, compiled for tests (the engine compiles them when a model
/// with K > 1 is first built): iwae_weights, scale_rows, iwae_backward.
pub async fn iwae_kernels(context: &GpuContext) -> Result<[Kernel; 3], GpuError> {
    Ok([
        Kernel::new(context, &shaders::IWAE_WEIGHTS, &[]).await?,
        Kernel::new(context, &shaders::SCALE_ROWS, &[]).await?,
        Kernel::new(context, &shaders::IWAE_BACKWARD, &[]).await?,
    ])
}

/// reparameterize_backward.wgsl's `{ rows, latent, kl_weight, 0 }`.
pub fn reparameterize_backward_uniform(rows: u32, latent: u32, kl_weight: f32) -> Vec<u8> {
    words([rows, latent, kl_weight.to_bits(), 0])
}

/// latent_lines.wgsl's `{ lines, points, latent, 0 }`.
pub fn latent_lines_uniform(lines: u32, points: u32, latent: u32) -> Vec<u8> {
    words([lines, points, latent, 0])
}

/// The compiled latent_lines.wgsl, for tests (the engine compiles it on first use).
pub async fn latent_lines_kernel(context: &GpuContext) -> Result<Kernel, GpuError> {
    Kernel::new(context, &shaders::LATENT_LINES, &[]).await
}

/// advance_step.wgsl's `{ increment }`.
pub fn advance_uniform(increment: u32) -> Vec<u8> {
    words([increment, 0, 0, 0])
}

/// reparameterize.wgsl's `{ rows, latent, seed_low, seed_high, samples, 0, 0, 0 }`: `rows`
/// draws, `samples` per image.
pub fn reparameterize_uniform(rows: u32, latent: u32, seed: u64, samples: u32) -> Vec<u8> {
    words([
        rows,
        latent,
        seed as u32,
        (seed >> 32) as u32,
        samples,
        0,
        0,
        0,
    ])
}

/// adam.wgsl's `{ count, lr, beta1, beta2, epsilon, padding }`.
pub fn adam_uniform(count: u32, lr: f32, beta1: f32, beta2: f32, epsilon: f32) -> Vec<u8> {
    words([
        count,
        lr.to_bits(),
        beta1.to_bits(),
        beta2.to_bits(),
        epsilon.to_bits(),
        0,
        0,
        0,
    ])
}

/// Workgroups covering `count` invocations of `per_group`, spread over x and y so that neither
/// passes WebGPU's 65,535 limit (the kernels recompute the flat index from both).
pub fn spread_workgroups(count: u32, per_group: u32) -> (u32, u32) {
    let groups = count.div_ceil(per_group).max(1);
    if groups <= 65_535 {
        (groups, 1)
    } else {
        (65_535, groups.div_ceil(65_535))
    }
}
