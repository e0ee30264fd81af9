//! Four f32 lanes for the step's element-wise loops, written out because the page's build (link-
//! time optimised for size) leaves loops unvectorised: WebAssembly SIMD128 where the module has
//! it, a plain array elsewhere (which the native build's optimiser vectorises on its own).
//! [`Lane`] lets one formula serve one value and four.

use std::ops::{Add, Div, Mul, Sub};

/// What the loss and Adam need of a number, for `f32` and for [`F4`].
pub trait Lane:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    fn splat(value: f32) -> Self;
    fn max(self, other: Self) -> Self;
    fn abs(self) -> Self;
    fn sqrt(self) -> Self;
    /// `if self > other { a } else { b }`, lane by lane.
    fn select_gt(self, other: Self, a: Self, b: Self) -> Self;
    /// `if self >= other { a } else { b }`, lane by lane.
    fn select_ge(self, other: Self, a: Self, b: Self) -> Self;
    /// `f32::from_bits(((self.to_bits() - of.to_bits()) + add) << 23)`: an exponent field from
    /// the integer held in a float's low mantissa bits.
    fn exponent_from_low_bits(self, of: f32, add: u32) -> Self;
}

impl Lane for f32 {
    #[inline(always)]
    fn splat(value: f32) -> Self {
        value
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        if self > other {
            self
        } else {
            other
        }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn select_gt(self, other: Self, a: Self, b: Self) -> Self {
        if self > other {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn select_ge(self, other: Self, a: Self, b: Self) -> Self {
        if self >= other {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn exponent_from_low_bits(self, of: f32, add: u32) -> Self {
        let n = self.to_bits().wrapping_sub(of.to_bits());
        f32::from_bits(n.wrapping_add(add) << 23)
    }
}

pub use imp::F4;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use super::Lane;
    use core::arch::wasm32::*;
    use std::ops::{Add, Div, Mul, Sub};

    #[derive(Clone, Copy)]
    pub struct F4(v128);

    impl F4 {
        /// Lanes `values[0..4]`.
        #[inline(always)]
        pub fn load(values: &[f32]) -> Self {
            let values: &[f32; 4] = values[..4].try_into().unwrap_or_else(|_| unreachable!());
            // SAFETY: four f32 in bounds; v128_load has no alignment requirement.
            Self(unsafe { v128_load(values.as_ptr() as *const v128) })
        }
        #[inline(always)]
        pub fn store(self, out: &mut [f32]) {
            let out: &mut [f32; 4] = (&mut out[..4])
                .try_into()
                .unwrap_or_else(|_| unreachable!());
            // SAFETY: as for load.
            unsafe { v128_store(out.as_mut_ptr() as *mut v128, self.0) }
        }
        #[inline(always)]
        pub fn sum(self) -> f32 {
            f32x4_extract_lane::<0>(self.0)
                + f32x4_extract_lane::<1>(self.0)
                + f32x4_extract_lane::<2>(self.0)
                + f32x4_extract_lane::<3>(self.0)
        }
    }

    macro_rules! op {
        ($trait:ident, $method:ident, $intrinsic:ident) => {
            impl $trait for F4 {
                type Output = F4;
                #[inline(always)]
                fn $method(self, other: F4) -> F4 {
                    F4($intrinsic(self.0, other.0))
                }
            }
        };
    }
    op!(Add, add, f32x4_add);
    op!(Sub, sub, f32x4_sub);
    op!(Mul, mul, f32x4_mul);
    op!(Div, div, f32x4_div);

    impl Lane for F4 {
        #[inline(always)]
        fn splat(value: f32) -> Self {
            F4(f32x4_splat(value))
        }
        #[inline(always)]
        fn max(self, other: Self) -> Self {
            // pmax: `other < self ? self : other`, one instruction, as the scalar form.
            F4(f32x4_pmax(other.0, self.0))
        }
        #[inline(always)]
        fn abs(self) -> Self {
            F4(f32x4_abs(self.0))
        }
        #[inline(always)]
        fn sqrt(self) -> Self {
            F4(f32x4_sqrt(self.0))
        }
        #[inline(always)]
        fn select_gt(self, other: Self, a: Self, b: Self) -> Self {
            F4(v128_bitselect(a.0, b.0, f32x4_gt(self.0, other.0)))
        }
        #[inline(always)]
        fn select_ge(self, other: Self, a: Self, b: Self) -> Self {
            F4(v128_bitselect(a.0, b.0, f32x4_ge(self.0, other.0)))
        }
        #[inline(always)]
        fn exponent_from_low_bits(self, of: f32, add: u32) -> Self {
            let n = i32x4_sub(self.0, u32x4_splat(of.to_bits()));
            F4(i32x4_shl(i32x4_add(n, u32x4_splat(add)), 23))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    use super::Lane;
    use std::ops::{Add, Div, Mul, Sub};

    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    impl F4 {
        #[inline(always)]
        pub fn load(values: &[f32]) -> Self {
            F4(values[..4].try_into().unwrap_or_else(|_| unreachable!()))
        }
        #[inline(always)]
        pub fn store(self, out: &mut [f32]) {
            out[..4].copy_from_slice(&self.0);
        }
        #[inline(always)]
        pub fn sum(self) -> f32 {
            self.0[0] + self.0[1] + self.0[2] + self.0[3]
        }
        #[inline(always)]
        fn map(self, f: impl Fn(f32) -> f32) -> Self {
            F4(self.0.map(f))
        }
        #[inline(always)]
        fn zip(self, other: Self, f: impl Fn(f32, f32) -> f32) -> Self {
            F4(std::array::from_fn(|k| f(self.0[k], other.0[k])))
        }
    }

    macro_rules! op {
        ($trait:ident, $method:ident) => {
            impl $trait for F4 {
                type Output = F4;
                #[inline(always)]
                fn $method(self, other: F4) -> F4 {
                    self.zip(other, |a, b| a.$method(b))
                }
            }
        };
    }
    op!(Add, add);
    op!(Sub, sub);
    op!(Mul, mul);
    op!(Div, div);

    impl Lane for F4 {
        #[inline(always)]
        fn splat(value: f32) -> Self {
            F4([value; 4])
        }
        #[inline(always)]
        fn max(self, other: Self) -> Self {
            self.zip(other, Lane::max)
        }
        #[inline(always)]
        fn abs(self) -> Self {
            self.map(f32::abs)
        }
        #[inline(always)]
        fn sqrt(self) -> Self {
            self.map(f32::sqrt)
        }
        #[inline(always)]
        fn select_gt(self, other: Self, a: Self, b: Self) -> Self {
            F4(std::array::from_fn(|k| {
                self.0[k].select_gt(other.0[k], a.0[k], b.0[k])
            }))
        }
        #[inline(always)]
        fn select_ge(self, other: Self, a: Self, b: Self) -> Self {
            F4(std::array::from_fn(|k| {
                self.0[k].select_ge(other.0[k], a.0[k], b.0[k])
            }))
        }
        #[inline(always)]
        fn exponent_from_low_bits(self, of: f32, add: u32) -> Self {
            self.map(|v| v.exponent_from_low_bits(of, add))
        }
    }
}
