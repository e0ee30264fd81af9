//! The buffers of one batch's activations and the kernel bindings that run the model over them:
//! a forward pass (used by training, evaluation and encoding) and the backward pass.

use std::num::NonZeroU64;

use vae_reference::{Layout, Sizes, Tensor};

use crate::kernels::dense::{DenseBuffers, DenseForward, DenseShape};
use crate::kernels::dense_backward::{DenseBackwardInput, DenseBackwardWeight};
use crate::kernels::gather::BatchGather;
use crate::kernels::step::{
    reparameterize_uniform, rows_uniform, spread_workgroups, StepKernels, ROW_WORKGROUP,
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
}

impl Kernels {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        Ok(Self {
            forward: DenseForward::new(context).await?,
            input_grad: DenseBackwardInput::new(context).await?,
            weight_grad: DenseBackwardWeight::new(context).await?,
            step: StepKernels::new(context).await?,
            gather: BatchGather::new(context).await?,
            lines: LazyKernel::new(&crate::shaders::LATENT_LINES, &[]),
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

pub(super) fn shape(rows: u32, inputs: usize, outputs: usize, relu: bool) -> DenseShape {
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
