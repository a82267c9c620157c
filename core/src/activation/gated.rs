//! Gated linear units over a (value, gate) pair of equal-length slices:
//! `glu = value · σ(gate)`, `swiglu = value · silu(gate)`, `geglu = value · gelu(gate)`,
//! each with a backward pass that gives the gradients of both halves.
//!
//! The halves are separate slices because frameworks disagree on which half of a packed
//! row is the gate (PyTorch's `glu` gates with the second half; most SwiGLU code gates with
//! the first). For PyTorch's packed layout use [`glu_rows`].

use crate::driver;
use crate::error::{Error, check_len};
use crate::float::Float;
use crate::{lanes, lanes2};

use super::gelu::{gelu_derivative_lane, gelu_lane};
use super::sigmoid::{sigmoid_derivative_lane, sigmoid_lane};
use super::silu::{silu_derivative_lane, silu_lane};

macro_rules! gated_unit {
    ($name:ident, $inplace:ident, $backward:ident, $act:ident, $dact:ident, $actname:literal,
     $budget:literal, $bbudget:literal, $example_out:literal) => {
        #[doc = concat!("`out[i] = value[i] · ", $actname, "(gate[i])`.")]
        ///
        /// Domain: every value; NaN in either half gives NaN, infinities follow the product
        /// of the limits (`0 · inf` is NaN, as in IEEE arithmetic).
        ///
        #[doc = concat!("Accuracy: ", $budget, " ULP in f32 and f64 (the activation's budget plus the product's rounding).")]
        ///
        /// # Errors
        /// [`Error::LengthMismatch`] if `gate` or `out` differ in length from `value`.
        ///
        /// # Example
        /// ```
        #[doc = concat!("let mut out = [0.0f64; 2];\nnonlin::", stringify!($name), "(&[2.0, 3.0], &[0.0, 1.0], &mut out)?;")]
        #[doc = concat!("assert!((out[1] - ", $example_out, ").abs() < 1e-12);")]
        /// # Ok::<(), nonlin::Error>(())
        /// ```
        pub fn $name<T: Float>(value: &[T], gate: &[T], out: &mut [T]) -> Result<(), Error> {
            driver::map2(value, gate, "gate", out, "out", lanes!(|v, g| v * $act(g)))
        }

        #[doc = concat!("[`", stringify!($name), "`] written over `value`: `value[i] = value[i] · ", $actname, "(gate[i])`.")]
        ///
        /// # Errors
        /// [`Error::LengthMismatch`] if `gate` differs in length from `value`.
        pub fn $inplace<T: Float>(value: &mut [T], gate: &[T]) -> Result<(), Error> {
            driver::map2_inplace(value, gate, "gate", lanes!(|v, g| v * $act(g)))
        }

        #[doc = concat!("Backward of [`", stringify!($name), "`]: `grad_value = grad_out · ", $actname, "(gate)` and `grad_gate = grad_out · value · ", $actname, "'(gate)`.")]
        ///
        #[doc = concat!("Accuracy: ", $bbudget, " ULP per output in f32 and f64 (the derivative's budget, where it holds, plus the products' roundings).")]
        ///
        /// # Errors
        /// [`Error::LengthMismatch`] if any slice differs in length from `value`.
        pub fn $backward<T: Float>(
            value: &[T],
            gate: &[T],
            grad_out: &[T],
            grad_value: &mut [T],
            grad_gate: &mut [T],
        ) -> Result<(), Error> {
            let n = value.len();
            check_len("gate", n, gate.len())?;
            check_len("grad_out", n, grad_out.len())?;
            check_len("grad_value", n, grad_value.len())?;
            check_len("grad_gate", n, grad_gate.len())?;
            driver::map3_2out_unchecked(value, gate, grad_out, grad_value, grad_gate, lanes2!(|v, g, go| (go * $act(g), go * v * $dact(g))));
            Ok(())
        }
    };
}

gated_unit!(
    glu,
    glu_inplace,
    glu_backward,
    sigmoid_lane,
    sigmoid_derivative_lane,
    "σ",
    "3",
    "4",
    "3.0 * 0.7310585786300049"
);
gated_unit!(
    swiglu,
    swiglu_inplace,
    swiglu_backward,
    silu_lane,
    silu_derivative_lane,
    "silu",
    "3",
    "5",
    "3.0 * 0.7310585786300049"
);
gated_unit!(
    geglu,
    geglu_inplace,
    geglu_backward,
    gelu_lane,
    gelu_derivative_lane,
    "gelu",
    "5",
    "5",
    "3.0 * 0.8413447460685429"
);

/// PyTorch's `glu(x, dim=-1)` on a packed row-major slice: each row of `cols` (even) values
/// is `[a | b]` and the output row (`cols / 2` values) is `a · σ(b)`.
///
/// Same kernel and accuracy as [`glu`].
///
/// # Errors
/// [`Error::InvalidShape`] if `cols` is zero, odd, or does not divide `x.len()`;
/// [`Error::LengthMismatch`] if `out.len() != x.len() / 2`.
///
/// # Example
/// ```
/// let x = [2.0f32, 0.0, 5.0, 0.0]; // two rows [a | b]
/// let mut out = [0.0f32; 2];
/// nonlin::glu_rows(&x, 2, &mut out)?;
/// assert_eq!(out, [1.0, 2.5]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn glu_rows<T: Float>(x: &[T], cols: usize, out: &mut [T]) -> Result<(), Error> {
    check_rows(x.len(), cols)?;
    check_len("out", x.len() / 2, out.len())?;
    let h = cols / 2;
    for (row, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(h)) {
        let (a, b) = row.split_at(h);
        driver::map2_unchecked(a, b, o, lanes!(|v, g| v * sigmoid_lane(g)));
    }
    Ok(())
}

/// Backward of [`glu_rows`]: `grad_in` has `x`'s layout, `[grad_a | grad_b]` per row.
///
/// # Errors
/// As [`glu_rows`]; [`Error::LengthMismatch`] if `grad_out.len() != x.len() / 2` or
/// `grad_in.len() != x.len()`.
pub fn glu_rows_backward<T: Float>(
    x: &[T],
    cols: usize,
    grad_out: &[T],
    grad_in: &mut [T],
) -> Result<(), Error> {
    check_rows(x.len(), cols)?;
    check_len("grad_out", x.len() / 2, grad_out.len())?;
    check_len("grad_in", x.len(), grad_in.len())?;
    let h = cols / 2;
    for ((row, go), gi) in x
        .chunks_exact(cols)
        .zip(grad_out.chunks_exact(h))
        .zip(grad_in.chunks_exact_mut(cols))
    {
        let (a, b) = row.split_at(h);
        let (ga, gb) = gi.split_at_mut(h);
        driver::map3_2out_unchecked(
            a,
            b,
            go,
            ga,
            gb,
            lanes2!(|v, g, d| (d * sigmoid_lane(g), d * v * sigmoid_derivative_lane(g))),
        );
    }
    Ok(())
}

fn check_rows(len: usize, cols: usize) -> Result<(), Error> {
    if cols == 0 || !cols.is_multiple_of(2) || !len.is_multiple_of(cols) {
        return Err(Error::InvalidShape {
            name: "cols",
            value: cols,
            len,
        });
    }
    Ok(())
}

/// Scalar references through `libm`.
pub(crate) mod scalar_ref {
    use crate::float::Float;

    /// Scalar GLU: `value · σ(gate)`.
    pub fn glu<T: Float>(value: T, gate: T) -> T {
        value * super::super::sigmoid::scalar_ref::sigmoid(gate)
    }
}
