//! The dense kernels' one source each (`shaders/dense_forward.wgsl`, `dense_backward_input.wgsl`,
//! `dense_backward_weight.wgsl`) made into the form an adapter runs, when its pipeline is created:
//! register blocks of a size chosen per adapter with vec4 loads (WIDTH 4) or scalar ones (WIDTH 1,
//! any shape), their bodies fully unrolled into named registers, which WGSL cannot express
//! generically (function-scope array sizes must be constants, and llvmpipe keeps indexed arrays in
//! memory), lanes sharing the loads all of them need where subgroups allow; or shared-memory tiles
//! (`shaders/matmul_tiled.wgsl` in place of the source's `main`).

use super::unrolled::{
    dense_backward_input_body, dense_backward_weight_body, dense_forward_body, SharedOperand,
};
use crate::shaders::{self, ShaderSource};

/// A dense layer's three products, each one WGSL source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DenseOp {
    /// y = act(x · Wᵀ + b)
    Forward,
    /// dx = mask ⊙ (dy · W)
    BackwardInput,
    /// dW = dyᵀ · x, db = Σ dy
    BackwardWeight,
}

impl DenseOp {
    pub(crate) fn source(self) -> ShaderSource {
        match self {
            DenseOp::Forward => shaders::DENSE_FORWARD,
            DenseOp::BackwardInput => shaders::DENSE_BACKWARD_INPUT,
            DenseOp::BackwardWeight => shaders::DENSE_BACKWARD_WEIGHT,
        }
    }

    /// The block constants a register form sets, in the order of its block's two numbers.
    fn block_constants(self) -> [&'static str; 2] {
        match self {
            DenseOp::Forward => ["ROWS", "COLS"],
            DenseOp::BackwardInput => ["BLOCK_ROWS", "BLOCK_INPUTS"],
            DenseOp::BackwardWeight => ["BLOCK_OUTPUTS", "BLOCK_INPUTS"],
        }
    }

    /// The unrolled body for a block, its operand every lane needs alike shared across `lanes`.
    fn body(self, width: u32, block: (u32, u32), lanes: Option<u32>) -> (String, bool) {
        let (first, second) = block;
        match self {
            DenseOp::Forward => {
                let rows = SharedOperand::new(first, lanes);
                (dense_forward_body(&rows, second, width), rows.is_shared())
            }
            DenseOp::BackwardInput => {
                let rows = SharedOperand::new(first, lanes);
                (
                    dense_backward_input_body(&rows, second, width),
                    rows.is_shared(),
                )
            }
            DenseOp::BackwardWeight => {
                let dy = SharedOperand::new(first / width, lanes);
                let body = dense_backward_weight_body(&dy, first, second, width);
                (body, dy.is_shared())
            }
        }
    }
}

/// The register-block form of `op`: vectors of `width` (4, or 1 for any shape) along the shared
/// dimension, a block of `block` per invocation, the operand all lanes need shared across a
/// subgroup of `lanes` where that size divides it.
pub(crate) fn registers(op: DenseOp, width: u32, block: (u32, u32), lanes: Option<u32>) -> String {
    let source = without_section(&op.source().source, TILED);
    let source = at_width(&source, width);
    let (body, shared) = op.body(width, block, lanes);
    let [first, second] = op.block_constants();
    let source = replace_region(&source, &[(first, block.0), (second, block.1)], &body);
    if shared {
        with_shared_lanes(source)
    } else {
        source
    }
}

/// The shared-memory tiled form of `op`: its source at WIDTH 1 up to the register blocks'
/// workgroup overrides (the bindings, the epilogue and the `tiled` section), then the tiled
/// product.
pub(crate) fn tiles(op: DenseOp) -> String {
    let source = at_width(&op.source().source, 1);
    let end = source.find(OVERRIDES).unwrap_or(source.len());
    format!("{}{}", &source[..end], shaders::MATMUL_TILED.source)
}

const TILED: (&str, &str) = ("// tiled-begin\n", "// tiled-end\n");
const OVERRIDES: &str = "override WG_X";

/// `source` without the lines between (and including) a section's markers.
fn without_section(source: &str, (begin, end): (&str, &str)) -> String {
    match (source.find(begin), source.find(end)) {
        (Some(start), Some(stop)) => format!("{}{}", &source[..start], &source[stop + end.len()..]),
        _ => source.to_string(),
    }
}

/// `source` with its vector type and WIDTH set for `width` (as committed: vec4, 4).
fn at_width(source: &str, width: u32) -> String {
    if width == 4 {
        return source.to_string();
    }
    source
        .replace("alias Packed = vec4<f32>;", "alias Packed = f32;")
        .replace(
            "const WIDTH: u32 = 4u;",
            &format!("const WIDTH: u32 = {width}u;"),
        )
}

/// Replaces the region between the unroll markers of `source` with `body`, and its block
/// constants with the given values.
fn replace_region(source: &str, constants: &[(&str, u32)], body: &str) -> String {
    const BEGIN: &str = "    // unroll-begin\n";
    const END: &str = "\n    // unroll-end";
    let (Some(begin), Some(end)) = (source.find(BEGIN), source.find(END)) else {
        return source.to_string();
    };
    let mut head = source[..begin + BEGIN.len()].to_string();
    for (name, value) in constants {
        let prefix = format!("const {name}: u32 = ");
        if let Some(at) = head.find(&prefix) {
            let line_end = head[at..].find('\n').map_or(head.len(), |n| at + n);
            head.replace_range(at..line_end, &format!("{prefix}{value}u;"));
        }
    }
    format!("{head}{body}{}", &source[end..])
}

/// `source` made ready for subgroup broadcasts: the lane's index; a
/// one-dimensional workgroup (naga allows the lane index only there) laid out in rows of WG_X
/// invocations, so that a subgroup of neighbours sits on one row of blocks, as the sharing
/// assumes (true of lavapipe and SwiftShader, which number subgroup lanes along the invocation
/// index; the kernel tests and the page's self-check would catch an adapter that does not); no
/// early return (a broadcast needs every lane; loads are clamped and stores guarded anyway); and
/// in a browser WGSL's `enable subgroups` (natively naga enables them with the device feature
/// and rejects the directive).
fn with_shared_lanes(source: String) -> String {
    const ENTRY: &str = "@compute @workgroup_size(WG_X, WG_Y)\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {\n";
    const SHARED_ENTRY: &str = "@compute @workgroup_size(WG_X * WG_Y)\n\
         fn main(\n    @builtin(workgroup_id) group: vec3<u32>,\n    \
         @builtin(local_invocation_index) local: u32,\n    \
         @builtin(subgroup_invocation_id) lane: u32,\n) {\n    \
         let gid = vec2<u32>(group.x * WG_X + local % WG_X, group.y * WG_Y + local / WG_X);\n";
    const RETURN: &str = "        return;\n    }\n";
    let mut source = source.replace(ENTRY, SHARED_ENTRY);
    let body_start = source.find("    // unroll-begin").unwrap_or(source.len());
    if let Some(end) = source[..body_start].rfind(RETURN) {
        if let Some(start) = source[..end].rfind("    if (") {
            source.replace_range(start..end + RETURN.len(), "");
        }
    }
    if cfg!(target_arch = "wasm32") {
        format!("enable subgroups;\n{source}")
    } else {
        source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: [DenseOp; 3] = [
        DenseOp::Forward,
        DenseOp::BackwardInput,
        DenseOp::BackwardWeight,
    ];

    #[test]
    fn each_committed_source_is_its_vec4_form_at_4_by_4() {
        for op in OPS {
            let committed = without_section(&op.source().source, TILED);
            let generated = registers(op, 4, (4, 4), None);
            if generated != committed {
                println!(
                    "BODY-START {op:?}\n{}\nBODY-END",
                    op.body(4, (4, 4), None).0
                );
            }
            assert_eq!(generated, committed, "{op:?}: regenerate its unrolled body");
        }
    }

    #[test]
    fn a_16_by_16_block_has_256_accumulators_and_its_constants() {
        let source = registers(DenseOp::Forward, 4, (16, 16), None);
        assert!(
            source.contains("const ROWS: u32 = 16u;") && source.contains("const COLS: u32 = 16u;")
        );
        assert_eq!(source.matches("var a").count(), 256);
        assert!(source.contains("a15_15 += dot(x15, w15);"));
    }

    #[test]
    fn the_scalar_form_reads_f32_and_the_tiled_form_replaces_main() {
        for op in OPS {
            let scalar = registers(op, 1, (4, 4), None);
            assert!(scalar.contains("alias Packed = f32;") && scalar.contains("WIDTH: u32 = 1u;"));
            assert!(
                !scalar.contains("dot(") && !scalar.contains("g0.x"),
                "{op:?}"
            );
            assert!(!scalar.contains("fn a_at"), "{op:?}: no tiled section");
            let tiled = tiles(op);
            assert!(tiled.contains("alias Packed = f32;") && tiled.contains("fn a_at"));
            assert!(tiled.contains("var<workgroup> slab_a"), "{op:?}");
            assert_eq!(tiled.matches("fn main(").count(), 1, "{op:?}");
            assert!(!tiled.contains("override WG_X"), "{op:?}");
        }
    }

    #[test]
    fn shared_operands_are_loaded_once_per_lane_and_broadcast() {
        let forward = registers(DenseOp::Forward, 4, (8, 8), Some(4));
        let loads = |source: &str, of: &str| source.matches(&format!("= {of}[")).count();
        assert_eq!(loads(&forward, "x"), 2, "two rows of x loaded per lane");
        assert!(forward.contains("let x7 = subgroupBroadcast(shared1, 3u);"));
        let weight = registers(DenseOp::BackwardWeight, 4, (32, 8), Some(4));
        assert_eq!(loads(&weight, "dy"), 2, "two vec4s of dy per lane");
        assert!(weight.contains("let g7 = subgroupBroadcast(shared1, 3u);"));
        let input = registers(DenseOp::BackwardInput, 4, (16, 8), Some(8));
        assert_eq!(loads(&input, "dy"), 2, "two rows of dy per lane");
        for source in [&forward, &weight, &input] {
            assert!(source.contains("@builtin(subgroup_invocation_id) lane: u32"));
            assert!(source.contains("@workgroup_size(WG_X * WG_Y)"));
            assert!(
                !source.contains("return;"),
                "no lane may leave before a broadcast"
            );
        }
        // A subgroup size that does not divide the operand: the plain kernel.
        let plain = registers(DenseOp::Forward, 4, (4, 4), Some(8));
        assert_eq!(plain, registers(DenseOp::Forward, 4, (4, 4), None));
    }
}
