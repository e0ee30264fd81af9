//! A kernel check any front end can run on the device it got: the GPU result against the CPU
//! reference (`vae-reference`), on fixed seeded data. The app shows it on load, the CLI prints it.

use vae_reference::{dense_forward, Activation, SplitMix64};

use crate::kernels::dense::{DenseForward, DenseShape};
use crate::{GpuContext, GpuError};

/// The outcome of comparing one kernel with the CPU reference.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelCheck {
    pub kernel: &'static str,
    pub shape: String,
    pub max_abs_error: f32,
    pub tolerance: f32,
}

impl KernelCheck {
    pub fn passed(&self) -> bool {
        // Written so that a NaN error fails.
        self.max_abs_error <= self.tolerance
    }
}

/// Runs `shaders/dense_forward.wgsl` as the encoder's first layer (784 → 500, ReLU) on 37 rows:
/// more than a register block (so the batch kernel, with its lanes sharing loads where the
/// adapter allows, not the one-row kernel) and an odd count that leaves a partial block, with
/// inputs and weights in the ranges of real use (pixels in [0, 1), PyTorch's default init
/// ±1/√784).
pub async fn check_dense_forward(context: &GpuContext) -> Result<KernelCheck, GpuError> {
    const ROWS: u32 = 37;
    let shape = DenseShape::new(ROWS as usize, 784, 500, true);
    let (rows, inputs, outputs) = (ROWS as usize, 784, 500);
    let mut rng = SplitMix64::new(2);
    let bound = 1.0 / (inputs as f32).sqrt();
    let x = rng.uniform_vec(rows * inputs, 0.0, 1.0);
    let w = rng.uniform_vec(outputs * inputs, -bound, bound);
    let b = rng.uniform_vec(outputs, -bound, bound);

    let kernel = DenseForward::new(context).await?;
    let gpu = kernel.run(context, shape, &x, &w, &b).await?;
    let cpu = dense_forward(&x, &w, &b, rows, inputs, outputs, Activation::Relu);
    Ok(KernelCheck {
        kernel: "dense_forward.wgsl",
        shape: format!("{rows}×{inputs} · ({outputs}×{inputs})ᵀ + b, ReLU"),
        max_abs_error: max_abs_difference(&gpu, &cpu),
        tolerance: dense_tolerance(inputs, &cpu),
    })
}

/// The largest |a − b|, NaN if any element is NaN (so a broken kernel cannot pass).
pub fn max_abs_difference(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::NAN;
    }
    a.iter().zip(b).fold(0.0f32, |max, (&x, &y)| {
        let difference = (x - y).abs();
        if difference.is_nan() || max.is_nan() {
            f32::NAN
        } else {
            max.max(difference)
        }
    })
}

/// Tolerance for an f32 dot product of `inputs` terms against an f64 reference: rounding errors
/// grow like √n times the unit roundoff times the magnitude of the result; 8× that leaves room for
/// a different summation order on every GPU.
pub fn dense_tolerance(inputs: usize, reference: &[f32]) -> f32 {
    let magnitude = reference.iter().fold(1.0f32, |max, v| max.max(v.abs()));
    8.0 * f32::EPSILON * (inputs as f32).sqrt() * magnitude
}
