//! The VAE on the CPU: the model of `vae_model` (its training semantics and file format), as
//! the GPU engine runs it, for machines and browsers without WebGPU (or with only an emulated
//! one).
//!
//! Same parameters from the same seed, same batches (the seeded epoch shuffle), same noise (the
//! counter-based generator), same Adam, same metrics and divergence rules, same checkpoints: a
//! run can move between engines. Written for speed on one core: the first layer exploits the
//! binarized input (a sum of W₁'s rows at the lit pixels), the other products run through
//! register-blocked SIMD micro-kernels ([`gemm`]) with fused epilogues, the loss's transcendental
//! functions are vectorisable polynomials, and a training step allocates nothing.

mod batch;
mod checkpoint;
mod engine;
pub mod gemm;
mod inference;
mod interface;
mod iwae;
pub mod lanes;
mod likelihood;
pub mod math;
pub mod params;
pub mod profile;
mod share;
pub mod step;

pub use engine::CpuVae;
pub use inference::EvaluationRun;
pub use interface::{CpuData, CpuEngine};
pub use params::CpuLayout;
pub use share::{Share, StepShare};

/// What can go wrong on the CPU is what the model's own checks refuse: bad settings or inputs,
/// and files that are not checkpoints. There is no device to lose.
pub use vae_model::ModelError as CpuError;

/// Which instruction set the matrix products use in this build, for a page or a log to say.
pub fn simd_in_use() -> &'static str {
    #[cfg(all(
        target_arch = "wasm32",
        any(target_feature = "relaxed-simd", feature = "relaxed-simd")
    ))]
    return "WebAssembly SIMD128 with relaxed-SIMD fused multiply-add";
    #[cfg(all(
        target_arch = "wasm32",
        target_feature = "simd128",
        not(target_feature = "relaxed-simd"),
        not(feature = "relaxed-simd")
    ))]
    return "WebAssembly SIMD128";
    #[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
    return "WebAssembly without SIMD (scalar)";
    #[cfg(target_arch = "x86_64")]
    return if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        "x86-64 AVX2 with FMA"
    } else {
        "x86-64 SSE2"
    };
    #[cfg(target_arch = "aarch64")]
    return "ARM NEON";
    #[cfg(not(any(
        target_arch = "wasm32",
        target_arch = "x86_64",
        target_arch = "aarch64"
    )))]
    return "portable (compiler-vectorised)";
}
