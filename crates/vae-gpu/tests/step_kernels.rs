//! The small kernels of a training step on a real adapter against `vae-reference`: the step
//! counter, reparameterisation (with the GPU's own noise) and its backward, BCE, metrics, Adam,
//! and IWAE's (the draws' weights, the rows they scale, the heads' gradient over K draws).

use vae_gpu::kernels::step::{
    adam_uniform, advance_uniform, bce_uniform, iwae_backward_uniform, iwae_kernels,
    iwae_weights_uniform, reparameterize_backward_uniform, reparameterize_uniform, rows_uniform,
    spread_workgroups, StepKernels, ADAM_PER_WORKGROUP, ROW_WORKGROUP,
};
use vae_gpu::selftest::max_abs_difference;
use vae_gpu::GpuContext;
use vae_reference::importance::{iwae_heads_backward, normalised_weights};
use vae_reference::model::{bce_grad, bce_rows, kl_rows, reparameterize, reparameterize_backward};
use vae_reference::noise::batch_noise;
use vae_reference::{adam_step, AdamConfig, SplitMix64};

fn setup() -> (GpuContext, StepKernels) {
    let context = pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"));
    let kernels = pollster::block_on(StepKernels::new(&context)).unwrap();
    (context, kernels)
}

fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

fn f32s(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

fn bytes(values: &[f32]) -> &[u8] {
    bytemuck::cast_slice(values)
}

fn state(step: u32) -> Vec<u8> {
    step.to_le_bytes().to_vec()
}

/// Splits `[rows, 2·latent]` heads into mean and logvar.
fn split_heads(heads: &[f32], latent: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut mean, mut logvar) = (Vec::new(), Vec::new());
    for row in heads.chunks(2 * latent) {
        mean.extend(row[..latent].iter().map(|&v| f64::from(v)));
        logvar.extend(row[latent..].iter().map(|&v| f64::from(v)));
    }
    (mean, logvar)
}

#[test]
fn advance_step_counts_steps() {
    let (context, kernels) = setup();
    let out = pollster::block_on(kernels.advance_step.run_once(
        &context,
        &advance_uniform(1),
        &[],
        &[&[f32::from_bits(41)]],
        (1, 1),
    ))
    .unwrap();
    assert_eq!(out[0][0].to_bits(), 42);
}

#[test]
fn reparameterize_draws_the_reference_noise_and_matches_z_and_kl() {
    let (context, kernels) = setup();
    let mut rng = SplitMix64::new(31);
    for (rows, latent, step, seed) in [
        (1, 1, 1, 0),
        (7, 5, 3, 0x1234_5678_9ABC),
        (128, 20, 500, 42),
    ] {
        let heads = rng.uniform_vec(rows * 2 * latent, -3.0, 3.0);
        let out = pollster::block_on(kernels.reparameterize.run_once(
            &context,
            &reparameterize_uniform(rows as u32, latent as u32, seed, 1),
            &[bytes(&heads), &state(step)],
            &[
                &vec![0.0; rows * latent],
                &vec![0.0; rows * latent],
                &vec![0.0; rows],
            ],
            spread_workgroups(rows as u32, ROW_WORKGROUP),
        ))
        .unwrap();
        let (z, eps, kl) = (&out[0], &out[1], &out[2]);
        let expected_eps = batch_noise(seed, step, rows, latent);
        let (mean, logvar) = split_heads(&heads, latent);
        let expected_z = reparameterize(&mean, &logvar, &expected_eps);
        let expected_kl = kl_rows(&mean, &logvar, latent);
        // f32 log/cos/exp against f64: a few ulps of values up to ~e^1.5 · 5.
        for (name, gpu, expected, tolerance) in [
            ("eps", eps, f32s(&expected_eps), 1e-5),
            ("z", z, f32s(&expected_z), 1e-4),
            ("kl", kl, f32s(&expected_kl), 1e-4 * latent as f32),
        ] {
            let error = max_abs_difference(gpu, &expected);
            assert!(
                error <= tolerance,
                "{rows}×{latent} {name}: error {error:e}"
            );
        }
    }
}

#[test]
fn reparameterize_draws_k_per_image_and_their_sampled_kl() {
    let (context, kernels) = setup();
    let mut rng = SplitMix64::new(35);
    let (images, samples, latent, step, seed) = (9, 5, 4, 7, 3);
    let rows = images * samples;
    let heads = rng.uniform_vec(images * 2 * latent, -2.0, 2.0);
    let out = pollster::block_on(kernels.reparameterize.run_once(
        &context,
        &reparameterize_uniform(rows as u32, latent as u32, seed, samples as u32),
        &[bytes(&heads), &state(step)],
        &[
            &vec![0.0; rows * latent],
            &vec![0.0; rows * latent],
            &vec![0.0; rows],
        ],
        spread_workgroups(rows as u32, ROW_WORKGROUP),
    ))
    .unwrap();
    // Draw r is of image r / K, its ε the element r·latent + j of the step's noise.
    let eps = batch_noise(seed, step, rows, latent);
    let (mean, logvar) = split_heads(&heads, latent);
    for r in 0..rows {
        let i = r / samples;
        let mut kl = 0.0;
        for j in 0..latent {
            let (m, lv, e) = (
                mean[i * latent + j],
                logvar[i * latent + j],
                eps[r * latent + j],
            );
            let z = m + (0.5 * lv).exp() * e;
            assert!(
                (f64::from(out[0][r * latent + j]) - z).abs() < 1e-4,
                "z[{r}, {j}]"
            );
            kl += 0.5 * (z * z - e * e - lv);
        }
        let error = (f64::from(out[2][r]) - kl).abs();
        assert!(
            error < 1e-4 * latent as f64,
            "kl[{r}]: {} vs {kl}",
            out[2][r]
        );
    }
}

#[test]
fn bce_loss_reads_each_draws_image_and_scales_its_gradient() {
    let (context, kernels) = setup();
    let mut rng = SplitMix64::new(36);
    let (images, samples, pixels) = (3, 4, 10);
    let rows = images * samples;
    let logits = rng.uniform_vec(rows * pixels, -5.0, 5.0);
    let x: Vec<f32> = (0..images * pixels)
        .map(|_| f32::from(rng.next_f32() < 0.3))
        .collect();
    let out = pollster::block_on(kernels.bce_loss.run_once(
        &context,
        &bce_uniform(rows as u32, pixels as u32, samples as u32, 1.0),
        &[bytes(&logits), bytes(&x)],
        &[&vec![0.0; rows * pixels], &vec![0.0; rows]],
        spread_workgroups(rows as u32, ROW_WORKGROUP),
    ))
    .unwrap();
    let repeated: Vec<f64> = x
        .chunks_exact(pixels)
        .flat_map(|image| std::iter::repeat_n(image, samples).flatten())
        .map(|&v| f64::from(v))
        .collect();
    // bce_grad divides by its rows: 1 row at a time gives the unscaled (σ − x).
    let expected_grad = f32s(&bce_grad(&f64s(&logits), &repeated, 1));
    let expected_rows = f32s(&bce_rows(&f64s(&logits), &repeated, pixels));
    assert!(max_abs_difference(&out[0], &expected_grad) <= 1e-6);
    assert!(max_abs_difference(&out[1], &expected_rows) <= 1e-4);
}

#[test]
fn reparameterize_backward_matches_the_reference() {
    let (context, kernels) = setup();
    let mut rng = SplitMix64::new(32);
    for (rows, latent, kl_weight) in [
        (1, 1, 1.0),
        (7, 3, 1.0),
        (128, 20, 1.0),
        (7, 3, 0.25),
        (128, 20, 4.0),
    ] {
        let dz = rng.uniform_vec(rows * latent, -1.0, 1.0);
        let heads = rng.uniform_vec(rows * 2 * latent, -3.0, 3.0);
        let eps = rng.uniform_vec(rows * latent, -3.0, 3.0);
        let out = pollster::block_on(kernels.reparameterize_backward.run_once(
            &context,
            &reparameterize_backward_uniform(rows as u32, latent as u32, kl_weight as f32),
            &[bytes(&dz), bytes(&heads), bytes(&eps)],
            &[&vec![0.0; rows * 2 * latent]],
            spread_workgroups((rows * latent) as u32, ROW_WORKGROUP),
        ))
        .unwrap();
        let (mean, logvar) = split_heads(&heads, latent);
        let (d_mean, d_logvar) =
            reparameterize_backward(&f64s(&dz), &mean, &logvar, &f64s(&eps), rows, kl_weight);
        let mut expected = Vec::new();
        for r in 0..rows {
            expected.extend(&d_mean[r * latent..(r + 1) * latent]);
            expected.extend(&d_logvar[r * latent..(r + 1) * latent]);
        }
        let error = max_abs_difference(&out[0], &f32s(&expected));
        assert!(
            error <= 1e-5,
            "{rows}×{latent} β {kl_weight}: error {error:e}"
        );
    }
}

#[test]
fn bce_loss_and_its_gradient_match_the_reference_even_for_extreme_logits() {
    let (context, kernels) = setup();
    let mut rng = SplitMix64::new(33);
    for (rows, pixels) in [(1, 1), (3, 7), (128, 784)] {
        let mut logits = rng.uniform_vec(rows * pixels, -20.0, 20.0);
        if logits.len() >= 4 {
            logits[..4].copy_from_slice(&[88.0, -88.0, 0.0, -1e-30]);
        }
        let x: Vec<f32> = (0..rows * pixels)
            .map(|_| f32::from(rng.next_f32() < 0.3))
            .collect();
        let out = pollster::block_on(kernels.bce_loss.run_once(
            &context,
            &bce_uniform(rows as u32, pixels as u32, 1, 1.0 / rows as f32),
            &[bytes(&logits), bytes(&x)],
            &[&vec![0.0; rows * pixels], &vec![0.0; rows]],
            spread_workgroups(rows as u32, ROW_WORKGROUP),
        ))
        .unwrap();
        let expected_grad = f32s(&bce_grad(&f64s(&logits), &f64s(&x), rows));
        let expected_rows = f32s(&bce_rows(&f64s(&logits), &f64s(&x), pixels));
        let grad_error = max_abs_difference(&out[0], &expected_grad);
        assert!(
            grad_error <= 1e-6,
            "{rows}×{pixels} d_logits: error {grad_error:e}"
        );
        // Row sums of up to 784 terms of size up to 20: relative 1e-6 of the magnitude.
        let largest = expected_rows.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let row_error = max_abs_difference(&out[1], &expected_rows);
        assert!(
            row_error <= 2e-6 * largest,
            "{rows}×{pixels} bce: error {row_error:e}"
        );
    }
}

#[test]
fn metrics_writes_the_batch_means_into_the_ring_slot_of_the_step() {
    let (context, kernels) = setup();
    let bce_rows = [100.0f32, 120.0, 80.0];
    let kl_rows = [10.0f32, 20.0, 30.0];
    // Step 6 with a ring of 4 slots lands in slot (6 − 1) mod 4 = 1.
    let out = pollster::block_on(kernels.metrics.run_once(
        &context,
        &rows_uniform(3, 4),
        &[bytes(&bce_rows), bytes(&kl_rows), &state(6)],
        &[&[0.0; 16]],
        (1, 1),
    ))
    .unwrap();
    let ring = &out[0];
    assert_eq!(ring[4].to_bits(), 6);
    assert_eq!(&ring[5..8], &[120.0, 100.0, 20.0]);
    assert!(ring[..4].iter().chain(&ring[8..]).all(|&v| v == 0.0));
}

#[test]
fn adam_matches_the_reference_on_the_first_and_a_later_step() {
    let (context, kernels) = setup();
    let mut rng = SplitMix64::new(34);
    let config = AdamConfig::default();
    // Counts in vec4s (the layout pads to 64); 70,004 gives each invocation 16 vec4s a grid apart
    // but the last, which has fewer.
    for (count, step) in [(4usize, 1u32), (1000, 1), (70_004, 7)] {
        let params = rng.uniform_vec(count, -0.1, 0.1);
        let grads = rng.uniform_vec(count, -1.0, 1.0);
        let (m, v) = if step == 1 {
            (vec![0.0; count], vec![0.0; count])
        } else {
            let m = rng.uniform_vec(count, -0.1, 0.1);
            let v: Vec<f32> = m.iter().map(|&m| m * m + 0.01).collect();
            (m, v)
        };
        let out = pollster::block_on(kernels.adam.run_once(
            &context,
            &adam_uniform(count as u32, 1e-3, 0.9, 0.999, 1e-8),
            &[bytes(&grads), &state(step)],
            &[&params, &m, &v],
            spread_workgroups(count as u32, ADAM_PER_WORKGROUP),
        ))
        .unwrap();
        let (mut p64, mut m64, mut v64) = (f64s(&params), f64s(&m), f64s(&v));
        adam_step(config, step, &mut p64, &f64s(&grads), &mut m64, &mut v64);
        for (name, gpu, expected) in [
            ("params", &out[0], &p64),
            ("m", &out[1], &m64),
            ("v", &out[2], &v64),
        ] {
            let error = max_abs_difference(gpu, &f32s(expected));
            // A step moves a parameter by about lr = 1e-3; 1e-7 is 1e-4 of that.
            assert!(
                error <= 1e-7,
                "{count} at step {step}, {name}: error {error:e}"
            );
        }
    }
}

#[test]
fn iwae_weights_scale_rows_and_the_heads_gradient_match_the_reference() {
    let context = pollster::block_on(GpuContext::new()).unwrap_or_else(|error| panic!("{error}"));
    let [weights_kernel, scale_kernel, backward_kernel] =
        pollster::block_on(iwae_kernels(&context)).unwrap();
    let mut rng = SplitMix64::new(37);
    let (images, samples, latent, pixels) = (7, 5, 3, 11);
    let draws = images * samples;
    // BCE near 550 nats with draws nats apart, as a real batch's: the weights far from uniform.
    let bce: Vec<f32> = rng
        .uniform_vec(draws, 0.0, 6.0)
        .iter()
        .map(|v| 545.0 + v)
        .collect();
    let kl = rng.uniform_vec(draws, -1.0, 3.0);
    let out = pollster::block_on(weights_kernel.run_once(
        &context,
        &iwae_weights_uniform(images as u32, samples as u32),
        &[bytes(&bce), bytes(&kl)],
        &[&vec![0.0; draws]],
        spread_workgroups(images as u32, ROW_WORKGROUP),
    ))
    .unwrap();
    let log_w: Vec<f64> = bce
        .iter()
        .zip(&kl)
        .map(|(&b, &k)| -f64::from(b) - f64::from(k))
        .collect();
    let (expected, _) = normalised_weights(&log_w, samples);
    let scaled: Vec<f64> = expected.iter().map(|w| w / images as f64).collect();
    let largest = expected.iter().fold(0.0f64, |m, &w| m.max(w));
    assert!(largest > 0.5, "weights nearly uniform: {largest}");
    // log w near −550 in f32: its spacing there, 6e-5, is the weights' relative error.
    let error = max_abs_difference(&out[0], &f32s(&scaled));
    assert!(error <= 2e-5, "weights: error {error:e}");
    let weights = out[0].clone();

    let values = rng.uniform_vec(draws * pixels, -1.0, 1.0);
    let out = pollster::block_on(scale_kernel.run_once(
        &context,
        &rows_uniform(draws as u32, pixels as u32),
        &[bytes(&weights)],
        &[&values],
        spread_workgroups((draws * pixels) as u32, ROW_WORKGROUP),
    ))
    .unwrap();
    let expected: Vec<f32> = values
        .iter()
        .enumerate()
        .map(|(at, v)| v * weights[at / pixels])
        .collect();
    assert_eq!(out[0], expected);

    let dz = rng.uniform_vec(draws * latent, -0.1, 0.1);
    let heads = rng.uniform_vec(images * 2 * latent, -2.0, 2.0);
    let eps = rng.uniform_vec(draws * latent, -3.0, 3.0);
    let out = pollster::block_on(backward_kernel.run_once(
        &context,
        &iwae_backward_uniform(images as u32, latent as u32, samples as u32),
        &[bytes(&dz), bytes(&heads), bytes(&eps), bytes(&weights)],
        &[&vec![0.0; images * 2 * latent]],
        spread_workgroups((images * latent) as u32, ROW_WORKGROUP),
    ))
    .unwrap();
    let (mean, logvar) = split_heads(&heads, latent);
    let z: Vec<f64> = (0..draws * latent)
        .map(|at| {
            let i = at / latent / samples * latent + at % latent;
            mean[i] + (0.5 * logvar[i]).exp() * f64::from(eps[at])
        })
        .collect();
    // The reference takes w̃ and divides by B itself.
    let w: Vec<f64> = weights
        .iter()
        .map(|&w| f64::from(w) * images as f64)
        .collect();
    let (d_mean, d_logvar) =
        iwae_heads_backward(&f64s(&dz), (&z, &f64s(&eps)), &logvar, &w, samples);
    let mut expected = Vec::new();
    for i in 0..images {
        expected.extend(&d_mean[i * latent..(i + 1) * latent]);
        expected.extend(&d_logvar[i * latent..(i + 1) * latent]);
    }
    let error = max_abs_difference(&out[0], &f32s(&expected));
    assert!(error <= 1e-5, "heads gradient: error {error:e}");
}
