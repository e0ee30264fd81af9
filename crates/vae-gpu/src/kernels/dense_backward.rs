//! The dense layer's backward products: `shaders/dense_backward_input.wgsl` (dx = dy · W, with the
//! previous ReLU's mask) and `shaders/dense_backward_weight.wgsl` (dW = dyᵀ · x, db = Σ dy).

use super::dense::{check_lengths, DenseCore, DenseShape, KernelChoice};
use super::template::DenseOp;
use super::Binding;
use crate::{GpuContext, GpuError};

/// dx = mask ⊙ (dy · W): the gradient flowing into a layer's input.
pub struct DenseBackwardInput(DenseCore);

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
        Self::with_choice(context, KernelChoice::Adapter).await
    }

    pub async fn with_choice(context: &GpuContext, choice: KernelChoice) -> Result<Self, GpuError> {
        Ok(Self(
            DenseCore::new(context, choice, DenseOp::BackwardInput).await?,
        ))
    }

    /// `shape` is the forward layer's; `shape.relu` here means "mask by the input's ReLU".
    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: BackwardInputBuffers<'_>,
    ) -> Result<Binding, GpuError> {
        let storage = [buffers.dy, buffers.w, buffers.act, buffers.dx];
        self.0.bind(context, &shape, shape.relu, storage).await
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
        let (rows, inputs, outputs) = shape.sizes();
        let act_len = if shape.relu { rows * inputs } else { act.len() };
        check_lengths(
            &shape,
            &[
                ("dy", dy.len(), rows * outputs),
                ("w", w.len(), outputs * inputs),
                ("act", act.len(), act_len),
            ],
        )?;
        let mut dx = (self.0)
            .run(context, &shape, shape.relu, &[dy, w, act], &[rows * inputs])
            .await?;
        Ok(dx.remove(0))
    }
}

/// dW = dyᵀ · x and db = Σ_rows dy: a layer's parameter gradients.
pub struct DenseBackwardWeight(DenseCore);

/// Buffers of [`DenseBackwardWeight`].
pub struct BackwardWeightBuffers<'a> {
    pub dy: wgpu::BufferBinding<'a>,
    pub x: wgpu::BufferBinding<'a>,
    pub dw: wgpu::BufferBinding<'a>,
    pub db: wgpu::BufferBinding<'a>,
}

impl DenseBackwardWeight {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        Self::with_choice(context, KernelChoice::Adapter).await
    }

    pub async fn with_choice(context: &GpuContext, choice: KernelChoice) -> Result<Self, GpuError> {
        Ok(Self(
            DenseCore::new(context, choice, DenseOp::BackwardWeight).await?,
        ))
    }

    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: BackwardWeightBuffers<'_>,
    ) -> Result<Binding, GpuError> {
        let storage = [buffers.dy, buffers.x, buffers.dw, buffers.db];
        self.0.bind(context, &shape, false, storage).await
    }

    /// One-off run with read back, for checks: returns `(dw, db)`.
    pub async fn run(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        dy: &[f32],
        x: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        let (rows, inputs, outputs) = shape.sizes();
        check_lengths(
            &shape,
            &[
                ("dy", dy.len(), rows * outputs),
                ("x", x.len(), rows * inputs),
            ],
        )?;
        let mut results = (self.0)
            .run(
                context,
                &shape,
                false,
                &[dy, x],
                &[outputs * inputs, outputs],
            )
            .await?;
        let db = results.pop().unwrap_or_default();
        let dw = results.pop().unwrap_or_default();
        Ok((dw, db))
    }
}
