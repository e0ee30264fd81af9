//! `shaders/dense_forward.wgsl`: y = act(x · Wᵀ + b), and what the dense kernels share.

use super::unroll::specialise_dense_forward;
use super::{Binding, Kernel, Pick};
use crate::{shaders, GpuContext, GpuError};

pub(crate) use super::dense_paths::{
    dense_workgroups, tiled_uniform, tiled_workgroups, DensePaths,
};
pub use super::dense_paths::{FastPath, KernelChoice, MatmulStrategy};

/// The shape of one dense layer applied to a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseShape {
    pub rows: u32,
    pub inputs: u32,
    pub outputs: u32,
    pub relu: bool,
}

impl DenseShape {
    /// Checks the shape is non-empty and each of its matrices fits one storage binding.
    pub(crate) fn validate(&self, context: &GpuContext) -> Result<(), GpuError> {
        if self.rows == 0 || self.inputs == 0 || self.outputs == 0 {
            return Err(GpuError::InvalidInput(format!(
                "a dense layer needs at least one row, input and output, got {self:?}"
            )));
        }
        let max_binding = context.limits.max_storage_buffer_binding_size;
        for (name, elements) in [
            ("x", u64::from(self.rows) * u64::from(self.inputs)),
            ("w", u64::from(self.outputs) * u64::from(self.inputs)),
            ("y", u64::from(self.rows) * u64::from(self.outputs)),
        ] {
            if elements * 4 > max_binding {
                return Err(GpuError::InvalidInput(format!(
                    "{name} needs {} bytes, over the adapter's max_storage_buffer_binding_size of \
                     {max_binding}",
                    elements * 4
                )));
            }
        }
        Ok(())
    }

    fn sizes(&self) -> (usize, usize, usize) {
        (
            self.rows as usize,
            self.inputs as usize,
            self.outputs as usize,
        )
    }

    /// The uniform every dense kernel reads: `{ rows, inputs, outputs, flag }`.
    pub(crate) fn uniform(&self, flag: bool) -> [u8; 16] {
        let words = [self.rows, self.inputs, self.outputs, u32::from(flag)];
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(bytemuck::cast_slice(&words));
        bytes
    }
}

/// Checks that each named slice has the length the shape needs.
pub(crate) fn check_lengths(
    shape: &DenseShape,
    slices: &[(&str, usize, usize)],
) -> Result<(), GpuError> {
    for &(name, len, expected) in slices {
        if len != expected {
            return Err(GpuError::InvalidInput(format!(
                "{name} has {len} values but {shape:?} needs {expected}"
            )));
        }
    }
    Ok(())
}

/// The dense-forward pipelines, created once per device: the vec4 fast path (shared dimension a
/// multiple of 4, as in every layer of the default model) and the general one.
pub struct DenseForward {
    paths: DensePaths,
    /// With register blocks: the vec4 template at one row per invocation, for layers of fewer
    /// rows than a block (a slider's single latent vector), which the batch's blocks would
    /// compute many times over (8 × 8 blocks do 8 rows' work for 1).
    thin: Option<Kernel>,
}

/// The thin forward kernel's block (1 row × `THIN_COLS` outputs) and workgroup (a row of 64).
const THIN_COLS: u32 = 4;
const THIN_WORKGROUP: u32 = 64;

/// Buffers a dense forward reads and writes; lengths as in the shader's header.
pub struct DenseBuffers<'a> {
    pub x: wgpu::BufferBinding<'a>,
    pub w: wgpu::BufferBinding<'a>,
    pub b: wgpu::BufferBinding<'a>,
    pub y: wgpu::BufferBinding<'a>,
}

impl DenseForward {
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
            &shaders::DENSE_FORWARD,
            &shaders::DENSE_FORWARD_VEC4,
            |source, fast, lanes| {
                let (rows, cols) = fast.forward_block;
                specialise_dense_forward(source, rows, cols, lanes)
            },
            &shaders::DENSE_FORWARD_TILED,
        )
        .await?;
        let thin = match paths {
            DensePaths::Registers { .. } => Some(
                Kernel::from_source(
                    context,
                    shaders::DENSE_FORWARD_VEC4.label,
                    specialise_dense_forward(
                        &shaders::DENSE_FORWARD_VEC4.source,
                        1,
                        THIN_COLS,
                        None,
                    ),
                    &[("WG_X", f64::from(THIN_WORKGROUP)), ("WG_Y", 1.0)],
                )
                .await?,
            ),
            DensePaths::Tiles(_) => None,
        };
        Ok(Self { paths, thin })
    }

    /// The pipeline and dispatch for `shape`: the vec4 path when the shared dimension allows,
    /// its thin variant for fewer rows than a block.
    fn choose(&self, shape: &DenseShape) -> (Pick<'_>, (u32, u32), Vec<u8>) {
        if let (Some(thin), DensePaths::Registers { fast, .. }) = (&self.thin, &self.paths) {
            if shape.inputs.is_multiple_of(4) && shape.rows < fast.forward_block.0 {
                let workgroups = (
                    shape.outputs.div_ceil(THIN_COLS * THIN_WORKGROUP),
                    shape.rows,
                );
                return (
                    Pick::Compiled(thin),
                    workgroups,
                    shape.uniform(shape.relu).to_vec(),
                );
            }
        }
        match &self.paths {
            DensePaths::Tiles(tiled) => {
                let uniform =
                    tiled_uniform(shape.rows, shape.outputs, shape.inputs, false, shape.relu);
                (
                    Pick::Compiled(tiled),
                    tiled_workgroups(shape.rows, shape.outputs),
                    uniform,
                )
            }
            DensePaths::Registers { vec4, fast, .. } if shape.inputs.is_multiple_of(4) => {
                let (block_rows, block_cols) = fast.forward_block;
                let blocks = (
                    shape.outputs.div_ceil(block_cols),
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
                let workgroups = dense_workgroups(shape.outputs, shape.rows);
                (
                    Pick::Lazy(general),
                    workgroups,
                    shape.uniform(shape.relu).to_vec(),
                )
            }
        }
    }

    /// Binds a layer of `shape` to `buffers`, checking the shape against the adapter's limits.
    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: DenseBuffers<'_>,
    ) -> Result<Binding, GpuError> {
        shape.validate(context)?;
        let storage = [buffers.x, buffers.w, buffers.b, buffers.y];
        let (pick, workgroups, uniform) = self.choose(&shape);
        let kernel = pick.kernel(context).await?;
        kernel.bind(context, &uniform, &storage, workgroups).await
    }

    /// Records the layer into an open compute pass (with the pipeline its binding was made for).
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &Binding) {
        binding.encode(pass);
    }

    /// Uploads `x`, `w`, `b`, runs the layer in one submit and reads `y` back: for checks and
    /// one-off use, not for the training loop (which keeps everything on the GPU).
    pub async fn run(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
    ) -> Result<Vec<f32>, GpuError> {
        let (rows, inputs, outputs) = shape.sizes();
        check_lengths(
            &shape,
            &[
                ("x", x.len(), rows * inputs),
                ("w", w.len(), outputs * inputs),
                ("b", b.len(), outputs),
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
                    bytemuck::cast_slice(x),
                    bytemuck::cast_slice(w),
                    bytemuck::cast_slice(b),
                ],
                &[&vec![0.0; rows * outputs]],
                workgroups,
            )
            .await?;
        Ok(results.remove(0))
    }
}
