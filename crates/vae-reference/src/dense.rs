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

/// `act(x · wᵀ + b)` in f64, for `w` `[outputs, inputs]` and `b` `[outputs]`.
pub fn dense_f64(x: &[f64], w: &[f64], b: &[f64], inputs: usize, relu: bool) -> Vec<f64> {
    let outputs = b.len();
    let rows = x.len() / inputs.max(1);
    let mut y = vec![0.0; rows * outputs];
    for r in 0..rows {
        for o in 0..outputs {
            let dot: f64 = (0..inputs)
                .map(|i| x[r * inputs + i] * w[o * inputs + i])
                .sum();
            let value = dot + b[o];
            y[r * outputs + o] = if relu { value.max(0.0) } else { value };
        }
    }
    y
}

/// The gradient with respect to a dense layer's input: `dx = dy · w`, `[rows, inputs]`.
pub fn dense_input_grad(dy: &[f64], w: &[f64], outputs: usize, inputs: usize) -> Vec<f64> {
    let rows = dy.len() / outputs.max(1);
    let mut dx = vec![0.0; rows * inputs];
    for r in 0..rows {
        for o in 0..outputs {
            let g = dy[r * outputs + o];
            for i in 0..inputs {
                dx[r * inputs + i] += g * w[o * inputs + i];
            }
        }
    }
    dx
}

/// The gradients of a dense layer's parameters: `dw = dyᵀ · x` (`[outputs, inputs]`) and
/// `db` = the column sums of `dy` (`[outputs]`).
pub fn dense_param_grads(
    dy: &[f64],
    x: &[f64],
    inputs: usize,
    outputs: usize,
) -> (Vec<f64>, Vec<f64>) {
    let rows = dy.len() / outputs.max(1);
    let mut dw = vec![0.0; outputs * inputs];
    let mut db = vec![0.0; outputs];
    for r in 0..rows {
        for o in 0..outputs {
            let g = dy[r * outputs + o];
            db[o] += g;
            for i in 0..inputs {
                dw[o * inputs + i] += g * x[r * inputs + i];
            }
        }
    }
    (dw, db)
}

/// Zeroes the gradient where a ReLU was inactive (its output was 0): the ReLU's backward.
pub fn relu_mask(grad: &mut [f64], activation: &[f64]) {
    for (g, &a) in grad.iter_mut().zip(activation) {
        if a <= 0.0 {
            *g = 0.0;
        }
    }
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
