//! `shaders/dense_forward.wgsl` on a real adapter (lavapipe in CI) against `vae-reference`.
//!
//! A missing adapter fails these tests with the driver to install: a GPU test that skips itself
//! silently would let a broken kernel through.

use vae_gpu::kernels::dense::{DenseForward, DenseShape, KernelChoice};
use vae_gpu::selftest::{check_dense_forward, dense_tolerance, max_abs_difference};
use vae_gpu::{GpuContext, GpuError};
use vae_reference::{dense_forward, Activation, SplitMix64};

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn smoke_the_engine_gets_an_adapter_and_its_kernel_matches_the_cpu() {
    let context = context();
    eprintln!(
        "adapter: {} ({}, software: {})",
        context.adapter.name, context.adapter.backend, context.adapter.is_software
    );
    assert!(!context.adapter.name.is_empty());
    let check = pollster::block_on(check_dense_forward(&context)).unwrap();
    assert!(check.passed(), "{check:?}");
}

#[test]
fn dense_forward_matches_the_reference_on_awkward_shapes() {
    let context = context();
    // Every form, as each kind of adapter gets it, so each is checked wherever the tests run.
    for choice in KernelChoice::EVERY_FORM {
        let kernel = pollster::block_on(DenseForward::with_choice(&context, choice)).unwrap();
        check_forward(&context, choice, &kernel);
    }
}

fn check_forward(context: &GpuContext, strategy: impl std::fmt::Debug, kernel: &DenseForward) {
    let mut rng = SplitMix64::new(11);
    // (rows, inputs, outputs): single elements, sizes that leave partial 4×4 blocks and partial
    // 64×16 workgroup tiles, and the model's real layers at batch 128 and 129.
    let shapes = [
        (1, 1, 1),
        (1, 7, 1),
        (7, 1, 7),
        (3, 5, 2),
        (129, 20, 500),
        (128, 784, 500),
        (129, 500, 20),
        (5, 500, 784),
        // One latent vector decoded, as a slider does (the thin kernel on register blocks).
        (1, 20, 500),
        (1, 500, 784),
        (2, 784, 500),
    ];
    for (index, &(rows, inputs, outputs)) in shapes.iter().enumerate() {
        let relu = index % 2 == 0;
        let x = rng.uniform_vec(rows * inputs, -1.0, 1.0);
        let w = rng.uniform_vec(outputs * inputs, -1.0, 1.0);
        let b = rng.uniform_vec(outputs, -1.0, 1.0);
        let shape = DenseShape::new(rows, inputs, outputs, relu);
        let gpu = pollster::block_on(kernel.run(context, shape, &x, &w, &b)).unwrap();
        let activation = if relu {
            Activation::Relu
        } else {
            Activation::Identity
        };
        let cpu = dense_forward(&x, &w, &b, rows, inputs, outputs, activation);
        let error = max_abs_difference(&gpu, &cpu);
        let tolerance = dense_tolerance(inputs, &cpu);
        assert!(
            error <= tolerance,
            "{strategy:?} {shape:?}: max error {error:e} over tolerance {tolerance:e}"
        );
    }
}

#[test]
fn dense_forward_rejects_bad_shapes_with_an_error_not_a_panic() {
    let context = context();
    let kernel = pollster::block_on(DenseForward::new(&context)).unwrap();
    let shape = DenseShape::new(2, 3, 4, false);
    let wrong_x = pollster::block_on(kernel.run(&context, shape, &[0.0; 5], &[0.0; 12], &[0.0; 4]));
    assert!(
        matches!(&wrong_x, Err(GpuError::InvalidInput(message)) if message.contains("x has 5 values")),
        "{wrong_x:?}"
    );
    let empty = DenseShape { rows: 0, ..shape };
    let result = pollster::block_on(kernel.run(&context, empty, &[], &[0.0; 12], &[0.0; 4]));
    assert!(
        matches!(result, Err(GpuError::InvalidInput(_))),
        "{result:?}"
    );
    let too_big = DenseShape::new(u32::MAX as usize / 4, 1024, 1, false);
    let binding_limit = context.limits.max_storage_buffer_binding_size;
    let x_buffer = context.device.create_buffer(&wgpu_buffer(16));
    let result = pollster::block_on(kernel.bind(
        &context,
        too_big,
        vae_gpu::kernels::dense::DenseBuffers {
            x: x_buffer.as_entire_buffer_binding(),
            w: x_buffer.as_entire_buffer_binding(),
            b: x_buffer.as_entire_buffer_binding(),
            y: x_buffer.as_entire_buffer_binding(),
        },
    ));
    match result {
        Err(GpuError::InvalidInput(message)) => {
            assert!(message.contains(&binding_limit.to_string()), "{message}")
        }
        other => panic!("expected a limit error, got {:?}", other.err()),
    }
}

fn wgpu_buffer(size: u64) -> wgpu::BufferDescriptor<'static> {
    wgpu::BufferDescriptor {
        label: None,
        size,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    }
}
