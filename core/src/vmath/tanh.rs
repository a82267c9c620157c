//! Hyperbolic tangent over lanes.

use super::{expm1, splat};
use crate::float::Float;
use crate::lane::Lane;

/// Hyperbolic tangent, odd, with relative accuracy everywhere:
/// `t = expm1(2|x|)`, `tanh|x| = t / (t + 2)` below `0.55` and `1 - 2/(t + 2)` above
/// (where the subtraction loses nothing), sign restored by `copysign` (so `tanh(-0) = -0`).
#[inline(always)]
pub fn tanh<L: Lane>(x: L) -> L {
    let one = L::splat(<L::Scalar as Float>::ONE);
    let two = one + one;
    let a = x.abs();
    // tanh rounds to 1 beyond 9.01 (f32) / 19.06 (f64); clamp so that expm1 stays finite.
    let ac = a.min(splat::<L>(22.0));
    let t = expm1(ac + ac);
    let d = t + two;
    let r = L::select(ac.lt(splat::<L>(0.55)), t / d, one - two / d);
    let r = r.copysign(x);
    L::select(x.is_nan(), x, r)
}
