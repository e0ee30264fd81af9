//! The buffers of one batch's activations and the kernel bindings that run the model over them:
//! a forward pass (used by training, evaluation and encoding) and the backward pass.

use std::num::NonZeroU64;

use vae_reference::{Layer, Layout, Sizes};

use crate::kernels::dense::{DenseBuffers, DenseForward, DenseShape};
use crate::kernels::dense_backward::{DenseBackwardInput, DenseBackwardWeight};
use crate::kernels::gather::BatchGather;
use crate::kernels::step::{
    bce_uniform, iwae_weights_uniform, reparameterize_uniform, rows_uniform, spread_workgroups,
    StepKernels, ROW_WORKGROUP,
};
use crate::kernels::{Binding, LazyKernel};
use crate::{GpuContext, GpuError};

/// Every pipeline the model uses, compiled once per device.
pub(crate) struct Kernels {
    pub forward: DenseForward,
    pub input_grad: DenseBackwardInput,
    pub weight_grad: DenseBackwardWeight,
    pub step: StepKernels,
    pub gather: BatchGather,
    /// latent_lines.wgsl: only the latent-space views use it, so it waits for their first use.
    pub lines: LazyKernel,
    /// The log-likelihood estimate's kernels, compiled when one is first asked for.
    pub importance_sample: LazyKernel,
    pub importance_weight: LazyKernel,
    pub log_mean_exp: LazyKernel,
    /// The IWAE step's kernels (iwae_weights, scale_rows, iwae_backward), compiled when a model
    /// with K > 1 is first built.
    pub iwae_weights: LazyKernel,
    pub scale_rows: LazyKernel,
    pub iwae_backward: LazyKernel,
}

impl Kernels {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        Ok(Self {
            forward: DenseForward::new(context).await?,
            input_grad: DenseBackwardInput::new(context).await?,
            weight_grad: DenseBackwardWeight::new(context).await?,
            step: StepKernels::new(context).await?,
            gather: BatchGather::new(context).await?,
            lines: LazyKernel::new(crate::shaders::LATENT_LINES, &[]),
            importance_sample: LazyKernel::new(crate::shaders::IMPORTANCE_SAMPLE, &[]),
            importance_weight: LazyKernel::new(crate::shaders::IMPORTANCE_WEIGHT, &[]),
            log_mean_exp: LazyKernel::new(crate::shaders::LOG_MEAN_EXP, &[]),
            iwae_weights: LazyKernel::new(crate::shaders::IWAE_WEIGHTS, &[]),
            scale_rows: LazyKernel::new(crate::shaders::SCALE_ROWS, &[]),
            iwae_backward: LazyKernel::new(crate::shaders::IWAE_BACKWARD, &[]),
        })
    }
}

pub(crate) fn storage_buffer(device: &wgpu::Device, label: &str, floats: usize) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (floats.max(1) * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A binding of the `range` (in f32 elements) of `buffer`.
pub(crate) fn part(
    buffer: &wgpu::Buffer,
    range: std::ops::Range<usize>,
) -> wgpu::BufferBinding<'_> {
    wgpu::BufferBinding {
        buffer,
        offset: (range.start * 4) as u64,
        size: NonZeroU64::new((range.len() * 4) as u64),
    }
}

pub(super) fn whole(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

/// One batch's activations (and, for training, their gradients), `rows` images of `samples`
/// draws each (IWAE's K; 1 but for training with K > 1): the encoder's buffers hold a row per
/// image, the decoder's and the loss's a row per draw.
pub(crate) struct Activations {
    pub rows: u32,
    pub samples: u32,
    pub x: wgpu::Buffer,
    pub h1: wgpu::Buffer,
    /// `[rows, 2·latent]`: mean, then logvar, per image.
    pub heads: wgpu::Buffer,
    pub z: wgpu::Buffer,
    pub eps: wgpu::Buffer,
    pub kl: wgpu::Buffer,
    pub h2: wgpu::Buffer,
    pub logits: wgpu::Buffer,
    pub d_logits: wgpu::Buffer,
    pub bce: wgpu::Buffer,
    pub d_h2: wgpu::Buffer,
    pub d_z: wgpu::Buffer,
    pub d_heads: wgpu::Buffer,
    pub d_h1: wgpu::Buffer,
    /// Each draw's w̃ / B (iwae_weights.wgsl); one float when K = 1.
    pub weight: wgpu::Buffer,
}

impl Activations {
    pub fn new(device: &wgpu::Device, sizes: Sizes, rows: u32) -> Self {
        Self::with_samples(device, sizes, rows, 1)
    }

    pub fn with_samples(device: &wgpu::Device, sizes: Sizes, rows: u32, samples: u32) -> Self {
        let r = rows as usize;
        let d = r * samples as usize;
        let Sizes {
            input,
            hidden,
            latent,
        } = sizes;
        let buffer = |label, floats| storage_buffer(device, label, floats);
        Self {
            rows,
            samples,
            x: buffer("x", r * input),
            h1: buffer("h1", r * hidden),
            heads: buffer("heads", r * 2 * latent),
            z: buffer("z", d * latent),
            eps: buffer("eps", d * latent),
            kl: buffer("kl rows", d),
            h2: buffer("h2", d * hidden),
            logits: buffer("logits", d * input),
            d_logits: buffer("d logits", d * input),
            bce: buffer("bce rows", d),
            d_h2: buffer("d h2", d * hidden),
            d_z: buffer("d z", d * latent),
            d_heads: buffer("d heads", r * 2 * latent),
            d_h1: buffer("d h1", r * hidden),
            weight: buffer("iwae weights", if samples > 1 { d } else { 1 }),
        }
    }
}

impl Activations {
    /// Rows of the decoder and the loss: each image's draws.
    pub fn draws(&self) -> u32 {
        self.rows * self.samples
    }

    /// Rows `layer` runs over: an image each for the encoder, a draw each for the decoder.
    pub fn rows_of(&self, layer: Layer) -> u32 {
        match layer {
            Layer::Enc1 | Layer::Heads => self.rows,
            Layer::Dec1 | Layer::Out => self.draws(),
        }
    }

    /// `layer`'s input and output.
    pub fn around(&self, layer: Layer) -> (&wgpu::Buffer, &wgpu::Buffer) {
        match layer {
            Layer::Enc1 => (&self.x, &self.h1),
            Layer::Heads => (&self.h1, &self.heads),
            Layer::Dec1 => (&self.z, &self.h2),
            Layer::Out => (&self.h2, &self.logits),
        }
    }

    /// The gradients at `layer`'s output and, but for the first layer, at its input.
    pub fn gradients(&self, layer: Layer) -> (&wgpu::Buffer, Option<&wgpu::Buffer>) {
        match layer {
            Layer::Enc1 => (&self.d_h1, None),
            Layer::Heads => (&self.d_heads, Some(&self.d_h1)),
            Layer::Dec1 => (&self.d_h2, Some(&self.d_z)),
            Layer::Out => (&self.d_logits, Some(&self.d_h2)),
        }
    }
}

/// `layer` over a batch of `rows`, with `relu` (a ReLU after it, or, for a gradient, before it).
pub(super) fn shape(rows: u32, sizes: Sizes, layer: Layer, relu: bool) -> DenseShape {
    let (inputs, outputs) = layer.size(sizes);
    DenseShape::new(rows as usize, inputs, outputs, relu)
}

/// The forward pass over one [`Activations`]: encoder, heads, reparameterisation, decoder, loss
/// and the metrics record (into `ring`, at the slot of `state`'s step).
pub(crate) struct ForwardPass {
    /// Each of [`Layer::ALL`], in order.
    dense: Vec<Binding>,
    reparameterize: Binding,
    bce: Binding,
    /// With K > 1: each draw's weight, then the d logits rows scaled by it.
    iwae: Option<(Binding, Binding)>,
    metrics: Binding,
}

/// What a pass reads besides its activations.
pub(crate) struct PassInputs<'a> {
    pub layout: &'a Layout,
    pub params: &'a wgpu::Buffer,
    pub state: &'a wgpu::Buffer,
    pub ring: &'a wgpu::Buffer,
    pub ring_slots: u32,
    pub seed: u64,
}

impl ForwardPass {
    pub async fn bind(
        context: &GpuContext,
        kernels: &Kernels,
        inputs: &PassInputs<'_>,
        a: &Activations,
    ) -> Result<Self, GpuError> {
        let (layout, s) = (inputs.layout, inputs.layout.sizes);
        let step = &kernels.step;
        let (rows, draws, samples) = (a.rows, a.draws(), a.samples);
        let mut dense = Vec::with_capacity(Layer::ALL.len());
        for layer in Layer::ALL {
            let (x, y) = a.around(layer);
            let buffers = DenseBuffers {
                x: whole(x),
                w: part(inputs.params, layout.layer(layer, false)),
                b: part(inputs.params, layout.layer(layer, true)),
                y: whole(y),
            };
            let shape = shape(a.rows_of(layer), s, layer, layer.relu());
            dense.push(kernels.forward.bind(context, shape, buffers).await?);
        }
        let iwae = if samples > 1 {
            let weights = kernels
                .iwae_weights
                .get(context)
                .await?
                .bind(
                    context,
                    &iwae_weights_uniform(rows, samples),
                    &[whole(&a.bce), whole(&a.kl), whole(&a.weight)],
                    spread_workgroups(rows, ROW_WORKGROUP),
                )
                .await?;
            let scale = kernels
                .scale_rows
                .get(context)
                .await?
                .bind(
                    context,
                    &rows_uniform(draws, s.input as u32),
                    &[whole(&a.weight), whole(&a.d_logits)],
                    spread_workgroups(draws * s.input as u32, ROW_WORKGROUP),
                )
                .await?;
            Some((weights, scale))
        } else {
            None
        };
        // The VAE's gradient at the logits is the batch mean's; IWAE's is weighted per draw after.
        let bce_scale = if samples > 1 { 1.0 } else { 1.0 / rows as f32 };
        Ok(Self {
            iwae,
            dense,
            reparameterize: step
                .reparameterize
                .bind(
                    context,
                    &reparameterize_uniform(draws, s.latent as u32, inputs.seed, samples),
                    &[
                        whole(&a.heads),
                        whole(inputs.state),
                        whole(&a.z),
                        whole(&a.eps),
                        whole(&a.kl),
                    ],
                    spread_workgroups(draws, ROW_WORKGROUP),
                )
                .await?,
            bce: step
                .bce_loss
                .bind(
                    context,
                    &bce_uniform(draws, s.input as u32, samples, bce_scale),
                    &[
                        whole(&a.logits),
                        whole(&a.x),
                        whole(&a.d_logits),
                        whole(&a.bce),
                    ],
                    spread_workgroups(draws, ROW_WORKGROUP),
                )
                .await?,
            // Means over the draws: the ELBO's terms, averaged over each image's K draws.
            metrics: step
                .metrics
                .bind(
                    context,
                    &rows_uniform(draws, inputs.ring_slots),
                    &[
                        whole(&a.bce),
                        whole(&a.kl),
                        whole(inputs.state),
                        whole(inputs.ring),
                    ],
                    (1, 1),
                )
                .await?,
        })
    }

    pub fn encode(&self, kernels: &Kernels, pass: &mut wgpu::ComputePass<'_>) {
        self.encode_encoder(pass);
        kernels
            .step
            .reparameterize
            .encode(pass, &self.reparameterize);
        self.encode_decoder(pass);
        kernels.step.bce_loss.encode(pass, &self.bce);
        if let Some((weights, scale)) = &self.iwae {
            weights.encode(pass);
            scale.encode(pass);
        }
        kernels.step.metrics.encode(pass, &self.metrics);
    }

    /// The decoder alone: z → h2 → logits.
    pub fn encode_decoder(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.dense[Layer::ENCODER..]
            .iter()
            .for_each(|layer| layer.encode(pass));
    }

    /// The encoder alone: x → h1 → [mean | logvar].
    pub fn encode_encoder(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.dense[..Layer::ENCODER]
            .iter()
            .for_each(|layer| layer.encode(pass));
    }
}
