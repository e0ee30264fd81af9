//! The model's sizes and where each parameter tensor lives in one flat parameter vector.
//!
//! The GPU engine uses the same layout for its flat parameter, gradient and Adam-moment buffers,
//! and the checkpoint format uses the names (those of the reference PyTorch model).

/// The model's sizes: input pixels, hidden width, latent dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sizes {
    pub input: usize,
    pub hidden: usize,
    pub latent: usize,
}

impl Sizes {
    /// The classic model (Kingma & Welling; the Flax example): 784 → 500 → 20.
    pub const MNIST: Sizes = Sizes {
        input: 784,
        hidden: 500,
        latent: 20,
    };
}

/// The parameter tensors, in their order in the flat vector. The mean and log-variance heads'
/// weights are adjacent, and so are their biases, so the GPU runs both heads as one dense layer
/// of `2·latent` outputs (`[mean | logvar]` per image).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tensor {
    Enc1Weight,
    Enc1Bias,
    MeanWeight,
    MeanBias,
    LogvarWeight,
    LogvarBias,
    Dec1Weight,
    Dec1Bias,
    OutWeight,
    OutBias,
}

impl Tensor {
    pub const ALL: [Tensor; 10] = [
        Tensor::Enc1Weight,
        Tensor::Enc1Bias,
        Tensor::MeanWeight,
        Tensor::LogvarWeight,
        Tensor::MeanBias,
        Tensor::LogvarBias,
        Tensor::Dec1Weight,
        Tensor::Dec1Bias,
        Tensor::OutWeight,
        Tensor::OutBias,
    ];

    /// The name in the reference PyTorch model's state dict.
    pub fn name(self) -> &'static str {
        match self {
            Tensor::Enc1Weight => "encoder.enc1.weight",
            Tensor::Enc1Bias => "encoder.enc1.bias",
            Tensor::MeanWeight => "encoder.mean_x.weight",
            Tensor::MeanBias => "encoder.mean_x.bias",
            Tensor::LogvarWeight => "encoder.logvar_x.weight",
            Tensor::LogvarBias => "encoder.logvar_x.bias",
            Tensor::Dec1Weight => "decoder.dec1.weight",
            Tensor::Dec1Bias => "decoder.dec1.bias",
            Tensor::OutWeight => "decoder.out.weight",
            Tensor::OutBias => "decoder.out.bias",
        }
    }

    /// `[outputs, inputs]` for weights (PyTorch's nn.Linear layout), `[outputs]` for biases.
    pub fn shape(self, sizes: Sizes) -> Vec<usize> {
        let Sizes {
            input,
            hidden,
            latent,
        } = sizes;
        match self {
            Tensor::Enc1Weight => vec![hidden, input],
            Tensor::Enc1Bias => vec![hidden],
            Tensor::MeanWeight | Tensor::LogvarWeight => vec![latent, hidden],
            Tensor::MeanBias | Tensor::LogvarBias => vec![latent],
            Tensor::Dec1Weight => vec![hidden, latent],
            Tensor::Dec1Bias => vec![hidden],
            Tensor::OutWeight => vec![input, hidden],
            Tensor::OutBias => vec![input],
        }
    }

    /// The layer's fan-in, which sets PyTorch's default initialisation bound 1/√fan_in.
    pub fn fan_in(self, sizes: Sizes) -> usize {
        match self {
            Tensor::Enc1Weight | Tensor::Enc1Bias => sizes.input,
            Tensor::MeanWeight | Tensor::MeanBias | Tensor::LogvarWeight | Tensor::LogvarBias => {
                sizes.hidden
            }
            Tensor::Dec1Weight | Tensor::Dec1Bias => sizes.latent,
            Tensor::OutWeight | Tensor::OutBias => sizes.hidden,
        }
    }
}

/// The model's dense layers in forward order, the mean and log-variance heads as one layer of
/// 2·latent outputs (their tensors lie side by side in a [`Layout`]). The reparameterisation
/// stands between `Heads` and `Dec1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Enc1,
    Heads,
    Dec1,
    Out,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Enc1, Layer::Heads, Layer::Dec1, Layer::Out];
    /// The first this many of [`Layer::ALL`] are the encoder's.
    pub const ENCODER: usize = 2;

    /// (inputs, outputs).
    pub fn size(self, sizes: Sizes) -> (usize, usize) {
        let Sizes {
            input,
            hidden,
            latent,
        } = sizes;
        match self {
            Layer::Enc1 => (input, hidden),
            Layer::Heads => (hidden, 2 * latent),
            Layer::Dec1 => (latent, hidden),
            Layer::Out => (hidden, input),
        }
    }

    /// A ReLU follows the layer.
    pub fn relu(self) -> bool {
        matches!(self, Layer::Enc1 | Layer::Dec1)
    }

    /// The layer's input came out of a ReLU (its input gradient is masked by it).
    pub fn input_relu(self) -> bool {
        matches!(self, Layer::Heads | Layer::Out)
    }
}

/// Offsets of every tensor in the flat parameter vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub sizes: Sizes,
    ranges: Vec<std::ops::Range<usize>>,
    /// The flat vector's length: past the last tensor, rounded up to the alignment.
    end: usize,
}

impl Layout {
    /// Tensors packed back to back.
    pub fn new(sizes: Sizes) -> Layout {
        Self::aligned(sizes, 1)
    }

    /// Each tensor starting at a multiple of `align` elements, except that the log-variance head
    /// follows the mean head directly (weights, and biases), so the two stay one contiguous
    /// `[2·latent, …]` block, and the whole a multiple of `align` long. The GPU binds tensors at
    /// 256-byte offsets and updates the flat vector in vec4s: `align` 64.
    pub fn aligned(sizes: Sizes, align: usize) -> Layout {
        let mut start = 0usize;
        let ranges = Tensor::ALL
            .iter()
            .map(|&tensor| {
                if !matches!(tensor, Tensor::LogvarWeight | Tensor::LogvarBias) {
                    start = start.div_ceil(align) * align;
                }
                let len: usize = tensor.shape(sizes).iter().product();
                let range = start..start + len;
                start += len;
                range
            })
            .collect();
        Layout {
            sizes,
            ranges,
            end: start.div_ceil(align) * align,
        }
    }

    /// `layer`'s weight (or, with `bias`, its bias): the heads' as one block.
    pub fn layer(&self, layer: Layer, bias: bool) -> std::ops::Range<usize> {
        let (weight, bias_tensor) = match layer {
            Layer::Heads => return self.heads(bias),
            Layer::Enc1 => (Tensor::Enc1Weight, Tensor::Enc1Bias),
            Layer::Dec1 => (Tensor::Dec1Weight, Tensor::Dec1Bias),
            Layer::Out => (Tensor::OutWeight, Tensor::OutBias),
        };
        self.range(if bias { bias_tensor } else { weight })
    }

    /// The mean and log-variance heads' weights (or, with `bias`, biases) as one block.
    pub fn heads(&self, bias: bool) -> std::ops::Range<usize> {
        let (mean, logvar) = if bias {
            (Tensor::MeanBias, Tensor::LogvarBias)
        } else {
            (Tensor::MeanWeight, Tensor::LogvarWeight)
        };
        self.range(mean).start..self.range(logvar).end
    }

    pub fn range(&self, tensor: Tensor) -> std::ops::Range<usize> {
        let index = Tensor::ALL
            .iter()
            .position(|&t| t == tensor)
            .expect("every tensor is listed");
        self.ranges[index].clone()
    }

    /// Total number of parameters (815,824 for the MNIST model).
    pub fn len(&self) -> usize {
        self.end
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mnist_model_has_the_published_parameter_count() {
        // 784·500+500 + 2·(500·20+20) + 20·500+500 + 500·784+784
        let layout = Layout::new(Sizes::MNIST);
        assert_eq!(layout.len(), 392_500 + 20_040 + 10_500 + 392_784);
        assert_eq!(layout.range(Tensor::Enc1Bias), 392_000..392_500);
        // The two heads are adjacent: weights, then biases.
        assert_eq!(
            layout.range(Tensor::MeanWeight).end,
            layout.range(Tensor::LogvarWeight).start
        );
        assert_eq!(
            layout.range(Tensor::MeanBias).end,
            layout.range(Tensor::LogvarBias).start
        );
        assert_eq!(layout.range(Tensor::OutBias).end, layout.len());
    }

    #[test]
    fn an_aligned_layout_starts_tensors_on_the_boundary_but_keeps_the_heads_together() {
        let packed = Layout::new(Sizes::MNIST);
        let layout = Layout::aligned(Sizes::MNIST, 64);
        for tensor in Tensor::ALL {
            let range = layout.range(tensor);
            assert_eq!(range.len(), packed.range(tensor).len());
            if !matches!(tensor, Tensor::LogvarWeight | Tensor::LogvarBias) {
                assert_eq!(range.start % 64, 0, "{tensor:?}");
            }
        }
        assert_eq!(layout.heads(false).len(), 2 * 20 * 500);
        assert_eq!(layout.heads(true).len(), 40);
        assert!(layout.len() < packed.len() + 10 * 64);
        assert_eq!(layout.len() % 64, 0);
        // Odd sizes too: the end is padded, the last tensor is where it was.
        let odd = Sizes {
            input: 7,
            hidden: 5,
            latent: 3,
        };
        let layout = Layout::aligned(odd, 64);
        assert_eq!(layout.len() % 64, 0);
        assert_eq!(layout.range(Tensor::OutBias).len(), 7);
    }
}
