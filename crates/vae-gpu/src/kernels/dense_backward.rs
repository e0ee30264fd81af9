//! The dense layer's backward products: `shaders/dense_backward_input.wgsl` (dx = dy · W, with the
//! previous ReLU's mask) and `shaders/dense_backward_weight.wgsl` (dW = dyᵀ · x, db = Σ dy).

use super::dense::KernelChoice;
use super::dense::{
    check_lengths, dense_workgroups, tiled_uniform, tiled_workgroups, DensePaths, DenseShape,
    MatmulStrategy,
};
use super::unroll::{specialise_dense_backward_input, specialise_dense_backward_weight};
use super::{Binding, Kernel, Pick};
use crate::{shaders, GpuContext, GpuError};

/// dx = mask ⊙ (dy · W): the gradient flowing into a layer's input.
pub struct DenseBackwardInput {
    paths: DensePaths,
}

/// Both dimensions multiples of 4: the vec4 fast paths apply.
fn vec4_shape(shape: &DenseShape) -> bool {
    shape.inputs.is_multiple_of(4) && shape.outputs.is_multiple_of(4)
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
        Self::with_choice(context, KernelChoice::Adapter).await
    }

    pub async fn with_strategy(
        context: &GpuContext,
        strategy: MatmulStrategy,
    ) -> Result<Self, GpuError> {
        Self::with_choice(context, KernelChoice::Strategy(strategy)).await
    }

    pub async fn with_choice(context: &GpuContext, choice: KernelChoice) -> Result<Self, GpuError> {
        let paths = DensePaths::new(
            context,
            choice,
            &shaders::DENSE_BACKWARD_INPUT,
            &shaders::DENSE_BACKWARD_INPUT_VEC4,
            |source, fast, lanes| {
                let (rows, inputs) = fast.input_block;
                specialise_dense_backward_input(source, rows, inputs, lanes)
            },
            &shaders::DENSE_BACKWARD_INPUT_TILED,
        )
        .await?;
        Ok(Self { paths })
    }

    fn choose(&self, shape: &DenseShape) -> (Pick<'_>, (u32, u32), Vec<u8>) {
        match &self.paths {
            DensePaths::Tiles(tiled) => {
                let uniform =
                    tiled_uniform(shape.rows, shape.inputs, shape.outputs, false, shape.relu);
                (
                    Pick::Compiled(tiled),
                    tiled_workgroups(shape.rows, shape.inputs),
                    uniform,
                )
            }
            DensePaths::Registers { vec4, fast, .. } if vec4_shape(shape) => {
                let (block_rows, block_inputs) = fast.input_block;
                let blocks = (
                    shape.inputs.div_ceil(block_inputs),
                    shape.rows.div_ceil(block_rows),
                );
                let workgroups = fast.workgroups(blocks.0, blocks.1);
                (
                    Pick::Compiled(vec4),
                    workgroups,
                    shape.uniform(shape.relu).to_vec(),
                )
            }
            DensePaths::Registers { general, .. } => {
                let workgroups = dense_workgroups(shape.inputs, shape.rows);
                (
                    Pick::Lazy(general),
                    workgroups,
                    shape.uniform(shape.relu).to_vec(),
                )
            }
        }
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
        let (pick, workgroups, uniform) = self.choose(&shape);
        let kernel = pick.kernel(context).await?;
        kernel.bind(context, &uniform, &storage, workgroups).await
    }

    /// Records the dispatch (with the pipeline its binding was made for).
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &Binding) {
        binding.encode(pass);
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
        let (pick, workgroups, uniform) = self.choose(&shape);
        let kernel = pick.kernel(context).await?;
        let mut results = kernel
            .run_once(
                context,
                &uniform,
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
    paths: DensePaths,
    /// With register blocks: the template at 4 × 4, for layers whose gradient makes too few of
    /// the adapter's blocks to keep its threads busy. The model's narrow layers (the heads'
    /// 40 × 500, the decoder's 500 × 20) made 126 and 48 blocks of 32 × 8: one or two
    /// workgroups, which took 12 ms of a SwiftShader step for 8 MFLOP.
    narrow: Option<Kernel>,
}

/// Below this many blocks a weight gradient takes the narrow kernel (four workgroups of 64).
const NARROW_BELOW_BLOCKS: u32 = 256;
const NARROW_BLOCK: (u32, u32) = (4, 4);

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

    pub async fn with_strategy(
        context: &GpuContext,
        strategy: MatmulStrategy,
    ) -> Result<Self, GpuError> {
        Self::with_choice(context, KernelChoice::Strategy(strategy)).await
    }

    pub async fn with_choice(context: &GpuContext, choice: KernelChoice) -> Result<Self, GpuError> {
        let paths = DensePaths::new(
            context,
            choice,
            &shaders::DENSE_BACKWARD_WEIGHT,
            &shaders::DENSE_BACKWARD_WEIGHT_VEC4,
            |source, fast, lanes| {
                let (outputs, inputs) = fast.weight_block;
                specialise_dense_backward_weight(source, outputs, inputs, lanes)
            },
            &shaders::DENSE_BACKWARD_WEIGHT_TILED,
        )
        .await?;
        let narrow = match &paths {
            DensePaths::Registers { fast, .. } if fast.weight_block != NARROW_BLOCK => Some(
                Kernel::from_source(
                    context,
                    shaders::DENSE_BACKWARD_WEIGHT_VEC4.label,
                    specialise_dense_backward_weight(
                        &shaders::DENSE_BACKWARD_WEIGHT_VEC4.source,
                        NARROW_BLOCK.0,
                        NARROW_BLOCK.1,
                        None,
                    ),
                    &fast.overrides(),
                )
                .await?,
            ),
            _ => None,
        };
        Ok(Self { paths, narrow })
    }

    fn choose(&self, shape: &DenseShape) -> (Pick<'_>, (u32, u32), Vec<u8>) {
        if let (Some(narrow), DensePaths::Registers { fast, .. }) = (&self.narrow, &self.paths) {
            let (block_outputs, block_inputs) = fast.weight_block;
            let blocks =
                shape.inputs.div_ceil(block_inputs) * shape.outputs.div_ceil(block_outputs);
            if vec4_shape(shape) && blocks < NARROW_BELOW_BLOCKS {
                let workgroups = fast.workgroups(
                    shape.inputs.div_ceil(NARROW_BLOCK.1),
                    shape.outputs.div_ceil(NARROW_BLOCK.0),
                );
                return (
                    Pick::Compiled(narrow),
                    workgroups,
                    shape.uniform(false).to_vec(),
                );
            }
        }
        match &self.paths {
            DensePaths::Tiles(tiled) => {
                let uniform = tiled_uniform(shape.outputs, shape.inputs, shape.rows, true, false);
                (
                    Pick::Compiled(tiled),
                    tiled_workgroups(shape.outputs, shape.inputs),
                    uniform,
                )
            }
            DensePaths::Registers { vec4, fast, .. } if vec4_shape(shape) => {
                let (block_outputs, block_inputs) = fast.weight_block;
                let blocks = (
                    shape.inputs.div_ceil(block_inputs),
                    shape.outputs.div_ceil(block_outputs),
                );
                let workgroups = fast.workgroups(blocks.0, blocks.1);
                (
                    Pick::Compiled(vec4),
                    workgroups,
                    shape.uniform(false).to_vec(),
                )
            }
            DensePaths::Registers { general, .. } => {
                let workgroups = dense_workgroups(shape.inputs, shape.outputs);
                (
                    Pick::Lazy(general),
                    workgroups,
                    shape.uniform(false).to_vec(),
                )
            }
        }
    }

    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: BackwardWeightBuffers<'_>,
    ) -> Result<Binding, GpuError> {
        shape.validate(context)?;
        let storage = [buffers.dy, buffers.x, buffers.dw, buffers.db];
        let (pick, workgroups, uniform) = self.choose(&shape);
        let kernel = pick.kernel(context).await?;
        kernel.bind(context, &uniform, &storage, workgroups).await
    }

    /// Records the dispatch (with the pipeline its binding was made for).
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &Binding) {
        binding.encode(pass);
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
        let (pick, workgroups, uniform) = self.choose(&shape);
        let kernel = pick.kernel(context).await?;
        let mut results = kernel
            .run_once(
                context,
                &uniform,
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
