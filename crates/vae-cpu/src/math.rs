//! The step's element-wise parts: the loss and its gradient, the reparameterisation and its
//! backward, Adam. Written branch-free over slices so the compiler vectorises them (SIMD128,
//! SSE, NEON); the exponential and logarithm are polynomial approximations (Cephes' `expf` and
//! `logf`, within 2 ulp) because the library ones are scalar calls, and the loss needs one of
//! each per pixel: 100,352 a step.

use vae_reference::AdamConfig;

/// `e^x` for `x ≤ 0` (what the loss needs: `exp(−|l|)`), to 2 ulp; 0 below −87.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so n·ln2 is exact in its high part (Cody–Waite).
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    // Round to nearest by the 1.5·2^23 trick: plain float arithmetic, so it vectorises on every
    // target (`round` is a library call in WebAssembly).
    const ROUNDER: f32 = 12_582_912.0;
    let n = (x * LOG2E + ROUNDER) - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let e = p * r * r + r + 1.0;
    // 2^n by building the exponent: n ∈ [−126, 0].
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    e * scale
}

/// `ln(x)` for `x` in `[1, 2]` (what the loss needs: `ln(1 + t)`, t ∈ (0, 1]), to 2 ulp.
#[inline(always)]
pub fn ln_one_to_two(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    // x ∈ [1, 2]: above √2 halve it (exponent 1), so the mantissa lies in [√½, √2).
    let high = x > 2.0 * SQRT_HALF;
    let (m, e) = if high { (x * 0.5, 1.0) } else { (x, 0.0) };
    let f = m - 1.0;
    let z = f * f;
    let mut p = 7.037_683_6e-2;
    p = p * f - 1.151_461e-1;
    p = p * f + 1.167_699_9e-1;
    p = p * f - 1.242_014_1e-1;
    p = p * f + 1.424_932_3e-1;
    p = p * f - 1.666_805_8e-1;
    p = p * f + 2.000_071_4e-1;
    p = p * f - 2.499_999_4e-1;
    p = p * f + 3.333_333e-1;
    let y = f * z * p - 0.5 * z;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    e * LN2_LO + y + f + e * LN2_HI
}

/// One image's BCE-with-logits summed over its pixels, and its gradient at the logits scaled by
/// `scale` (1/B for the batch mean): `ℓ = max(l,0) − l·x + ln(1 + e^−|l|)`, `dℓ/dl = σ(l) − x`.
/// The gradient overwrites the logits in place. Sums run in eight lanes, then in f64.
#[inline(always)]
pub fn bce_row(logits_to_grad: &mut [f32], x: &[f32], scale: f32) -> f64 {
    const LANES: usize = 8;
    let mut sums = [0.0f32; LANES];
    let one = |l: &mut f32, t: f32| -> f32 {
        let value = *l;
        let e = exp_nonpositive(-value.abs());
        let softplus = ln_one_to_two(1.0 + e);
        let inverse = 1.0 / (1.0 + e);
        let sigmoid = if value >= 0.0 { inverse } else { e * inverse };
        *l = (sigmoid - t) * scale;
        value.max(0.0) - value * t + softplus
    };
    let mut chunks = logits_to_grad.chunks_exact_mut(LANES);
    let mut targets = x.chunks_exact(LANES);
    for (l, t) in (&mut chunks).zip(&mut targets) {
        for lane in 0..LANES {
            sums[lane] += one(&mut l[lane], t[lane]);
        }
    }
    let mut total: f64 = sums.iter().map(|&s| f64::from(s)).sum();
    for (l, &t) in chunks.into_remainder().iter_mut().zip(targets.remainder()) {
        total += f64::from(one(l, t));
    }
    total
}

/// One image's BCE summed over its pixels, without the gradient (evaluation).
pub fn bce_sum(logits: &[f32], x: &[f32]) -> f64 {
    logits
        .iter()
        .zip(x)
        .map(|(&l, &t)| {
            let softplus = ln_one_to_two(1.0 + exp_nonpositive(-l.abs()));
            f64::from(l.max(0.0) - l * t + softplus)
        })
        .sum()
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
    let correction1 = (1.0 - config.beta1.powi(t)) as f32;
    let correction2 = (1.0 - config.beta2.powi(t)) as f32;
    let (beta1, beta2) = (config.beta1 as f32, config.beta2 as f32);
    let (lr, eps) = (config.lr as f32, config.eps as f32);
    for (((p, &g), m), v) in params
        .iter_mut()
        .zip(grads)
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        let m_new = beta1 * *m + (1.0 - beta1) * g;
        let v_new = beta2 * *v + (1.0 - beta2) * g * g;
        *m = m_new;
        *v = v_new;
        *p -= lr * (m_new / correction1) / ((v_new / correction2).sqrt() + eps);
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
