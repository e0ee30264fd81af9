//! Dense (fully connected) layers.

/// What follows the affine map of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
}

impl Activation {
    pub fn apply(self, value: f32) -> f32 {
        match self {
            Activation::Identity => value,
            Activation::Relu => value.max(0.0),
        }
    }
}

/// `y[r, o] = act(b[o] + Σ_i x[r, i] · w[o, i])`.
///
/// `x` is `[rows, inputs]`, `w` is `[outputs, inputs]`, `b` is `[outputs]`; returns `[rows, outputs]`.
/// Sums are accumulated in `f64` so the reference is more precise than any `f32` kernel it checks.
///
/// # Panics
/// If a slice length does not match the shape: a caller bug, not a data error.
pub fn dense_forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    rows: usize,
    inputs: usize,
    outputs: usize,
    activation: Activation,
) -> Vec<f32> {
    assert_eq!(x.len(), rows * inputs, "x must be [rows, inputs]");
    assert_eq!(w.len(), outputs * inputs, "w must be [outputs, inputs]");
    assert_eq!(b.len(), outputs, "b must be [outputs]");
    let mut y = Vec::with_capacity(rows * outputs);
    for r in 0..rows {
        let x_row = &x[r * inputs..(r + 1) * inputs];
        for o in 0..outputs {
            let w_row = &w[o * inputs..(o + 1) * inputs];
            let dot: f64 = x_row
                .iter()
                .zip(w_row)
                .map(|(&xi, &wi)| f64::from(xi) * f64::from(wi))
                .sum();
            y.push(activation.apply((dot + f64::from(b[o])) as f32));
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_example_by_hand() {
        // Two rows, three inputs, two outputs.
        let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
        let w = [0.5, -1.0, 2.0, 1.0, 1.0, 1.0];
        let b = [0.25, -10.0];
        let y = dense_forward(&x, &w, &b, 2, 3, 2, Activation::Identity);
        assert_eq!(y, vec![4.75, -4.0, 1.75, -10.0]);
        let y = dense_forward(&x, &w, &b, 2, 3, 2, Activation::Relu);
        assert_eq!(y, vec![4.75, 0.0, 1.75, 0.0]);
    }

    #[test]
    fn zero_inputs_give_the_bias() {
        let y = dense_forward(&[], &[], &[1.5, -2.0], 3, 0, 2, Activation::Relu);
        assert_eq!(y, vec![1.5, 0.0, 1.5, 0.0, 1.5, 0.0]);
    }
}
