//! Cross-entropy from logits (class-index and class-probability targets), `nll_loss` on
//! log-probabilities, and the multi-class softmax focal loss, each with its fused gradient
//! with respect to the logits (or log-probabilities). PyTorch semantics.
//!
//! Inputs are row-major `rows x cols` (`cols` = number of classes). Every row goes through
//! the softmax module's online max-and-sum pass ([`crate::softmax`](mod@crate::softmax)), then **one** more pass
//! that writes the gradient (and accumulates the label-smoothing term); the row's scalars
//! are computed in `f64` (double-double for `f64` rows). Row losses are summed in `f64`
//! with [`crate::reduce`]'s fixed block structure, so results are bit-identical however a
//! caller splits the rows into batches of blocks.
//!
//! # Accuracy
//! The target's negative log-probability is `log1p(S_rest) - (x_t - M)`, a sum of two
//! non-negative terms: a confidently correct row keeps relative accuracy
//! (f32 logits `[80, 0]`, target 0: `1.8049e-35`, where peers return 0), and the target's
//! gradient entry `p_t - 1 = expm1(log p_t)` likewise (`-1.8049e-35`, not 0).
//!
//! # Zero counted targets
//! A [`Reduction::Mean`] over zero counted weight (every target ignored, or every counted
//! target of weight 0, or no rows) returns **0** with a zero gradient. PyTorch returns NaN
//! (0/0) there; a batch made only of padding is legitimate input and must not poison a
//! training step. NaN in the logits still propagates.
//!
//! # Special rows
//! Rows holding NaN give a NaN loss and a NaN gradient row. Rows with `+inf` or only
//! `-inf` logits use the softmax module's row policy ([`crate::softmax`](mod@crate::softmax); `+inf` entries
//! share the probability, a fully masked row has probability 0 everywhere and
//! log-probability `-inf`): e.g. a fully masked row has loss `+inf` and gradient
//! `-(1-ε) w_t` at the target. A class with weight 0 (or a target probability of 0)
//! contributes 0 even where its log-probability is `-inf` (PyTorch: `0 * inf = NaN`).

use super::Reduction;
use crate::backend;
use crate::error::{Error, check_len};
use crate::float::Float;
use crate::lane::Lane;
use crate::lane::{Family, LaneFn};
use crate::reduce::sum_f64;
use crate::softmax::{
    Acc, Kind, Stats, check_cols, clean, dd_add, dd_add_f64, exp_diff64, exp64, expm1_64,
    fast_stats, ln64, load_full, load_pad, log1p64, row_stats, term, two_prod, two_sum, two_sum_l,
    write_factor, write_scaled_fast, zero,
};

/// The lane of element type `T` on backend `B`.
type Ln<B, T> = <B as Family>::L<T>;

/// Options of the cross-entropy losses (PyTorch's `weight`, `ignore_index`,
/// `label_smoothing`). `Default` is no weights, no ignored index, no smoothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropyOptions<'a, T> {
    /// Per-class weights (`cols` values, finite and `>= 0`), or `None` for all 1.
    pub weight: Option<&'a [T]>,
    /// Targets equal to this value take no part in the loss, the mean's denominator or the
    /// gradient. PyTorch's default is `Some(-100)`; here the default is `None` (every target
    /// must be a class). Not used by the probability-target variants (as in PyTorch).
    pub ignore_index: Option<i64>,
    /// Label smoothing `ε` in `[0, 1]`: the target becomes `(1-ε) onehot + ε/C`.
    pub label_smoothing: T,
}

impl<T: Float> Default for CrossEntropyOptions<'_, T> {
    fn default() -> Self {
        CrossEntropyOptions {
            weight: None,
            ignore_index: None,
            label_smoothing: T::ZERO,
        }
    }
}

/// Options of [`nll_loss`]: per-class weights and an ignored index.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct NllOptions<'a, T> {
    /// Per-class weights (`cols` values, finite and `>= 0`), or `None`.
    pub weight: Option<&'a [T]>,
    /// Targets equal to this value are ignored.
    pub ignore_index: Option<i64>,
}

/// Options of [`softmax_focal_loss`]. `Default`: no `alpha`, `gamma = 2`, no ignored index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FocalOptions<'a, T> {
    /// Per-class balance factors `α_c` (`cols` values, finite and `>= 0`), or `None` for 1.
    pub alpha: Option<&'a [T]>,
    /// Focusing parameter `γ >= 0` (`γ = 0` is cross-entropy).
    pub gamma: T,
    /// Targets equal to this value are ignored.
    pub ignore_index: Option<i64>,
}

impl<T: Float> Default for FocalOptions<'_, T> {
    fn default() -> Self {
        FocalOptions {
            alpha: None,
            gamma: T::ONE + T::ONE,
            ignore_index: None,
        }
    }
}

/// How a reduced row loss scales its gradient: every gradient entry is `scale` times the
/// row's gradient computed with every class weight multiplied by `weight_scale`.
///
/// `weight_scale` is 1, except for a weighted mean whose denominator `D = Σ w_{t_i}` is
/// so small (f64 subnormal weights) that `1/D` overflows: there the weights and `D` are
/// scaled up together by the power of two `weight_scale` (the mean and its gradient are
/// invariant under that scaling), so that `scale = 1/(D weight_scale)` is finite and a
/// gradient entry `w_t / D` (about 1) is not formed as `w_t * inf`. The row losses of such a
/// mean are then `weight_scale` times the unscaled ones, and the denominator returned by
/// the `*_prepare` functions is `D weight_scale` to match.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradScale {
    /// Multiplies every gradient entry.
    pub scale: f64,
    /// Multiplies every class weight (a power of two, 1 unless `1/D` overflows).
    pub weight_scale: f64,
}

impl GradScale {
    /// No weight scaling.
    const fn plain(scale: f64) -> GradScale {
        GradScale {
            scale,
            weight_scale: 1.0,
        }
    }
    fn check(self) -> Result<Self, Error> {
        crate::error::check_finite("grad_scale", self.scale)?;
        crate::error::check_positive("grad_scale.weight_scale", self.weight_scale)?;
        Ok(self)
    }
}

// ------------------------------------------------------------------------------------------
// Validation (everything is checked before anything is written).

fn check_weights<T: Float>(name: &'static str, w: Option<&[T]>, cols: usize) -> Result<(), Error> {
    if let Some(w) = w {
        check_len(name, cols, w.len())?;
        for &v in w {
            let v = v.to_f64();
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::InvalidParameter {
                    name,
                    value: v,
                    requirement: "finite and >= 0 (every element)",
                });
            }
        }
    }
    Ok(())
}

fn check_smoothing<T: Float>(eps: T) -> Result<f64, Error> {
    let e = eps.to_f64();
    if (0.0..=1.0).contains(&e) {
        Ok(e)
    } else {
        Err(Error::InvalidParameter {
            name: "label_smoothing",
            value: e,
            requirement: "in [0, 1]",
        })
    }
}

fn check_targets(targets: &[i64], cols: usize, ignore: Option<i64>) -> Result<(), Error> {
    for (position, &t) in targets.iter().enumerate() {
        if Some(t) == ignore {
            continue;
        }
        if t < 0 || (t as u64) >= cols as u64 {
            return Err(Error::IndexOutOfRange {
                arg: "targets",
                position,
                index: t,
                classes: cols,
            });
        }
    }
    Ok(())
}

/// Shared checks of the index-target losses; returns the number of rows.
#[allow(clippy::too_many_arguments)]
fn check_index_loss<T: Float>(
    x_len: usize,
    cols: usize,
    targets: &[i64],
    ignore: Option<i64>,
    weight: (&'static str, Option<&[T]>),
    out: Option<usize>,
    grad: Option<usize>,
) -> Result<usize, Error> {
    let rows = check_cols(x_len, cols)?;
    check_len("targets", rows, targets.len())?;
    check_weights(weight.0, weight.1, cols)?;
    if let Some(n) = out {
        check_len("out", rows, n)?;
    }
    if let Some(n) = grad {
        check_len("grad", x_len, n)?;
    }
    check_targets(targets, cols, ignore)?;
    Ok(rows)
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn weight_of<T: Float>(w: Option<&[T]>, k: usize) -> f64 {
    match w {
        Some(w) => w.get(k).map_or(0.0, |v| v.to_f64()),
        None => 1.0,
    }
}

/// `Σ_c w_c` (f64).
fn weight_sum<T: Float>(w: Option<&[T]>, cols: usize) -> f64 {
    match w {
        Some(w) => sum_f64(w.iter().map(|v| v.to_f64())).value(),
        None => cols as f64,
    }
}

/// The mean's denominator `Σ_i w_{t_i}` over counted targets, and the gradient scale.
/// Where `1/D` overflows (`D` below `2^-1000`: subnormal f64 weights) the weights are
/// scaled up by a power of two `ν` (see [`GradScale`]) and `(D ν, 1/(D ν))` is returned.
fn denominator<T: Float>(
    targets: &[i64],
    ignore: Option<i64>,
    w: Option<&[T]>,
    reduction: Option<Reduction>,
) -> (f64, GradScale) {
    match reduction {
        Some(Reduction::Mean) => {
            let mut d = sum_f64(
                targets
                    .iter()
                    .filter(|&&t| Some(t) != ignore)
                    .map(|&t| weight_of(w, t as usize)),
            )
            .value();
            // (d is a sum of weights >= 0: not positive means 0.)
            if d.partial_cmp(&0.0) != Some(core::cmp::Ordering::Greater) {
                return (d, GradScale::plain(0.0));
            }
            // 2^-1000: 1/D is then at most 2^1000; a subnormal D (>= 2^-1074) needs at
            // most four steps of 2^24. Scaling by a power of two is exact.
            const LOW: f64 = 9.332636185032189e-302;
            let mut nu = 1.0;
            while d < LOW {
                d *= 16777216.0;
                nu *= 16777216.0;
            }
            (
                d,
                GradScale {
                    scale: 1.0 / d,
                    weight_scale: nu,
                },
            )
        }
        _ => (1.0, GradScale::plain(1.0)),
    }
}

/// `Σ ℓ_i` through the deterministic block sum, with non-finite terms kept out of the
/// double-double accumulator (TwoSum turns an infinite term into NaN) and applied after:
/// any NaN gives NaN, `+inf` gives `+inf`.
fn sum_losses(it: impl Iterator<Item = f64>) -> f64 {
    let (mut nan, mut pos, mut neg) = (false, false, false);
    let total = sum_f64(it.map(|v| {
        if v.is_finite() {
            v
        } else {
            if v.is_nan() {
                nan = true;
            } else if v > 0.0 {
                pos = true;
            } else {
                neg = true;
            }
            0.0
        }
    }))
    .value();
    if nan || (pos && neg) {
        f64::NAN
    } else if pos {
        f64::INFINITY
    } else if neg {
        f64::NEG_INFINITY
    } else {
        total
    }
}

/// The reduced value: `Σ ℓ_i` (Sum), `Σ ℓ_i / D` (Mean, 0 when `D = 0`).
fn finish<T: Float>(total: f64, d: f64, reduction: Option<Reduction>) -> T {
    match reduction {
        Some(Reduction::Mean) => {
            if d > 0.0 {
                T::from_f64(total / d)
            } else {
                T::ZERO
            }
        }
        Some(Reduction::Sum) => T::from_f64(total),
        None => T::ZERO,
    }
}

/// `(ε/C) v`: as written where `ε/C` is a normal number (the same bits as before), as
/// `(ε v)/C` where it is not, so that a subnormal smoothing factor is not rounded to a few
/// bits before a large `v` makes the product a normal number (f64 `ε = 2.7e-311` over
/// `C = 2` times `W = 1.8e308`: the loss was 1.8e-13 off; a fuzz finding).
#[inline]
fn smoothing_term(eps: f64, c: f64, v: f64) -> f64 {
    if eps_c_is_normal(eps, c) {
        eps / c * v
    } else {
        eps * v / c
    }
}

/// `ε/C` is 0 or a normal number, so that it can be rounded on its own (see
/// [`smoothing_term`]).
#[inline]
fn eps_c_is_normal(eps: f64, c: f64) -> bool {
    eps == 0.0 || (eps / c).abs() >= f64::MIN_POSITIVE
}

/// The smoothed weighted target `w ((1-ε) t + ε/C)` of a probability target: as written
/// where `ε/C` is a normal number (the same bits as before), else `(1-ε) t w` plus
/// [`smoothing_term`], for the reason given there.
#[inline]
fn smoothed_target(eps: f64, c: f64, t: f64, w: f64) -> f64 {
    if eps_c_is_normal(eps, c) {
        ((1.0 - eps) * t + eps / c) * w
    } else {
        (1.0 - eps) * t * w + smoothing_term(eps, c, w)
    }
}

// ------------------------------------------------------------------------------------------
// Dispatch: each row runs on the backend selected at run time (one atomic load per row).

/// [`ce_row_on`] on the selected backend.
#[allow(clippy::too_many_arguments)]
fn ce_row<T: Float>(
    row: &[T],
    t: i64,
    ignore: Option<i64>,
    w: Option<&[T]>,
    eps: f64,
    w_sum: f64,
    gs: GradScale,
    g: Option<&mut [T]>,
) -> f64 {
    struct Job<'a, T>(
        &'a [T],
        i64,
        Option<i64>,
        Option<&'a [T]>,
        f64,
        f64,
        GradScale,
        Option<&'a mut [T]>,
    );
    impl<T: Float> LaneFn for Job<'_, T> {
        type Output = f64;
        #[cfg_attr(not(nonlin_outline), inline(always))]
        fn call<B: Family>(self) -> f64 {
            let Job(row, t, ignore, w, eps, w_sum, gs, g) = self;
            ce_row_on::<B, T>(row, t, ignore, w, eps, w_sum, gs, g)
        }
    }
    backend::run(Job(row, t, ignore, w, eps, w_sum, gs, g))
}

/// [`ce_probs_row_on`] on the selected backend.
fn ce_probs_row<T: Float>(
    row: &[T],
    tr: &[T],
    w: Option<&[T]>,
    eps: f64,
    gscale: f64,
    g: Option<&mut [T]>,
) -> f64 {
    struct Job<'a, T>(
        &'a [T],
        &'a [T],
        Option<&'a [T]>,
        f64,
        f64,
        Option<&'a mut [T]>,
    );
    impl<T: Float> LaneFn for Job<'_, T> {
        type Output = f64;
        #[cfg_attr(not(nonlin_outline), inline(always))]
        fn call<B: Family>(self) -> f64 {
            let Job(row, tr, w, eps, gscale, g) = self;
            ce_probs_row_on::<B, T>(row, tr, w, eps, gscale, g)
        }
    }
    backend::run(Job(row, tr, w, eps, gscale, g))
}

/// [`focal_row_on`] on the selected backend.
fn focal_row<T: Float>(
    row: &[T],
    t: i64,
    opts: &FocalOptions<'_, T>,
    gamma: f64,
    gscale: f64,
    g: Option<&mut [T]>,
) -> f64 {
    struct Job<'a, 'o, T>(
        &'a [T],
        i64,
        &'a FocalOptions<'o, T>,
        f64,
        f64,
        Option<&'a mut [T]>,
    );
    impl<T: Float> LaneFn for Job<'_, '_, T> {
        type Output = f64;
        #[cfg_attr(not(nonlin_outline), inline(always))]
        fn call<B: Family>(self) -> f64 {
            let Job(row, t, opts, gamma, gscale, g) = self;
            focal_row_on::<B, T>(row, t, opts, gamma, gscale, g)
        }
    }
    backend::run(Job(row, t, opts, gamma, gscale, g))
}

// ------------------------------------------------------------------------------------------
// Row machinery.

/// A lane of `s[range]` (padded with `pad` unless `full`); a plain function, not a closure,
/// so that it is always inlined (see `driver::closure`).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn walk_load<B: Family, T: Float>(
    s: Option<&[T]>,
    range: core::ops::Range<usize>,
    full: bool,
    pad: T,
) -> Ln<B, T> {
    let c = s.and_then(|s| s.get(range)).unwrap_or(&[]);
    if full && c.len() == B::L::<T>::LANES {
        load_full::<B, T, T>(c)
    } else {
        load_pad::<B, T, T>(c, pad)
    }
}

/// Walks a row in lanes (`x` padded with `pad_x`, `a` and `b` with 0), running `body` on
/// each lane triple and writing its result to `g` when given. Same lane code for the tail.
/// A macro rather than a function taking a closure, so that the body is compiled inside its
/// caller (see `driver::lane_loop`).
macro_rules! walk {
    (<$B:ty, $T:ty> ($x:expr, $pad_x:expr, $a:expr, $b:expr, $g:expr) |$xv:ident, $av:tt, $bv:tt| $body:expr) => {{
        let (x, pad_x, a, b): (&[$T], $T, Option<&[$T]>, Option<&[$T]>) = ($x, $pad_x, $a, $b);
        let mut g: Option<&mut [$T]> = $g;
        let n = <Ln<$B, $T> as Lane>::LANES;
        let mut start = 0;
        while start < x.len() {
            let end = (start + n).min(x.len());
            let full = end - start == n;
            let $xv = walk_load::<$B, $T>(Some(x), start..end, full, pad_x);
            let $av = walk_load::<$B, $T>(a, start..end, full, <$T as Float>::ZERO);
            let $bv = walk_load::<$B, $T>(b, start..end, full, <$T as Float>::ZERO);
            let r: Ln<$B, $T> = $body;
            if let Some(gc) = g.as_deref_mut().and_then(|g| g.get_mut(start..end)) {
                $crate::driver::closure::store(r, gc);
            }
            start = end;
        }
    }};
}

/// Probability and log-probability of class `k` in a non-normal row (scalar, rare path),
/// under the softmax module's default policy.
fn special_p_logp<T: Float>(st: &Stats, v: T) -> (f64, f64) {
    match st.kind {
        Kind::PosInf if v == T::INFINITY => (1.0 / st.count, -ln64(st.count)),
        _ => (0.0, f64::NEG_INFINITY),
    }
}

/// `c * (-logp)` with `0 * inf = 0`.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn wnl(c: f64, logp: f64) -> f64 {
    if c == 0.0 { 0.0 } else { -c * logp }
}

/// `log p_t` of a normal row as a double-double `(x_t - M) - ln S`.
#[inline]
fn logp_normal<T: Float>(st: &Stats, xt: T) -> (f64, f64) {
    let (d, de) = two_sum(xt.to_f64(), -st.m);
    if !d.is_finite() {
        // A -inf target logit (or x - M overflowing): log p_t = -inf.
        return (f64::NEG_INFINITY, 0.0);
    }
    let (lh, ll) = st.log_sum();
    let (s, e) = two_sum(d, -lh);
    two_sum(s, (e + de) - ll)
}

/// Writes `grad_k = e_k * coef - bw * w_k` over a normal row (`e_k = e^{x_k - M}`, so
/// `e_k * coef` is `p_k * A * scale` with `coef = A scale / S` applied as a hi/lo pair), and
/// returns `Σ_k c_k (M - x_k)` with `c_k = w_k` (`cw = true`) when `smooth` is set. The
/// weights are multiplied by `nu` (a power of two, see [`GradScale`]) first. The sum is not
/// finite where a difference `M - x_k` or a product overflowed (see [`smooth_wide`]).
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(nonlin_outline), inline(always))]
fn normal_pass<B: Family, T: Float>(
    row: &[T],
    st: &Stats,
    w: Option<&[T]>,
    nu: f64,
    coef: (f64, f64),
    bw: f64,
    smooth: bool,
    g: Option<&mut [T]>,
) -> f64 {
    let nm = Ln::<B, T>::splat(T::from_f64(-st.m));
    let ml = Ln::<B, T>::splat(T::from_f64(st.m));
    let one = Ln::<B, T>::splat(T::ONE);
    let (ch, cl, kk) = write_factor::<B, T>(coef);
    let bwl = Ln::<B, T>::splat(T::from_f64(bw));
    let nul = Ln::<B, T>::splat(T::from_f64(nu));
    let has_grad = g.is_some();
    if !smooth && bw == 0.0 {
        // The plain softmax write pass, scaled.
        if let Some(g) = g {
            crate::driver::lane_loop!(map <Ln<B, T>> (Some(row), g) |x| {
                let e = term::<Ln<B, T>, false>(x, nm, one, kk);
                e.mul_add(ch, e * cl)
            });
        }
        return 0.0;
    }
    let mut acc = Acc::<B>::new();
    walk!(<B, T> (row, T::from_f64(st.m), w, None, g) |x, wv, _| {
        let wv = if w.is_some() { wv * nul } else { one };
        if smooth {
            // w_k (M - x_k), the difference carried exactly; a zero weight contributes 0
            // even at a -inf logit.
            let (d, de) = two_sum_l(ml, -x);
            let nz = wv.eq(zero());
            let d = Ln::<B, T>::select(nz, zero(), d);
            let de = Ln::<B, T>::select(nz, zero(), clean(de));
            acc.add_prod(wv, d);
            acc.add_prod(wv, de);
        }
        if has_grad {
            let e = term::<Ln<B, T>, false>(x, nm, one, kk);
            let r = e.mul_add(ch, e * cl);
            if bw != 0.0 { r - bwl * wv } else { r }
        } else {
            zero()
        }
    });
    let (h, l) = acc.total();
    h + l
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn set<T: Float>(g: &mut Option<&mut [T]>, k: usize, v: f64) {
    if let Some(slot) = g.as_deref_mut().and_then(|g| g.get_mut(k)) {
        *slot = T::from_f64(v);
    }
}

#[cfg_attr(not(nonlin_outline), inline(always))]
fn fill<T: Float>(g: &mut Option<&mut [T]>, v: T) {
    if let Some(g) = g.as_deref_mut() {
        for s in g.iter_mut() {
            *s = v;
        }
    }
}

/// Loss of one index-target row (f64), gradient (times `gscale`) written to `g`.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(nonlin_outline), inline(always))]
fn ce_row_on<B: Family, T: Float>(
    row: &[T],
    t: i64,
    ignore: Option<i64>,
    w: Option<&[T]>,
    eps: f64,
    w_sum: f64,
    gs: GradScale,
    mut g: Option<&mut [T]>,
) -> f64 {
    if Some(t) == ignore {
        fill(&mut g, T::ZERO);
        return 0.0;
    }
    let c = row.len() as f64;
    let k = t as usize;
    // Every weight times ν (1 unless a mean's 1/D overflows, see `GradScale`).
    let (gscale, nu) = (gs.scale, gs.weight_scale);
    let wt = weight_of(w, k) * nu;
    let w_sum = w_sum * nu;
    // Without smoothing the gradient row is `p_k A s` (the target entry is set after):
    // for f32 rows the fast pass stores its terms in the gradient row and the write pass
    // only scales them.
    let plain = T::MANTISSA_DIGITS < 53 && eps == 0.0;
    let fast = match g.as_deref_mut() {
        Some(gr) if plain => fast_stats::<B, T, T, true>(row, gr),
        _ => fast_stats::<B, T, T, false>(row, &mut []),
    };
    let st = fast.map_or_else(|| row_stats::<B, T, T, false>(row, T::ONE), |f| f.st);
    // Read after the row pass, from L1.
    let xt = row.get(k).copied().unwrap_or(T::ZERO);
    // A = (1-ε) w_t + (ε/C) W: the coefficient of p_k in the gradient.
    let a = (1.0 - eps) * wt + smoothing_term(eps, c, w_sum);
    match st.kind {
        Kind::Normal => {
            let lp = logp_normal(&st, xt);
            let nll = -(lp.0 + lp.1);
            let (ih, il) = st.inv_sum();
            let coef = (ih * a * gscale, il * a * gscale);
            let bw = gscale * eps / c;
            // Rows whose gradient entries can reach T's range go to the scalar path below
            // (the lanes then only form the smoothing sum): the factor A s / S or the
            // smoothing terms (ε/C) s w_c within a factor 2 of T::MAX. The lane passes form
            // e^{x - M} 2^64 times the factor 2^-64 in two parts, and the low part's product
            // overflows (to -inf) before the high part's (f32 factor 4.6e57: the max entry
            // came out -inf, not +inf), and a difference of two terms beyond the range can
            // still be in it (f64 weights 3.4e38 over D = 1e-300: inf - inf was NaN); and
            // (ε/C) s itself can be beyond T (f32 subnormal weights: s = 5e41).
            // (Factors up to 2^(bias - p - 2) are carried by the lanes with a larger scale
            // exponent, see `write_factor`.)
            let half = 0.5 * T::MAX.to_f64();
            let lane_max = libm::ldexp(
                1.0,
                T::VM.bias.to_f64() as i32 - T::MANTISSA_DIGITS as i32 - 2,
            );
            // Likewise a smoothing factor (ε/C) s below T's normal range: in the lanes it is a
            // subnormal with few significant bits, and a class weight near MAX makes its
            // product a normal entry (f32 weight MAX over D = 1e39: bw = 1.5e-41, the
            // entry -3.5e-3 was 5e-5 off; a fuzz finding), or one that underflowed to 0
            // (f64 ε = 2.7e-311 over a mean's D = MAX: the smoothing term, the larger one,
            // was dropped and the entry came out with the wrong sign; a fuzz finding).
            let wide = g.is_some()
                && (coef.0 >= lane_max
                    || coef.0.is_nan()
                    || bw * w_sum >= half
                    || bw >= half
                    || (eps > 0.0 && bw < T::MIN_POSITIVE.to_f64()));
            let smooth = if wide {
                let sm = if eps > 0.0 {
                    normal_pass::<B, T>(row, &st, w, nu, coef, bw, true, None)
                } else {
                    0.0
                };
                let inv = st.inv_sum();
                // Unscaled A and (ε/C) W (the row's weights times nu can overflow, and W
                // itself: two f64 weights of MAX), the latter summed as (ε/C) w_c.
                let wt0 = weight_of(w, k);
                let ew = if w.is_some() {
                    (0..row.len())
                        .map(|j| smoothing_term(eps, c, weight_of(w, j)))
                        .sum()
                } else {
                    eps
                };
                let a0 = (1.0 - eps) * wt0 + ew;
                let sc = [gscale, nu];
                let factors = WideFactors {
                    a: Wide::new(&[a0, gscale, nu], inv),
                    a_unscaled: Wide::new(&[a0], inv),
                    smooth: Wide::new(&[ew, gscale, nu], inv),
                    smooth_unscaled: Wide::new(&[ew], inv),
                    one_minus_eps: 1.0 - eps,
                    eps,
                    c,
                    s: sc,
                };
                grad_row_wide(row, &st, k, w, nu, factors, g.as_deref_mut());
                sm
            } else if eps > 0.0 || g.is_some() {
                let done = match (fast, g.as_deref_mut()) {
                    (Some(fs), Some(gr)) if plain => {
                        write_scaled_fast::<B, T>(Some(row), gr, &fs, a * gscale, true)
                    }
                    _ => false,
                };
                if done {
                    0.0
                } else {
                    normal_pass::<B, T>(row, &st, w, nu, coef, bw, eps > 0.0, g.as_deref_mut())
                }
            } else {
                0.0
            };
            // Target entry: p_t - 1 = expm1(log p_t) keeps relative accuracy when p_t ≈ 1.
            if g.is_some() && !wide {
                // log p_t in two parts: the low part is up to ulp(log p_t), 7e-14 relative
                // at log p_t = -634, which p_t W / w_t can magnify past the budget.
                let e = exp64(lp.0);
                let pt = e.mul_add(lp.1, e);
                // p_t W with p_t below the normal range (rounded to a few bits there) but the
                // product normal (f64 p_t = 1.3e-316 times W = 3.4e38: 5e-9 off, a fuzz
                // finding): W = m 2^e, and p_t 2^e = e^{log p_t + e ln 2} (e ln 2 carried in
                // double-double) is formed at its own magnitude.
                let ptw = if pt < f64::MIN_POSITIVE * 9007199254740992.0 && w_sum.is_finite() {
                    let (m, ew) = libm::frexp(w_sum);
                    let v = crate::softmax::exp_ref(lp.0, 0.0, -f64::from(ew), true, true);
                    v.mul_add(lp.1, v) * m
                } else {
                    pt * w_sum
                };
                let gt =
                    (1.0 - eps) * wt * expm1_64(lp.0 + lp.1) + smoothing_term(eps, c, ptw - wt);
                set(&mut g, k, gscale * gt);
            }
            let mut loss = (1.0 - eps) * wnl(wt, -nll);
            if eps > 0.0 {
                // Σ_c w_c (-log p_c) = W ln S + Σ_c w_c (M - x_c).
                let (lh, ll) = st.log_sum();
                // (W ln S can overflow too: a class weight near MAX with a tiny ε.)
                let total = w_sum * (lh + ll) + smooth;
                if total.is_finite() {
                    loss += smoothing_term(eps, c, total);
                } else {
                    loss += smooth_wide(row, st.m, w, nu, eps, lh + ll);
                }
            }
            loss
        }
        Kind::Nan => {
            fill(&mut g, T::NAN);
            f64::NAN
        }
        _ => {
            let (_, lpt) = special_p_logp(&st, xt);
            let mut loss = (1.0 - eps) * wnl(wt, lpt);
            let mut sm = 0.0;
            for (j, &v) in row.iter().enumerate() {
                let (p, lp) = special_p_logp(&st, v);
                let wj = weight_of(w, j) * nu;
                sm += wnl(wj, lp);
                let gj = p * a
                    - if j == k { (1.0 - eps) * wt } else { 0.0 }
                    - smoothing_term(eps, c, wj);
                set(&mut g, j, gscale * gj);
            }
            if eps > 0.0 {
                loss += smoothing_term(eps, c, sm);
            }
            loss
        }
    }
}

/// A positive factor `f_1 f_2 ... / S` (finite `f_i >= 0`) beyond `f64`'s range (or
/// `T`'s), carried as a mantissa times `2^exp`, with `1/S = ih + il` in two parts.
#[derive(Clone, Copy)]
struct Wide {
    mant: f64,
    exp: i32,
}

impl Wide {
    fn new(factors: &[f64], (ih, il): (f64, f64)) -> Wide {
        let (mi, ei) = libm::frexp(ih);
        let (mant, exp) = mant_exp(mi + mi * (il / ih), factors);
        Wide {
            mant,
            exp: exp + ei,
        }
    }

    /// `e^{dh + dl}` times the factor, rounded once at its own magnitude by the final
    /// `ldexp` (so a product that is in range is finite and accurate however far the factor
    /// is beyond it; `inf` only where the product itself overflows, 0 below the subnormals).
    fn times_exp(self, dh: f64, dl: f64) -> f64 {
        if dh == f64::NEG_INFINITY || self.mant == 0.0 {
            return 0.0;
        }
        let n = libm::round(dh * core::f64::consts::LOG2_E);
        // Beyond these the result is 0 or inf (the factor's exponent is within +-2500 for
        // finite weights, 1/S and the mean's scale).
        let total = n + f64::from(self.exp);
        if total < -1200.0 {
            return 0.0;
        }
        if total > 1200.0 {
            return f64::INFINITY;
        }
        // fdlibm's ln 2 split: n LN2_HI is exact for |n| < 2^20 (its low 20 bits are 0).
        const LN2_HI: f64 = 6.931_471_803_691_238_164_9e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
        let r = (dh - n * LN2_HI) - n * LN2_LO + dl;
        libm::ldexp(libm::exp(r) * self.mant, total as i32)
    }
}

/// `v f_1 f_2 ...` as a mantissa and an exponent (no overflow or underflow on the way).
fn mant_exp(v: f64, factors: &[f64]) -> (f64, i32) {
    let (mut m, mut e) = libm::frexp(v);
    for &f in factors {
        let (mf, ef) = libm::frexp(f);
        m *= mf;
        e += ef;
    }
    (m, e)
}

/// `v f_1 f_2 ...` rounded once at its own magnitude.
fn scale_by(v: f64, factors: &[f64]) -> f64 {
    let (m, e) = mant_exp(v, factors);
    libm::ldexp(m, e)
}

/// The factors of a wide gradient row, from the unscaled weights (`nu` scaling can itself
/// overflow a weight of 1e296 over a subnormal mean denominator): `A s / S` and
/// `(ε/C) W s / S` (`s = gscale nu = 1/D`, in two factors), the same without `s` (where a
/// difference has to be formed before scaling), and `1 - ε`, `ε/C`.
#[derive(Clone, Copy)]
struct WideFactors {
    a: Wide,
    a_unscaled: Wide,
    smooth: Wide,
    smooth_unscaled: Wide,
    one_minus_eps: f64,
    eps: f64,
    c: f64,
    s: [f64; 2],
}

impl WideFactors {
    /// `p s (f / S)` minus `s (ε/C) w`: the scaled terms where both are in range, else the
    /// difference formed unscaled and scaled once. (Where a scaled term overflows it is
    /// above `MAX / s >= 1e-16` unscaled, since `s = 1/D <= 2^1074`, and a term that
    /// could cancel it is as large: the unscaled difference is formed from normal terms.)
    /// Both scaled terms would be inf where their difference may still be in range (f64
    /// weights 3.4e38 over D = 1e-300: inf - inf was NaN).
    fn entry(&self, scaled: Wide, unscaled: Wide, (dh, dl): (f64, f64), w: f64) -> f64 {
        let t1 = scaled.times_exp(dh, dl);
        // (ε/C) w itself may be subnormal (w = 4.5e-318): all three factors in one scaling.
        // So may ε/C (ε = 2.7e-311): then ε w s in one scaling, divided by C before the
        // exponent is applied, so that ε/C is not rounded at a subnormal magnitude.
        let t2 = if eps_c_is_normal(self.eps, self.c) {
            scale_by(w, &[self.eps / self.c, self.s[0], self.s[1]])
        } else {
            let (m, e) = mant_exp(w, &[self.eps, self.s[0], self.s[1]]);
            libm::ldexp(m / self.c, e)
        };
        if t1.is_finite() && t2.is_finite() {
            t1 - t2
        } else {
            let u = unscaled.times_exp(dh, dl) - smoothing_term(self.eps, self.c, w);
            scale_by(u, &self.s)
        }
    }
}

/// The gradient row of a normal row whose factor `A s / S` (or `(ε/C) s`) is beyond the
/// lane write passes' range (f64 class weights of 1e38 with a mean over weights of 1e-300,
/// f32 ones of 3e38 over 1e-40): `g_j = p_j A s - (ε/C) w_j s`, target entry
/// `(1-ε) w_t s expm1(log p_t) + (ε/C) s (p_t W - w_t)`, each `p_j (A s)` formed by
/// [`Wide::times_exp`] from the exact difference `x_j - M`. Entries whose exact value is in
/// range are finite (the lane passes gave `inf`, or NaN from `0 * inf`). The rare path,
/// scalar; weights unscaled, `nu` only in `s` and in `w_t s`.
#[allow(clippy::too_many_arguments)]
fn grad_row_wide<T: Float>(
    row: &[T],
    st: &Stats,
    k: usize,
    w: Option<&[T]>,
    nu: f64,
    f: WideFactors,
    g: Option<&mut [T]>,
) {
    let Some(g) = g else { return };
    for (j, (o, &x)) in g.iter_mut().zip(row).enumerate() {
        let d = two_sum(x.to_f64(), -st.m);
        let wj = weight_of(w, j);
        let v = if j == k {
            // (1-ε) w_t s expm1(log p_t): w_t nu is at most D nu, so w_t s is at most 1.
            let (lh, ll) = logp_normal(st, x);
            let first = ((wj * nu) * f.s[0]) * f.one_minus_eps * expm1_64(lh + ll);
            first + f.entry(f.smooth, f.smooth_unscaled, d, wj)
        } else {
            f.entry(f.a, f.a_unscaled, d, wj)
        };
        *o = T::from_f64(v);
    }
}

/// `(ε/C) (W ln S + Σ_c w_c (M - x_c)) = (ε/C) Σ_c w_c (-log p_c)` of a normal row whose
/// sum overflowed (a spread `M - x_c` beyond the type's range, or a product `w_c (M - x_c)`,
/// `W ln S`, `W` itself or the sum beyond `f64`'s), although `ε/C` times it may be in range
/// (f64 row `[MAX, 1, 0 x 14]` with `ε = 1.4e-309` is `0.23`). The rare path, scalar: every
/// term is non-negative and is carried as a mantissa and a binary exponent (the difference
/// halved, so that it cannot overflow, and exact by TwoSum; `W ln S` as the per-class
/// `w_c ln S`, since two f64 weights of `MAX` make `W` inf and `inf * 0` NaN), the terms
/// are summed relative to the largest (compensated), and `ε` and the exponent are applied
/// once at the end. `+inf` only where the result exceeds `f64`'s range. Weights are
/// multiplied by `nu` here.
fn smooth_wide<T: Float>(row: &[T], m: f64, w: Option<&[T]>, nu: f64, eps: f64, ln_s: f64) -> f64 {
    // The terms of class j: w_j nu (M/2 - x_j/2) as two products (the TwoSum parts) and
    // w_j nu ln S / 2, each (mantissa product, exponent).
    let terms = |j: usize| -> [(f64, i32); 3] {
        let mul = |a: f64, b: f64| {
            let ((ma, ea), (mb, eb), (mn, en)) = (libm::frexp(a), libm::frexp(b), libm::frexp(nu));
            (ma * mb * mn, ea + eb + en)
        };
        let wj = weight_of(w, j);
        let v = row.get(j).map_or(0.0, |v| v.to_f64());
        let (h, l) = two_sum(0.5 * m, -0.5 * v);
        [mul(wj, h), mul(wj, l), mul(wj, 0.5 * ln_s)]
    };
    let mut top = i32::MIN;
    for j in 0..row.len() {
        for (mt, e) in terms(j) {
            if mt != 0.0 {
                top = top.max(e);
            }
        }
    }
    if top == i32::MIN {
        return 0.0;
    }
    let mut acc = (0.0, 0.0);
    for j in 0..row.len() {
        for (mt, e) in terms(j) {
            // Terms more than 2^1100 below the largest are below its rounding.
            acc = crate::softmax::dd_add_f64(acc, libm::ldexp(mt, (e - top).max(-1100)));
        }
    }
    // (ε/C) 2 Σ: ε's mantissa times the normalised sum, then one scaling by 2^k.
    let (me, ee) = libm::frexp(eps);
    let c = row.len() as f64;
    libm::ldexp(me * ((acc.0 + acc.1) / c), ee + top + 1)
}

#[allow(clippy::too_many_arguments)]
fn ce_engine<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Option<Reduction>,
    out: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<T, Error> {
    let (d, gs) = cross_entropy_prepare(
        logits.len(),
        targets,
        cols,
        opts,
        reduction,
        out.as_deref().map(<[T]>::len),
        grad.as_deref().map(<[T]>::len),
    )?;
    let sink = Sink { out, losses: None };
    Ok(drive(
        logits,
        targets,
        cols,
        1,
        d,
        reduction,
        sink,
        grad,
        ce_rows_fn(cols, opts, gs),
    ))
}

/// The row function of [`cross_entropy`] (options already checked).
fn ce_rows_fn<'a, T: Float>(
    cols: usize,
    opts: &'a CrossEntropyOptions<'a, T>,
    gs: GradScale,
) -> impl FnMut(&[T], &[i64], Option<&mut [T]>) -> f64 + 'a {
    let eps = opts.label_smoothing.to_f64();
    let w = opts.weight;
    let w_sum = if eps > 0.0 { weight_sum(w, cols) } else { 0.0 };
    move |row, t, g| ce_row(row, first(t), opts.ignore_index, w, eps, w_sum, gs, g)
}

/// Cross-entropy from logits with class-index targets, reduced:
/// `ℓ_i = (1-ε) w_{t_i} (-log p_{i,t_i}) + (ε/C) Σ_c w_c (-log p_{i,c})` with
/// `log p = log_softmax(logits)` per row; [`Reduction::Mean`] divides `Σ_i ℓ_i` by
/// `Σ_i w_{t_i}` over the non-ignored rows (PyTorch: the smoothing term too), and returns
/// 0 when that is 0 (PyTorch: NaN). Ignored rows take no part anywhere.
///
/// Domain: any logits; `targets[i]` in `0..cols` or equal to `ignore_index`.
/// Special rows: a NaN logit gives a NaN loss and a NaN gradient row; `+inf` and all-`-inf`
/// rows follow the [`crate::softmax`](mod@crate::softmax) row policy (`+inf` entries share the probability; a
/// fully masked row has `p = 0`, `log p = -inf`, so loss `+inf` and gradient
/// `-(1-ε) w_t` at the target); a `-inf` logit at the target gives `+inf`; a class of
/// weight 0 contributes 0 even at `log p = -inf` (PyTorch: NaN).
///
/// Zero counted targets: a [`Reduction::Mean`] over zero counted weight (every target
/// ignored, every counted weight 0, or no rows) returns 0 with a zero gradient; PyTorch
/// returns NaN (0/0). A batch of padding only is valid input and must not poison a step.
///
/// Accuracy: each row's loss is computed in `f64` from the row's exact `log1p(S_rest)` and
/// `x_t - M`, so the result is within 2 ULP (f32) / 4 ULP (f64) of the exact value, relative
/// accuracy included for confidently correct rows (`[80, 0]`, target 0: `1.8049e-35` in
/// f32, where peers return 0).
///
/// # Errors
/// [`Error::InvalidShape`] (`cols` 0 or not dividing `logits.len()`);
/// [`Error::LengthMismatch`] for `targets` (must have one entry per row) or `weight` (must
/// have `cols`); [`Error::InvalidParameter`] for a `weight` element that is negative or not
/// finite, or `label_smoothing` outside `[0, 1]` or NaN; [`Error::IndexOutOfRange`] naming
/// the position of the first bad target.
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy, CrossEntropyOptions, Reduction};
/// let logits = [80.0f32, 0.0, 1.0, 2.0];
/// let opts = CrossEntropyOptions::default();
/// let l = cross_entropy(&logits[..2], &[0], 2, &opts, Reduction::Mean)?;
/// assert!((l / 1.8048514e-35 - 1.0).abs() < 1e-6);
/// let opts = CrossEntropyOptions { ignore_index: Some(-100), ..Default::default() };
/// let l = cross_entropy(&logits, &[0, -100], 2, &opts, Reduction::Mean)?;
/// assert!(l > 0.0 && l < 1e-34); // the ignored row takes no part
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Reduction,
) -> Result<T, Error> {
    ce_engine(logits, targets, cols, opts, Some(reduction), None, None)
}

/// Per-row cross-entropy (reduction "none"): `out[i] = ℓ_i` as in [`cross_entropy`], 0 for
/// ignored rows. Accuracy: 2 ULP (f32) / 4 ULP (f64).
///
/// # Errors
/// As [`cross_entropy`], and [`Error::LengthMismatch`] naming `out` unless it has one entry
/// per row.
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy_none, CrossEntropyOptions};
/// let mut out = [0.0f64; 2];
/// cross_entropy_none(&[0.0, 0.0, 3.0, 3.0], &[1, 0], 2, &CrossEntropyOptions::default(), &mut out)?;
/// assert_eq!(out, [core::f64::consts::LN_2; 2]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy_none<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    out: &mut [T],
) -> Result<(), Error> {
    ce_engine(logits, targets, cols, opts, None, Some(out), None).map(|_| ())
}

/// [`cross_entropy`] and its gradient with respect to the logits, fused: after each row's
/// max-and-sum pass, one pass writes
/// `grad[i, k] = s [p_k ((1-ε) w_t + (ε/C) W) - (1-ε) w_t δ_{k t} - (ε/C) w_k]`
/// (`W = Σ_c w_c`, `s = 1/Σ w_{t_i}` for Mean, 1 for Sum; rows of ignored targets get 0;
/// all zeros when the mean has zero counted weight). The target entry uses
/// `p_t - 1 = expm1(log p_t)`: relative accuracy when `p_t → 1`.
///
/// Accuracy of the gradient: within 4 ULP (f32) / 6 ULP (f64) of the exact value per entry,
/// except where the smoothing term `(ε/C) w_k` cancels `p_k A`, where the error is at most
/// that many ULP of `p_k A`. This holds also where the factor `s A` is beyond the type's
/// range while an entry is not (f64 class weights of 1e38 with a mean over weights of
/// 1e-300): such rows are written by a scalar path that forms each `p_k s A` from
/// `e^{x_k - M}` and the factor's mantissa and exponent, so an entry is `±inf` only where
/// its exact value exceeds the range.
///
/// # Errors
/// As [`cross_entropy`], and [`Error::LengthMismatch`] naming `grad` unless it has the
/// logits' length.
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy_with_grad, CrossEntropyOptions, Reduction};
/// let mut g = [0.0f32; 2];
/// let opts = CrossEntropyOptions::default();
/// let l = cross_entropy_with_grad(&[0.0f32, 0.0], &[1], 2, &opts, Reduction::Sum, &mut g)?;
/// assert_eq!(g, [0.5, -0.5]);
/// assert!((l - core::f32::consts::LN_2).abs() < 1e-7);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy_with_grad<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    ce_engine(
        logits,
        targets,
        cols,
        opts,
        Some(reduction),
        None,
        Some(grad),
    )
}

/// Per-row cross-entropy and, per row, the gradient of that row's loss with respect to its
/// logits (no `1/N` factor). Ignored rows: loss 0, gradient 0.
///
/// # Errors
/// As [`cross_entropy_none`] and [`cross_entropy_with_grad`].
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy_none_with_grad, CrossEntropyOptions};
/// let (mut out, mut g) = ([0.0f64; 2], [0.0f64; 4]);
/// let opts = CrossEntropyOptions { ignore_index: Some(-1), ..Default::default() };
/// cross_entropy_none_with_grad(&[0.0, 0.0, 5.0, 1.0], &[0, -1], 2, &opts, &mut out, &mut g)?;
/// assert_eq!(g, [-0.5, 0.5, 0.0, 0.0]);
/// assert_eq!(out[1], 0.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy_none_with_grad<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    ce_engine(logits, targets, cols, opts, None, Some(out), Some(grad)).map(|_| ())
}

// ------------------------------------------------------------------------------------------
// Probability targets.

#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(nonlin_outline), inline(always))]
fn ce_probs_row_on<B: Family, T: Float>(
    row: &[T],
    tr: &[T],
    w: Option<&[T]>,
    eps: f64,
    gscale: f64,
    mut g: Option<&mut [T]>,
) -> f64 {
    let c = row.len() as f64;
    let keep = Ln::<B, T>::splat(T::from_f64(1.0 - eps));
    let add = Ln::<B, T>::splat(T::from_f64(eps / c));
    let one = Ln::<B, T>::splat(T::ONE);
    let has_w = w.is_some();
    // c_k = w_k ((1-ε) t_k + ε/C), the smoothed weighted target.
    let ck = |t: Ln<B, T>, wv: Ln<B, T>| {
        let tp = if eps > 0.0 { t.mul_add(keep, add) } else { t };
        if has_w { tp * wv } else { tp }
    };
    // A = Σ c_k (one pass over targets and weights). Padding lanes of the tail hold t = 0
    // and w = 0: with weights they add nothing, but an unweighted smoothed c_k would add
    // ε/C for each of them, so without weights A is formed as (1-ε) Σ t_k + ε instead
    // (Σ_k ε/C over the C real columns).
    let mut acc = Acc::<B>::new();
    walk!(<B, T> (tr, T::ZERO, w, None, None) |t, wv, _| {
        acc.add(if has_w { ck(t, wv) } else { t });
        zero()
    });
    let (ah, al) = acc.total();
    // A smoothing factor ε/C below T's normal range is a subnormal with few significant
    // bits in the lanes, and a large weight or spread makes its products normal numbers
    // (f32 ε = 1e-40 over C = 2 times a spread of 6e38): such rows are formed in f64
    // (where f32's ε/C is normal; f64's goes through `smoothed_target`).
    let tiny = eps > 0.0 && eps / c < T::MIN_POSITIVE.to_f64();
    let a = if tiny && has_w {
        let mut a = (0.0f64, 0.0f64);
        for (j, &t) in tr.iter().enumerate() {
            a = dd_add_f64(a, smoothed_target(eps, c, t.to_f64(), weight_of(w, j)));
        }
        a.0 + a.1
    } else if has_w || eps == 0.0 {
        ah + al
    } else {
        (1.0 - eps) * (ah + al) + eps
    };
    let st = row_stats::<B, T, T, false>(row, T::ONE);
    match st.kind {
        Kind::Normal if tiny => ce_probs_row_wide(row, tr, w, eps, gscale, &st, g),
        Kind::Normal => {
            let nm = Ln::<B, T>::splat(T::from_f64(-st.m));
            let ml = Ln::<B, T>::splat(T::from_f64(st.m));
            let (ih, il) = st.inv_sum();
            let (ch, cl, kk) = write_factor::<B, T>((ih * a * gscale, il * a * gscale));
            let gs = Ln::<B, T>::splat(T::from_f64(gscale));
            let has_grad = g.is_some();
            let mut b = Acc::<B>::new();
            // Fused: B = Σ c_k (M - x_k) (exact differences; c_k = 0 contributes 0 even at a
            // -inf logit) and grad_k = s (p_k A - c_k).
            let mut k = 0usize;
            let n = Ln::<B, T>::LANES;
            let mut gdst = g.as_deref_mut();
            while k < row.len() {
                let end = (k + n).min(row.len());
                let xs = row.get(k..end).unwrap_or(&[]);
                let ts = tr.get(k..end).unwrap_or(&[]);
                let x = load_pad::<B, T, T>(xs, T::from_f64(st.m));
                let t = load_pad::<B, T, T>(ts, T::ZERO);
                let wv = match w {
                    Some(w) => load_pad::<B, T, T>(w.get(k..end).unwrap_or(&[]), T::ZERO),
                    None => one,
                };
                let cv = ck(t, wv);
                let (d, de) = two_sum_l(ml, -x);
                let nz = cv.eq(zero());
                b.add_prod(cv, Ln::<B, T>::select(nz, zero(), d));
                b.add_prod(cv, Ln::<B, T>::select(nz, zero(), clean(de)));
                if has_grad {
                    let e = term::<Ln<B, T>, false>(x, nm, one, kk);
                    let r = e.mul_add(ch, e * cl) - gs * cv;
                    if let Some(gc) = gdst.as_deref_mut().and_then(|g| g.get_mut(k..end)) {
                        for (dd, s) in gc.iter_mut().zip(r.to_array().as_ref()) {
                            *dd = *s;
                        }
                    }
                }
                k = end;
            }
            let (bh, bl) = b.total();
            let (lh, ll) = st.log_sum();
            if !(a.is_finite() && bh.is_finite()) {
                return ce_probs_row_wide(row, tr, w, eps, gscale, &st, g);
            }
            // ℓ = Σ c_k (ln S - (x_k - M)) = A ln S + B.
            a * (lh + ll) + (bh + bl)
        }
        Kind::Nan => {
            fill(&mut g, T::NAN);
            f64::NAN
        }
        _ => {
            let mut loss = 0.0;
            for (j, (&v, &t)) in row.iter().zip(tr).enumerate() {
                let (p, lp) = special_p_logp(&st, v);
                let cj = smoothed_target(eps, c, t.to_f64(), weight_of(w, j));
                loss += wnl(cj, lp);
                set(&mut g, j, gscale * (p * a - cj));
            }
            loss
        }
    }
}

/// [`ce_probs_row_on`] for a normal row whose lanes overflowed: a spread `M - x_k` beyond
/// `T::MAX` (f32 `[3e38, -3e38]`: the difference is inf in the lanes, while `c_k (M - x_k)`
/// may be a finite loss), or a smoothed weighted target `c_k` or their sum `A` beyond
/// `T::MAX` (f32 weights of 1e38: `inf * 0` gave NaN for a finite loss). In scalar `f64`,
/// where every `f32` case is finite: `A = Σ c_k` and `B = Σ c_k (M - x_k)` in double-double,
/// the differences halved (`2 Σ c_k (M/2 - x_k/2)`) so that an `f64` row's spread stays
/// finite too; `p_k = e^{x_k - M} / S` with the difference carried exactly. An `f64` row
/// whose `c_k` or `A` exceed `f64::MAX` still gives inf or NaN (documented on
/// [`cross_entropy_probs`]). Also every normal row whose smoothing `ε/C` is below `T`'s
/// normal range (see `ce_probs_row_on`).
#[cold]
#[inline(never)]
fn ce_probs_row_wide<T: Float>(
    row: &[T],
    tr: &[T],
    w: Option<&[T]>,
    eps: f64,
    gscale: f64,
    st: &Stats,
    mut g: Option<&mut [T]>,
) -> f64 {
    let c = row.len() as f64;
    let ck = |j: usize, t: T| smoothed_target(eps, c, t.to_f64(), weight_of(w, j));
    let (mut a, mut b) = ((0.0f64, 0.0f64), (0.0f64, 0.0f64));
    let hm = 0.5 * st.m;
    for (j, (&x, &t)) in row.iter().zip(tr).enumerate() {
        let cj = ck(j, t);
        a = dd_add_f64(a, cj);
        if cj != 0.0 {
            let (p, pe) = two_prod(cj, hm - 0.5 * x.to_f64());
            b = dd_add(b, (p, if pe.is_finite() { pe } else { 0.0 }));
        }
    }
    let a = a.0 + a.1;
    let (lh, ll) = st.log_sum();
    let loss = a * (lh + ll) + 2.0 * (b.0 + b.1);
    if g.is_some() {
        let (ih, il) = st.inv_sum();
        let f = (ih + il) * a * gscale;
        for (j, (&x, &t)) in row.iter().zip(tr).enumerate() {
            let e = exp_diff64(x.to_f64(), st.m, 1.0);
            set(&mut g, j, e * f - gscale * ck(j, t));
        }
    }
    loss
}

#[allow(clippy::too_many_arguments)]
fn ce_probs_engine<T: Float>(
    logits: &[T],
    target: &[T],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Option<Reduction>,
    out: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<T, Error> {
    let (d, gs) = cross_entropy_probs_prepare(
        logits.len(),
        target.len(),
        cols,
        opts,
        reduction,
        out.as_deref().map(<[T]>::len),
        grad.as_deref().map(<[T]>::len),
    )?;
    let sink = Sink { out, losses: None };
    let eps = opts.label_smoothing.to_f64();
    Ok(drive(
        logits,
        target,
        cols,
        cols,
        d,
        reduction,
        sink,
        grad,
        |row, tr, g| ce_probs_row(row, tr, opts.weight, eps, gs.scale, g),
    ))
}

/// Cross-entropy from logits with class-probability targets (PyTorch's soft-label form):
/// `ℓ_i = -Σ_c w_c t'_{i,c} log p_{i,c}` with `t' = (1-ε) t + ε/C`; [`Reduction::Mean`]
/// divides by the number of rows (PyTorch; not by the weights), 0 for no rows.
/// `ignore_index` is not used. Targets are taken as given (not checked to sum to 1); a
/// target probability of 0 contributes 0 even where `log p = -inf`.
///
/// Accuracy: 4 ULP (f32) / 6 ULP (f64) for targets without cancellation between classes.
/// Rows whose spread `max - x_c` or weighted targets `w_c t'_c` exceed `T::MAX`, or whose
/// `ε/C` is below `T`'s normal range, are computed in `f64` (f32 `[3e38, -3e38]` with a
/// target of `1e-10` on the second entry gives a finite loss); an `f64` row whose `w_c t'_c` or their sum exceed `f64::MAX`
/// gives inf or NaN.
///
/// # Errors
/// [`Error::InvalidShape`] for `cols`; [`Error::LengthMismatch`] naming `target` (must
/// have the logits' length) or `weight`; [`Error::InvalidParameter`] for `weight` elements
/// or `label_smoothing`.
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy_probs, CrossEntropyOptions, Reduction};
/// let l = cross_entropy_probs(&[0.0f64, 0.0], &[0.25, 0.75], 2, &CrossEntropyOptions::default(), Reduction::Mean)?;
/// assert!((l - core::f64::consts::LN_2).abs() < 1e-15);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy_probs<T: Float>(
    logits: &[T],
    target: &[T],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Reduction,
) -> Result<T, Error> {
    ce_probs_engine(logits, target, cols, opts, Some(reduction), None, None)
}

/// Per-row [`cross_entropy_probs`] (reduction "none").
///
/// # Errors
/// As [`cross_entropy_probs`], and [`Error::LengthMismatch`] naming `out`.
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy_probs_none, CrossEntropyOptions};
/// let mut out = [0.0f32; 1];
/// cross_entropy_probs_none(&[0.0f32, 0.0], &[1.0, 0.0], 2, &CrossEntropyOptions::default(), &mut out)?;
/// assert_eq!(out[0], core::f32::consts::LN_2);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy_probs_none<T: Float>(
    logits: &[T],
    target: &[T],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    out: &mut [T],
) -> Result<(), Error> {
    ce_probs_engine(logits, target, cols, opts, None, Some(out), None).map(|_| ())
}

/// [`cross_entropy_probs`] with its gradient, fused:
/// `grad[i, k] = s (p_k Σ_c c_c - c_k)`, `c_k = w_k t'_k`, `s = 1/rows` for Mean.
///
/// # Errors
/// As [`cross_entropy_probs`], and [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy_probs_with_grad, CrossEntropyOptions, Reduction};
/// let mut g = [0.0f64; 2];
/// cross_entropy_probs_with_grad(&[0.0, 0.0], &[0.25, 0.75], 2, &CrossEntropyOptions::default(), Reduction::Sum, &mut g)?;
/// assert_eq!(g, [0.25, -0.25]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy_probs_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    ce_probs_engine(
        logits,
        target,
        cols,
        opts,
        Some(reduction),
        None,
        Some(grad),
    )
}

/// Per-row [`cross_entropy_probs`] and each row's gradient (no `1/N`).
///
/// # Errors
/// As [`cross_entropy_probs_none`] and [`cross_entropy_probs_with_grad`].
///
/// # Example
/// ```
/// use nonlin::loss::{cross_entropy_probs_none_with_grad, CrossEntropyOptions};
/// let (mut out, mut g) = ([0.0f32; 1], [0.0f32; 2]);
/// cross_entropy_probs_none_with_grad(&[0.0f32, 0.0], &[0.0, 1.0], 2, &CrossEntropyOptions::default(), &mut out, &mut g)?;
/// assert_eq!(g, [0.5, -0.5]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn cross_entropy_probs_none_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    ce_probs_engine(logits, target, cols, opts, None, Some(out), Some(grad)).map(|_| ())
}

// ------------------------------------------------------------------------------------------
// nll_loss.

/// Loss of one `nll_loss` row, gradient (`-scale ν w_t` at the target) written to `g`.
#[inline]
fn nll_row<T: Float>(
    row: &[T],
    t: i64,
    opts: &NllOptions<'_, T>,
    gs: GradScale,
    mut g: Option<&mut [T]>,
) -> f64 {
    fill(&mut g, T::ZERO);
    if Some(t) == opts.ignore_index {
        return 0.0;
    }
    let k = t as usize;
    let wt = weight_of(opts.weight, k) * gs.weight_scale;
    let lp = row.get(k).map_or(0.0, |v| v.to_f64());
    set(&mut g, k, -wt * gs.scale);
    if lp.is_nan() { lp } else { wnl(wt, lp) }
}

#[allow(clippy::too_many_arguments)]
fn nll_engine<T: Float>(
    logp: &[T],
    targets: &[i64],
    cols: usize,
    opts: &NllOptions<'_, T>,
    reduction: Option<Reduction>,
    out: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<T, Error> {
    let (d, gs) = nll_loss_prepare(
        logp.len(),
        targets,
        cols,
        opts,
        reduction,
        out.as_deref().map(<[T]>::len),
        grad.as_deref().map(<[T]>::len),
    )?;
    let sink = Sink { out, losses: None };
    Ok(drive(
        logp,
        targets,
        cols,
        1,
        d,
        reduction,
        sink,
        grad,
        |row, t, g| nll_row(row, first(t), opts, gs, g),
    ))
}

/// Negative log-likelihood on log-probabilities (PyTorch's `nll_loss`):
/// `ℓ_i = -w_{t_i} logp[i, t_i]`; [`Reduction::Mean`] divides by `Σ w_{t_i}` over the
/// non-ignored rows (0 when that is 0; PyTorch: NaN). A weight of 0 gives 0 even at
/// `logp = -inf`.
///
/// Accuracy: the products are exact to one rounding; the reduction is the crate's
/// double-double block sum: within 1 ULP (f32) / 2 ULP (f64).
///
/// # Errors
/// [`Error::InvalidShape`] for `cols`; [`Error::LengthMismatch`] naming `targets` or
/// `weight`; [`Error::InvalidParameter`] for a bad `weight` element;
/// [`Error::IndexOutOfRange`] naming the position of the first bad target.
///
/// # Example
/// ```
/// use nonlin::loss::{nll_loss, NllOptions, Reduction};
/// let logp = [-0.5f32, -1.5, -2.0, -0.25];
/// let l = nll_loss(&logp, &[1, 1], 2, &NllOptions::default(), Reduction::Mean)?;
/// assert_eq!(l, 0.875);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn nll_loss<T: Float>(
    logp: &[T],
    targets: &[i64],
    cols: usize,
    opts: &NllOptions<'_, T>,
    reduction: Reduction,
) -> Result<T, Error> {
    nll_engine(logp, targets, cols, opts, Some(reduction), None, None)
}

/// Per-row [`nll_loss`] (0 for ignored rows).
///
/// # Errors
/// As [`nll_loss`], and [`Error::LengthMismatch`] naming `out`.
///
/// # Example
/// ```
/// use nonlin::loss::{nll_loss_none, NllOptions};
/// let mut out = [0.0f64; 2];
/// nll_loss_none(&[-0.5, -1.5, -2.0, -0.25], &[0, 1], 2, &NllOptions::default(), &mut out)?;
/// assert_eq!(out, [0.5, 0.25]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn nll_loss_none<T: Float>(
    logp: &[T],
    targets: &[i64],
    cols: usize,
    opts: &NllOptions<'_, T>,
    out: &mut [T],
) -> Result<(), Error> {
    nll_engine(logp, targets, cols, opts, None, Some(out), None).map(|_| ())
}

/// [`nll_loss`] with its gradient with respect to `logp`: `-s w_{t_i}` at `[i, t_i]`, 0
/// elsewhere (`s = 1/Σ w_t` for Mean, 1 for Sum; 0 for ignored rows).
///
/// # Errors
/// As [`nll_loss`], and [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{nll_loss_with_grad, NllOptions, Reduction};
/// let mut g = [9.0f32; 4];
/// nll_loss_with_grad(&[-0.5f32, -1.5, -2.0, -0.25], &[1, 0], 2, &NllOptions::default(), Reduction::Mean, &mut g)?;
/// assert_eq!(g, [0.0, -0.5, -0.5, 0.0]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn nll_loss_with_grad<T: Float>(
    logp: &[T],
    targets: &[i64],
    cols: usize,
    opts: &NllOptions<'_, T>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    nll_engine(logp, targets, cols, opts, Some(reduction), None, Some(grad))
}

/// Per-row [`nll_loss`] and each row's gradient.
///
/// # Errors
/// As [`nll_loss_none`] and [`nll_loss_with_grad`].
///
/// # Example
/// ```
/// use nonlin::loss::{nll_loss_none_with_grad, NllOptions};
/// let (mut out, mut g) = ([0.0f64; 1], [0.0f64; 2]);
/// let w = [2.0, 3.0];
/// let opts = NllOptions { weight: Some(&w), ignore_index: None };
/// nll_loss_none_with_grad(&[-0.5, -1.5], &[1], 2, &opts, &mut out, &mut g)?;
/// assert_eq!((out[0], g), (4.5, [0.0, -3.0]));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn nll_loss_none_with_grad<T: Float>(
    logp: &[T],
    targets: &[i64],
    cols: usize,
    opts: &NllOptions<'_, T>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    nll_engine(logp, targets, cols, opts, None, Some(out), Some(grad)).map(|_| ())
}

// ------------------------------------------------------------------------------------------
// Softmax focal loss.

/// `(q^γ (-lp), G)` for `lp = log p_t <= 0` given as a double-double `(hi, lo)`,
/// `q = 1 - p_t = -expm1(lp)`, with `G = q^γ + γ p_t (-lp) q^{γ-1}` (the gradient factor),
/// in log space: finite for every `γ >= 0` including `γ < 1` as `p_t → 1`.
fn focal_terms((lp, lp_lo): (f64, f64), gamma: f64) -> (f64, f64) {
    if lp.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    if lp == f64::NEG_INFINITY {
        // p_t = 0: q = 1, loss +inf, G = 1.
        return (f64::INFINITY, 1.0);
    }
    // p_t = e^{hi} e^{lo} = e^{hi} (1 + lo): lo is below an ulp of hi. Dropping it would
    // leave p_t (and ln q ≈ -p_t below) with the relative error |lp| u of the rounded
    // log p_t, which γ ln q multiplies (γ = 9e9, p_t = 1.4e-8: 561 ULP, now 21; a fuzz
    // finding).
    let e = exp64(lp);
    let pt = e + e * lp_lo;
    // q = -expm1(hi) - p_t lo, the same first-order correction.
    let q = -expm1_64(lp) - pt * lp_lo;
    let nlp = -lp - lp_lo;
    if q <= 0.0 || nlp <= 0.0 {
        // p_t = 1: the loss is 0 and so is the gradient, except 0^0 = 1 for γ = 0 (plain
        // cross-entropy, whose loss -lp is 0 here too).
        return (0.0, if gamma == 0.0 { 1.0 } else { 0.0 });
    }
    if gamma == 0.0 {
        return (nlp, 1.0);
    }
    // ln q: for p_t < 1/2 as log1p(-p_t), since q = 1 - p_t rounds to 1 when p_t is tiny and
    // ln q would lose the -p_t that γ ln q magnifies; for p_t >= 1/2, q = -expm1(lp) is
    // exact to a rounding and ln q is accurate.
    let lq = if lp < -core::f64::consts::LN_2 {
        log1p64(-pt)
    } else {
        ln64(q)
    };
    let qg = exp64(gamma * lq);
    // γ p (-lp) q^{γ-1} = γ p exp(ln(-lp) + (γ-1) ln q): -lp ≈ q as p → 1, so this tends
    // to γ q^γ, never inf * 0.
    let t2 = gamma * pt * exp64(ln64(nlp) + (gamma - 1.0) * lq);
    (qg * nlp, qg + t2)
}

#[allow(clippy::too_many_arguments)]
fn focal_engine<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &FocalOptions<'_, T>,
    reduction: Option<Reduction>,
    out: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<T, Error> {
    let (d, gs) = softmax_focal_loss_prepare(
        logits.len(),
        targets,
        cols,
        opts,
        reduction,
        out.as_deref().map(<[T]>::len),
        grad.as_deref().map(<[T]>::len),
    )?;
    let sink = Sink { out, losses: None };
    let gamma = opts.gamma.to_f64();
    Ok(drive(
        logits,
        targets,
        cols,
        1,
        d,
        reduction,
        sink,
        grad,
        |row, t, g| focal_row(row, first(t), opts, gamma, gs.scale, g),
    ))
}

/// Multi-class (softmax) focal loss from logits:
/// `ℓ_i = -α_{t_i} (1 - p_{i,t_i})^γ log p_{i,t_i}`, `p = softmax(logits)` per row.
/// [`Reduction::Mean`] divides by the number of non-ignored rows (0 when there are none).
///
/// The focal factor is computed in log space from `log p_t` (itself free of cancellation):
/// `1 - p_t = -expm1(log p_t)`, `(1 - p_t)^γ = e^{γ ln(1 - p_t)}`, so saturated rows
/// (`p_t → 1`) give finite, relatively accurate values and gradients for every `γ >= 0`,
/// including `γ < 1` where `(1-p)^{γ-1}` is unbounded. `γ = 0` is weighted cross-entropy.
///
/// Accuracy (value and gradient): f32 within 4 ULP (the row is computed in `f64`; measured
/// 0.5 / 2.5). f64 within `8 + 3 (γ |ln q| + |γ-1| |ln q| + |ln(-log p_t)|)` ULP,
/// `q = 1 - p_t`: the focal factor is `e^{γ ln q}` evaluated in `f64`, so its argument's
/// rounding grows with `|γ ln q|` (relevant only for tiny factors, e.g. `q^γ < 1e-100`).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `gamma` unless finite and `>= 0`, or `alpha` for a
/// negative or non-finite element; [`Error::LengthMismatch`] naming `targets` or `alpha`;
/// [`Error::InvalidShape`] for `cols`; [`Error::IndexOutOfRange`] for a bad target.
///
/// # Example
/// ```
/// use nonlin::loss::{softmax_focal_loss, FocalOptions, Reduction};
/// let opts = FocalOptions { gamma: 0.5f32, ..Default::default() };
/// // A saturated, correct row: finite and relatively accurate, not 0 or NaN.
/// let l = softmax_focal_loss(&[30.0f32, 0.0], &[0], 2, &opts, Reduction::Sum)?;
/// let want = (-30.0f64).exp().powf(1.5); // (1-p)^0.5 * (-log p), both ≈ e^-30
/// assert!((l as f64 / want - 1.0).abs() < 1e-6);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_focal_loss<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &FocalOptions<'_, T>,
    reduction: Reduction,
) -> Result<T, Error> {
    focal_engine(logits, targets, cols, opts, Some(reduction), None, None)
}

/// Per-row [`softmax_focal_loss`] (0 for ignored rows).
///
/// # Errors
/// As [`softmax_focal_loss`], and [`Error::LengthMismatch`] naming `out`.
///
/// # Example
/// ```
/// use nonlin::loss::{softmax_focal_loss_none, FocalOptions};
/// let mut out = [0.0f64; 1];
/// let opts = FocalOptions { gamma: 2.0, ..Default::default() };
/// softmax_focal_loss_none(&[0.0, 0.0], &[0], 2, &opts, &mut out)?;
/// assert!((out[0] - 0.25 * core::f64::consts::LN_2).abs() < 1e-16);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_focal_loss_none<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &FocalOptions<'_, T>,
    out: &mut [T],
) -> Result<(), Error> {
    focal_engine(logits, targets, cols, opts, None, Some(out), None).map(|_| ())
}

/// [`softmax_focal_loss`] with its gradient with respect to the logits, fused:
/// `grad[i, k] = s α_t G (p_k - δ_{k t})`, `G = (1-p_t)^γ + γ p_t (-log p_t) (1-p_t)^{γ-1}`
/// (`s = 1/N` counted rows for Mean).
///
/// # Errors
/// As [`softmax_focal_loss`], and [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{softmax_focal_loss_with_grad, FocalOptions, Reduction};
/// let mut g = [0.0f64; 2];
/// let opts = FocalOptions { gamma: 0.0, ..Default::default() };
/// softmax_focal_loss_with_grad(&[0.0, 0.0], &[1], 2, &opts, Reduction::Mean, &mut g)?;
/// assert_eq!(g, [0.5, -0.5]); // gamma = 0: cross-entropy
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_focal_loss_with_grad<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &FocalOptions<'_, T>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    focal_engine(
        logits,
        targets,
        cols,
        opts,
        Some(reduction),
        None,
        Some(grad),
    )
}

/// Per-row [`softmax_focal_loss`] and each row's gradient.
///
/// # Errors
/// As [`softmax_focal_loss_none`] and [`softmax_focal_loss_with_grad`].
///
/// # Example
/// ```
/// use nonlin::loss::{softmax_focal_loss_none_with_grad, FocalOptions};
/// let (mut out, mut g) = ([0.0f32; 1], [0.0f32; 2]);
/// let opts = FocalOptions { gamma: 0.3, ..Default::default() };
/// softmax_focal_loss_none_with_grad(&[40.0f32, 0.0], &[0], 2, &opts, &mut out, &mut g)?;
/// assert!(out[0] > 0.0 && g[0] < 0.0 && g[1] > 0.0 && g.iter().all(|v| v.is_finite()));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn softmax_focal_loss_none_with_grad<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &FocalOptions<'_, T>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    focal_engine(logits, targets, cols, opts, None, Some(out), Some(grad)).map(|_| ())
}

// ------------------------------------------------------------------------------------------
// Row driver, and the pieces for callers that split the rows across threads
// (`nonlin-parallel`).
//
// A reduced row loss is `finish(sum_losses(ℓ_0, ℓ_1, ...), D)`: the rows' `f64` losses are
// summed in blocks of `BLOCK` rows combined in order (non-finite losses kept aside), then
// divided by the mean's denominator `D`. The functions below expose those steps, so that a
// caller computing the rows on several threads gets the one-call bits: `*_prepare` checks
// the whole input exactly as the one-call function (it *is* the one-call function's check)
// and returns `(D, grad_scale)`; `*_rows` computes the `f64` losses (and gradient rows) of
// a piece of whole rows; `row_losses_partial` sums a piece of losses starting at a multiple
// of `BLOCK` rows; `finish_row_losses` turns the in-order combination into the reduced
// value.

/// Where [`drive`] writes each row's loss: rounded to `T` (`_none` forms) and/or as `f64`
/// (the `*_rows` pieces).
struct Sink<'a, T> {
    out: Option<&'a mut [T]>,
    losses: Option<&'a mut [f64]>,
}

/// A row's class index: the one element of its `targets` chunk (`per = 1`).
#[inline(always)]
fn first(t: &[i64]) -> i64 {
    t.first().copied().unwrap_or_default()
}

/// Runs `row(logits row, its targets, its gradient row)` over the rows (`per` targets per
/// row: 1 class index, or `cols` probabilities), writes the losses to `sink`, and returns
/// the reduced value (`T::ZERO` without a reduction). Arguments are checked by the caller.
#[allow(clippy::too_many_arguments)]
fn drive<T: Float, U>(
    x: &[T],
    tgt: &[U],
    cols: usize,
    per: usize,
    d: f64,
    reduction: Option<Reduction>,
    sink: Sink<'_, T>,
    grad: Option<&mut [T]>,
    mut row: impl FnMut(&[T], &[U], Option<&mut [T]>) -> f64,
) -> T {
    if cols == 0 || per == 0 {
        // Never taken (the callers' checks refuse `cols = 0`); it lets the compiler drop
        // the zero-size assertions of the `chunks_exact` below, the last panic paths here.
        return T::ZERO;
    }
    let Sink { mut out, losses } = sink;
    let mut gi = grad.map(|g| g.chunks_exact_mut(cols));
    let mut li = losses.map(<[f64]>::iter_mut);
    let it = x
        .chunks_exact(cols)
        .zip(tgt.chunks_exact(per))
        .enumerate()
        .map(|(i, (r, t))| {
            let l = row(r, t, gi.as_mut().and_then(|it| it.next()));
            if let Some(o) = out.as_deref_mut().and_then(|o| o.get_mut(i)) {
                *o = T::from_f64(l);
            }
            if let Some(s) = li.as_mut().and_then(|it| it.next()) {
                *s = l;
            }
            l
        });
    if reduction.is_none() {
        it.for_each(drop);
        return T::ZERO;
    }
    finish(sum_losses(it), d, reduction)
}

/// The `*_rows` pieces: the piece's checks (`prepare` with `out_len = losses.len()`), the
/// scale's, then [`drive`] into `losses`.
#[allow(clippy::too_many_arguments)]
fn rows_piece<T: Float, U>(
    x: &[T],
    tgt: &[U],
    cols: usize,
    per: usize,
    prepare: Result<(f64, GradScale), Error>,
    grad_scale: GradScale,
    losses: &mut [f64],
    grad: Option<&mut [T]>,
    row: impl FnMut(&[T], &[U], Option<&mut [T]>) -> f64,
) -> Result<(), Error> {
    prepare?;
    grad_scale.check()?;
    let sink = Sink {
        out: None,
        losses: Some(losses),
    };
    drive(x, tgt, cols, per, 1.0, None, sink, grad, row);
    Ok(())
}

/// Checks the arguments of [`cross_entropy`] (`reduction: Some(..)`) or
/// [`cross_entropy_none`] (`None`, with `out_len`) and their `_with_grad` forms
/// (`grad_len`) as those functions do, and returns the mean's denominator and the
/// gradient scale they use (see [`GradScale`]).
///
/// # Errors
/// As [`cross_entropy`] and its variants.
#[doc(hidden)]
pub fn cross_entropy_prepare<T: Float>(
    logits_len: usize,
    targets: &[i64],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Option<Reduction>,
    out_len: Option<usize>,
    grad_len: Option<usize>,
) -> Result<(f64, GradScale), Error> {
    check_index_loss(
        logits_len,
        cols,
        targets,
        opts.ignore_index,
        ("weight", opts.weight),
        out_len,
        grad_len,
    )?;
    check_smoothing(opts.label_smoothing)?;
    Ok(denominator(
        targets,
        opts.ignore_index,
        opts.weight,
        reduction,
    ))
}

/// The `f64` losses of a piece of whole rows of [`cross_entropy`] written to `losses` (one
/// per row), and the gradient rows scaled by `grad_scale` (from [`cross_entropy_prepare`]
/// on the whole input) to `grad` when given.
///
/// # Errors
/// As [`cross_entropy`] for the piece (target positions are relative to the piece);
/// [`Error::LengthMismatch`] naming `out` for `losses` and `grad`;
/// [`Error::InvalidParameter`] naming `grad_scale` if it is not finite.
#[doc(hidden)]
pub fn cross_entropy_rows<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    grad_scale: GradScale,
    losses: &mut [f64],
    grad: Option<&mut [T]>,
) -> Result<(), Error> {
    let lens = (Some(losses.len()), grad.as_deref().map(<[T]>::len));
    let prep = cross_entropy_prepare(logits.len(), targets, cols, opts, None, lens.0, lens.1);
    let row = ce_rows_fn(cols, opts, grad_scale);
    rows_piece(
        logits, targets, cols, 1, prep, grad_scale, losses, grad, row,
    )
}

/// Checks the arguments of [`cross_entropy_probs`] and its variants (see
/// [`cross_entropy_prepare`]) and returns the mean's denominator and the gradient scale.
///
/// # Errors
/// As [`cross_entropy_probs`] and its variants.
#[doc(hidden)]
pub fn cross_entropy_probs_prepare<T: Float>(
    logits_len: usize,
    target_len: usize,
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    reduction: Option<Reduction>,
    out_len: Option<usize>,
    grad_len: Option<usize>,
) -> Result<(f64, GradScale), Error> {
    let rows = check_cols(logits_len, cols)?;
    check_len("target", logits_len, target_len)?;
    check_weights("weight", opts.weight, cols)?;
    if let Some(n) = out_len {
        check_len("out", rows, n)?;
    }
    if let Some(n) = grad_len {
        check_len("grad", logits_len, n)?;
    }
    check_smoothing(opts.label_smoothing)?;
    // PyTorch: the mean over probability targets divides by the number of rows.
    Ok(count_mean(rows as f64, reduction))
}

/// `(D, 1/D)` of a mean over `n` counted rows (0 scale for none), `(1, 1)` otherwise.
fn count_mean(n: f64, reduction: Option<Reduction>) -> (f64, GradScale) {
    match reduction {
        Some(Reduction::Mean) => (n, GradScale::plain(if n > 0.0 { 1.0 / n } else { 0.0 })),
        _ => (1.0, GradScale::plain(1.0)),
    }
}

/// The `f64` losses of a piece of whole rows of [`cross_entropy_probs`] (see
/// [`cross_entropy_rows`]).
///
/// # Errors
/// As [`cross_entropy_probs`] for the piece; [`Error::LengthMismatch`] naming `out` for
/// `losses`; [`Error::InvalidParameter`] naming `grad_scale` if it is not finite.
#[doc(hidden)]
pub fn cross_entropy_probs_rows<T: Float>(
    logits: &[T],
    target: &[T],
    cols: usize,
    opts: &CrossEntropyOptions<'_, T>,
    grad_scale: GradScale,
    losses: &mut [f64],
    grad: Option<&mut [T]>,
) -> Result<(), Error> {
    let lens = (Some(losses.len()), grad.as_deref().map(<[T]>::len));
    let prep =
        cross_entropy_probs_prepare(logits.len(), target.len(), cols, opts, None, lens.0, lens.1);
    let eps = opts.label_smoothing.to_f64();
    rows_piece(
        logits,
        target,
        cols,
        cols,
        prep,
        grad_scale,
        losses,
        grad,
        |row, tr, g| ce_probs_row(row, tr, opts.weight, eps, grad_scale.scale, g),
    )
}

/// Checks the arguments of [`nll_loss`] and its variants (see [`cross_entropy_prepare`])
/// and returns the mean's denominator and the gradient scale.
///
/// # Errors
/// As [`nll_loss`] and its variants.
#[doc(hidden)]
pub fn nll_loss_prepare<T: Float>(
    logp_len: usize,
    targets: &[i64],
    cols: usize,
    opts: &NllOptions<'_, T>,
    reduction: Option<Reduction>,
    out_len: Option<usize>,
    grad_len: Option<usize>,
) -> Result<(f64, GradScale), Error> {
    check_index_loss(
        logp_len,
        cols,
        targets,
        opts.ignore_index,
        ("weight", opts.weight),
        out_len,
        grad_len,
    )?;
    Ok(denominator(
        targets,
        opts.ignore_index,
        opts.weight,
        reduction,
    ))
}

/// The `f64` losses of a piece of whole rows of [`nll_loss`] (see [`cross_entropy_rows`]).
///
/// # Errors
/// As [`nll_loss`] for the piece; [`Error::LengthMismatch`] naming `out` for `losses`;
/// [`Error::InvalidParameter`] naming `grad_scale` if it is not finite.
#[doc(hidden)]
pub fn nll_loss_rows<T: Float>(
    logp: &[T],
    targets: &[i64],
    cols: usize,
    opts: &NllOptions<'_, T>,
    grad_scale: GradScale,
    losses: &mut [f64],
    grad: Option<&mut [T]>,
) -> Result<(), Error> {
    let lens = (Some(losses.len()), grad.as_deref().map(<[T]>::len));
    let prep = nll_loss_prepare(logp.len(), targets, cols, opts, None, lens.0, lens.1);
    rows_piece(
        logp,
        targets,
        cols,
        1,
        prep,
        grad_scale,
        losses,
        grad,
        |row, t, g| nll_row(row, first(t), opts, grad_scale, g),
    )
}

/// Checks the arguments of [`softmax_focal_loss`] and its variants (see
/// [`cross_entropy_prepare`]) and returns the mean's denominator and the gradient scale.
///
/// # Errors
/// As [`softmax_focal_loss`] and its variants.
#[doc(hidden)]
pub fn softmax_focal_loss_prepare<T: Float>(
    logits_len: usize,
    targets: &[i64],
    cols: usize,
    opts: &FocalOptions<'_, T>,
    reduction: Option<Reduction>,
    out_len: Option<usize>,
    grad_len: Option<usize>,
) -> Result<(f64, GradScale), Error> {
    check_index_loss(
        logits_len,
        cols,
        targets,
        opts.ignore_index,
        ("alpha", opts.alpha),
        out_len,
        grad_len,
    )?;
    let gamma = opts.gamma.to_f64();
    if !(gamma.is_finite() && gamma >= 0.0) {
        return Err(Error::InvalidParameter {
            name: "gamma",
            value: gamma,
            requirement: "finite and >= 0",
        });
    }
    // Mean over the non-ignored rows (torchvision's focal loss averages elements).
    let ignore = opts.ignore_index;
    let counted = targets.iter().filter(|&&t| Some(t) != ignore).count() as f64;
    Ok(count_mean(counted, reduction))
}

/// The `f64` losses of a piece of whole rows of [`softmax_focal_loss`] (see
/// [`cross_entropy_rows`]).
///
/// # Errors
/// As [`softmax_focal_loss`] for the piece; [`Error::LengthMismatch`] naming `out` for
/// `losses`; [`Error::InvalidParameter`] naming `grad_scale` if it is not finite.
#[doc(hidden)]
pub fn softmax_focal_loss_rows<T: Float>(
    logits: &[T],
    targets: &[i64],
    cols: usize,
    opts: &FocalOptions<'_, T>,
    grad_scale: GradScale,
    losses: &mut [f64],
    grad: Option<&mut [T]>,
) -> Result<(), Error> {
    let lens = (Some(losses.len()), grad.as_deref().map(<[T]>::len));
    let prep = softmax_focal_loss_prepare(logits.len(), targets, cols, opts, None, lens.0, lens.1);
    let gamma = opts.gamma.to_f64();
    rows_piece(
        logits,
        targets,
        cols,
        1,
        prep,
        grad_scale,
        losses,
        grad,
        |row, t, g| focal_row(row, first(t), opts, gamma, grad_scale.scale, g),
    )
}

/// Loss of one focal-loss row (f64), gradient (times `gscale`) written to `g`.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn focal_row_on<B: Family, T: Float>(
    row: &[T],
    t: i64,
    opts: &FocalOptions<'_, T>,
    gamma: f64,
    gscale: f64,
    mut g: Option<&mut [T]>,
) -> f64 {
    if Some(t) == opts.ignore_index {
        fill(&mut g, T::ZERO);
        return 0.0;
    }
    let k = t as usize;
    let at = weight_of(opts.alpha, k);
    let xt = row.get(k).copied().unwrap_or(T::ZERO);
    let st = row_stats::<B, T, f64, false>(row, 1.0);
    match st.kind {
        Kind::Normal => {
            let lp2 = logp_normal(&st, xt);
            let lp = lp2.0 + lp2.1;
            let (lq, gf) = focal_terms(lp2, gamma);
            let a = gscale * at * gf;
            let (ih, il) = st.inv_sum();
            if g.is_some() {
                normal_pass::<B, T>(
                    row,
                    &st,
                    None,
                    1.0,
                    (ih * a, il * a),
                    0.0,
                    false,
                    g.as_deref_mut(),
                );
                set(&mut g, k, a * expm1_64(lp));
            }
            if at == 0.0 { 0.0 } else { at * lq }
        }
        Kind::Nan => {
            fill(&mut g, T::NAN);
            f64::NAN
        }
        _ => {
            let (pt, lpt) = special_p_logp(&st, xt);
            let (lq, gf) = if pt > 0.0 && pt < 1.0 {
                focal_terms((lpt, 0.0), gamma)
            } else {
                focal_terms(
                    (if pt >= 1.0 { 0.0 } else { f64::NEG_INFINITY }, 0.0),
                    gamma,
                )
            };
            let a = gscale * at * gf;
            for (j, &v) in row.iter().enumerate() {
                let (p, _) = special_p_logp(&st, v);
                set(&mut g, j, a * (p - if j == k { 1.0 } else { 0.0 }));
            }
            if at == 0.0 { 0.0 } else { at * lq }
        }
    }
}

/// The partial sum of a piece of row losses that starts at a multiple of
/// [`crate::reduce::BLOCK`] rows: `(finite part, non-finite part)`, where the finite part is
/// the block sum of the finite losses (a non-finite loss counts as 0 in its place) and the
/// non-finite part is the plain sum of the non-finite ones (0 if none; NaN, `+inf` or
/// `-inf` otherwise). Pieces are combined in order: the finite parts with
/// [`crate::reduce::Dd::add`] from [`crate::reduce::Dd::ZERO`], the non-finite parts with
/// `+` from 0.
#[doc(hidden)]
pub fn row_losses_partial(losses: &[f64]) -> (crate::reduce::Dd, f64) {
    let mut special = 0.0;
    let total = sum_f64(losses.iter().map(|&v| {
        if v.is_finite() {
            v
        } else {
            special += v;
            0.0
        }
    }));
    (total, special)
}

/// The reduced value of a row loss from the in-order combination of its
/// [`row_losses_partial`]s and the denominator `d` from its `*_prepare` function: the same
/// bits as the one-call function.
#[doc(hidden)]
pub fn finish_row_losses<T: Float>(
    total: crate::reduce::Dd,
    special: f64,
    d: f64,
    reduction: Reduction,
) -> T {
    // `sum_losses`: any NaN (or +inf with -inf) is NaN (its canonical bits, whatever NaN
    // the arithmetic made), else an infinity wins.
    let total = if special.is_nan() {
        f64::NAN
    } else if special == 0.0 {
        total.value()
    } else {
        special
    };
    finish(total, d, Some(reduction))
}
