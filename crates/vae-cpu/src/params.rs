//! The CPU engine's parameter layout, and its conversion to and from the checkpoint's.
//!
//! Every weight is kept input-major, `[inputs, outputs]` (Flax's kernel layout, the transpose of
//! PyTorch's `[outputs, inputs]`), so each forward layer is `y = x · W + b` with W read along
//! its rows, the layout the micro-kernel streams. The mean and log-variance heads are one
//! `[hidden, 2·latent]` block, as on the GPU. Parameters, gradients and both Adam moments share
//! this one flat layout, so Adam is a single loop.
//!
//! Order: enc1 `[input, hidden]`, its bias, heads `[hidden, 2·latent]`, their biases, dec1
//! `[latent, hidden]`, its bias, out `[hidden, input]`, its bias.

use std::ops::Range;

use vae_reference::{Layout, Sizes, Tensor};

/// Where each block lives in the CPU engine's flat vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuLayout {
    pub sizes: Sizes,
    pub enc1: Range<usize>,
    pub enc1_bias: Range<usize>,
    pub heads: Range<usize>,
    pub heads_bias: Range<usize>,
    pub dec1: Range<usize>,
    pub dec1_bias: Range<usize>,
    pub out: Range<usize>,
    pub out_bias: Range<usize>,
    len: usize,
}

impl CpuLayout {
    pub fn new(sizes: Sizes) -> Self {
        let Sizes {
            input,
            hidden,
            latent,
        } = sizes;
        let mut at = 0;
        let mut next = |len: usize| {
            let range = at..at + len;
            at += len;
            range
        };
        let enc1 = next(input * hidden);
        let enc1_bias = next(hidden);
        let heads = next(hidden * 2 * latent);
        let heads_bias = next(2 * latent);
        let dec1 = next(latent * hidden);
        let dec1_bias = next(hidden);
        let out = next(hidden * input);
        let out_bias = next(input);
        Self {
            sizes,
            enc1,
            enc1_bias,
            heads,
            heads_bias,
            dec1,
            dec1_bias,
            out,
            out_bias,
            len: at,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Values in `layout` (PyTorch's shapes: the checkpoint's and the GPU's) in this layout.
    pub fn from_reference(&self, layout: &Layout, values: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; self.len];
        self.for_each_pair(layout, |ours, theirs| out[ours] = values[theirs]);
        out
    }

    /// Values in this layout written into `layout`'s (its padding left zero).
    pub fn to_reference(&self, layout: &Layout, values: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; layout.len()];
        self.for_each_pair(layout, |ours, theirs| out[theirs] = values[ours]);
        out
    }

    /// Calls `pair(ours, theirs)` with the index of every parameter in both layouts.
    fn for_each_pair(&self, layout: &Layout, mut pair: impl FnMut(usize, usize)) {
        let Sizes {
            input,
            hidden,
            latent,
        } = self.sizes;
        // A PyTorch weight [outputs, inputs] at `theirs` is ours [inputs, outputs] at `ours`,
        // with `columns` outputs per row of ours and our first output at `column`.
        let mut weight =
            |theirs: Range<usize>, ours: usize, (outputs, inputs), (columns, column)| {
                for o in 0..outputs {
                    for i in 0..inputs {
                        pair(
                            ours + i * columns + column + o,
                            theirs.start + o * inputs + i,
                        );
                    }
                }
            };
        weight(
            layout.range(Tensor::Enc1Weight),
            self.enc1.start,
            (hidden, input),
            (hidden, 0),
        );
        let heads = 2 * latent;
        weight(
            layout.range(Tensor::MeanWeight),
            self.heads.start,
            (latent, hidden),
            (heads, 0),
        );
        weight(
            layout.range(Tensor::LogvarWeight),
            self.heads.start,
            (latent, hidden),
            (heads, latent),
        );
        weight(
            layout.range(Tensor::Dec1Weight),
            self.dec1.start,
            (hidden, latent),
            (hidden, 0),
        );
        weight(
            layout.range(Tensor::OutWeight),
            self.out.start,
            (input, hidden),
            (input, 0),
        );
        for (tensor, ours) in [
            (Tensor::Enc1Bias, self.enc1_bias.start),
            (Tensor::MeanBias, self.heads_bias.start),
            (Tensor::LogvarBias, self.heads_bias.start + latent),
            (Tensor::Dec1Bias, self.dec1_bias.start),
            (Tensor::OutBias, self.out_bias.start),
        ] {
            for (k, theirs) in layout.range(tensor).enumerate() {
                pair(ours + k, theirs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layouts_convert_both_ways_and_weights_are_transposed() {
        let sizes = Sizes {
            input: 7,
            hidden: 5,
            latent: 3,
        };
        let ours = CpuLayout::new(sizes);
        let theirs = Layout::aligned(sizes, 64);
        let packed = Layout::new(sizes);
        assert_eq!(ours.len(), packed.len());
        let values: Vec<f32> = (0..theirs.len()).map(|k| k as f32).collect();
        let mut values = values;
        // Padding is not a parameter: zero, as the GPU keeps it.
        let mut used = vec![false; theirs.len()];
        for tensor in Tensor::ALL {
            for k in theirs.range(tensor) {
                used[k] = true;
            }
        }
        for (v, used) in values.iter_mut().zip(&used) {
            if !used {
                *v = 0.0;
            }
        }
        let converted = ours.from_reference(&theirs, &values);
        assert_eq!(ours.to_reference(&theirs, &converted), values);
        // enc1.weight[o=2, i=4] is ours[i=4, o=2].
        let w = theirs.range(Tensor::Enc1Weight).start + 2 * 7 + 4;
        assert_eq!(converted[ours.enc1.start + 4 * 5 + 2], values[w]);
        // logvar.weight[j=1, h=3] is heads[h=3, latent + 1].
        let w = theirs.range(Tensor::LogvarWeight).start + 5 + 3;
        assert_eq!(converted[ours.heads.start + 3 * 6 + 3 + 1], values[w]);
    }
}
