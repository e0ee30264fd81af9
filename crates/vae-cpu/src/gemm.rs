//! Matrix products for the three shapes of a training step, blocked for registers and cache.
//!
//! `C[m, n] = A[m, k] · B[k, n]`, then an epilogue (bias, ReLU, or ReLU's backward mask) as each
//! block of C is stored, so no extra pass over C is needed. B is row-major `[k, n]`; A is read
//! through strides, so `A` and `Aᵀ` are the same call (`x·W`, and `hᵀ·dy` for weight
//! gradients). Per block of `NR` columns, B's panel is packed once into contiguous, zero-padded
//! scratch (so edges need no second code path); the micro-kernel then keeps an `MR × NR` block of
//! C in registers over the whole of k: `MR` broadcasts of A and `NR / lanes` loads of B per k.
//!
//! Instruction sets: WebAssembly SIMD128 (`f32x4` multiply and add, or relaxed-SIMD's fused
//! multiply-add when the module is built with `+relaxed-simd`); natively the portable kernel,
//! which LLVM vectorises for the target (SSE2, NEON), and on x86-64 with AVX2 and FMA a copy of
//! it compiled for those, chosen at run time.

use crate::lanes::{Lane, F4};

/// Rows of C held in registers by the micro-kernel.
pub const MR: usize = 6;
/// Columns of C held in registers by the micro-kernel (two `f32x4`, one AVX register).
pub const NR: usize = 8;

/// The left operand: element `(row, col)` is `data[row * row_stride + col * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct Lhs<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Lhs<'a> {
    /// A row-major `[rows, cols]` matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `[cols, rows]` matrix, read in place.
    pub fn transposed(data: &'a [f32], rows: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: rows,
        }
    }
}

/// What happens to each value of `A·B` as it is stored into C.
#[derive(Clone, Copy, Debug)]
pub enum Epilogue<'a> {
    /// `C = A·B`.
    Store,
    /// `C = A·B + bias[col]`.
    Bias(&'a [f32]),
    /// `C = max(A·B + bias[col], 0)`: a dense layer with ReLU.
    BiasRelu(&'a [f32]),
    /// `C = A·B` where `mask[row, col] > 0`, else 0: the gradient through a ReLU whose output
    /// was `mask`.
    ReluMask(&'a [f32]),
}

/// Reusable scratch for [`Gemm::run`]: the packed panel of B. Grows to the largest `k` seen and
/// is then reused, so steady-state training allocates nothing.
#[derive(Default)]
pub struct Gemm {
    panel: Vec<f32>,
}

impl Gemm {
    /// `C = epilogue(A · B)` for A `[m, k]` (through `a`'s strides), B row-major `[k, n]`, C
    /// row-major `[m, n]`.
    ///
    /// # Panics
    /// If a slice is too short for the shape: a caller bug.
    pub fn run(
        &mut self,
        (m, n, k): (usize, usize, usize),
        a: Lhs<'_>,
        b: &[f32],
        c: &mut [f32],
        epilogue: Epilogue<'_>,
    ) {
        if m == 0 || n == 0 {
            return;
        }
        let last_a = (m - 1) * a.row_stride + k.saturating_sub(1) * a.col_stride;
        assert!(
            k == 0 || last_a < a.data.len(),
            "A is too short for its shape"
        );
        assert!(b.len() >= k * n, "B must be [k, n]");
        assert!(c.len() >= m * n, "C must be [m, n]");
        match epilogue {
            Epilogue::Bias(bias) | Epilogue::BiasRelu(bias) => assert!(bias.len() >= n),
            Epilogue::ReluMask(mask) => assert!(mask.len() >= m * n),
            Epilogue::Store => {}
        }
        if self.panel.len() < k * NR {
            self.panel.resize(k * NR, 0.0);
        }
        let shape = Shape { m, n, k };
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above); bounds were checked above.
            unsafe { run_avx2_fma(shape, a, b, c, epilogue, &mut self.panel) };
            return;
        }
        #[cfg(all(
            target_arch = "wasm32",
            target_feature = "simd128",
            feature = "relaxed-simd"
        ))]
        {
            // SAFETY: nothing here is undefined without relaxed-SIMD: a module built with this
            // feature holds its instructions and so does not load where the browser lacks them
            // (the page chooses this module only where `WebAssembly.validate` accepts them).
            unsafe { run_relaxed(shape, a, b, c, epilogue, &mut self.panel) };
            return;
        }
        #[allow(unreachable_code)]
        run_blocks::<Separate>(shape, a, b, c, epilogue, &mut self.panel);
    }
}

/// The blocks with relaxed-SIMD's fused multiply-add compiled in (the `relaxed-simd` feature:
/// the page's second CPU-worker module).
#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    feature = "relaxed-simd"
))]
#[target_feature(enable = "relaxed-simd")]
unsafe fn run_relaxed(
    shape: Shape,
    a: Lhs<'_>,
    b: &[f32],
    c: &mut [f32],
    epilogue: Epilogue<'_>,
    panel: &mut [f32],
) {
    run_blocks::<RelaxedFma>(shape, a, b, c, epilogue, panel);
}

#[derive(Clone, Copy)]
struct Shape {
    m: usize,
    n: usize,
    k: usize,
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    use std::sync::OnceLock;
    static DETECTED: OnceLock<bool> = OnceLock::new();
    // VAE_CPU_PORTABLE=1 keeps the portable kernel, to compare the two on one machine.
    *DETECTED.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::env::var_os("VAE_CPU_PORTABLE").is_none()
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma(
    shape: Shape,
    a: Lhs<'_>,
    b: &[f32],
    c: &mut [f32],
    epilogue: Epilogue<'_>,
    panel: &mut [f32],
) {
    run_blocks::<Fused>(shape, a, b, c, epilogue, panel);
}

/// `a·b + c`, fused or not: `mul_add` is one instruction only where the target has FMA, and a
/// slow library call elsewhere, so the portable kernel keeps them separate. (WebAssembly's
/// kernel is written with its own lanes and chooses at build time.)
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
trait MulAdd {
    /// WebAssembly's kernel: use relaxed-SIMD's `f32x4.relaxed_madd` (only inside a function
    /// compiled with that target feature).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    const RELAXED: bool = false;
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    feature = "relaxed-simd"
))]
struct RelaxedFma;
#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    feature = "relaxed-simd"
))]
impl MulAdd for RelaxedFma {
    const RELAXED: bool = true;
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

struct Separate;
impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Fused;
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

#[inline(always)]
fn run_blocks<F: MulAdd>(
    Shape { m, n, k }: Shape,
    a: Lhs<'_>,
    b: &[f32],
    c: &mut [f32],
    epilogue: Epilogue<'_>,
    panel: &mut [f32],
) {
    let panel = &mut panel[..k * NR];
    for n0 in (0..n).step_by(NR) {
        let width = NR.min(n - n0);
        // B[.., n0..n0 + width] packed k-major, zero-padded to NR columns.
        for (kk, row) in panel.chunks_exact_mut(NR).enumerate() {
            let from = &b[kk * n + n0..kk * n + n0 + width];
            row[..width].copy_from_slice(from);
            row[width..].fill(0.0);
        }
        for m0 in (0..m).step_by(MR) {
            let height = MR.min(m - m0);
            // Rows past the end repeat the last row: computed, never stored.
            let starts: [usize; MR] =
                std::array::from_fn(|r| (m0 + r.min(height - 1)) * a.row_stride);
            let block = micro_kernel::<F>(k, a, starts, panel);
            store(&block, (m0, n0), (height, width), n, c, epilogue);
        }
    }
}

/// One `MR × NR` block of `A·B` over all of k.
#[inline(always)]
fn micro_kernel<F: MulAdd>(
    k: usize,
    a: Lhs<'_>,
    starts: [usize; MR],
    panel: &[f32],
) -> [[f32; NR]; MR] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        wasm::micro_kernel(k, a, starts, panel, F::RELAXED)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let mut acc = [[0.0f32; NR]; MR];
        for (kk, b_row) in panel.chunks_exact(NR).enumerate().take(k) {
            let b_row: &[f32; NR] = b_row.try_into().unwrap_or_else(|_| unreachable!());
            let offset = kk * a.col_stride;
            for (acc_row, &start) in acc.iter_mut().zip(&starts) {
                // SAFETY: run() checked that A's last element is in bounds, and every start is
                // a row below m.
                let value = unsafe { *a.data.get_unchecked(start + offset) };
                for (sum, &b_value) in acc_row.iter_mut().zip(b_row) {
                    *sum = F::mul_add(value, b_value, *sum);
                }
            }
        }
        acc
    }
}

#[inline(always)]
fn store(
    block: &[[f32; NR]; MR],
    (m0, n0): (usize, usize),
    (height, width): (usize, usize),
    n: usize,
    c: &mut [f32],
    epilogue: Epilogue<'_>,
) {
    let zero = F4::splat(0.0);
    for (r, values) in block.iter().enumerate().take(height) {
        let at = (m0 + r) * n + n0;
        if width < NR {
            store_edge(values, at, n0, width, c, epilogue);
            continue;
        }
        // A full row of NR = 8: two lanes of four.
        for half in [0, 4] {
            let v = F4::load(&values[half..]);
            let out = &mut c[at + half..];
            match epilogue {
                Epilogue::Store => v.store(out),
                Epilogue::Bias(bias) => (v + F4::load(&bias[n0 + half..])).store(out),
                Epilogue::BiasRelu(bias) => (v + F4::load(&bias[n0 + half..])).max(zero).store(out),
                Epilogue::ReluMask(mask) => F4::load(&mask[at + half..])
                    .select_gt(zero, v, zero)
                    .store(out),
            }
        }
    }
}

/// The last, narrower block of columns, a value at a time.
fn store_edge(
    values: &[f32; NR],
    at: usize,
    n0: usize,
    width: usize,
    c: &mut [f32],
    epilogue: Epilogue<'_>,
) {
    for (k, &v) in values.iter().enumerate().take(width) {
        c[at + k] = match epilogue {
            Epilogue::Store => v,
            Epilogue::Bias(bias) => v + bias[n0 + k],
            Epilogue::BiasRelu(bias) => (v + bias[n0 + k]).max(0.0),
            Epilogue::ReluMask(mask) => {
                if mask[at + k] > 0.0 {
                    v
                } else {
                    0.0
                }
            }
        };
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::{Lhs, MR, NR};
    use core::arch::wasm32::*;

    /// `a·b + c` on four lanes: relaxed-SIMD's fused multiply-add where the module is built
    /// with it or `relaxed` (one instruction, one rounding), a multiply and an add otherwise.
    #[inline(always)]
    fn mul_add(a: v128, b: v128, c: v128, relaxed: bool) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        {
            let _ = relaxed;
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            #[cfg(feature = "relaxed-simd")]
            if relaxed {
                // `relaxed` is set only inside `run_relaxed`, compiled with the feature.
                return f32x4_relaxed_madd(a, b, c);
            }
            let _ = relaxed;
            f32x4_add(f32x4_mul(a, b), c)
        }
    }

    #[inline(always)]
    pub(super) fn micro_kernel(
        k: usize,
        a: Lhs<'_>,
        starts: [usize; MR],
        panel: &[f32],
        relaxed: bool,
    ) -> [[f32; NR]; MR] {
        let zero = f32x4_splat(0.0);
        let mut acc = [[zero; 2]; MR];
        let a_ptr = a.data.as_ptr();
        let b_ptr = panel.as_ptr();
        debug_assert!(panel.len() >= k * NR);
        for kk in 0..k {
            // SAFETY: the panel holds k rows of NR floats; A's elements were bounds-checked by
            // Gemm::run for every row start and k.
            unsafe {
                let b0 = v128_load(b_ptr.add(kk * NR) as *const v128);
                let b1 = v128_load(b_ptr.add(kk * NR + 4) as *const v128);
                let offset = kk * a.col_stride;
                for (acc_row, &start) in acc.iter_mut().zip(&starts) {
                    let value = f32x4_splat(*a_ptr.add(start + offset));
                    acc_row[0] = mul_add(value, b0, acc_row[0], relaxed);
                    acc_row[1] = mul_add(value, b1, acc_row[1], relaxed);
                }
            }
        }
        let mut out = [[0.0f32; NR]; MR];
        for (row, lanes) in out.iter_mut().zip(&acc) {
            // SAFETY: a row of NR = 8 floats is two v128s.
            unsafe {
                v128_store(row.as_mut_ptr() as *mut v128, lanes[0]);
                v128_store(row.as_mut_ptr().add(4) as *mut v128, lanes[1]);
            }
        }
        out
    }
}

/// `out[col] = Σ_row y[row, col]`: a bias's gradient.
pub fn column_sums(y: &[f32], cols: usize, out: &mut [f32]) {
    let out = &mut out[..cols];
    out.fill(0.0);
    let whole = cols - cols % 4;
    for row in y.chunks_exact(cols) {
        for (sum, values) in out[..whole]
            .chunks_exact_mut(4)
            .zip(row[..whole].chunks_exact(4))
        {
            (F4::load(sum) + F4::load(values)).store(sum);
        }
        for (sum, &v) in out[whole..].iter_mut().zip(&row[whole..]) {
            *sum += v;
        }
    }
}

/// `out[c, r] = x[r, c]` for row-major x `[rows, cols]`, in cache-sized tiles.
pub fn transpose(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    const TILE: usize = 32;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = x[r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: Lhs<'_>, b: &[f32]) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|kk| {
                        f64::from(a.data[i * a.row_stride + kk * a.col_stride])
                            * f64::from(b[kk * n + j])
                    })
                    .sum();
            }
        }
        c
    }

    fn values(len: usize, seed: u64) -> Vec<f32> {
        vae_reference::SplitMix64::new(seed).uniform_vec(len, -1.0, 1.0)
    }

    #[test]
    fn every_shape_and_epilogue_matches_a_naive_product() {
        let mut gemm = Gemm::default();
        // Edges in every direction: m and n not multiples of MR and NR, k of 1 and 0.
        for &(m, n, k) in &[
            (1, 1, 1),
            (6, 8, 5),
            (7, 9, 3),
            (13, 20, 17),
            (128, 40, 50),
            (3, 3, 0),
        ] {
            for transposed in [false, true] {
                let data = values(m * k, (m * 31 + n) as u64);
                let a = if transposed {
                    Lhs::transposed(&data, m)
                } else {
                    Lhs::rows(&data, k)
                };
                let b = values(k * n, 7);
                let bias = values(n, 8);
                let mask = values(m * n, 9);
                let expected = naive(m, n, k, a, &b);
                for epilogue in [
                    Epilogue::Store,
                    Epilogue::Bias(&bias),
                    Epilogue::BiasRelu(&bias),
                    Epilogue::ReluMask(&mask),
                ] {
                    let mut c = vec![f32::NAN; m * n];
                    gemm.run((m, n, k), a, &b, &mut c, epilogue);
                    for (at, (&got, &dot)) in c.iter().zip(&expected).enumerate() {
                        let col = at % n;
                        let want = match epilogue {
                            Epilogue::Store => dot,
                            Epilogue::Bias(b) => dot + f64::from(b[col]),
                            Epilogue::BiasRelu(b) => (dot + f64::from(b[col])).max(0.0),
                            Epilogue::ReluMask(mask) => {
                                if mask[at] > 0.0 {
                                    dot
                                } else {
                                    0.0
                                }
                            }
                        };
                        assert!(
                            (f64::from(got) - want).abs() < 1e-5 * (1.0 + k as f64),
                            "{m}×{n}×{k} transposed {transposed} {epilogue:?} at {at}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn transpose_and_column_sums() {
        let x = values(35 * 70, 3);
        let mut t = vec![0.0; x.len()];
        transpose(&x, 35, 70, &mut t);
        for r in 0..35 {
            for c in 0..70 {
                assert_eq!(t[c * 35 + r], x[r * 70 + c]);
            }
        }
        let mut sums = vec![0.0; 70];
        column_sums(&x, 70, &mut sums);
        let want: f32 = (0..35).map(|r| x[r * 70 + 3]).sum();
        assert!((sums[3] - want).abs() < 1e-5);
    }
}
