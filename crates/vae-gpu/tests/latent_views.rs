//! The latent-space views on a real adapter: the line kernel against `vae-reference`, a grid
//! decoded in one pass against the CPU decoder and the one-point decode, and the posteriors an
//! evaluation keeps against the encoder and the evaluation's own KL.

mod common;

use common::{context, small, with_shard};
use vae_gpu::kernels::step::{
    latent_lines_kernel, latent_lines_uniform, spread_workgroups, ROW_WORKGROUP,
};
use vae_gpu::selftest::max_abs_difference;
use vae_gpu::vae::{pack_parameters, Vae};
use vae_reference::latent::{kl_per_dimension, LatentLines, Plane};
use vae_reference::{dense_forward, Activation, Layout, SplitMix64, Tensor};

#[test]
fn the_line_kernel_matches_the_reference_points() {
    let context = context();
    let kernel = pollster::block_on(latent_lines_kernel(&context)).unwrap();
    let mut rng = SplitMix64::new(41);
    for (lines, points, latent) in [(1, 1, 1), (3, 5, 7), (15, 15, 20), (20, 9, 20), (1, 65, 64)] {
        let shape = LatentLines {
            latent,
            origins: rng.uniform_vec(lines * latent, -3.0, 3.0),
            directions: rng.uniform_vec(lines * latent, -2.0, 2.0),
            t: rng.uniform_vec(points, -2.0, 2.0),
        };
        let out = pollster::block_on(kernel.run_once(
            &context,
            &latent_lines_uniform(lines as u32, points as u32, latent as u32),
            &[
                bytemuck::cast_slice(&shape.origins),
                bytemuck::cast_slice(&shape.directions),
                bytemuck::cast_slice(&shape.t),
            ],
            &[&vec![0.0; lines * points * latent]],
            spread_workgroups((lines * points * latent) as u32, ROW_WORKGROUP),
        ))
        .unwrap();
        let error = max_abs_difference(&out[0], &shape.evaluate());
        assert!(error <= 1e-6, "{lines}×{points}×{latent}: error {error:e}");
    }
}

/// The decoder on the CPU: z → ReLU(dec1) → out → σ.
fn reference_decode(vae: &Vae, z: &[f32]) -> Vec<f32> {
    let sizes = vae.config().sizes;
    let layout = Layout::new(sizes);
    let params = pack_parameters(
        vae.layout(),
        &pollster::block_on(vae.read_parameters()).unwrap(),
    );
    let p = |t: Tensor| &params[layout.range(t)];
    let rows = z.len() / sizes.latent;
    let h2 = dense_forward(
        z,
        p(Tensor::Dec1Weight),
        p(Tensor::Dec1Bias),
        rows,
        sizes.latent,
        sizes.hidden,
        Activation::Relu,
    );
    dense_forward(
        &h2,
        p(Tensor::OutWeight),
        p(Tensor::OutBias),
        rows,
        sizes.hidden,
        sizes.input,
        Activation::Identity,
    )
    .iter()
    .map(|&l| 1.0 / (1.0 + (-l).exp()))
    .collect()
}

#[test]
fn a_grid_decoded_in_one_pass_matches_the_cpu_decoder_and_its_centre_the_point_decode() {
    let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
    let latent = vae.config().sizes.latent;
    let mut rng = SplitMix64::new(42);
    let center = rng.uniform_vec(latent, -1.5, 1.5);
    let plane = Plane::dimensions(latent, 2, 5);
    let grid = LatentLines::grid(&center, &plane, 15, 2.0);
    let decoder = pollster::block_on(vae.line_decoder(15, 15)).unwrap();
    let images = pollster::block_on(vae.request_lines(&decoder, &grid).unwrap().wait()).unwrap();
    assert_eq!(images.len(), 225 * 784);
    let expected = reference_decode(&vae, &grid.evaluate());
    let error = max_abs_difference(&images, &expected);
    assert!(error <= 1e-5, "grid against the CPU decoder: {error:e}");
    let middle = &images[112 * 784..113 * 784];
    let point = pollster::block_on(vae.decode(&center)).unwrap();
    let error = max_abs_difference(middle, &point);
    assert!(
        error <= 1e-6,
        "grid centre against the slider's decode: {error:e}"
    );

    // A session takes only its own shape, and no non-finite value.
    let strips = LatentLines::axis_strips(&center, 9, 2.0);
    assert!(vae.request_lines(&decoder, &strips).is_err());
    let mut bad = grid.clone();
    bad.t[3] = f32::NAN;
    assert!(vae.request_lines(&decoder, &bad).is_err());
    assert!(pollster::block_on(vae.line_decoder(0, 9)).is_err());
}

#[test]
fn an_evaluation_keeps_every_posterior_and_their_kl_is_the_evaluations() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        // A few steps, so the posteriors are not the initialisation's near-prior ones.
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        vae.train_steps(30).unwrap();
        let test = shard.test();
        let mut evaluator = pollster::block_on(vae.evaluator(&test)).unwrap();
        assert!(
            vae.request_posteriors(&evaluator).is_err(),
            "nothing evaluated yet"
        );
        vae.run_evaluation(&mut evaluator, 100).unwrap();
        assert!(
            vae.request_posteriors(&evaluator).is_err(),
            "mid-evaluation"
        );
        vae.run_evaluation(&mut evaluator, u32::MAX).unwrap();
        let evaluation =
            pollster::block_on(vae.request_evaluation(&mut evaluator).unwrap().wait()).unwrap();
        let (mean, logvar) =
            pollster::block_on(vae.request_posteriors(&evaluator).unwrap().wait()).unwrap();
        let latent = vae.config().sizes.latent;
        assert_eq!(mean.len(), test.len() * latent);

        // The same as encoding the images afresh, first batch, tail and all between.
        for first in [0, 5_000, test.len() - 7] {
            let x: Vec<f32> = (first..first + 7).flat_map(|i| test.image_f32(i)).collect();
            let (m, v) = pollster::block_on(vae.encode(&x)).unwrap();
            let at = first * latent..(first + 7) * latent;
            assert!(
                max_abs_difference(&m, &mean[at.clone()]) <= 1e-5,
                "means at {first}"
            );
            assert!(
                max_abs_difference(&v, &logvar[at]) <= 1e-5,
                "logvars at {first}"
            );
        }
        let per_dimension = kl_per_dimension(&mean, &logvar, latent);
        let total: f64 = per_dimension.iter().sum();
        assert!(
            (total - evaluation.kl).abs() <= 1e-4 * evaluation.kl,
            "per-dimension KL sums to {total}, the evaluation says {}",
            evaluation.kl
        );
        assert!(per_dimension.iter().all(|&kl| kl >= 0.0));
    });
}

#[test]
fn several_line_sets_in_one_submit_equal_each_alone_and_a_drawing_encodes_and_reconstructs_at_once()
{
    with_shard(|shard| {
        let vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        let latent = vae.config().sizes.latent;
        let center = SplitMix64::new(43).uniform_vec(latent, -1.0, 1.0);
        let grid = LatentLines::grid(&center, &Plane::dimensions(latent, 0, 1), 5, 1.5);
        let strips = LatentLines::axis_strips(&center, 9, 2.0);
        let grid_decoder = pollster::block_on(vae.line_decoder(5, 5)).unwrap();
        let strip_decoder = pollster::block_on(vae.line_decoder(latent as u32, 9)).unwrap();
        let reads = vae
            .request_line_sets(&[(&grid_decoder, &grid), (&strip_decoder, &strips)])
            .unwrap();
        let together: Vec<Vec<f32>> = reads
            .into_iter()
            .map(|read| pollster::block_on(read.wait()).unwrap())
            .collect();
        let alone =
            pollster::block_on(vae.request_lines(&strip_decoder, &strips).unwrap().wait()).unwrap();
        assert_eq!(together[1], alone);
        assert!(
            max_abs_difference(&together[0], &reference_decode(&vae, &grid.evaluate())) <= 1e-5
        );

        let x = shard.test().image_f32(3);
        let session = pollster::block_on(vae.inference(1)).unwrap();
        let (posterior, image) = vae.request_encode_and_reconstruct(&session, &x).unwrap();
        let (mean, _) = pollster::block_on(posterior.wait()).unwrap();
        let image = pollster::block_on(image.wait()).unwrap();
        let (expected_mean, _) = pollster::block_on(vae.encode(&x)).unwrap();
        assert_eq!(mean, expected_mean);
        let expected =
            pollster::block_on(vae.request_reconstruction(&session, &x).unwrap().wait()).unwrap();
        assert_eq!(image, expected);
        assert!(vae
            .request_encode_and_reconstruct(&session, &x[..700])
            .is_err());
    });
}
