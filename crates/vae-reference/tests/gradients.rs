//! The reference backward pass against finite differences of its own forward pass, on every
//! parameter tensor: if this holds, the reference can be trusted to check the GPU.

use vae_reference::{backward_weighted, forward, init_params, Layout, Sizes, SplitMix64, Tensor};

#[test]
fn backward_matches_central_differences_on_every_parameter_tensor() {
    check_gradients(1.0);
}

#[test]
fn the_beta_weighted_objective_has_the_gradients_of_its_own_differences() {
    // β below and above 1: the KL's share of every gradient changes, the check must still hold.
    check_gradients(0.25);
    check_gradients(4.0);
}

fn check_gradients(kl_weight: f64) {
    // Small but not degenerate: odd sizes, several images, every code path (ReLU on and off).
    let layout = Layout::new(Sizes {
        input: 13,
        hidden: 7,
        latent: 3,
    });
    let batch = 5;
    let mut rng = SplitMix64::new(99);
    // Larger-than-default weights so the KL and reparameterisation terms matter.
    let params: Vec<f64> = init_params(&layout, 5)
        .iter()
        .map(|&p| f64::from(p) * 3.0)
        .collect();
    let x: Vec<f64> = (0..batch * 13)
        .map(|_| f64::from(rng.next_f32() < 0.3))
        .collect();
    let eps: Vec<f64> = (0..batch * 3)
        .map(|_| f64::from(rng.uniform(-2.0, 2.0)))
        .collect();

    let f = forward(&layout, &params, &x, &eps);
    assert!(f.bce > 0.0 && f.kl > 0.0, "{} {}", f.bce, f.kl);
    let grads = backward_weighted(&layout, &params, &x, &eps, &f, kl_weight);

    let loss_at = |params: &[f64]| forward(&layout, params, &x, &eps).objective(kl_weight);
    assert_matches_differences(&layout, &params, &grads, loss_at, &format!("β {kl_weight}"));
}

/// Every parameter's gradient against the central difference of `objective` there, within
/// 1e-6 of its tensor's largest gradient; no tensor's gradient may be all zero (the check would
/// be vacuous).
fn assert_matches_differences(
    layout: &Layout,
    params: &[f64],
    grads: &[f64],
    objective: impl Fn(&[f64]) -> f64,
    what: &str,
) {
    let h = 1e-6;
    for tensor in Tensor::ALL {
        let range = layout.range(tensor);
        let largest = grads[range.clone()]
            .iter()
            .fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(largest > 0.0, "{what}: {tensor:?} has an all-zero gradient");
        for k in range {
            let mut plus = params.to_vec();
            plus[k] += h;
            let mut minus = params.to_vec();
            minus[k] -= h;
            let numeric = (objective(&plus) - objective(&minus)) / (2.0 * h);
            let error = (numeric - grads[k]).abs();
            assert!(
                error <= 1e-6 * largest.max(1e-3),
                "{what} {tensor:?}[{k}]: analytic {} numeric {numeric} (largest {largest})",
                grads[k]
            );
        }
    }
}

#[test]
fn the_loss_is_the_bce_plus_kl_of_known_values() {
    // One image, one pixel, one latent, one hidden unit, all weights and biases zero:
    // logits 0 → BCE = ln 2 per pixel; mean = logvar = 0 → KL = 0.
    let layout = Layout::new(Sizes {
        input: 1,
        hidden: 1,
        latent: 1,
    });
    let params = vec![0.0; layout.len()];
    let f = forward(&layout, &params, &[1.0], &[0.7]);
    assert!((f.bce - std::f64::consts::LN_2).abs() < 1e-15);
    assert_eq!(f.kl, 0.0);
    // Mean bias 1, logvar bias ln 4: KL = −½(1 + ln 4 − 1 − 4) = 2 − ln 2.
    let mut params = params;
    params[layout.range(Tensor::MeanBias)][0] = 1.0;
    params[layout.range(Tensor::LogvarBias)][0] = 4f64.ln();
    let f = forward(&layout, &params, &[1.0], &[0.7]);
    assert!(
        (f.kl - (2.0 - std::f64::consts::LN_2)).abs() < 1e-12,
        "{}",
        f.kl
    );
    // z = 1 + 2·0.7
    assert!((f.z[0] - 2.4).abs() < 1e-12);
}

#[test]
fn bce_is_stable_for_extreme_logits() {
    use vae_reference::model::bce_with_logits;
    assert_eq!(bce_with_logits(1000.0, 1.0), 0.0);
    assert!((bce_with_logits(1000.0, 0.0) - 1000.0).abs() < 1e-9);
    assert!((bce_with_logits(-1000.0, 1.0) - 1000.0).abs() < 1e-9);
    assert!(bce_with_logits(-1000.0, 0.0).abs() < 1e-300);
}

#[test]
fn init_follows_pytorch_bounds_and_is_seeded() {
    let layout = Layout::new(Sizes::MNIST);
    let a = init_params(&layout, 1);
    assert_eq!(a, init_params(&layout, 1));
    assert_ne!(a, init_params(&layout, 2));
    for tensor in Tensor::ALL {
        let bound = 1.0 / (tensor.fan_in(layout.sizes) as f32).sqrt();
        let values = &a[layout.range(tensor)];
        let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // Uniform in ±bound: the largest of ≥ 20 draws is near the bound, never past it.
        assert!(
            max <= bound && max > 0.5 * bound,
            "{tensor:?}: max {max}, bound {bound}"
        );
    }
}

/// The IWAE objective (−L_K over a batch, K draws an image) and its gradient through the
/// normalised importance weights, against central differences on every parameter tensor.
#[test]
fn the_iwae_gradient_matches_central_differences_on_every_parameter_tensor() {
    use vae_reference::importance::{iwae_backward, iwae_forward};
    let layout = Layout::new(Sizes {
        input: 11,
        hidden: 6,
        latent: 3,
    });
    let (batch, samples) = (3, 4);
    let mut rng = SplitMix64::new(7);
    // Default-sized weights: larger ones let one draw take all the weight, and the weights'
    // share of the gradient would go untested.
    let params: Vec<f64> = init_params(&layout, 8)
        .iter()
        .map(|&p| f64::from(p))
        .collect();
    let x: Vec<f64> = (0..batch * 11)
        .map(|_| f64::from(rng.next_f32() < 0.3))
        .collect();
    let eps: Vec<f64> = (0..batch * samples * 3)
        .map(|_| f64::from(rng.uniform(-2.0, 2.0)))
        .collect();
    let f = iwae_forward(&layout, &params, &x, &eps);
    // The weights are a distribution over each image's draws, and not a trivial one.
    for image in f.weights.chunks_exact(samples) {
        assert!((image.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(image.iter().all(|&w| w < 0.9), "{image:?}");
    }
    // Each image's bound is the estimate's L_K for the same draws.
    for (i, &bound) in f.bounds.iter().enumerate() {
        let image = &x[i * 11..(i + 1) * 11];
        let draws = &eps[i * samples * 3..(i + 1) * samples * 3];
        let estimate = vae_reference::importance::importance_bound(&layout, &params, image, draws);
        assert!((bound - estimate).abs() < 1e-12, "{bound} vs {estimate}");
    }
    let grads = iwae_backward(&layout, &params, &x, &eps, &f);
    let objective_at = |params: &[f64]| iwae_forward(&layout, params, &x, &eps).objective();
    assert_matches_differences(&layout, &params, &grads, objective_at, "IWAE, K = 4");
}
