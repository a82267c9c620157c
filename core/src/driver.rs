//! The slice drivers shared by every kernel.
//!
//! Each driver walks its slices in whole lanes and sends the tail through the *same* lane
//! function, padded, never through a scalar path: an element's result therefore depends on
//! its value only, not on the slice's length, its position or the slice's alignment. This is
//! the position independence that lets `nonlin-parallel` split work anywhere and stay
//! bit-identical to a serial call.

use crate::error::{Error, check_len};
use crate::float::Float;
use crate::lane::Lane;

type L<T> = <T as Float>::Lane;
type A<T> = <<T as Float>::Lane as Lane>::Array;

#[inline(always)]
fn load<T: Float>(chunk: &[T]) -> L<T> {
    let mut a = A::<T>::default();
    // Callers pass chunks of exactly LANES elements (or a padded tail copy), so the lengths
    // agree; `zip` keeps this free of any panic path.
    for (d, s) in a.as_mut().iter_mut().zip(chunk) {
        *d = *s;
    }
    L::<T>::from_array(a)
}

#[inline(always)]
fn store<T: Float>(v: L<T>, chunk: &mut [T]) {
    let a = v.to_array();
    for (d, s) in chunk.iter_mut().zip(a.as_ref()) {
        *d = *s;
    }
}

#[inline(always)]
fn load_padded<T: Float>(tail: &[T], pad: T) -> L<T> {
    let mut a = A::<T>::default();
    for d in a.as_mut().iter_mut() {
        *d = pad;
    }
    for (d, s) in a.as_mut().iter_mut().zip(tail) {
        *d = *s;
    }
    L::<T>::from_array(a)
}

/// `out[i] = f(x[i])`, lane by lane. The padding value of the tail is zero, harmless to every
/// kernel and discarded after the call.
#[inline(always)]
pub(crate) fn map<T: Float>(x: &[T], out: &mut [T], f: impl Fn(L<T>) -> L<T>) -> Result<(), Error> {
    check_len("out", x.len(), out.len())?;
    map_unchecked(x, out, f);
    Ok(())
}

/// [`map`] without the length check (`out` must be at least as long as `x`; extra is left).
#[inline(always)]
pub(crate) fn map_unchecked<T: Float>(x: &[T], out: &mut [T], f: impl Fn(L<T>) -> L<T>) {
    let n = T::LANES;
    let mut xs = x.chunks_exact(n);
    let mut os = out.chunks_exact_mut(n);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        store(f(load(xc)), oc);
    }
    let xt = xs.remainder();
    if !xt.is_empty() {
        let r = f(load_padded(xt, T::ZERO));
        store(r, os.into_remainder());
    }
}

/// `x[i] = f(x[i])` in place.
#[inline(always)]
pub(crate) fn map_inplace<T: Float>(x: &mut [T], f: impl Fn(L<T>) -> L<T>) {
    let n = T::LANES;
    let mut xs = x.chunks_exact_mut(n);
    for xc in &mut xs {
        let v = f(load(xc));
        store(v, xc);
    }
    let xt = xs.into_remainder();
    if !xt.is_empty() {
        let r = f(load_padded(xt, T::ZERO));
        store(r, xt);
    }
}

/// `out[i] = f(a[i], b[i])`; `b` and `out` must have `a`'s length (`b_name` names `b` in the
/// error).
#[inline(always)]
pub(crate) fn map2<T: Float>(
    a: &[T],
    b: &[T],
    b_name: &'static str,
    out: &mut [T],
    out_name: &'static str,
    f: impl Fn(L<T>, L<T>) -> L<T>,
) -> Result<(), Error> {
    check_len(b_name, a.len(), b.len())?;
    check_len(out_name, a.len(), out.len())?;
    map2_unchecked(a, b, out, f);
    Ok(())
}

/// [`map2`] without the checks; processes `min` of the lengths.
#[inline(always)]
pub(crate) fn map2_unchecked<T: Float>(
    a: &[T],
    b: &[T],
    out: &mut [T],
    f: impl Fn(L<T>, L<T>) -> L<T>,
) {
    let n = T::LANES;
    let mut as_ = a.chunks_exact(n);
    let mut bs = b.chunks_exact(n);
    let mut os = out.chunks_exact_mut(n);
    for ((ac, bc), oc) in (&mut as_).zip(&mut bs).zip(&mut os) {
        store(f(load(ac), load(bc)), oc);
    }
    let at = as_.remainder();
    if !at.is_empty() {
        let r = f(
            load_padded(at, T::ZERO),
            load_padded(bs.remainder(), T::ZERO),
        );
        store(r, os.into_remainder());
    }
}

/// `a[i] = f(a[i], b[i])` in place on `a`.
#[inline(always)]
pub(crate) fn map2_inplace<T: Float>(
    a: &mut [T],
    b: &[T],
    b_name: &'static str,
    f: impl Fn(L<T>, L<T>) -> L<T>,
) -> Result<(), Error> {
    check_len(b_name, a.len(), b.len())?;
    let n = T::LANES;
    let mut as_ = a.chunks_exact_mut(n);
    let mut bs = b.chunks_exact(n);
    for (ac, bc) in (&mut as_).zip(&mut bs) {
        let v = f(load(ac), load(bc));
        store(v, ac);
    }
    let at = as_.into_remainder();
    if !at.is_empty() {
        let r = f(
            load_padded(at, T::ZERO),
            load_padded(bs.remainder(), T::ZERO),
        );
        store(r, at);
    }
    Ok(())
}

/// `out[i] = f(a[i], b[i], c[i])`; all four slices the same length (unchecked: callers check).
#[inline(always)]
pub(crate) fn map3_unchecked<T: Float>(
    a: &[T],
    b: &[T],
    c: &[T],
    out: &mut [T],
    f: impl Fn(L<T>, L<T>, L<T>) -> L<T>,
) {
    let n = T::LANES;
    let mut as_ = a.chunks_exact(n);
    let mut bs = b.chunks_exact(n);
    let mut cs = c.chunks_exact(n);
    let mut os = out.chunks_exact_mut(n);
    for (((ac, bc), cc), oc) in (&mut as_).zip(&mut bs).zip(&mut cs).zip(&mut os) {
        store(f(load(ac), load(bc), load(cc)), oc);
    }
    let at = as_.remainder();
    if !at.is_empty() {
        let r = f(
            load_padded(at, T::ZERO),
            load_padded(bs.remainder(), T::ZERO),
            load_padded(cs.remainder(), T::ZERO),
        );
        store(r, os.into_remainder());
    }
}

/// `(o1[i], o2[i]) = f(a[i], b[i], c[i])`; all slices the same length (unchecked: callers
/// check). Used by backward passes that produce two gradients.
#[inline(always)]
pub(crate) fn map3_2out_unchecked<T: Float>(
    a: &[T],
    b: &[T],
    c: &[T],
    o1: &mut [T],
    o2: &mut [T],
    f: impl Fn(L<T>, L<T>, L<T>) -> (L<T>, L<T>),
) {
    let n = T::LANES;
    let mut as_ = a.chunks_exact(n);
    let mut bs = b.chunks_exact(n);
    let mut cs = c.chunks_exact(n);
    let mut o1s = o1.chunks_exact_mut(n);
    let mut o2s = o2.chunks_exact_mut(n);
    for ((((ac, bc), cc), o1c), o2c) in (&mut as_)
        .zip(&mut bs)
        .zip(&mut cs)
        .zip(&mut o1s)
        .zip(&mut o2s)
    {
        let (r1, r2) = f(load(ac), load(bc), load(cc));
        store(r1, o1c);
        store(r2, o2c);
    }
    let at = as_.remainder();
    if !at.is_empty() {
        let (r1, r2) = f(
            load_padded(at, T::ZERO),
            load_padded(bs.remainder(), T::ZERO),
            load_padded(cs.remainder(), T::ZERO),
        );
        store(r1, o1s.into_remainder());
        store(r2, o2s.into_remainder());
    }
}

/// Folds `f` over `x` lane by lane, the tail padded with `pad` (chosen by the caller so that
/// padded elements contribute nothing, e.g. a value the predicate rejects).
#[inline(always)]
pub(crate) fn fold<T: Float, Acc>(x: &[T], pad: T, init: Acc, f: impl Fn(Acc, L<T>) -> Acc) -> Acc {
    let n = T::LANES;
    let mut xs = x.chunks_exact(n);
    let mut acc = init;
    for xc in &mut xs {
        acc = f(acc, load(xc));
    }
    let xt = xs.remainder();
    if !xt.is_empty() {
        acc = f(acc, load_padded(xt, pad));
    }
    acc
}

#[cfg(test)]
mod tests {
    //! Driver tests that also run under Miri (`cargo +nightly miri test -p nonlin --lib`):
    //! every length around the lane width, tails padded and written back exactly.
    use super::*;
    use crate::lane::Lane;

    fn double<L: Lane>(x: L) -> L {
        x + x
    }

    #[test]
    fn map_covers_every_length_and_leaves_nothing_behind() {
        let x: [f32; 19] = core::array::from_fn(|i| i as f32);
        for n in 0..=19 {
            let mut out = [-1.0f32; 19];
            map(&x[..n], &mut out[..n], double).unwrap();
            for (i, &o) in out.iter().enumerate() {
                let want = if i < n { 2.0 * i as f32 } else { -1.0 };
                assert_eq!(o, want, "len {n} index {i}");
            }
        }
    }

    #[test]
    fn map_rejects_length_mismatch_without_writing() {
        let mut out = [5.0f64; 3];
        let e = map(&[1.0f64; 4], &mut out, double).unwrap_err();
        assert_eq!(
            e,
            Error::LengthMismatch {
                arg: "out",
                expected: 4,
                found: 3
            }
        );
        assert_eq!(out, [5.0; 3]);
    }

    #[test]
    fn inplace_and_two_input_drivers() {
        for n in 0..=11 {
            let mut a: [f64; 11] = core::array::from_fn(|i| i as f64);
            map_inplace(&mut a[..n], double);
            for (i, v) in a.iter().enumerate() {
                assert_eq!(*v, if i < n { 2.0 * i as f64 } else { i as f64 });
            }
            let b = [1.0f64; 11];
            let mut o = [0.0f64; 11];
            map2(&a[..n], &b[..n], "b", &mut o[..n], "out", |x, y| x + y).unwrap();
            for (oi, ai) in o.iter().zip(&a).take(n) {
                assert_eq!(*oi, ai + 1.0);
            }
        }
        assert!(
            map2(
                &[1.0f32; 3],
                &[1.0; 2],
                "grad_out",
                &mut [0.0; 3],
                "grad_in",
                |x, _| x
            )
            .is_err()
        );
    }

    #[test]
    fn fold_counts_with_padding_excluded() {
        let x = [1.0f32, -1.0, 2.0, 0.0, 3.0, -4.0, 5.0, 6.0, 7.0, -8.0, 9.0];
        let zero = <f32 as Float>::Lane::splat(0.0);
        let n = fold(&x, 0.0f32, 0u32, |acc, v| {
            acc + <f32 as Float>::Lane::count(v.gt(zero))
        });
        assert_eq!(n, 7);
    }

    #[test]
    fn vmath_special_values() {
        use crate::vmath;
        let x = [
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1.0,
            -200.0,
            100.0,
        ];
        let mut o = [0.0f32; 8];
        map(&x, &mut o, vmath::exp).unwrap();
        assert_eq!(&o[..4], &[1.0, 1.0, f32::INFINITY, 0.0]);
        assert!(o[4].is_nan());
        assert!((o[5] - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
        assert_eq!(o[6], 0.0);
        assert_eq!(o[7], f32::INFINITY);
        map(&x, &mut o, vmath::ln).unwrap();
        assert_eq!(o[0], f32::NEG_INFINITY);
        assert_eq!(o[2], f32::INFINITY);
        assert!(o[3].is_nan() && o[4].is_nan() && o[6].is_nan());
        assert_eq!(o[5], 0.0);
        map(&x, &mut o, vmath::log1p).unwrap();
        assert_eq!(o[0].to_bits(), 0.0f32.to_bits());
        assert_eq!(o[1].to_bits(), (-0.0f32).to_bits());
        map(&x, &mut o, vmath::expm1).unwrap();
        assert_eq!(o[3], -1.0);
        assert_eq!(o[1].to_bits(), (-0.0f32).to_bits());
    }
}
