//! The dense layer's backward products: `shaders/dense_backward_input.wgsl` (dx = dy · W, with the
//! previous ReLU's mask) and `shaders/dense_backward_weight.wgsl` (dW = dyᵀ · x, db = Σ dy).

use super::dense::{check_lengths, dense_kernel, dense_workgroups, DenseShape};
use super::{Binding, Kernel};
use crate::{shaders, GpuContext, GpuError};

/// dx = mask ⊙ (dy · W): the gradient flowing into a layer's input.
pub struct DenseBackwardInput {
    kernel: Kernel,
}

/// Buffers of [`DenseBackwardInput`]; `act` is the layer's input as the forward pass saw it
/// (a ReLU output), read only when `shape.relu` asks for the mask.
pub struct BackwardInputBuffers<'a> {
    pub dy: wgpu::BufferBinding<'a>,
    pub w: wgpu::BufferBinding<'a>,
    pub act: wgpu::BufferBinding<'a>,
    pub dx: wgpu::BufferBinding<'a>,
}

impl DenseBackwardInput {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        Ok(Self {
            kernel: dense_kernel(context, &shaders::DENSE_BACKWARD_INPUT).await?,
        })
    }

    /// `shape` is the forward layer's; `shape.relu` here means "mask by the input's ReLU".
    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: BackwardInputBuffers<'_>,
    ) -> Result<Binding, GpuError> {
        shape.validate(context)?;
        let storage = [buffers.dy, buffers.w, buffers.act, buffers.dx];
        let workgroups = dense_workgroups(shape.inputs, shape.rows);
        self.kernel
            .bind(context, &shape.uniform(shape.relu), &storage, workgroups)
            .await
    }

    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &Binding) {
        self.kernel.encode(pass, binding);
    }

    /// One-off run with read back, for checks. `act` may be empty when `shape.relu` is false.
    pub async fn run(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        dy: &[f32],
        w: &[f32],
        act: &[f32],
    ) -> Result<Vec<f32>, GpuError> {
        let rows = shape.rows as usize;
        let (inputs, outputs) = (shape.inputs as usize, shape.outputs as usize);
        let act_len = if shape.relu { rows * inputs } else { act.len() };
        check_lengths(
            &shape,
            &[
                ("dy", dy.len(), rows * outputs),
                ("w", w.len(), outputs * inputs),
                ("act", act.len(), act_len),
            ],
        )?;
        shape.validate(context)?;
        let workgroups = dense_workgroups(shape.inputs, shape.rows);
        let mut results = self
            .kernel
            .run_once(
                context,
                &shape.uniform(shape.relu),
                &[
                    bytemuck::cast_slice(dy),
                    bytemuck::cast_slice(w),
                    bytemuck::cast_slice(act),
                ],
                &[&vec![0.0; rows * inputs]],
                workgroups,
            )
            .await?;
        Ok(results.remove(0))
    }
}

/// dW = dyᵀ · x and db = Σ_rows dy: a layer's parameter gradients.
pub struct DenseBackwardWeight {
    kernel: Kernel,
}

/// Buffers of [`DenseBackwardWeight`].
pub struct BackwardWeightBuffers<'a> {
    pub dy: wgpu::BufferBinding<'a>,
    pub x: wgpu::BufferBinding<'a>,
    pub dw: wgpu::BufferBinding<'a>,
    pub db: wgpu::BufferBinding<'a>,
}

impl DenseBackwardWeight {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        Ok(Self {
            kernel: dense_kernel(context, &shaders::DENSE_BACKWARD_WEIGHT).await?,
        })
    }

    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: BackwardWeightBuffers<'_>,
    ) -> Result<Binding, GpuError> {
        shape.validate(context)?;
        let storage = [buffers.dy, buffers.x, buffers.dw, buffers.db];
        let workgroups = dense_workgroups(shape.inputs, shape.outputs);
        self.kernel
            .bind(context, &shape.uniform(false), &storage, workgroups)
            .await
    }

    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &Binding) {
        self.kernel.encode(pass, binding);
    }

    /// One-off run with read back, for checks: returns `(dw, db)`.
    pub async fn run(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        dy: &[f32],
        x: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        let rows = shape.rows as usize;
        let (inputs, outputs) = (shape.inputs as usize, shape.outputs as usize);
        check_lengths(
            &shape,
            &[
                ("dy", dy.len(), rows * outputs),
                ("x", x.len(), rows * inputs),
            ],
        )?;
        shape.validate(context)?;
        let workgroups = dense_workgroups(shape.inputs, shape.outputs);
        let mut results = self
            .kernel
            .run_once(
                context,
                &shape.uniform(false),
                &[bytemuck::cast_slice(dy), bytemuck::cast_slice(x)],
                &[&vec![0.0; outputs * inputs], &vec![0.0; outputs]],
                workgroups,
            )
            .await?;
        let db = results.pop().unwrap_or_default();
        let dw = results.pop().unwrap_or_default();
        Ok((dw, db))
    }
}
