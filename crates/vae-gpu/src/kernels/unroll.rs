//! The template step of the vec4 dense kernels (`shaders/dense_*_vec4.wgsl`): their register
//! blocks are sized per adapter and their bodies fully unrolled into named registers, which WGSL
//! cannot express generically (function-scope array sizes must be constants, and llvmpipe keeps
//! indexed arrays in memory); where subgroups allow, lanes share the loads all of them need.

/// An operand every lane of a subgroup needs alike: the block's rows of x in the forward
/// kernel, of dy in the gradient kernels (neighbouring lanes differ only in their outputs or
/// inputs). Without `lanes` each lane loads all `count` of them; with a subgroup size that
/// divides `count`, lane `l` loads numbers `l, l + lanes, …` and takes the others from its
/// neighbours by subgroupBroadcast: on SwiftShader, where every load is a gather across lanes,
/// that saves most of those loads.
struct SharedOperand {
    count: u32,
    lanes: Option<u32>,
}

impl SharedOperand {
    fn new(count: u32, lanes: Option<u32>) -> Self {
        let lanes = lanes.filter(|&lanes| lanes > 1 && count.is_multiple_of(lanes));
        Self { count, lanes }
    }

    /// The setup lines (`base(i, offset)`: the i-th loaded copy's base at `offset` within the
    /// block) and the loop's lines, which leave operand `v` in the register `name(v)`
    /// (`load(i)`: the expression loading copy `i`).
    fn emit(
        &self,
        base: impl Fn(u32, &str) -> String,
        load: impl Fn(u32) -> String,
        name: impl Fn(u32) -> String,
    ) -> (Vec<String>, Vec<String>) {
        match self.lanes {
            None => (
                (0..self.count).map(|i| base(i, &format!("{i}u"))).collect(),
                (0..self.count)
                    .map(|i| format!("        let {} = {};", name(i), load(i)))
                    .collect(),
            ),
            Some(lanes) => {
                let copies = self.count / lanes;
                let setup = (0..copies)
                    .map(|j| base(j, &format!("lane + {}u", j * lanes)))
                    .collect();
                let mut body: Vec<String> = (0..copies)
                    .map(|j| format!("        let shared{j} = {};", load(j)))
                    .collect();
                body.extend((0..self.count).map(|v| {
                    let (j, from) = (v / lanes, v % lanes);
                    format!(
                        "        let {} = subgroupBroadcast(shared{j}, {from}u);",
                        name(v)
                    )
                }));
                (setup, body)
            }
        }
    }

    fn is_shared(&self) -> bool {
        self.lanes.is_some()
    }
}

/// The body between the shader's `unroll-begin` and `unroll-end` markers for a `rows × cols`
/// block: clamped row and column bases, one accumulator per output, the loop over the shared
/// dimension in vec4 steps, and guarded stores; the rows of x shared across `lanes`.
fn dense_forward_body(rows: &SharedOperand, cols: u32) -> String {
    let (setup, loads) = rows.emit(
        |i, offset| format!("    let xb{i} = min(row0 + {offset}, params.rows - 1u) * steps;"),
        |i| format!("x[xb{i} + k]"),
        |v| format!("x{v}"),
    );
    let mut lines = setup;
    for c in 0..cols {
        lines.push(format!(
            "    let wb{c} = min(col0 + {c}u, params.outputs - 1u) * steps;"
        ));
    }
    for r in 0..rows.count {
        for c in 0..cols {
            lines.push(format!("    var a{r}_{c} = 0.0;"));
        }
    }
    lines.push("    for (var k = 0u; k < steps; k++) {".into());
    lines.extend(loads);
    for c in 0..cols {
        lines.push(format!("        let w{c} = w[wb{c} + k];"));
    }
    for r in 0..rows.count {
        for c in 0..cols {
            lines.push(format!("        a{r}_{c} += dot(x{r}, w{c});"));
        }
    }
    lines.push("    }".into());
    for r in 0..rows.count {
        lines.push(format!("    if (row0 + {r}u < params.rows) {{"));
        for c in 0..cols {
            lines.push(format!(
                "        if (col0 + {c}u < params.outputs) {{ store(row0 + {r}u, col0 + {c}u, a{r}_{c}); }}"
            ));
        }
        lines.push("    }".into());
    }
    lines.join("\n")
}

/// `source` (dense_forward_vec4.wgsl) specialised to a block of `rows × cols`, its rows of x
/// shared across a subgroup of `lanes` where that size divides them.
pub(crate) fn specialise_dense_forward(
    source: &str,
    rows: u32,
    cols: u32,
    lanes: Option<u32>,
) -> String {
    let shared = SharedOperand::new(rows, lanes);
    let body = dense_forward_body(&shared, cols);
    let source = replace_region(source, &[("ROWS", rows), ("COLS", cols)], &body);
    with_lanes_if(&shared, source)
}

/// The body between `shaders/dense_backward_weight_vec4.wgsl`'s markers for a block of `outputs`
/// rows × `inputs` columns of dw (both multiples of 4): per batch row, `outputs / 4` vec4 loads of
/// dy (shared across `lanes`) and `inputs / 4` of x feed `outputs · inputs / 4` vec4
/// multiply-adds in named registers.
fn dense_backward_weight_body(dy: &SharedOperand, outputs: u32, inputs: u32) -> String {
    let i4 = inputs / 4;
    let lanes = ["x", "y", "z", "w"];
    let (setup, loads) = dy.emit(
        |j, offset| format!("    let ov{j} = min(o_vec0 + {offset}, o_vecs - 1u);"),
        |j| format!("dy[r * o_vecs + ov{j}]"),
        |v| format!("g{v}"),
    );
    let mut lines = setup;
    for q in 0..i4 {
        lines.push(format!("    let iv{q} = min(i_vec0 + {q}u, i_vecs - 1u);"));
    }
    for o in 0..outputs {
        for q in 0..i4 {
            lines.push(format!("    var a{o}_{q} = vec4<f32>(0.0);"));
        }
    }
    for j in 0..dy.count {
        lines.push(format!("    var bias{j} = vec4<f32>(0.0);"));
    }
    lines.push("    for (var r = 0u; r < params.rows; r++) {".into());
    lines.extend(loads);
    for q in 0..i4 {
        lines.push(format!("        let x{q} = x[r * i_vecs + iv{q}];"));
    }
    for o in 0..outputs {
        for q in 0..i4 {
            let (j, lane) = (o / 4, lanes[(o % 4) as usize]);
            lines.push(format!("        a{o}_{q} += g{j}.{lane} * x{q};"));
        }
    }
    for j in 0..dy.count {
        lines.push(format!("        bias{j} += g{j};"));
    }
    lines.push("    }".into());
    for o in 0..outputs {
        lines.push(format!("    if (4u * o_vec0 + {o}u < params.outputs) {{"));
        for q in 0..i4 {
            lines.push(format!(
                "        if (i_vec0 + {q}u < i_vecs) {{ dw[(4u * o_vec0 + {o}u) * i_vecs + i_vec0 + {q}u] = a{o}_{q}; }}"
            ));
        }
        lines.push("    }".into());
    }
    lines.push("    if (gid.x == 0u) {".into());
    for j in 0..dy.count {
        lines.push(format!(
            "        if (o_vec0 + {j}u < o_vecs) {{ db[o_vec0 + {j}u] = bias{j}; }}"
        ));
    }
    lines.push("    }".into());
    lines.join("\n")
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

/// `source` (dense_backward_weight_vec4.wgsl) specialised to a block of `outputs × inputs`, its
/// vec4s of dy shared across a subgroup of `lanes` where that size divides them.
pub(crate) fn specialise_dense_backward_weight(
    source: &str,
    outputs: u32,
    inputs: u32,
    lanes: Option<u32>,
) -> String {
    let shared = SharedOperand::new(outputs / 4, lanes);
    let body = dense_backward_weight_body(&shared, outputs, inputs);
    let constants = [("BLOCK_OUTPUTS", outputs), ("BLOCK_INPUTS", inputs)];
    with_lanes_if(&shared, replace_region(source, &constants, &body))
}

/// The body between `shaders/dense_backward_input_vec4.wgsl`'s markers for a block of `rows` ×
/// `inputs` of dx (`inputs` a multiple of 4): per 4 outputs, `rows` vec4 loads of dy (shared
/// across `lanes`) and `4 · inputs / 4` of w feed `rows · inputs` vec4 multiply-adds in named
/// registers.
fn dense_backward_input_body(rows: &SharedOperand, inputs: u32) -> String {
    let i4 = inputs / 4;
    let (setup, loads) = rows.emit(
        |r, offset| format!("    let dyb{r} = min(row0 + {offset}, params.rows - 1u) * o_vecs;"),
        |r| format!("dy[dyb{r} + k]"),
        |v| format!("g{v}"),
    );
    let mut lines = setup;
    for q in 0..i4 {
        lines.push(format!("    let iv{q} = min(i_vec0 + {q}u, i_vecs - 1u);"));
    }
    for r in 0..rows.count {
        for q in 0..i4 {
            lines.push(format!("    var a{r}_{q} = vec4<f32>(0.0);"));
        }
    }
    lines.push("    for (var k = 0u; k < o_vecs; k++) {".into());
    for j in 0..4 {
        for q in 0..i4 {
            lines.push(format!(
                "        let w{j}_{q} = w[(4u * k + {j}u) * i_vecs + iv{q}];"
            ));
        }
    }
    lines.extend(loads);
    for r in 0..rows.count {
        for q in 0..i4 {
            lines.push(format!(
                "        a{r}_{q} += g{r}.x * w0_{q} + g{r}.y * w1_{q} + g{r}.z * w2_{q} + g{r}.w * w3_{q};"
            ));
        }
    }
    lines.push("    }".into());
    for r in 0..rows.count {
        lines.push(format!("    if (row0 + {r}u < params.rows) {{"));
        for q in 0..i4 {
            lines.push(format!(
                "        if (i_vec0 + {q}u < i_vecs) {{ store(row0 + {r}u, i_vec0 + {q}u, a{r}_{q}); }}"
            ));
        }
        lines.push("    }".into());
    }
    lines.join("\n")
}

/// `source` (dense_backward_input_vec4.wgsl) specialised to a block of `rows × inputs`, its rows
/// of dy shared across a subgroup of `lanes` where that size divides them.
pub(crate) fn specialise_dense_backward_input(
    source: &str,
    rows: u32,
    inputs: u32,
    lanes: Option<u32>,
) -> String {
    let shared = SharedOperand::new(rows, lanes);
    let body = dense_backward_input_body(&shared, inputs);
    let constants = [("BLOCK_ROWS", rows), ("BLOCK_INPUTS", inputs)];
    with_lanes_if(&shared, replace_region(source, &constants, &body))
}

/// `source` made ready for subgroup broadcasts when `operand` is shared: the lane's index; a
/// one-dimensional workgroup (naga allows the lane index only there) laid out in rows of WG_X
/// invocations, so that a subgroup of neighbours sits on one row of blocks, as the sharing
/// assumes (true of lavapipe and SwiftShader, which number subgroup lanes along the invocation
/// index; the kernel tests and the page's self-check would catch an adapter that does not); no
/// early return (a broadcast needs every lane; loads are clamped and stores guarded anyway); and
/// in a browser WGSL's `enable subgroups` (natively naga enables them with the device feature
/// and rejects the directive).
fn with_lanes_if(operand: &SharedOperand, source: String) -> String {
    const ENTRY: &str = "@compute @workgroup_size(WG_X, WG_Y)\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {\n";
    const SHARED_ENTRY: &str = "@compute @workgroup_size(WG_X * WG_Y)\n\
         fn main(\n    @builtin(workgroup_id) group: vec3<u32>,\n    \
         @builtin(local_invocation_index) local: u32,\n    \
         @builtin(subgroup_invocation_id) lane: u32,\n) {\n    \
         let gid = vec2<u32>(group.x * WG_X + local % WG_X, group.y * WG_Y + local / WG_X);\n";
    const RETURN: &str = "        return;\n    }\n";
    if !operand.is_shared() {
        return source;
    }
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
    use crate::shaders::DENSE_FORWARD_VEC4;

    #[test]
    fn the_committed_shader_is_the_template_expanded_at_4_by_4() {
        assert_eq!(
            specialise_dense_forward(&DENSE_FORWARD_VEC4.source, 4, 4, None),
            DENSE_FORWARD_VEC4.source.as_ref(),
            "regenerate the body of shaders/dense_forward_vec4.wgsl with dense_forward_body(4, 4)"
        );
    }

    #[test]
    fn the_committed_backward_weight_shader_is_the_template_expanded_at_4_by_4() {
        use crate::shaders::DENSE_BACKWARD_WEIGHT_VEC4;
        let expanded =
            specialise_dense_backward_weight(&DENSE_BACKWARD_WEIGHT_VEC4.source, 4, 4, None);
        if expanded != DENSE_BACKWARD_WEIGHT_VEC4.source {
            println!(
                "BODY-START\n{}\nBODY-END",
                dense_backward_weight_body(&SharedOperand::new(1, None), 4, 4)
            );
        }
        assert_eq!(expanded, DENSE_BACKWARD_WEIGHT_VEC4.source.as_ref());
    }

    #[test]
    fn the_committed_backward_input_shader_is_the_template_expanded_at_4_by_4() {
        use crate::shaders::DENSE_BACKWARD_INPUT_VEC4;
        let expanded =
            specialise_dense_backward_input(&DENSE_BACKWARD_INPUT_VEC4.source, 4, 4, None);
        if expanded != DENSE_BACKWARD_INPUT_VEC4.source {
            println!(
                "BODY-START\n{}\nBODY-END",
                dense_backward_input_body(&SharedOperand::new(4, None), 4)
            );
        }
        assert_eq!(expanded, DENSE_BACKWARD_INPUT_VEC4.source.as_ref());
    }

    #[test]
    fn a_16_by_16_block_has_256_accumulators_and_its_constants() {
        let source = specialise_dense_forward(&DENSE_FORWARD_VEC4.source, 16, 16, None);
        assert!(
            source.contains("const ROWS: u32 = 16u;") && source.contains("const COLS: u32 = 16u;")
        );
        assert_eq!(source.matches("var a").count(), 256);
        assert!(source.contains("a15_15 += dot(x15, w15);"));
    }

    #[test]
    fn shared_operands_are_loaded_once_per_lane_and_broadcast() {
        use crate::shaders::{DENSE_BACKWARD_INPUT_VEC4, DENSE_BACKWARD_WEIGHT_VEC4};
        let forward = specialise_dense_forward(&DENSE_FORWARD_VEC4.source, 8, 8, Some(4));
        assert_eq!(
            forward.matches("= x[").count(),
            2,
            "two rows of x loaded per lane"
        );
        assert!(forward.contains("let x7 = subgroupBroadcast(shared1, 3u);"));
        let weight =
            specialise_dense_backward_weight(&DENSE_BACKWARD_WEIGHT_VEC4.source, 32, 8, Some(4));
        assert_eq!(
            weight.matches("= dy[").count(),
            2,
            "two vec4s of dy per lane"
        );
        assert!(weight.contains("let g7 = subgroupBroadcast(shared1, 3u);"));
        let input =
            specialise_dense_backward_input(&DENSE_BACKWARD_INPUT_VEC4.source, 16, 8, Some(8));
        assert_eq!(input.matches("= dy[").count(), 2, "two rows of dy per lane");
        for source in [&forward, &weight, &input] {
            assert!(source.contains("@builtin(subgroup_invocation_id) lane: u32"));
            assert!(source.contains("@workgroup_size(WG_X * WG_Y)"));
            assert!(
                !source.contains("return;"),
                "no lane may leave before a broadcast"
            );
        }
        // A subgroup size that does not divide the operand: the plain kernel.
        let plain = specialise_dense_forward(&DENSE_FORWARD_VEC4.source, 4, 4, Some(8));
        assert_eq!(plain, DENSE_FORWARD_VEC4.source.as_ref());
    }
}
