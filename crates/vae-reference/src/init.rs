//! PyTorch's default `nn.Linear` initialisation, from a seed: every weight and bias uniform in
//! ±1/√fan_in (kaiming_uniform with a = √5 gives exactly that bound for the weights).

use crate::layout::{Layout, Tensor};
use crate::SplitMix64;

/// Fresh parameters for `layout`, reproducible from `seed` on every platform.
pub fn init_params(layout: &Layout, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut params = vec![0.0f32; layout.len()];
    for tensor in Tensor::ALL {
        let bound = 1.0 / (tensor.fan_in(layout.sizes) as f32).sqrt();
        for value in &mut params[layout.range(tensor)] {
            *value = rng.uniform(-bound, bound);
        }
    }
    params
}
