//! The unrolled bodies of the dense kernels' register-block forms (`super::template` puts each
//! between its source's `unroll` markers): named registers per output of a block, the loop over
//! the shared dimension in steps of the vector width, guarded stores.

/// An operand every lane of a subgroup needs alike: the block's rows of x in the forward
/// kernel, of dy in the gradient kernels (neighbouring lanes differ only in their outputs or
/// inputs). Without `lanes` each lane loads all `count` of them; with a subgroup size that
/// divides `count`, lane `l` loads numbers `l, l + lanes, …` and takes the others from its
/// neighbours by subgroupBroadcast: on SwiftShader, where every load is a gather across lanes,
/// that saves most of those loads.
pub(super) struct SharedOperand {
    count: u32,
    lanes: Option<u32>,
}

impl SharedOperand {
    pub(super) fn new(count: u32, lanes: Option<u32>) -> Self {
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

    pub(super) fn is_shared(&self) -> bool {
        self.lanes.is_some()
    }
}

/// The body between `shaders/dense_forward.wgsl`'s `unroll` markers for a `rows × cols` block:
/// clamped row and column bases, one accumulator per output, the loop over the shared dimension
/// in steps of `width`, and guarded stores; the rows of x shared across lanes.
pub(super) fn dense_forward_body(rows: &SharedOperand, cols: u32, width: u32) -> String {
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
            lines.push(if width == 1 {
                format!("        a{r}_{c} += x{r} * w{c};")
            } else {
                format!("        a{r}_{c} += dot(x{r}, w{c});")
            });
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

/// The body between `shaders/dense_backward_weight.wgsl`'s markers for a block of `outputs` rows ×
/// `inputs` columns of dw (both multiples of `width`): per batch row, `outputs / width` loads of
/// dy (shared across lanes) and `inputs / width` of x feed `outputs · inputs / width`
/// multiply-adds in named registers.
pub(super) fn dense_backward_weight_body(
    dy: &SharedOperand,
    outputs: u32,
    inputs: u32,
    width: u32,
) -> String {
    let i4 = inputs / width;
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
            lines.push(format!("    var a{o}_{q} = Packed(0.0);"));
        }
    }
    for j in 0..dy.count {
        lines.push(format!("    var bias{j} = Packed(0.0);"));
    }
    lines.push("    for (var r = 0u; r < params.rows; r++) {".into());
    lines.extend(loads);
    for q in 0..i4 {
        lines.push(format!("        let x{q} = x[r * i_vecs + iv{q}];"));
    }
    for o in 0..outputs {
        for q in 0..i4 {
            let g = component(o / width, o % width, width);
            lines.push(format!("        a{o}_{q} += {g} * x{q};"));
        }
    }
    for j in 0..dy.count {
        lines.push(format!("        bias{j} += g{j};"));
    }
    lines.push("    }".into());
    for o in 0..outputs {
        lines.push(format!(
            "    if (WIDTH * o_vec0 + {o}u < params.outputs) {{"
        ));
        for q in 0..i4 {
            lines.push(format!(
                "        if (i_vec0 + {q}u < i_vecs) {{ dw[(WIDTH * o_vec0 + {o}u) * i_vecs + i_vec0 + {q}u] = a{o}_{q}; }}"
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

/// The body between `shaders/dense_backward_input.wgsl`'s markers for a block of `rows` × `inputs`
/// of dx (`inputs` a multiple of `width`): per `width` outputs, `rows` loads of dy (shared across
/// lanes) and `width · inputs / width` of w feed `rows · inputs / width` multiply-adds in named
/// registers.
pub(super) fn dense_backward_input_body(rows: &SharedOperand, inputs: u32, width: u32) -> String {
    let i4 = inputs / width;
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
            lines.push(format!("    var a{r}_{q} = Packed(0.0);"));
        }
    }
    lines.push("    for (var k = 0u; k < o_vecs; k++) {".into());
    for j in 0..width {
        let output = if width == 1 {
            "k".to_string()
        } else {
            format!("({width}u * k + {j}u)")
        };
        for q in 0..i4 {
            lines.push(format!(
                "        let w{j}_{q} = w[{output} * i_vecs + iv{q}];"
            ));
        }
    }
    lines.extend(loads);
    for r in 0..rows.count {
        for q in 0..i4 {
            let terms: Vec<String> = (0..width)
                .map(|j| format!("{} * w{j}_{q}", component(r, j, width)))
                .collect();
            lines.push(format!("        a{r}_{q} += {};", terms.join(" + ")));
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

/// Lane `lane` of the loaded operand `g{index}`: the operand itself at width 1.
fn component(index: u32, lane: u32, width: u32) -> String {
    if width == 1 {
        format!("g{index}")
    } else {
        format!("g{index}.{}", ["x", "y", "z", "w"][lane as usize])
    }
}
