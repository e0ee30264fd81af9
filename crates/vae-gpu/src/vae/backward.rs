//! The backward pass and the optimiser step over a training batch: every parameter's gradient
//! (the ReLU masks fused), then Adam over the flat buffers.

use vae_reference::Tensor;

use super::graph::{part, shape, whole, Activations, Kernels, PassInputs};
use crate::kernels::dense_backward::{BackwardInputBuffers, BackwardWeightBuffers};
use crate::kernels::step::{
    adam_uniform, advance_uniform, reparameterize_backward_uniform, spread_workgroups,
    ADAM_PER_WORKGROUP, ROW_WORKGROUP,
};
use crate::kernels::Binding;
use crate::{GpuContext, GpuError};

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
        kl_weight: f32,
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
                    &reparameterize_backward_uniform(rows, s.latent as u32, kl_weight),
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
                    spread_workgroups(count, ADAM_PER_WORKGROUP),
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
