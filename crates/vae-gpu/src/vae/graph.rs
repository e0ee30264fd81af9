//! The buffers of one batch's activations and the kernel bindings that run the model over them:
//! a forward pass (used by training, evaluation and encoding) and the backward pass.

use std::num::NonZeroU64;

use vae_reference::{Layout, Sizes, Tensor};

use crate::kernels::dense::{DenseBuffers, DenseForward, DenseShape};
use crate::kernels::dense_backward::{
    BackwardInputBuffers, BackwardWeightBuffers, DenseBackwardInput, DenseBackwardWeight,
};
use crate::kernels::gather::BatchGather;
use crate::kernels::step::{
    adam_uniform, advance_uniform, reparameterize_uniform, rows_uniform, spread_workgroups,
    StepKernels, ADAM_WORKGROUP, ROW_WORKGROUP,
};
use crate::kernels::Binding;
use crate::{GpuContext, GpuError};

/// Every pipeline the model uses, compiled once per device.
pub(crate) struct Kernels {
    pub forward: DenseForward,
    pub input_grad: DenseBackwardInput,
    pub weight_grad: DenseBackwardWeight,
    pub step: StepKernels,
    pub gather: BatchGather,
}

impl Kernels {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        Ok(Self {
            forward: DenseForward::new(context).await?,
            input_grad: DenseBackwardInput::new(context).await?,
            weight_grad: DenseBackwardWeight::new(context).await?,
            step: StepKernels::new(context).await?,
            gather: BatchGather::new(context).await?,
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

fn whole(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

/// One batch's activations (and, for training, their gradients), `rows` images.
pub(crate) struct Activations {
    pub rows: u32,
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
}

impl Activations {
    pub fn new(device: &wgpu::Device, sizes: Sizes, rows: u32) -> Self {
        let r = rows as usize;
        let Sizes {
            input,
            hidden,
            latent,
        } = sizes;
        let buffer = |label, floats| storage_buffer(device, label, floats);
        Self {
            rows,
            x: buffer("x", r * input),
            h1: buffer("h1", r * hidden),
            heads: buffer("heads", r * 2 * latent),
            z: buffer("z", r * latent),
            eps: buffer("eps", r * latent),
            kl: buffer("kl rows", r),
            h2: buffer("h2", r * hidden),
            logits: buffer("logits", r * input),
            d_logits: buffer("d logits", r * input),
            bce: buffer("bce rows", r),
            d_h2: buffer("d h2", r * hidden),
            d_z: buffer("d z", r * latent),
            d_heads: buffer("d heads", r * 2 * latent),
            d_h1: buffer("d h1", r * hidden),
        }
    }
}

fn shape(rows: u32, inputs: usize, outputs: usize, relu: bool) -> DenseShape {
    DenseShape {
        rows,
        inputs: inputs as u32,
        outputs: outputs as u32,
        relu,
    }
}

/// The forward pass over one [`Activations`]: encoder, heads, reparameterisation, decoder, loss
/// and the metrics record (into `ring`, at the slot of `state`'s step).
pub(crate) struct ForwardPass {
    enc1: Binding,
    heads: Binding,
    reparameterize: Binding,
    dec1: Binding,
    out: Binding,
    bce: Binding,
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
        let s = inputs.layout.sizes;
        let p = |tensor| part(inputs.params, inputs.layout.range(tensor));
        let f = &kernels.forward;
        let step = &kernels.step;
        let rows = a.rows;
        Ok(Self {
            enc1: f
                .bind(
                    context,
                    shape(rows, s.input, s.hidden, true),
                    DenseBuffers {
                        x: whole(&a.x),
                        w: p(Tensor::Enc1Weight),
                        b: p(Tensor::Enc1Bias),
                        y: whole(&a.h1),
                    },
                )
                .await?,
            heads: f
                .bind(
                    context,
                    shape(rows, s.hidden, 2 * s.latent, false),
                    DenseBuffers {
                        x: whole(&a.h1),
                        w: part(inputs.params, inputs.layout.heads(false)),
                        b: part(inputs.params, inputs.layout.heads(true)),
                        y: whole(&a.heads),
                    },
                )
                .await?,
            reparameterize: step
                .reparameterize
                .bind(
                    context,
                    &reparameterize_uniform(rows, s.latent as u32, inputs.seed),
                    &[
                        whole(&a.heads),
                        whole(inputs.state),
                        whole(&a.z),
                        whole(&a.eps),
                        whole(&a.kl),
                    ],
                    spread_workgroups(rows, ROW_WORKGROUP),
                )
                .await?,
            dec1: f
                .bind(
                    context,
                    shape(rows, s.latent, s.hidden, true),
                    DenseBuffers {
                        x: whole(&a.z),
                        w: p(Tensor::Dec1Weight),
                        b: p(Tensor::Dec1Bias),
                        y: whole(&a.h2),
                    },
                )
                .await?,
            out: f
                .bind(
                    context,
                    shape(rows, s.hidden, s.input, false),
                    DenseBuffers {
                        x: whole(&a.h2),
                        w: p(Tensor::OutWeight),
                        b: p(Tensor::OutBias),
                        y: whole(&a.logits),
                    },
                )
                .await?,
            bce: step
                .bce_loss
                .bind(
                    context,
                    &rows_uniform(rows, s.input as u32),
                    &[
                        whole(&a.logits),
                        whole(&a.x),
                        whole(&a.d_logits),
                        whole(&a.bce),
                    ],
                    spread_workgroups(rows, ROW_WORKGROUP),
                )
                .await?,
            metrics: step
                .metrics
                .bind(
                    context,
                    &rows_uniform(rows, inputs.ring_slots),
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
        self.encode_encoder(kernels, pass);
        kernels
            .step
            .reparameterize
            .encode(pass, &self.reparameterize);
        self.encode_decoder(kernels, pass);
        kernels.step.bce_loss.encode(pass, &self.bce);
        kernels.step.metrics.encode(pass, &self.metrics);
    }

    /// The decoder alone: z → h2 → logits.
    pub fn encode_decoder(&self, kernels: &Kernels, pass: &mut wgpu::ComputePass<'_>) {
        kernels.forward.encode(pass, &self.dec1);
        kernels.forward.encode(pass, &self.out);
    }

    /// The encoder alone: x → h1 → [mean | logvar].
    pub fn encode_encoder(&self, kernels: &Kernels, pass: &mut wgpu::ComputePass<'_>) {
        kernels.forward.encode(pass, &self.enc1);
        kernels.forward.encode(pass, &self.heads);
    }
}

/// The backward pass and the optimiser step over a training batch's [`Activations`].
pub(crate) struct BackwardPass {
    out_weight: Binding,
    out_input: Binding,
    dec1_weight: Binding,
    dec1_input: Binding,
    reparameterize: Binding,
    heads_weight: Binding,
    heads_input: Binding,
    enc1_weight: Binding,
    advance: Binding,
    adam: Binding,
}

/// The optimiser's flat buffers.
pub(crate) struct OptimizerBuffers<'a> {
    pub grads: &'a wgpu::Buffer,
    pub m: &'a wgpu::Buffer,
    pub v: &'a wgpu::Buffer,
}

impl BackwardPass {
    pub async fn bind(
        context: &GpuContext,
        kernels: &Kernels,
        inputs: &PassInputs<'_>,
        optimizer: &OptimizerBuffers<'_>,
        adam: &vae_reference::AdamConfig,
        a: &Activations,
    ) -> Result<Self, GpuError> {
        let layout = inputs.layout;
        let s = layout.sizes;
        let p = |tensor| part(inputs.params, layout.range(tensor));
        let g = |range| part(optimizer.grads, range);
        let rows = a.rows;
        let w = &kernels.weight_grad;
        let i = &kernels.input_grad;
        let count = layout.len() as u32;
        Ok(Self {
            out_weight: w
                .bind(
                    context,
                    shape(rows, s.hidden, s.input, false),
                    BackwardWeightBuffers {
                        dy: whole(&a.d_logits),
                        x: whole(&a.h2),
                        dw: g(layout.range(Tensor::OutWeight)),
                        db: g(layout.range(Tensor::OutBias)),
                    },
                )
                .await?,
            out_input: i
                .bind(
                    context,
                    shape(rows, s.hidden, s.input, true),
                    BackwardInputBuffers {
                        dy: whole(&a.d_logits),
                        w: p(Tensor::OutWeight),
                        act: whole(&a.h2),
                        dx: whole(&a.d_h2),
                    },
                )
                .await?,
            dec1_weight: w
                .bind(
                    context,
                    shape(rows, s.latent, s.hidden, false),
                    BackwardWeightBuffers {
                        dy: whole(&a.d_h2),
                        x: whole(&a.z),
                        dw: g(layout.range(Tensor::Dec1Weight)),
                        db: g(layout.range(Tensor::Dec1Bias)),
                    },
                )
                .await?,
            dec1_input: i
                .bind(
                    context,
                    shape(rows, s.latent, s.hidden, false),
                    BackwardInputBuffers {
                        dy: whole(&a.d_h2),
                        w: p(Tensor::Dec1Weight),
                        act: whole(&a.z),
                        dx: whole(&a.d_z),
                    },
                )
                .await?,
            reparameterize: kernels
                .step
                .reparameterize_backward
                .bind(
                    context,
                    &rows_uniform(rows, s.latent as u32),
                    &[
                        whole(&a.d_z),
                        whole(&a.heads),
                        whole(&a.eps),
                        whole(&a.d_heads),
                    ],
                    spread_workgroups(rows * s.latent as u32, ROW_WORKGROUP),
                )
                .await?,
            heads_weight: w
                .bind(
                    context,
                    shape(rows, s.hidden, 2 * s.latent, false),
                    BackwardWeightBuffers {
                        dy: whole(&a.d_heads),
                        x: whole(&a.h1),
                        dw: g(layout.heads(false)),
                        db: g(layout.heads(true)),
                    },
                )
                .await?,
            heads_input: i
                .bind(
                    context,
                    shape(rows, s.hidden, 2 * s.latent, true),
                    BackwardInputBuffers {
                        dy: whole(&a.d_heads),
                        w: part(inputs.params, layout.heads(false)),
                        act: whole(&a.h1),
                        dx: whole(&a.d_h1),
                    },
                )
                .await?,
            enc1_weight: w
                .bind(
                    context,
                    shape(rows, s.input, s.hidden, false),
                    BackwardWeightBuffers {
                        dy: whole(&a.d_h1),
                        x: whole(&a.x),
                        dw: g(layout.range(Tensor::Enc1Weight)),
                        db: g(layout.range(Tensor::Enc1Bias)),
                    },
                )
                .await?,
            advance: kernels
                .step
                .advance_step
                .bind(context, &advance_uniform(1), &[whole(inputs.state)], (1, 1))
                .await?,
            adam: kernels
                .step
                .adam
                .bind(
                    context,
                    &adam_uniform(
                        count,
                        adam.lr as f32,
                        adam.beta1 as f32,
                        adam.beta2 as f32,
                        adam.eps as f32,
                    ),
                    &[
                        whole(optimizer.grads),
                        whole(inputs.state),
                        whole(inputs.params),
                        whole(optimizer.m),
                        whole(optimizer.v),
                    ],
                    spread_workgroups(count, ADAM_WORKGROUP),
                )
                .await?,
        })
    }

    /// Advances the step counter: encoded before the step's forward pass.
    pub fn encode_advance(&self, kernels: &Kernels, pass: &mut wgpu::ComputePass<'_>) {
        kernels.step.advance_step.encode(pass, &self.advance);
    }

    /// Gradients of every parameter, then the Adam update.
    pub fn encode(&self, kernels: &Kernels, pass: &mut wgpu::ComputePass<'_>) {
        let (w, i) = (&kernels.weight_grad, &kernels.input_grad);
        w.encode(pass, &self.out_weight);
        i.encode(pass, &self.out_input);
        w.encode(pass, &self.dec1_weight);
        i.encode(pass, &self.dec1_input);
        kernels
            .step
            .reparameterize_backward
            .encode(pass, &self.reparameterize);
        w.encode(pass, &self.heads_weight);
        i.encode(pass, &self.heads_input);
        w.encode(pass, &self.enc1_weight);
        kernels.step.adam.encode(pass, &self.adam);
    }
}
