//! `shaders/dense_forward.wgsl`: y = act(x · Wᵀ + b), and what the dense kernels share.

use super::unroll::specialise_dense_forward;
use super::{Binding, Kernel};
use crate::{shaders, GpuContext, GpuError};

/// Each invocation of the dense kernels computes a 4 × 4 block of its output.
const BLOCK: u32 = 4;
/// 16 × 4 = 64 invocations: a multiple of every common SIMD width (8 on lavapipe, 32 on NVIDIA,
/// 64 on AMD) and within the WebGPU minimum of 256 per workgroup.
const WORKGROUP: (u32, u32) = (16, 4);

pub(crate) async fn dense_kernel(
    context: &GpuContext,
    shader: &shaders::ShaderSource,
) -> Result<Kernel, GpuError> {
    Kernel::new(
        context,
        shader,
        &[
            ("WG_X", f64::from(WORKGROUP.0)),
            ("WG_Y", f64::from(WORKGROUP.1)),
        ],
    )
    .await
}

/// Workgroups to cover an output of `rows × cols` in 4 × 4 blocks.
pub(crate) fn dense_workgroups(cols: u32, rows: u32) -> (u32, u32) {
    (
        cols.div_ceil(WORKGROUP.0 * BLOCK),
        rows.div_ceil(WORKGROUP.1 * BLOCK),
    )
}

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

/// How the dense kernels multiply on an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulStrategy {
    /// Register blocks and vec4 loads with no barriers: what software GPUs (lavapipe,
    /// SwiftShader) run fastest, since each storage load there is a gather across lanes and a
    /// barrier a coroutine switch. Falls back to the general kernels for shapes that are not
    /// multiples of 4.
    RegisterBlocks,
    /// Shared-memory tiles (matmul_tiled.wgsl), any shape: what real GPUs reward.
    SharedTiles,
}

/// Which dense kernels to build: the adapter's choice, a strategy, or register blocks of a given
/// shape whatever the adapter (to tune them, or to test other adapters' blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelChoice {
    Adapter,
    Strategy(MatmulStrategy),
    Blocks(FastPath),
}

impl MatmulStrategy {
    pub fn for_adapter(context: &GpuContext) -> MatmulStrategy {
        if context.adapter.is_software {
            MatmulStrategy::RegisterBlocks
        } else {
            MatmulStrategy::SharedTiles
        }
    }
}

/// The uniform of the tiled kernels: `{ m, n, k, row_sums, flag, 3 × pad }`.
pub(crate) fn tiled_uniform(m: u32, n: u32, k: u32, row_sums: bool, flag: bool) -> Vec<u8> {
    let words = [m, n, k, u32::from(row_sums), u32::from(flag), 0, 0, 0];
    bytemuck::cast_slice(&words).to_vec()
}

/// Workgroups of the tiled kernels: one per 64 × 64 tile of the `m × n` result.
pub(crate) fn tiled_workgroups(m: u32, n: u32) -> (u32, u32) {
    (n.div_ceil(64), m.div_ceil(64))
}

/// The vec4 fast paths: each invocation computes a 4 × 4 block of its output (fixed by the
/// unrolled shaders); the workgroup shape is chosen per adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastPath {
    pub workgroup: (u32, u32),
    /// The forward kernel's register block, rows × columns of the output per invocation.
    pub forward_block: (u32, u32),
    /// The weight-gradient kernel's block, outputs × inputs of dw per invocation (multiples of 4).
    pub weight_block: (u32, u32),
    /// The input-gradient kernel's block, rows × inputs of dx per invocation (inputs a multiple of 4).
    pub input_block: (u32, u32),
}

impl FastPath {
    /// 8 × 8 = 64 invocations, a multiple of every common SIMD width. Software GPUs (lavapipe,
    /// SwiftShader) turn each storage load into a gather across lanes, so the blocks are large
    /// there: measured on lavapipe (2 cores, `vae bench`), the forward kernel reached 25-29
    /// GFLOP/s on 128×784×500 with 16 × 32 against 20-21 with 16 × 16 and 10 with 4 × 4; the
    /// gradient kernels 21-26 with 16 × 16. Other adapters use shared-memory tiles
    /// ([`MatmulStrategy::SharedTiles`]); this path is their fallback, with small 4 × 4 blocks.
    pub fn for_adapter(context: &GpuContext) -> FastPath {
        match (context.adapter.is_software, cfg!(target_arch = "wasm32")) {
            (true, false) => Self::NATIVE_SOFTWARE,
            (true, true) => Self::BROWSER_SOFTWARE,
            (false, _) => Self::SMALL,
        }
    }

    /// lavapipe (see above).
    pub const NATIVE_SOFTWARE: FastPath = FastPath {
        workgroup: (8, 8),
        forward_block: (16, 32),
        weight_block: (16, 16),
        input_block: (16, 16),
    };

    /// A browser's software WebGPU (Chromium's SwiftShader) compiles a shader's unrolled block
    /// superlinearly: measured in Chromium 156 (the page's `?bench`), the forward kernel took
    /// 4.6-5.2 s to compile with 16 × 32 blocks, 1.6 s with 16 × 16, 0.7-0.8 s with 8 × 16 and
    /// 0.33 s with 8 × 8, for 6.9, 6.5, 5.3 and 4.4 GFLOP/s on 128×784×500. The page's first
    /// digit waits for these compiles: 8 × 8 opens it in about 2 s rather than 12, for some 8 ms
    /// more per training step. The gradient kernels compile faster and keep larger blocks.
    pub const BROWSER_SOFTWARE: FastPath = FastPath {
        workgroup: (8, 8),
        forward_block: (8, 8),
        weight_block: (16, 16),
        input_block: (8, 16),
    };

    /// The fallback of real GPUs, which use shared-memory tiles.
    pub const SMALL: FastPath = FastPath {
        workgroup: (8, 8),
        forward_block: (4, 4),
        weight_block: (4, 4),
        input_block: (4, 4),
    };

    /// The workgroup-size overrides every fast-path shader takes.
    pub fn overrides(&self) -> [(&'static str, f64); 2] {
        [
            ("WG_X", f64::from(self.workgroup.0)),
            ("WG_Y", f64::from(self.workgroup.1)),
        ]
    }

    /// Workgroups covering `cols × rows` invocations.
    pub fn workgroups(&self, cols: u32, rows: u32) -> (u32, u32) {
        (
            cols.div_ceil(self.workgroup.0),
            rows.div_ceil(self.workgroup.1),
        )
    }
}

/// The pipelines a dense kernel chooses between on one adapter.
pub(crate) enum DensePaths {
    /// Unrolled register blocks for shapes in multiples of 4, the general kernel for the rest.
    Registers {
        vec4: Kernel,
        general: Kernel,
        fast: FastPath,
    },
    /// Shared-memory tiles, for every shape.
    Tiles(Kernel),
}

impl DensePaths {
    /// Compiles what `strategy` uses: the general kernel and the vec4 template specialised by
    /// `specialise` for this adapter's blocks, or the tiled kernel.
    pub async fn new(
        context: &GpuContext,
        choice: KernelChoice,
        general: &shaders::ShaderSource,
        vec4: &shaders::ShaderSource,
        specialise: impl FnOnce(&str, &FastPath) -> String,
        tiled: &shaders::ShaderSource,
    ) -> Result<Self, GpuError> {
        let (strategy, fast) = match choice {
            KernelChoice::Adapter => (MatmulStrategy::for_adapter(context), None),
            KernelChoice::Strategy(strategy) => (strategy, None),
            KernelChoice::Blocks(fast) => (MatmulStrategy::RegisterBlocks, Some(fast)),
        };
        Ok(match strategy {
            MatmulStrategy::SharedTiles => {
                DensePaths::Tiles(Kernel::new(context, tiled, &[]).await?)
            }
            MatmulStrategy::RegisterBlocks => {
                let fast = fast.unwrap_or_else(|| FastPath::for_adapter(context));
                let source = specialise(&vec4.source, &fast);
                DensePaths::Registers {
                    vec4: Kernel::from_source(context, vec4.label, source, &fast.overrides())
                        .await?,
                    general: dense_kernel(context, general).await?,
                    fast,
                }
            }
        })
    }
}

/// The dense-forward pipelines, created once per device: the vec4 fast path (shared dimension a
/// multiple of 4, as in every layer of the default model) and the general one.
pub struct DenseForward {
    paths: DensePaths,
}

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
            |source, fast| {
                specialise_dense_forward(source, fast.forward_block.0, fast.forward_block.1)
            },
            &shaders::DENSE_FORWARD_TILED,
        )
        .await?;
        Ok(Self { paths })
    }

    /// The pipeline and dispatch for `shape`: the vec4 path when the shared dimension allows.
    fn choose(&self, shape: &DenseShape) -> (&Kernel, (u32, u32), Vec<u8>) {
        match &self.paths {
            DensePaths::Tiles(tiled) => {
                let uniform =
                    tiled_uniform(shape.rows, shape.outputs, shape.inputs, false, shape.relu);
                (tiled, tiled_workgroups(shape.rows, shape.outputs), uniform)
            }
            DensePaths::Registers { vec4, fast, .. } if shape.inputs.is_multiple_of(4) => {
                let (block_rows, block_cols) = fast.forward_block;
                let blocks = (
                    shape.outputs.div_ceil(block_cols),
                    shape.rows.div_ceil(block_rows),
                );
                let workgroups = fast.workgroups(blocks.0, blocks.1);
                (vec4, workgroups, shape.uniform(shape.relu).to_vec())
            }
            DensePaths::Registers { general, .. } => {
                let workgroups = dense_workgroups(shape.outputs, shape.rows);
                (general, workgroups, shape.uniform(shape.relu).to_vec())
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
        let (kernel, workgroups, uniform) = self.choose(&shape);
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
        let (kernel, workgroups, uniform) = self.choose(&shape);
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
