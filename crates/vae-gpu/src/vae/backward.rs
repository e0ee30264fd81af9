//! The backward pass and the optimiser step over a training batch: every parameter's gradient
//! (the ReLU masks fused), then Adam over the flat buffers.

use vae_reference::Layer;

use super::graph::{part, shape, whole, Activations, Kernels, PassInputs};
use crate::kernels::dense_backward::{BackwardInputBuffers, BackwardWeightBuffers};
use crate::kernels::step::{
    adam_uniform, advance_uniform, iwae_backward_uniform, reparameterize_backward_uniform,
    spread_workgroups, ADAM_PER_WORKGROUP, ROW_WORKGROUP,
};
use crate::kernels::Binding;
use crate::{GpuContext, GpuError};

/// The backward pass and the optimiser step over a training batch's [`Activations`].
pub(crate) struct BackwardPass {
    /// Per layer of [`Layer::ALL`], last first: its weight and bias gradients, and (but for the
    /// first layer) the gradient at its input.
    dense: Vec<(Binding, Option<Binding>)>,
    reparameterize: Binding,
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
        let (layout, s) = (inputs.layout, inputs.layout.sizes);
        let (rows, samples) = (a.rows, a.samples);
        let count = layout.len() as u32;
        let mut dense = Vec::with_capacity(Layer::ALL.len());
        for layer in Layer::ALL.into_iter().rev() {
            let ((x, _), (dy, dx)) = (a.around(layer), a.gradients(layer));
            let weight = BackwardWeightBuffers {
                dy: whole(dy),
                x: whole(x),
                dw: part(optimizer.grads, layout.layer(layer, false)),
                db: part(optimizer.grads, layout.layer(layer, true)),
            };
            let weight = (kernels.weight_grad)
                .bind(context, shape(a.rows_of(layer), s, layer, false), weight)
                .await?;
            let input = match dx {
                Some(dx) => {
                    let buffers = BackwardInputBuffers {
                        dy: whole(dy),
                        w: part(inputs.params, layout.layer(layer, false)),
                        act: whole(x),
                        dx: whole(dx),
                    };
                    let shape = shape(a.rows_of(layer), s, layer, layer.input_relu());
                    Some(kernels.input_grad.bind(context, shape, buffers).await?)
                }
                None => None,
            };
            dense.push((weight, input));
        }
        // The gradient at the heads from z's: the VAE's (with β's KL term), or IWAE's over each
        // image's K draws, weighted as the forward pass's iwae_weights.wgsl weighed them.
        let latent = s.latent as u32;
        let (kernel, uniform, buffers) = if samples > 1 {
            (
                kernels.iwae_backward.get(context).await?,
                iwae_backward_uniform(rows, latent, samples),
                vec![&a.d_z, &a.heads, &a.eps, &a.weight, &a.d_heads],
            )
        } else {
            (
                &kernels.step.reparameterize_backward,
                reparameterize_backward_uniform(rows, latent, kl_weight),
                vec![&a.d_z, &a.heads, &a.eps, &a.d_heads],
            )
        };
        let buffers: Vec<_> = buffers.into_iter().map(whole).collect();
        let reparameterize = kernel
            .bind(
                context,
                &uniform,
                &buffers,
                spread_workgroups(rows * latent, ROW_WORKGROUP),
            )
            .await?;
        Ok(Self {
            dense,
            reparameterize,
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
        for (index, (weight, input)) in self.dense.iter().enumerate() {
            // The reparameterisation's gradient lies between the decoder's layers and the
            // encoder's.
            if index == Layer::ALL.len() - Layer::ENCODER {
                self.reparameterize.encode(pass);
            }
            weight.encode(pass);
            input.iter().for_each(|input| input.encode(pass));
        }
        kernels.step.adam.encode(pass, &self.adam);
    }
}
