//! The slice drivers shared by every kernel.
//!
//! Each driver walks its slices in whole lanes and sends the tail through the *same* lane
//! function, padded, never through a scalar path: an element's result therefore depends on
//! its value only, not on the slice's length, its position or the slice's alignment. This is
//! the position independence that lets `nonlin-parallel` split work anywhere and stay
//! bit-identical to a serial call.
//!
//! Kernels are passed as values of the `Kernel*` traits, whose `apply` is generic over the
//! lane type, so that each driver can run them on the backend selected at run time
//! ([`crate::backend`]); the [`lanes!`](crate::lanes) macro writes such a value from a
//! closure-like body. The [`closure`] drivers take plain closures on a lane type (the
//! caller's choice, no dispatch), for code not written against the kernel traits.

use crate::backend;
use crate::error::{Error, check_len};
use crate::float::Float;
use crate::lane::{Family, Lane, LaneFn};

/// A lane kernel of one input, for every backend.
pub(crate) trait Kernel1<T: Float>: Copy {
    /// Run on the backend's four-register lanes (`Family::Q`) instead of its element-wise
    /// ones (`Family::E`); see [`Quad`].
    const QUAD: bool = false;
    fn apply<L: Lane<Scalar = T>>(self, x: L) -> L;
}

/// A one-input kernel run on four registers at a time (`Family::Q`: on the AVX2 backend
/// 32 `f32` or 16 `f64`, each operation issued on the four in turn). For kernels with long
/// chains of dependent operations and few live values: measured against two registers in
/// two alternating runs of `report --quick` (AVX2, f32, 1M), tanh 955 → 1090 Melem/s,
/// sigmoid' 995 → 1242, softplus 706 → 767, log_sigmoid 702 → 778, tanh' 917 → 994;
/// kernels with more live values (the `f64`-evaluated derivatives, silu', celu',
/// hardswish) ran 5–16% slower on four, and stay on two. gelu ran faster on one thread
/// (450 → 495) but its two-thread scaling in the report fell from 2.00x to 1.43x at 1M
/// and 16M elements (reproduced, cause not found), so it stays on two. `f64` kernels stay on two
/// registers (`Family::Q<f64>` is `E<f64>`): they were no faster on four.
#[derive(Clone, Copy)]
pub(crate) struct Quad<K>(pub(crate) K);

impl<T: Float, K: Kernel1<T>> Kernel1<T> for Quad<K> {
    const QUAD: bool = true;
    #[inline(always)]
    fn apply<L: Lane<Scalar = T>>(self, x: L) -> L {
        self.0.apply(x)
    }
}
/// A lane kernel of two inputs.
pub(crate) trait Kernel2<T: Float>: Copy {
    fn apply<L: Lane<Scalar = T>>(self, a: L, b: L) -> L;
}
/// A lane kernel of three inputs.
pub(crate) trait Kernel3<T: Float>: Copy {
    fn apply<L: Lane<Scalar = T>>(self, a: L, b: L, c: L) -> L;
}
/// A lane kernel of three inputs and two outputs (backward passes with two gradients,
/// losses with their gradient).
pub(crate) trait Kernel3x2<T: Float>: Copy {
    fn apply<L: Lane<Scalar = T>>(self, a: L, b: L, c: L) -> (L, L);
}

/// Writes a `Kernel*` value from a closure-like body generic over the lane type `L` (and
/// the element type `T`): `lanes!(|x| sigmoid_lane(x))`, or with captured values (of type
/// `T` unless a type is given), `lanes!([alpha, sc: Parts<T>] |x| f(x, L::splat(alpha), sc))`;
/// [`lanes2!`](crate::lanes2) writes a three-input kernel returning two lanes.
#[macro_export]
#[doc(hidden)]
macro_rules! lanes {
    (@ty) => { T };
    (@ty $t:ty) => { $t };
    (@make $tr:ident, [$($cap:ident $(: $cty:ty)?),*], ($($arg:ident),+), $out:ty, $body:expr) => {{
        struct K<T> {
            $($cap: $crate::lanes!(@ty $($cty)?),)*
            _t: core::marker::PhantomData<T>,
        }
        impl<T: $crate::Float> Clone for K<T> {
            #[inline(always)]
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T: $crate::Float> Copy for K<T> {}
        impl<T: $crate::Float> $crate::driver::$tr<T> for K<T> {
            #[inline(always)]
            fn apply<L: $crate::Lane<Scalar = T>>(self, $($arg: L),+) -> $out {
                let K { $($cap,)* .. } = self;
                $body
            }
        }
        K { $($cap,)* _t: core::marker::PhantomData }
    }};
    ($([$($cap:ident $(: $cty:ty)?),*])? |$a:ident| $body:expr) => {
        $crate::lanes!(@make Kernel1, [$($($cap $(: $cty)?),*)?], ($a), L, $body)
    };
    ($([$($cap:ident $(: $cty:ty)?),*])? |$a:ident, $b:ident| $body:expr) => {
        $crate::lanes!(@make Kernel2, [$($($cap $(: $cty)?),*)?], ($a, $b), L, $body)
    };
    ($([$($cap:ident $(: $cty:ty)?),*])? |$a:ident, $b:ident, $c:ident| $body:expr) => {
        $crate::lanes!(@make Kernel3, [$($($cap $(: $cty)?),*)?], ($a, $b, $c), L, $body)
    };
}

/// [`lanes!`](crate::lanes) for a three-input kernel returning two lanes ([`Kernel3x2`]).
#[macro_export]
#[doc(hidden)]
macro_rules! lanes2 {
    ($([$($cap:ident $(: $cty:ty)?),*])? |$a:ident, $b:ident, $c:ident| $body:expr) => {
        $crate::lanes!(@make Kernel3x2, [$($($cap $(: $cty)?),*)?], ($a, $b, $c), (L, L), $body)
    };
}

/// A whole chunk (`chunk.len() == LANES`, which the callers' slicing makes known to the
/// compiler) as one vector load.
#[inline(always)]
#[cfg_attr(target_os = "none", allow(dead_code))]
pub(crate) fn load_full<L: Lane>(chunk: &[L::Scalar]) -> L {
    let mut a = L::Array::default();
    a.as_mut().copy_from_slice(chunk);
    L::from_array(a)
}

/// Stores a whole chunk (`chunk.len() == LANES`) with one vector store.
#[inline(always)]
#[cfg_attr(target_os = "none", allow(dead_code))]
pub(crate) fn store_full<L: Lane>(v: L, chunk: &mut [L::Scalar]) {
    chunk.copy_from_slice(v.to_array().as_ref());
}

/// Asks the CPU to bring the cache line holding `p` into L1 ahead of its use: `prefetcht0`
/// on x86_64, nothing elsewhere (and under Miri, which does not model caches). `p` may
/// point anywhere, past the end of a slice included: a prefetch is a hint that never
/// faults and changes nothing the program can observe. The softmax rows use it for the
/// next block while the current one is compute-bound.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[allow(unsafe_code)]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it is in the target's
    // baseline); it dereferences nothing in the sense of the memory model: any address,
    // unmapped or null included, is allowed and ignored if unusable.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = p;
}

/// The loop every driver runs: whole chunks first, loaded and stored as vectors, then the
/// tail (if any) padded with zeros through the *same* body (position independence). The
/// body is written out twice rather than once with a merged load: a loop whose load is
/// either a vector load or a padded copy ran relu at 60% of copy bandwidth, against 88%
/// for the split loop (AVX2, 1M f32). On bare-metal targets (`target_os = "none"`, the
/// microcontrollers), where flash counts more than the last cycle, the body is written
/// once and the tail merged (the same results). The scalar-lanes build (`LANES == 1`) has
/// no tail at all.
///
/// `chunk_loop!(<L> in (x = xs, ..), out (r => os, ..), body)`: `body` sees each
/// `x` as a lane and returns a tuple `(r, ..)` of lanes stored to the `os` slices (the
/// same slice may appear on both sides, for in-place work), over the shortest slice.
#[cfg(target_os = "none")]
macro_rules! chunk_loop {
    (<$L:ty> in ($($x:ident = $xs:expr),*), out ($($r:ident => $os:expr),*), $body:expr) => {{
        let n = <$L as $crate::lane::Lane>::LANES;
        let len = usize::MAX $(.min($xs.len()))* $(.min($os.len()))*;
        let zero = <<$L as $crate::lane::Lane>::Scalar as $crate::float::Float>::ZERO;
        let mut i = 0;
        while i < len {
            let end = (i + n).min(len);
            // `get`: `i < end <= len` holds, but indexing left a panic path behind.
            $(let $x: $L = $crate::driver::closure::load($xs.get(i..end).unwrap_or(&[]), zero);)*
            let ($($r,)*): ($($crate::driver::chunk_loop!(@ty $r $L),)*) = $body;
            $(if let Some(o) = $os.get_mut(i..end) {
                $crate::driver::closure::store($r, o);
            })*
            i += n;
        }
    }};
    (@ty $r:ident $L:ty) => { $L };
}
#[cfg(not(target_os = "none"))]
macro_rules! chunk_loop {
    (<$L:ty> in ($($x:ident = $xs:expr),*), out ($($r:ident => $os:expr),*), $body:expr) => {{
        let n = <$L as $crate::lane::Lane>::LANES;
        let len = usize::MAX $(.min($xs.len()))* $(.min($os.len()))*;
        let full = len - len % n;
        let mut i = 0;
        while i < full {
            $(let $x: $L = $crate::driver::load_full(&$xs[i..i + n]);)*
            let ($($r,)*): ($($crate::driver::chunk_loop!(@ty $r $L),)*) = $body;
            $($crate::driver::store_full($r, &mut $os[i..i + n]);)*
            i += n;
        }
        if full < len {
            let zero = <<$L as $crate::lane::Lane>::Scalar as $crate::float::Float>::ZERO;
            $(let $x: $L = $crate::driver::closure::load(&$xs[full..len], zero);)*
            let ($($r,)*): ($($crate::driver::chunk_loop!(@ty $r $L),)*) = $body;
            $($crate::driver::closure::store($r, &mut $os[full..len]);)*
        }
    }};
    (@ty $r:ident $L:ty) => { $L };
}
pub(crate) use chunk_loop;

/// `out[i] = k(x[i])`, lane by lane.
#[inline(always)]
pub(crate) fn map<T: Float, K: Kernel1<T>>(x: &[T], out: &mut [T], k: K) -> Result<(), Error> {
    check_len("out", x.len(), out.len())?;
    map_unchecked(x, out, k);
    Ok(())
}

/// [`map`] without the length check (processes `min` of the lengths).
#[inline(always)]
pub(crate) fn map_unchecked<T: Float, K: Kernel1<T>>(x: &[T], out: &mut [T], k: K) {
    struct Job<'a, T, K>(&'a [T], &'a mut [T], K);
    impl<T: Float, K: Kernel1<T>> LaneFn for Job<'_, T, K> {
        type Output = ();
        #[inline(always)]
        fn call<B: Family>(self) {
            if K::QUAD {
                self.go::<B::Q<T>>()
            } else {
                self.go::<B::E<T>>()
            }
        }
    }
    impl<T: Float, K: Kernel1<T>> Job<'_, T, K> {
        #[inline(always)]
        fn go<L: Lane<Scalar = T>>(self) {
            let Job(x, out, k) = self;
            chunk_loop!(<L> in (v = x), out (r => out), (k.apply(v),));
        }
    }
    backend::run(Job(x, out, k))
}

/// `x[i] = k(x[i])` in place.
#[inline(always)]
pub(crate) fn map_inplace<T: Float, K: Kernel1<T>>(x: &mut [T], k: K) {
    struct Job<'a, T, K>(&'a mut [T], K);
    impl<T: Float, K: Kernel1<T>> LaneFn for Job<'_, T, K> {
        type Output = ();
        #[inline(always)]
        fn call<B: Family>(self) {
            if K::QUAD {
                self.go::<B::Q<T>>()
            } else {
                self.go::<B::E<T>>()
            }
        }
    }
    impl<T: Float, K: Kernel1<T>> Job<'_, T, K> {
        #[inline(always)]
        fn go<L: Lane<Scalar = T>>(self) {
            let Job(x, k) = self;
            chunk_loop!(<L> in (v = x), out (r => x), (k.apply(v),));
        }
    }
    backend::run(Job(x, k))
}

/// `out[i] = k(a[i], b[i])`; `b` and `out` must have `a`'s length (`b_name` and `out_name`
/// name them in the error).
#[inline(always)]
pub(crate) fn map2<T: Float, K: Kernel2<T>>(
    a: &[T],
    b: &[T],
    b_name: &'static str,
    out: &mut [T],
    out_name: &'static str,
    k: K,
) -> Result<(), Error> {
    check_len(b_name, a.len(), b.len())?;
    check_len(out_name, a.len(), out.len())?;
    map2_unchecked(a, b, out, k);
    Ok(())
}

/// [`map2`] without the checks; processes `min` of the lengths.
#[inline(always)]
pub(crate) fn map2_unchecked<T: Float, K: Kernel2<T>>(a: &[T], b: &[T], out: &mut [T], k: K) {
    struct Job<'a, T, K>(&'a [T], &'a [T], &'a mut [T], K);
    impl<T: Float, K: Kernel2<T>> LaneFn for Job<'_, T, K> {
        type Output = ();
        #[inline(always)]
        fn call<B: Family>(self) {
            self.go::<B::E<T>>()
        }
    }
    impl<T: Float, K: Kernel2<T>> Job<'_, T, K> {
        #[inline(always)]
        fn go<L: Lane<Scalar = T>>(self) {
            let Job(a, b, out, k) = self;
            chunk_loop!(<L> in (x = a, y = b), out (r => out), (k.apply(x, y),));
        }
    }
    backend::run(Job(a, b, out, k))
}

/// `a[i] = k(a[i], b[i])` in place on `a`.
#[inline(always)]
pub(crate) fn map2_inplace<T: Float, K: Kernel2<T>>(
    a: &mut [T],
    b: &[T],
    b_name: &'static str,
    k: K,
) -> Result<(), Error> {
    check_len(b_name, a.len(), b.len())?;
    struct Job<'a, T, K>(&'a mut [T], &'a [T], K);
    impl<T: Float, K: Kernel2<T>> LaneFn for Job<'_, T, K> {
        type Output = ();
        #[inline(always)]
        fn call<B: Family>(self) {
            self.go::<B::E<T>>()
        }
    }
    impl<T: Float, K: Kernel2<T>> Job<'_, T, K> {
        #[inline(always)]
        fn go<L: Lane<Scalar = T>>(self) {
            let Job(a, b, k) = self;
            chunk_loop!(<L> in (x = a, y = b), out (r => a), (k.apply(x, y),));
        }
    }
    backend::run(Job(a, b, k));
    Ok(())
}

/// `out[i] = k(a[i], b[i], c[i])`; all four slices the same length (unchecked: callers
/// check; processes `min` of the lengths).
#[inline(always)]
pub(crate) fn map3_unchecked<T: Float, K: Kernel3<T>>(
    a: &[T],
    b: &[T],
    c: &[T],
    out: &mut [T],
    k: K,
) {
    struct Job<'a, T, K>(&'a [T], &'a [T], &'a [T], &'a mut [T], K);
    impl<T: Float, K: Kernel3<T>> LaneFn for Job<'_, T, K> {
        type Output = ();
        #[inline(always)]
        fn call<B: Family>(self) {
            self.go::<B::E<T>>()
        }
    }
    impl<T: Float, K: Kernel3<T>> Job<'_, T, K> {
        #[inline(always)]
        fn go<L: Lane<Scalar = T>>(self) {
            let Job(a, b, c, out, k) = self;
            chunk_loop!(<L> in (x = a, y = b, z = c), out (r => out), (k.apply(x, y, z),));
        }
    }
    backend::run(Job(a, b, c, out, k))
}

/// `(o1[i], o2[i]) = k(a[i], b[i], c[i])`; all slices the same length (unchecked: callers
/// check). Used by backward passes that produce two gradients.
#[inline(always)]
pub(crate) fn map3_2out_unchecked<T: Float, K: Kernel3x2<T>>(
    a: &[T],
    b: &[T],
    c: &[T],
    o1: &mut [T],
    o2: &mut [T],
    k: K,
) {
    struct Job<'a, T, K>(&'a [T], &'a [T], &'a [T], &'a mut [T], &'a mut [T], K);
    impl<T: Float, K: Kernel3x2<T>> LaneFn for Job<'_, T, K> {
        type Output = ();
        #[inline(always)]
        fn call<B: Family>(self) {
            self.go::<B::E<T>>()
        }
    }
    impl<T: Float, K: Kernel3x2<T>> Job<'_, T, K> {
        #[inline(always)]
        fn go<L: Lane<Scalar = T>>(self) {
            let Job(a, b, c, o1, o2, k) = self;
            chunk_loop!(<L> in (x = a, y = b, z = c), out (r1 => o1, r2 => o2), k.apply(x, y, z));
        }
    }
    backend::run(Job(a, b, c, o1, o2, k))
}

/// Drivers taking plain closures on a lane type `L` chosen by the caller, without dispatch
/// (the binary losses and the diagnostics use them with `T::Lane`, the portable backend),
/// and the load/store helpers of [`lane_loop!`]. Same position-independence contract as the
/// drivers above. Code that runs on the AVX2 backend uses [`lane_loop!`] instead: a closure
/// the compiler leaves out of line is compiled without the caller's `#[target_feature]`s.
pub(crate) mod closure {
    use crate::float::Float;
    use crate::lane::Lane;

    /// A chunk of at most `LANES` elements as a lane, padded with `pad`. The full-chunk case
    /// is separate so that the compiler sees its length and emits one vector load.
    #[inline(always)]
    pub(crate) fn load<L: Lane>(chunk: &[L::Scalar], pad: L::Scalar) -> L {
        let mut a = L::Array::default();
        if chunk.len() == L::LANES {
            for (d, s) in a.as_mut().iter_mut().zip(chunk) {
                *d = *s;
            }
        } else {
            for d in a.as_mut().iter_mut() {
                *d = pad;
            }
            for (d, s) in a.as_mut().iter_mut().zip(chunk) {
                *d = *s;
            }
        }
        L::from_array(a)
    }

    /// Stores the first `chunk.len()` elements of `v` (one vector store for a full chunk).
    #[inline(always)]
    // The two branches are the same code on purpose: in the first the compiler knows the
    // length, and emits one vector store instead of a loop of scalar stores.
    #[allow(clippy::if_same_then_else)]
    pub(crate) fn store<L: Lane>(v: L, chunk: &mut [L::Scalar]) {
        let a = v.to_array();
        if chunk.len() == L::LANES {
            for (d, s) in chunk.iter_mut().zip(a.as_ref()) {
                *d = *s;
            }
        } else {
            for (d, s) in chunk.iter_mut().zip(a.as_ref()) {
                *d = *s;
            }
        }
    }

    /// `out[i] = f(a[i], b[i])` over `min` of the lengths.
    #[inline(always)]
    pub(crate) fn map2_unchecked<T: Float, L: Lane<Scalar = T>>(
        a: &[T],
        b: &[T],
        out: &mut [T],
        f: impl Fn(L, L) -> L,
    ) {
        chunk_loop!(<L> in (x = a, y = b), out (r => out), (f(x, y),));
    }

    /// `out[i] = f(a[i], b[i], c[i])` over `min` of the lengths.
    #[inline(always)]
    pub(crate) fn map3_unchecked<T: Float, L: Lane<Scalar = T>>(
        a: &[T],
        b: &[T],
        c: &[T],
        out: &mut [T],
        f: impl Fn(L, L, L) -> L,
    ) {
        chunk_loop!(<L> in (x = a, y = b, z = c), out (r => out), (f(x, y, z),));
    }

    /// `(o1[i], o2[i]) = f(a[i], b[i], c[i])` over `min` of the lengths.
    #[inline(always)]
    pub(crate) fn map3_2out_unchecked<T: Float, L: Lane<Scalar = T>>(
        a: &[T],
        b: &[T],
        c: &[T],
        o1: &mut [T],
        o2: &mut [T],
        f: impl Fn(L, L, L) -> (L, L),
    ) {
        chunk_loop!(<L> in (x = a, y = b, z = c), out (r1 => o1, r2 => o2), f(x, y, z));
    }

    /// Folds `f` over `x` lane by lane, the tail padded with `pad` (chosen by the caller so
    /// that padded elements contribute nothing, e.g. a value the predicate rejects).
    #[inline(always)]
    pub(crate) fn fold<T: Float, L: Lane<Scalar = T>, Acc>(
        x: &[T],
        pad: T,
        init: Acc,
        f: impl Fn(Acc, L) -> Acc,
    ) -> Acc {
        let mut acc = init;
        for xc in x.chunks(L::LANES) {
            acc = f(acc, load(xc, pad));
        }
        acc
    }
}

/// Lane loops whose body is written in place rather than passed as a closure, for code
/// generic over the backend family (`softmax`, `cross_entropy`): a closure is one function
/// however many places inline its caller, and once it has two call sites the compiler
/// leaves it out of line, compiled without the AVX2 `#[target_feature]`s of its caller. A
/// macro body is part of the caller. Tails are padded with zeros and go through the same
/// body (position independence).
///
/// - `lane_loop!(map <L> (src, dst) |v| body)`: `dst[i] = body(v)`, `v` read from `src`
///   (`Option<&[T]>`) or, for `None`, from `dst` itself (in place).
/// - `lane_loop!(map2 <L> (a, b, out) |x, y| body)`: `out[i] = body(a[i], b[i])` over the
///   shortest length.
/// - `lane_loop!(map2_inplace <L> (a, b) |x, y| body)`: `a[i] = body(a[i], b[i])`.
macro_rules! lane_loop {
    (map <$L:ty> ($src:expr, $dst:expr) |$v:ident| $body:expr) => {{
        let dst = $dst;
        match $src {
            Some(s) => $crate::driver::chunk_loop!(
                <$L> in ($v = s), out (r => dst), ($body,)
            ),
            None => $crate::driver::chunk_loop!(
                <$L> in ($v = dst), out (r => dst), ($body,)
            ),
        }
    }};
    (map2 <$L:ty> ($a:expr, $b:expr, $out:expr) |$x:ident, $y:ident| $body:expr) => {{
        let (a, b, out) = ($a, $b, $out);
        $crate::driver::chunk_loop!(<$L> in ($x = a, $y = b), out (r => out), ($body,))
    }};
    (map2_inplace <$L:ty> ($a:expr, $b:expr) |$x:ident, $y:ident| $body:expr) => {{
        let (a, b) = ($a, $b);
        $crate::driver::chunk_loop!(<$L> in ($x = a, $y = b), out (r => a), ($body,))
    }};
}
pub(crate) use lane_loop;

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
    fn prefetch_accepts_any_address_and_changes_nothing() {
        let x: [f32; 19] = core::array::from_fn(|i| i as f32);
        let before = x;
        // Inside, one past the end, far past the end, null, and a dangling address.
        prefetch(x.as_ptr());
        prefetch(x.as_ptr().wrapping_add(x.len()));
        prefetch(x.as_ptr().wrapping_add(1 << 40));
        prefetch(core::ptr::null::<f32>());
        prefetch(core::ptr::dangling::<f64>());
        assert_eq!(x.map(f32::to_bits), before.map(f32::to_bits));
    }

    #[test]
    fn map_covers_every_length_and_leaves_nothing_behind() {
        let x: [f32; 19] = core::array::from_fn(|i| i as f32);
        for n in 0..=19 {
            let mut out = [-1.0f32; 19];
            map(&x[..n], &mut out[..n], lanes!(|v| double(v))).unwrap();
            for (i, &o) in out.iter().enumerate() {
                let want = if i < n { 2.0 * i as f32 } else { -1.0 };
                assert_eq!(o, want, "len {n} index {i}");
            }
        }
    }

    #[test]
    fn map_rejects_length_mismatch_without_writing() {
        let mut out = [5.0f64; 3];
        let e = map(&[1.0f64; 4], &mut out, lanes!(|v| double(v))).unwrap_err();
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
            map_inplace(&mut a[..n], lanes!(|v| double(v)));
            for (i, v) in a.iter().enumerate() {
                assert_eq!(*v, if i < n { 2.0 * i as f64 } else { i as f64 });
            }
            let b = [1.0f64; 11];
            let mut o = [0.0f64; 11];
            map2(
                &a[..n],
                &b[..n],
                "b",
                &mut o[..n],
                "out",
                lanes!(|x, y| x + y),
            )
            .unwrap();
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
                lanes!(|x, _y| x)
            )
            .is_err()
        );
    }

    #[test]
    fn fold_counts_with_padding_excluded() {
        let x = [1.0f32, -1.0, 2.0, 0.0, 3.0, -4.0, 5.0, 6.0, 7.0, -8.0, 9.0];
        let zero = <f32 as Float>::Lane::splat(0.0);
        let n = closure::fold(&x, 0.0f32, 0u32, |acc, v: <f32 as Float>::Lane| {
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
        map(&x, &mut o, lanes!(|v| vmath::exp(v))).unwrap();
        assert_eq!(&o[..4], &[1.0, 1.0, f32::INFINITY, 0.0]);
        assert!(o[4].is_nan());
        assert!((o[5] - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
        assert_eq!(o[6], 0.0);
        assert_eq!(o[7], f32::INFINITY);
        map(&x, &mut o, lanes!(|v| vmath::ln(v))).unwrap();
        assert_eq!(o[0], f32::NEG_INFINITY);
        assert_eq!(o[2], f32::INFINITY);
        assert!(o[3].is_nan() && o[4].is_nan() && o[6].is_nan());
        assert_eq!(o[5], 0.0);
        map(&x, &mut o, lanes!(|v| vmath::log1p(v))).unwrap();
        assert_eq!(o[0].to_bits(), 0.0f32.to_bits());
        assert_eq!(o[1].to_bits(), (-0.0f32).to_bits());
        map(&x, &mut o, lanes!(|v| vmath::expm1(v))).unwrap();
        assert_eq!(o[3], -1.0);
        assert_eq!(o[1].to_bits(), (-0.0f32).to_bits());
    }
}
