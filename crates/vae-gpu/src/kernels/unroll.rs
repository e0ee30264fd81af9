//! The template step of `shaders/dense_forward_vec4.wgsl`: its register block is sized per adapter
//! and its body fully unrolled into named registers, which WGSL cannot express generically
//! (function-scope array sizes must be constants, and llvmpipe keeps indexed arrays in memory).

/// The body between the shader's `unroll-begin` and `unroll-end` markers for a `rows × cols`
/// block: clamped row and column bases, one accumulator per output, the loop over the shared
/// dimension in vec4 steps, and guarded stores.
pub(crate) fn dense_forward_body(rows: u32, cols: u32) -> String {
    let mut lines = Vec::new();
    for r in 0..rows {
        lines.push(format!(
            "    let xb{r} = min(row0 + {r}u, params.rows - 1u) * steps;"
        ));
    }
    for c in 0..cols {
        lines.push(format!(
            "    let wb{c} = min(col0 + {c}u, params.outputs - 1u) * steps;"
        ));
    }
    for r in 0..rows {
        for c in 0..cols {
            lines.push(format!("    var a{r}_{c} = 0.0;"));
        }
    }
    lines.push("    for (var k = 0u; k < steps; k++) {".into());
    for r in 0..rows {
        lines.push(format!("        let x{r} = x[xb{r} + k];"));
    }
    for c in 0..cols {
        lines.push(format!("        let w{c} = w[wb{c} + k];"));
    }
    for r in 0..rows {
        for c in 0..cols {
            lines.push(format!("        a{r}_{c} += dot(x{r}, w{c});"));
        }
    }
    lines.push("    }".into());
    for r in 0..rows {
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

/// `source` (dense_forward_vec4.wgsl) specialised to a block of `rows × cols`.
pub(crate) fn specialise_dense_forward(source: &str, rows: u32, cols: u32) -> String {
    replace_region(
        source,
        &[("ROWS", rows), ("COLS", cols)],
        &dense_forward_body(rows, cols),
    )
}

/// The body between `shaders/dense_backward_weight_vec4.wgsl`'s markers for a block of `outputs`
/// rows × `inputs` columns of dw (both multiples of 4): per batch row, `outputs / 4` vec4 loads of
/// dy and `inputs / 4` of x feed `outputs · inputs / 4` vec4 multiply-adds in named registers.
pub(crate) fn dense_backward_weight_body(outputs: u32, inputs: u32) -> String {
    let (o4, i4) = (outputs / 4, inputs / 4);
    let lanes = ["x", "y", "z", "w"];
    let mut lines = Vec::new();
    for j in 0..o4 {
        lines.push(format!("    let ov{j} = min(o_vec0 + {j}u, o_vecs - 1u);"));
    }
    for q in 0..i4 {
        lines.push(format!("    let iv{q} = min(i_vec0 + {q}u, i_vecs - 1u);"));
    }
    for o in 0..outputs {
        for q in 0..i4 {
            lines.push(format!("    var a{o}_{q} = vec4<f32>(0.0);"));
        }
    }
    for j in 0..o4 {
        lines.push(format!("    var bias{j} = vec4<f32>(0.0);"));
    }
    lines.push("    for (var r = 0u; r < params.rows; r++) {".into());
    for j in 0..o4 {
        lines.push(format!("        let g{j} = dy[r * o_vecs + ov{j}];"));
    }
    for q in 0..i4 {
        lines.push(format!("        let x{q} = x[r * i_vecs + iv{q}];"));
    }
    for o in 0..outputs {
        for q in 0..i4 {
            let (j, lane) = (o / 4, lanes[(o % 4) as usize]);
            lines.push(format!("        a{o}_{q} += g{j}.{lane} * x{q};"));
        }
    }
    for j in 0..o4 {
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
    for j in 0..o4 {
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

/// `source` (dense_backward_weight_vec4.wgsl) specialised to a block of `outputs × inputs`.
pub(crate) fn specialise_dense_backward_weight(source: &str, outputs: u32, inputs: u32) -> String {
    replace_region(
        source,
        &[("BLOCK_OUTPUTS", outputs), ("BLOCK_INPUTS", inputs)],
        &dense_backward_weight_body(outputs, inputs),
    )
}

/// The body between `shaders/dense_backward_input_vec4.wgsl`'s markers for a block of `rows` ×
/// `inputs` of dx (`inputs` a multiple of 4): per 4 outputs, `rows` vec4 loads of dy and
/// `4 · inputs / 4` of w feed `rows · inputs` vec4 multiply-adds in named registers.
pub(crate) fn dense_backward_input_body(rows: u32, inputs: u32) -> String {
    let i4 = inputs / 4;
    let mut lines = Vec::new();
    for r in 0..rows {
        lines.push(format!(
            "    let dyb{r} = min(row0 + {r}u, params.rows - 1u) * o_vecs;"
        ));
    }
    for q in 0..i4 {
        lines.push(format!("    let iv{q} = min(i_vec0 + {q}u, i_vecs - 1u);"));
    }
    for r in 0..rows {
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
    for r in 0..rows {
        lines.push(format!("        let g{r} = dy[dyb{r} + k];"));
        for q in 0..i4 {
            lines.push(format!(
                "        a{r}_{q} += g{r}.x * w0_{q} + g{r}.y * w1_{q} + g{r}.z * w2_{q} + g{r}.w * w3_{q};"
            ));
        }
    }
    lines.push("    }".into());
    for r in 0..rows {
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

/// `source` (dense_backward_input_vec4.wgsl) specialised to a block of `rows × inputs`.
pub(crate) fn specialise_dense_backward_input(source: &str, rows: u32, inputs: u32) -> String {
    replace_region(
        source,
        &[("BLOCK_ROWS", rows), ("BLOCK_INPUTS", inputs)],
        &dense_backward_input_body(rows, inputs),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shaders::DENSE_FORWARD_VEC4;

    #[test]
    fn the_committed_shader_is_the_template_expanded_at_4_by_4() {
        assert_eq!(
            specialise_dense_forward(&DENSE_FORWARD_VEC4.source, 4, 4),
            DENSE_FORWARD_VEC4.source.as_ref(),
            "regenerate the body of shaders/dense_forward_vec4.wgsl with dense_forward_body(4, 4)"
        );
    }

    #[test]
    fn the_committed_backward_weight_shader_is_the_template_expanded_at_4_by_4() {
        use crate::shaders::DENSE_BACKWARD_WEIGHT_VEC4;
        let expanded = specialise_dense_backward_weight(&DENSE_BACKWARD_WEIGHT_VEC4.source, 4, 4);
        if expanded != DENSE_BACKWARD_WEIGHT_VEC4.source {
            println!("BODY-START\n{}\nBODY-END", dense_backward_weight_body(4, 4));
        }
        assert_eq!(expanded, DENSE_BACKWARD_WEIGHT_VEC4.source.as_ref());
    }

    #[test]
    fn the_committed_backward_input_shader_is_the_template_expanded_at_4_by_4() {
        use crate::shaders::DENSE_BACKWARD_INPUT_VEC4;
        let expanded = specialise_dense_backward_input(&DENSE_BACKWARD_INPUT_VEC4.source, 4, 4);
        if expanded != DENSE_BACKWARD_INPUT_VEC4.source {
            println!("BODY-START\n{}\nBODY-END", dense_backward_input_body(4, 4));
        }
        assert_eq!(expanded, DENSE_BACKWARD_INPUT_VEC4.source.as_ref());
    }

    #[test]
    fn a_16_by_16_block_has_256_accumulators_and_its_constants() {
        let source = specialise_dense_forward(&DENSE_FORWARD_VEC4.source, 16, 16);
        assert!(
            source.contains("const ROWS: u32 = 16u;") && source.contains("const COLS: u32 = 16u;")
        );
        assert_eq!(source.matches("var a").count(), 256);
        assert!(source.contains("a15_15 += dot(x15, w15);"));
    }
}
