//! How the dense kernels multiply on an adapter: the strategy (register blocks or shared-memory
//! tiles), the register blocks' shapes per adapter, and the pipelines each kernel chooses between.

use super::template::{self, DenseOp};
use super::{Kernel, LazyKernel, Pick};
use crate::shaders::ShaderSource;
use crate::{GpuContext, GpuError};

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

impl KernelChoice {
    /// Every form of the dense kernels whatever the adapter: register blocks as this adapter
    /// gets them, SwiftShader's (shared lanes where this adapter's subgroups allow) and the
    /// small ones of real GPUs (each with the scalar form for other shapes), and shared-memory
    /// tiles. What the kernel tests check on any one adapter.
    pub const EVERY_FORM: [KernelChoice; 4] = [
        KernelChoice::Strategy(MatmulStrategy::RegisterBlocks),
        KernelChoice::Blocks(FastPath::SWIFTSHADER),
        KernelChoice::Blocks(FastPath::SMALL),
        KernelChoice::Strategy(MatmulStrategy::SharedTiles),
    ];
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

/// Workgroups of the tiled kernels: one per 64 × 64 tile of the `m × n` result.
pub(crate) fn tiled_workgroups(m: u32, n: u32) -> (u32, u32) {
    (n.div_ceil(64), m.div_ceil(64))
}

/// The register blocks of the dense kernels' vec4 forms on one adapter: the workgroup shape, and
/// each kernel's block.
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
        match (
            context.adapter.is_software,
            context.adapter.is_swiftshader(),
        ) {
            (true, true) => Self::SWIFTSHADER,
            (true, false) => Self::LAVAPIPE,
            (false, _) => Self::SMALL,
        }
    }

    /// lavapipe (see above), natively and under Firefox's WebGPU (wgpu on the system's Vulkan,
    /// lavapipe here): in Firefox ESR 153, `?bench=blocks`, these blocks ran the forward kernel
    /// at 24.9 and 21.5 GFLOP/s, the input gradient at 23.0 and the weight gradients at 23.4 and
    /// 23.9, where SwiftShader's blocks ran 17.5, 16.9, 18.0, 15.7 and 20.7.
    pub const LAVAPIPE: FastPath = FastPath {
        workgroup: (8, 8),
        forward_block: (16, 32),
        weight_block: (16, 16),
        input_block: (16, 16),
    };

    /// A browser's software WebGPU (Chromium's SwiftShader, subgroups of 4) compiles a shader's
    /// unrolled block superlinearly, and the page's first digit waits for these compiles
    /// (measured in Chromium 156 on 2 cores, fresh page: marks around each kernel's creation).
    /// The forward kernel, its rows of x shared across the subgroup
    /// ([`FastPath::sharing_lanes`]): 8 × 8 compiles in 0.33-0.38 s and ran at 4.5-5.8
    /// GFLOP/s on 128×784×500 and 128×500×784 over several runs, 16 × 8 takes 0.7-0.8 s for
    /// 6.1-6.9 (unshared 8 × 8: 4.3-4.8; 16 × 32: 4.6-5.2 s to compile). The input gradient at
    /// 16 × 8 shared 5.2-5.6 (8 × 16 unshared: 4.4-5.0). The weight gradient measured 2.6-4.0 whatever its
    /// block (16 × 4 to 32 × 8, `?bench=blocks`); 32 × 8 shares two vec4s of dy per lane where
    /// eight were loaded.
    pub const SWIFTSHADER: FastPath = FastPath {
        workgroup: (8, 8),
        forward_block: (8, 8),
        weight_block: (32, 8),
        input_block: (16, 8),
    };

    /// The fallback of real GPUs, which use shared-memory tiles; and the scalar forms' layout
    /// everywhere (shapes not in multiples of 4, which the default model never has).
    pub const SMALL: FastPath = FastPath {
        workgroup: (8, 8),
        forward_block: (4, 4),
        weight_block: (4, 4),
        input_block: (4, 4),
    };

    /// `op`'s block.
    pub(crate) fn block(&self, op: DenseOp) -> (u32, u32) {
        match op {
            DenseOp::Forward => self.forward_block,
            DenseOp::BackwardInput => self.input_block,
            DenseOp::BackwardWeight => self.weight_block,
        }
    }

    /// The workgroup-size overrides every register-block kernel takes.
    pub fn overrides(&self) -> [(&'static str, f64); 2] {
        [
            ("WG_X", f64::from(self.workgroup.0)),
            ("WG_Y", f64::from(self.workgroup.1)),
        ]
    }

    /// The subgroup size across which the kernels share the loads every lane needs: software
    /// adapters with subgroups of one fixed size dividing the workgroup's rows (lavapipe 8,
    /// SwiftShader 4), where each load is a gather and the lanes-to-invocations layout is known.
    pub fn sharing_lanes(&self, context: &GpuContext) -> Option<u32> {
        let lanes = context.adapter.subgroup_size?;
        (context.adapter.is_software && self.workgroup.0.is_multiple_of(lanes)).then_some(lanes)
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
    /// Register blocks: the vec4 form for shapes in multiples of 4, the scalar form (at
    /// [`FastPath::SMALL`], compiled when first needed) for the rest.
    Registers {
        vec4: Kernel,
        scalar: LazyKernel,
        fast: FastPath,
    },
    /// Shared-memory tiles, for every shape.
    Tiles(Kernel),
}

impl DensePaths {
    /// Compiles what `choice` uses of `op`'s source: the vec4 form at this adapter's blocks (and
    /// subgroup size, [`FastPath::sharing_lanes`]), or the tiled form.
    pub async fn new(
        context: &GpuContext,
        choice: KernelChoice,
        op: DenseOp,
    ) -> Result<Self, GpuError> {
        let (strategy, fast) = match choice {
            KernelChoice::Adapter => (MatmulStrategy::for_adapter(context), None),
            KernelChoice::Strategy(strategy) => (strategy, None),
            KernelChoice::Blocks(fast) => (MatmulStrategy::RegisterBlocks, Some(fast)),
        };
        let label = op.source().label;
        Ok(match strategy {
            MatmulStrategy::SharedTiles => DensePaths::Tiles(
                Kernel::from_source(context, label, template::tiles(op), &[]).await?,
            ),
            MatmulStrategy::RegisterBlocks => {
                let fast = fast.unwrap_or_else(|| FastPath::for_adapter(context));
                let lanes = fast.sharing_lanes(context);
                let vec4 = registers_kernel(context, op, 4, &fast, lanes).await?;
                let scalar = ShaderSource {
                    label,
                    source: template::registers(op, 1, FastPath::SMALL.block(op), None).into(),
                };
                DensePaths::Registers {
                    vec4,
                    scalar: LazyKernel::new(scalar, &FastPath::SMALL.overrides()),
                    fast,
                }
            }
        })
    }

    /// The kernel for a shape: register blocks (vec4 when `vec4_shape`) with their layout, or
    /// tiles.
    pub fn pick(&self, vec4_shape: bool) -> Path<'_> {
        match self {
            DensePaths::Registers { vec4, fast, .. } if vec4_shape => {
                Path::Registers(Pick::Compiled(vec4), fast)
            }
            DensePaths::Registers { scalar, .. } => {
                Path::Registers(Pick::Lazy(scalar), &FastPath::SMALL)
            }
            DensePaths::Tiles(tiled) => Path::Tiles(Pick::Compiled(tiled)),
        }
    }
}

/// What [`DensePaths::pick`] chose for a shape.
pub(crate) enum Path<'a> {
    Registers(Pick<'a>, &'a FastPath),
    Tiles(Pick<'a>),
}

/// `op`'s register-block form at `width` with `fast`'s block and workgroup, its shared operand
/// across `lanes`.
pub(crate) async fn registers_kernel(
    context: &GpuContext,
    op: DenseOp,
    width: u32,
    fast: &FastPath,
    lanes: Option<u32>,
) -> Result<Kernel, GpuError> {
    let mut source = template::registers(op, width, fast.block(op), lanes);
    let mut overrides = fast.overrides().to_vec();
    if lanes.is_some() {
        // naga 30 re-validates a module after substituting its overrides with no subgroup
        // stages allowed, rejecting every subgroup operation: the workgroup size goes into the
        // source as constants instead.
        source = overrides_as_constants(&source, &overrides);
        overrides.clear();
    }
    Kernel::from_source(context, op.source().label, source, &overrides).await
}

/// `source` with each `override NAME: u32 = …;` of `values` turned into a constant of its value.
fn overrides_as_constants(source: &str, values: &[(&str, f64)]) -> String {
    source
        .lines()
        .map(|line| {
            let value = values
                .iter()
                .find(|(name, _)| line.starts_with(&format!("override {name}: u32")));
            match value {
                Some((name, value)) => format!("const {name}: u32 = {}u;", *value as u32),
                None => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
