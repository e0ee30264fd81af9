//! `shaders/dense_backward_input.wgsl` and `shaders/dense_backward_weight.wgsl` on a real adapter
//! against `vae-reference`, on awkward shapes and the model's own.

use vae_gpu::kernels::dense::{DenseShape, KernelChoice};
use vae_gpu::kernels::dense_backward::{DenseBackwardInput, DenseBackwardWeight};
use vae_gpu::selftest::{dense_tolerance, max_abs_difference};
use vae_gpu::GpuContext;
use vae_reference::dense::{dense_input_grad, dense_param_grads, relu_mask};
use vae_reference::SplitMix64;

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"))
}

fn to_f64(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// (rows, inputs, outputs): single elements, partial 4 × 4 blocks and workgroup tiles, and the
/// model's layers at batch 128 (decoder output, decoder hidden, both heads as one, encoder).
const SHAPES: [(usize, usize, usize); 9] = [
    (1, 1, 1),
    (1, 7, 3),
    (7, 1, 5),
    (3, 5, 2),
    (129, 20, 500),
    (128, 500, 784),
    (128, 500, 40),
    (128, 784, 500),
    (7, 129, 33),
];

#[test]
fn input_gradient_matches_the_reference_with_and_without_the_relu_mask() {
    let context = context();
    for choice in KernelChoice::EVERY_FORM {
        let kernel = pollster::block_on(DenseBackwardInput::with_choice(&context, choice)).unwrap();
        check_input_gradient(&context, choice, &kernel);
    }
}

fn check_input_gradient(
    context: &GpuContext,
    strategy: impl std::fmt::Debug,
    kernel: &DenseBackwardInput,
) {
    let mut rng = SplitMix64::new(21);
    for (index, &(rows, inputs, outputs)) in SHAPES.iter().enumerate() {
        let relu = index % 2 == 1;
        let dy = rng.uniform_vec(rows * outputs, -1.0, 1.0);
        let w = rng.uniform_vec(outputs * inputs, -1.0, 1.0);
        // A ReLU output: about half exact zeros.
        let act: Vec<f32> = rng
            .uniform_vec(rows * inputs, -1.0, 1.0)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let shape = DenseShape::new(rows, inputs, outputs, relu);
        let gpu = pollster::block_on(kernel.run(context, shape, &dy, &w, &act)).unwrap();
        let mut expected = dense_input_grad(&to_f64(&dy), &to_f64(&w), outputs, inputs);
        if relu {
            relu_mask(&mut expected, &to_f64(&act));
        }
        let expected = to_f32(&expected);
        let error = max_abs_difference(&gpu, &expected);
        let tolerance = dense_tolerance(outputs, &expected);
        assert!(
            error <= tolerance,
            "{strategy:?} {shape:?}: error {error:e} over {tolerance:e}"
        );
        if relu {
            // Masked entries are exactly zero, not merely small.
            assert!(
                act.iter().zip(&gpu).all(|(&a, &g)| a > 0.0 || g == 0.0),
                "{shape:?}"
            );
        }
    }
}

#[test]
fn weight_and_bias_gradients_match_the_reference() {
    let context = context();
    for choice in KernelChoice::EVERY_FORM {
        let kernel =
            pollster::block_on(DenseBackwardWeight::with_choice(&context, choice)).unwrap();
        check_weight_gradient(&context, choice, &kernel);
    }
}

fn check_weight_gradient(
    context: &GpuContext,
    strategy: impl std::fmt::Debug,
    kernel: &DenseBackwardWeight,
) {
    let mut rng = SplitMix64::new(22);
    for &(rows, inputs, outputs) in &SHAPES {
        let dy = rng.uniform_vec(rows * outputs, -1.0, 1.0);
        let x = rng.uniform_vec(rows * inputs, -1.0, 1.0);
        let shape = DenseShape::new(rows, inputs, outputs, false);
        let (dw, db) = pollster::block_on(kernel.run(context, shape, &dy, &x)).unwrap();
        let (expected_dw, expected_db) =
            dense_param_grads(&to_f64(&dy), &to_f64(&x), inputs, outputs);
        for (name, gpu, expected) in [
            ("dw", &dw, to_f32(&expected_dw)),
            ("db", &db, to_f32(&expected_db)),
        ] {
            let error = max_abs_difference(gpu, &expected);
            let tolerance = dense_tolerance(rows, &expected);
            assert!(
                error <= tolerance,
                "{strategy:?} {shape:?} {name}: error {error:e} over {tolerance:e}"
            );
        }
    }
}

#[test]
fn wrong_lengths_are_errors_not_panics() {
    let context = context();
    let input = pollster::block_on(DenseBackwardInput::new(&context)).unwrap();
    let weight = pollster::block_on(DenseBackwardWeight::new(&context)).unwrap();
    let shape = DenseShape::new(2, 3, 4, true);
    let missing_act = pollster::block_on(input.run(&context, shape, &[0.0; 8], &[0.0; 12], &[]));
    assert!(format!("{:?}", missing_act.unwrap_err()).contains("act has 0 values"));
    let short_x = pollster::block_on(weight.run(&context, shape, &[0.0; 8], &[0.0; 5]));
    assert!(format!("{:?}", short_x.unwrap_err()).contains("x has 5 values"));
}
