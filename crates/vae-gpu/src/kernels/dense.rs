//! `shaders/dense_forward.wgsl`: y = act(x · Wᵀ + b), and what the three dense products share:
//! their shape, and choosing, binding and running the form of an op that suits a shape.

use super::dense_paths::registers_kernel;
use super::template::DenseOp;
use super::{Binding, Kernel, Pick};
use crate::{GpuContext, GpuError};

use super::dense_paths::{tiled_workgroups, DensePaths, Path};
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
    /// A size past `u32::MAX` is kept as `u32::MAX`, which [`DenseShape::validate`] refuses.
    pub fn new(rows: usize, inputs: usize, outputs: usize, relu: bool) -> Self {
        let size = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let (rows, inputs, outputs) = (size(rows), size(inputs), size(outputs));
        Self {
            rows,
            inputs,
            outputs,
            relu,
        }
    }

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

    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
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

/// One dense op's pipelines on a device, chosen between per shape; with register blocks also a
/// form for layers too small for the adapter's blocks (see [`THIN`] and [`NARROW`]).
pub(crate) struct DenseCore {
    op: DenseOp,
    paths: DensePaths,
    small: Option<(Kernel, FastPath)>,
}

/// The forward's form for layers of fewer rows than a block (a slider's single latent vector),
/// which the batch's blocks would compute many times over (8 × 8 blocks do 8 rows' work for 1):
/// blocks of 1 row × 4 outputs, a row of 64 invocations.
const THIN: FastPath = FastPath {
    workgroup: (64, 1),
    forward_block: (1, 4),
    ..FastPath::SMALL
};

/// The weight gradient's form at 4 × 4 for layers whose gradient makes fewer than
/// [`NARROW_BELOW_BLOCKS`] of the adapter's blocks, too few to keep its threads busy: the
/// model's narrow layers (the heads' 40 × 500, the decoder's 500 × 20) made 126 and 48 blocks
/// of 32 × 8, one or two workgroups, which took 12 ms of a SwiftShader step for 8 MFLOP.
const NARROW: (u32, u32) = (4, 4);
const NARROW_BELOW_BLOCKS: u32 = 256;

impl DenseOp {
    /// The grid of a layer's result as the register blocks cover it: (columns, rows) of the
    /// output, dx or dw.
    fn grid(self, shape: &DenseShape) -> (u32, u32) {
        match self {
            DenseOp::Forward => (shape.outputs, shape.rows),
            DenseOp::BackwardInput => (shape.inputs, shape.rows),
            DenseOp::BackwardWeight => (shape.inputs, shape.outputs),
        }
    }

    /// The vec4 forms apply: the dimensions read as vec4 are multiples of 4.
    fn fits_vec4(self, shape: &DenseShape) -> bool {
        shape.inputs.is_multiple_of(4)
            && (self == DenseOp::Forward || shape.outputs.is_multiple_of(4))
    }
}

impl DenseCore {
    pub(crate) async fn new(
        context: &GpuContext,
        choice: KernelChoice,
        op: DenseOp,
    ) -> Result<Self, GpuError> {
        let paths = DensePaths::new(context, choice, op).await?;
        let small = match (&paths, op) {
            (DensePaths::Registers { .. }, DenseOp::Forward) => Some(THIN),
            (DensePaths::Registers { fast, .. }, DenseOp::BackwardWeight)
                if fast.weight_block != NARROW =>
            {
                Some(FastPath {
                    weight_block: NARROW,
                    ..*fast
                })
            }
            _ => None,
        };
        let small = match small {
            Some(fast) => Some((registers_kernel(context, op, 4, &fast, None).await?, fast)),
            None => None,
        };
        Ok(Self { op, paths, small })
    }

    /// The pipeline and dispatch for `shape`.
    fn choose(&self, shape: &DenseShape) -> (Pick<'_>, (u32, u32)) {
        let (columns, rows) = self.op.grid(shape);
        let blocks = |fast: &FastPath| {
            let (block_rows, block_columns) = fast.block(self.op);
            (columns.div_ceil(block_columns), rows.div_ceil(block_rows))
        };
        let vec4 = self.op.fits_vec4(shape);
        match self.paths.pick(vec4) {
            Path::Tiles(pick) => (pick, tiled_workgroups(rows, columns)),
            Path::Registers(pick, fast) => {
                let (x, y) = blocks(fast);
                let too_small = match self.op {
                    DenseOp::Forward => shape.rows < fast.forward_block.0,
                    _ => x * y < NARROW_BELOW_BLOCKS,
                };
                match &self.small {
                    Some((kernel, small)) if vec4 && too_small => {
                        let (x, y) = blocks(small);
                        (Pick::Compiled(kernel), small.workgroups(x, y))
                    }
                    _ => (pick, fast.workgroups(x, y)),
                }
            }
        }
    }

    /// Binds a layer of `shape` to `storage` (in the order of the shader's header), checking
    /// the shape against the adapter's limits.
    pub(crate) async fn bind(
        &self,
        context: &GpuContext,
        shape: &DenseShape,
        flag: bool,
        storage: [wgpu::BufferBinding<'_>; 4],
    ) -> Result<Binding, GpuError> {
        shape.validate(context)?;
        let (pick, workgroups) = self.choose(shape);
        let kernel = pick.kernel(context).await?;
        kernel
            .bind(context, &shape.uniform(flag), &storage, workgroups)
            .await
    }

    /// Uploads `inputs`, runs the layer in one submit on zeroed outputs of `outputs` values
    /// each, and reads them back: for checks and one-off use, not for the training loop (which
    /// keeps everything on the GPU).
    pub(crate) async fn run(
        &self,
        context: &GpuContext,
        shape: &DenseShape,
        flag: bool,
        inputs: &[&[f32]],
        outputs: &[usize],
    ) -> Result<Vec<Vec<f32>>, GpuError> {
        shape.validate(context)?;
        let (pick, workgroups) = self.choose(shape);
        let kernel = pick.kernel(context).await?;
        let inputs: Vec<&[u8]> = inputs.iter().map(|i| bytemuck::cast_slice(i)).collect();
        let outputs: Vec<Vec<f32>> = outputs.iter().map(|&n| vec![0.0; n]).collect();
        let outputs: Vec<&[f32]> = outputs.iter().map(Vec::as_slice).collect();
        kernel
            .run_once(context, &shape.uniform(flag), &inputs, &outputs, workgroups)
            .await
    }
}

/// The dense-forward pipelines, created once per device: register blocks (vec4 when the shared
/// dimension is a multiple of 4, as in every layer of the default model, scalar otherwise) or
/// shared-memory tiles.
pub struct DenseForward(DenseCore);

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

    pub async fn with_choice(context: &GpuContext, choice: KernelChoice) -> Result<Self, GpuError> {
        Ok(Self(
            DenseCore::new(context, choice, DenseOp::Forward).await?,
        ))
    }

    /// Binds a layer of `shape` to `buffers`, checking the shape against the adapter's limits.
    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: DenseBuffers<'_>,
    ) -> Result<Binding, GpuError> {
        let storage = [buffers.x, buffers.w, buffers.b, buffers.y];
        self.0.bind(context, &shape, shape.relu, storage).await
    }

    /// Runs the layer once on `x`, `w`, `b` and reads `y` back ([`DenseCore::run`]).
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
        let mut y = (self.0)
            .run(context, &shape, shape.relu, &[x, w, b], &[rows * outputs])
            .await?;
        Ok(y.remove(0))
    }
}
