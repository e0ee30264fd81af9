//! The GPU's counter-based Gaussian noise (`shaders/noise.wgsl`), mirrored bit for bit in its
//! integer part, so the reference sees the same ε as the GPU without reading it back.

fn pcg_hash(input: u32) -> u32 {
    let state = input.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

fn noise_hash(seed: u64, step: u32, counter: u32) -> u32 {
    let (low, high) = (seed as u32, (seed >> 32) as u32);
    pcg_hash(low ^ pcg_hash(high ^ pcg_hash(step ^ pcg_hash(counter))))
}

/// Standard normal number `element` of training step `step` for `seed` (Box–Muller, cosine branch).
pub fn standard_normal(seed: u64, step: u32, element: u32) -> f64 {
    let u1 = (f64::from(noise_hash(seed, step, 2 * element) >> 8) + 1.0) / 16_777_216.0;
    let u2 = f64::from(noise_hash(seed, step, 2 * element + 1) >> 8) / 16_777_216.0;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// ε for a whole batch: `rows × latent` values, element `r·latent + j`.
pub fn batch_noise(seed: u64, step: u32, rows: usize, latent: usize) -> Vec<f64> {
    (0..(rows * latent) as u32)
        .map(|element| standard_normal(seed, step, element))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_noise_is_standard_normal_and_keyed() {
        let values = batch_noise(3, 1, 1000, 20);
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let kurtosis = values.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n / (var * var);
        // n = 20,000: sd of the mean 0.007, of the variance 0.01, of the kurtosis ≈ 0.035.
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        assert!((kurtosis - 3.0).abs() < 0.2, "kurtosis {kurtosis}");
        assert_eq!(values, batch_noise(3, 1, 1000, 20));
        assert_ne!(values[..20], batch_noise(3, 2, 1, 20)[..]);
        assert_ne!(values[..20], batch_noise(4, 1, 1, 20)[..]);
        assert!(values.iter().all(|v| v.is_finite()));
    }
}
