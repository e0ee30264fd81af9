//! Adam (Kingma & Ba 2015) with bias correction, exactly as `torch.optim.Adam` computes it.

/// Adam's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// One step `t` (1 for the first) over flat parameters, gradients and both moments:
/// m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε).
pub fn adam_step(
    config: AdamConfig,
    step: u32,
    params: &mut [f64],
    grads: &[f64],
    m: &mut [f64],
    v: &mut [f64],
) {
    let correction1 = 1.0 - config.beta1.powi(step as i32);
    let correction2 = 1.0 - config.beta2.powi(step as i32);
    for k in 0..params.len() {
        let g = grads[k];
        m[k] = config.beta1 * m[k] + (1.0 - config.beta1) * g;
        v[k] = config.beta2 * v[k] + (1.0 - config.beta2) * g * g;
        let m_hat = m[k] / correction1;
        let v_hat = v[k] / correction2;
        params[k] -= config.lr * m_hat / (v_hat.sqrt() + config.eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_moves_each_parameter_by_lr_against_its_gradient_sign() {
        let mut params = vec![1.0, 1.0, 1.0];
        let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
        adam_step(
            AdamConfig::default(),
            1,
            &mut params,
            &[0.5, -2.0, 0.0],
            &mut m,
            &mut v,
        );
        // m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g).
        assert!((params[0] - (1.0 - 1e-3)).abs() < 1e-10);
        assert!((params[1] - (1.0 + 1e-3)).abs() < 1e-10);
        assert_eq!(params[2], 1.0);
    }
}
