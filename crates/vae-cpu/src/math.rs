//! The step's element-wise parts: the loss and its gradient, the reparameterisation and its
//! backward, Adam. The loss's exponential and logarithm are polynomial approximations (Cephes'
//! `expf` and `logf`, within 2 ulp) because the library ones are scalar calls, and the loss
//! needs one of each per pixel: 100,352 a step. The hot loops run four lanes at a time
//! ([`F4`]); each formula is written once for one value or four ([`Lane`]).

use vae_reference::AdamConfig;

use crate::lanes::{Lane, F4};

/// `e^x` for `x ≤ 0` (what the loss needs: `exp(−|l|)`), to 2 ulp; 0 below −87.
#[inline(always)]
pub fn exp_nonpositive<L: Lane>(x: L) -> L {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so n·ln2 is exact in its high part (Cody–Waite).
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Round to nearest by the 1.5·2^23 trick: the sum's low mantissa bits are then the integer
    // n itself, so the rounding and 2^n are plain float and integer arithmetic on every target
    // (`round` and float-to-int casts are library calls or long sequences in WebAssembly).
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.max(L::splat(-87.0));
    let shifted = x * L::splat(LOG2E) + L::splat(ROUNDER);
    let n = shifted - L::splat(ROUNDER);
    let r = x - n * L::splat(LN2_HI) - n * L::splat(LN2_LO);
    let mut p = L::splat(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        5e-1,
    ] {
        p = p * r + L::splat(c);
    }
    let e = p * r * r + r + L::splat(1.0);
    // 2^n from the exponent field: n ∈ [−126, 0].
    e * shifted.exponent_from_low_bits(ROUNDER, 127)
}

/// `ln(x)` for `x` in `[1, 2]` (what the loss needs: `ln(1 + t)`, t ∈ (0, 1]), to 2 ulp.
#[inline(always)]
pub fn ln_one_to_two<L: Lane>(x: L) -> L {
    const SQRT2: f32 = std::f32::consts::SQRT_2;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Above √2 halve it (exponent 1), so the mantissa lies in [√½, √2).
    let m = x.select_gt(L::splat(SQRT2), x * L::splat(0.5), x);
    let e = x.select_gt(L::splat(SQRT2), L::splat(1.0), L::splat(0.0));
    let f = m - L::splat(1.0);
    let z = f * f;
    let mut p = L::splat(7.037_683_6e-2);
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_4e-1,
        -2.499_999_4e-1,
        3.333_333e-1,
    ] {
        p = p * f + L::splat(c);
    }
    let y = f * z * p - L::splat(0.5) * z;
    e * L::splat(LN2_LO) + y + f + e * L::splat(LN2_HI)
}

/// A pixel's BCE-with-logits `max(l,0) − l·x + ln(1 + e^−|l|)` and its gradient at the logit
/// `(σ(l) − x)` times `scale`, branch-free, for one pixel or four.
#[inline(always)]
fn bce_and_grad<L: Lane>(l: L, t: L, scale: L) -> (L, L) {
    let (zero, one) = (L::splat(0.0), L::splat(1.0));
    let e = exp_nonpositive(zero - l.abs());
    let softplus = ln_one_to_two(one + e);
    let inverse = one / (one + e);
    // σ(l) = 1/(1+e) for l ≥ 0 and e/(1+e) below.
    let sigmoid = l.select_ge(zero, inverse, e * inverse);
    (l.max(zero) - l * t + softplus, (sigmoid - t) * scale)
}

/// One image's BCE summed over its pixels, and its gradient at the logits scaled by `scale`
/// (1/B for the batch mean), written over the logits. Sums run in four lanes, then in f64.
pub fn bce_row(logits_to_grad: &mut [f32], x: &[f32], scale: f32) -> f64 {
    let n = logits_to_grad.len().min(x.len());
    let (logits, x) = (&mut logits_to_grad[..n], &x[..n]);
    let whole = n - n % 4;
    let mut sums = F4::splat(0.0);
    for (l, t) in logits[..whole]
        .chunks_exact_mut(4)
        .zip(x[..whole].chunks_exact(4))
    {
        let (loss, grad) = bce_and_grad(F4::load(l), F4::load(t), F4::splat(scale));
        sums = sums + loss;
        grad.store(l);
    }
    let mut total = f64::from(sums.sum());
    for (l, &t) in logits[whole..].iter_mut().zip(&x[whole..]) {
        let (loss, grad) = bce_and_grad(*l, t, scale);
        total += f64::from(loss);
        *l = grad;
    }
    total
}

/// One image's BCE summed over its pixels, without the gradient (evaluation, the likelihood
/// estimate). Four lanes, then f64, as [`bce_row`] sums.
pub fn bce_sum(logits: &[f32], x: &[f32]) -> f64 {
    let n = logits.len().min(x.len());
    let whole = n - n % 4;
    let mut sums = F4::splat(0.0);
    for (l, t) in logits[..whole]
        .chunks_exact(4)
        .zip(x[..whole].chunks_exact(4))
    {
        sums = sums + bce_and_grad(F4::load(l), F4::load(t), F4::splat(0.0)).0;
    }
    let rest: f64 = logits[whole..n]
        .iter()
        .zip(&x[whole..n])
        .map(|(&l, &t)| f64::from(bce_and_grad(l, t, 0.0).0))
        .sum();
    f64::from(sums.sum()) + rest
}

/// The heads `[mean | logvar]` of one image to its z (`mean + e^{½·logvar}·ε`), returning its
/// KL(q(z|x) ‖ N(0, I)) = −½ Σ (1 + logvar − mean² − e^logvar).
pub fn reparameterize_row(heads: &[f32], eps: &[f32], z: &mut [f32]) -> f64 {
    let latent = z.len();
    let (mean, logvar) = heads.split_at(latent);
    let mut kl = 0.0f64;
    for j in 0..latent {
        let std = (0.5 * logvar[j]).exp();
        z[j] = mean[j] + std * eps[j];
        kl += f64::from(-0.5 * (1.0 + logvar[j] - mean[j] * mean[j] - std * std));
    }
    kl
}

/// The gradient at one image's heads from the gradient at its z, with the KL term weighted by
/// `kl_scale` (β/B): d_mean = dz + kl_scale·mean, d_logvar = dz·ε·½e^{½logvar} + kl_scale·½(e^logvar − 1).
pub fn reparameterize_backward_row(
    d_z: &[f32],
    heads: &[f32],
    eps: &[f32],
    kl_scale: f32,
    d_heads: &mut [f32],
) {
    let latent = d_z.len();
    let (mean, logvar) = heads.split_at(latent);
    let (d_mean, d_logvar) = d_heads.split_at_mut(latent);
    for j in 0..latent {
        let std = (0.5 * logvar[j]).exp();
        d_mean[j] = d_z[j] + kl_scale * mean[j];
        d_logvar[j] = d_z[j] * eps[j] * 0.5 * std + kl_scale * 0.5 * (std * std - 1.0);
    }
}

/// One Adam step `t` (1 for the first) over flat parameters, as `torch.optim.Adam`:
/// m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε).
pub fn adam(
    config: &AdamConfig,
    t: u64,
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let t = t.min(i32::MAX as u64) as i32;
    // The bias corrections as factors: one division and one square root per parameter.
    let step_size = (config.lr / (1.0 - config.beta1.powi(t))) as f32;
    let inverse_correction2 = (1.0 / (1.0 - config.beta2.powi(t))) as f32;
    let (beta1, beta2, eps) = (config.beta1 as f32, config.beta2 as f32, config.eps as f32);
    #[inline(always)]
    fn update<L: Lane>(
        p: L,
        g: L,
        m: L,
        v: L,
        [beta1, beta2, step, inv2, eps]: [f32; 5],
    ) -> [L; 3] {
        let m = L::splat(beta1) * m + L::splat(1.0 - beta1) * g;
        let v = L::splat(beta2) * v + L::splat(1.0 - beta2) * g * g;
        let denominator = (v * L::splat(inv2)).sqrt() + L::splat(eps);
        [p - L::splat(step) * m / denominator, m, v]
    }
    let constants = [beta1, beta2, step_size, inverse_correction2, eps];
    let n = params.len().min(grads.len()).min(m.len()).min(v.len());
    let whole = n - n % 4;
    for (((p, g), m), v) in params[..whole]
        .chunks_exact_mut(4)
        .zip(grads[..whole].chunks_exact(4))
        .zip(m[..whole].chunks_exact_mut(4))
        .zip(v[..whole].chunks_exact_mut(4))
    {
        let [p_new, m_new, v_new] = update(
            F4::load(p),
            F4::load(g),
            F4::load(m),
            F4::load(v),
            constants,
        );
        p_new.store(p);
        m_new.store(m);
        v_new.store(v);
    }
    for k in whole..n {
        [params[k], m[k], v[k]] = update(params[k], grads[k], m[k], v[k], constants);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_ln_are_within_two_ulp_of_the_library() {
        let ulps = |a: f32, b: f32| (a.to_bits() as i64 - b.to_bits() as i64).abs();
        for i in 0..=200_000 {
            let x = -87.0 * i as f32 / 200_000.0;
            let want = (x as f64).exp() as f32;
            assert!(
                ulps(exp_nonpositive(x), want) <= 2,
                "exp({x}): {} vs {want}",
                exp_nonpositive(x)
            );
        }
        assert!(exp_nonpositive(-1000.0) < 1e-37);
        for i in 0..=200_000 {
            let x = 1.0 + i as f32 / 200_000.0;
            let want = (x as f64).ln() as f32;
            let got = ln_one_to_two(x);
            assert!(
                ulps(got, want) <= 2 || (got - want).abs() < 1e-8,
                "ln({x}): {got} vs {want}"
            );
        }
    }

    #[test]
    fn the_loss_row_matches_the_reference_formula() {
        let logits: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 1.7).collect();
        let x: Vec<f32> = (0..37).map(|i| (i % 3 == 0) as u8 as f32).collect();
        let mut grad = logits.clone();
        let sum = bce_row(&mut grad, &x, 0.5);
        let want: f64 = logits
            .iter()
            .zip(&x)
            .map(|(&l, &t)| vae_reference::model::bce_with_logits(f64::from(l), f64::from(t)))
            .sum();
        assert!((sum - want).abs() < 1e-5 * want, "{sum} vs {want}");
        assert!((bce_sum(&logits, &x) - want).abs() < 1e-5 * want);
        for ((&g, &l), &t) in grad.iter().zip(&logits).zip(&x) {
            let sigmoid = 1.0 / (1.0 + (-f64::from(l)).exp());
            assert!((f64::from(g) - (sigmoid - f64::from(t)) * 0.5).abs() < 1e-7);
        }
    }
}
