//! Binary losses: binary cross-entropy on probabilities, binary cross-entropy from logits
//! (with per-element `weight` and per-class `pos_weight`) and the sigmoid focal loss, with
//! PyTorch / torchvision semantics and fused gradients.
//!
//! The logit forms never subtract large numbers: with `e = exp(-|x|)` and
//! `l = log1p(e)`, `softplus(x) = max(x, 0) + l = -log σ(-x)` and
//! `softplus(-x) = max(-x, 0) + l = -log σ(x)` are sums of non-negative terms, and
//! `bce_with_logits = pw t softplus(-x) + (1 - t) softplus(x)` is again a sum of
//! non-negative terms for `t` in `[0, 1]`. PyTorch evaluates
//! `(1 - t) x + max(-x, 0) + log(exp(-max) + exp(-x - max))`, which cancels when `x` is
//! large and negative: at f32 `x = -17.3`, `t = 3e-8` it is 2.4e7 ULP wrong; here it is
//! within the stated few ULP.

use super::Reduction;
use super::regression::{check_lens, check_scale, finish_loss, grad_scale, reduce_with};
use crate::driver;
use crate::error::{Error, check_len};
use crate::float::Float;
use crate::lane::Lane;
use crate::reduce::Dd;
use crate::vmath;
use core::cell::Cell;

type Ln<T> = <T as Float>::Lane;

#[cfg_attr(not(nonlin_outline), inline(always))]
fn zero<L: Lane>() -> L {
    L::splat(<L::Scalar as Float>::ZERO)
}
#[cfg_attr(not(nonlin_outline), inline(always))]
fn one<L: Lane>() -> L {
    L::splat(<L::Scalar as Float>::ONE)
}

/// The logistic pieces of `x`, all from `e = exp(-|x|)` (never overflows):
/// `(e, e_lo, log1p(e), σ(x), σ(-x))`, `e_lo` the rounding error of `e`'s last addition
/// (see [`vmath::exp_parts`]; unused parts cost nothing once inlined). The sigmoids are
/// within about 1.5 ULP (the rounding of `1 + e` is corrected to first order, as in the
/// sigmoid kernel).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn logistic<L: Lane>(x: L) -> (L, L, L, L, L) {
    let (e, e_lo) = vmath::exp_parts(-x.abs());
    let l = vmath::log1p(e);
    let d = one::<L>() + e;
    let err = (one::<L>() - d) + e;
    let c = err / d;
    let big = one::<L>() / d;
    let big = (-big).mul_add(c, big);
    let small = e / d;
    let small = (-small).mul_add(c, small);
    let pos = x.ge(zero());
    (
        e,
        e_lo,
        l,
        L::select(pos, big, small),
        L::select(pos, small, big),
    )
}

/// `c * v` with `0 * anything = 0`: an exactly-zero coefficient removes its term even where
/// the term is infinite (the limit the loss takes as the coefficient goes to 0).
#[cfg_attr(not(nonlin_outline), inline(always))]
fn coef<L: Lane>(c: L, v: L) -> L {
    L::select(c.eq(zero()), zero(), c * v)
}

/// `a b c` with the largest and the smallest magnitude multiplied first, then the middle
/// one. The first product cannot overflow unless the whole does (`|big small| > MAX` with
/// `|small| <= |mid|` forces `|big small mid| > MAX` or `|big| > MAX`), and it underflows
/// while the whole is normal only when `small` is itself subnormal (an absolute error of
/// at most half a subnormal ULP times `|mid|`). So the weight of a term is applied without
/// the spurious overflow (`0 * inf = NaN`, or `inf` for a tiny weight) or underflow of a
/// fixed order. NaN in any factor propagates.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn prod3<L: Lane>(a: L, b: L, c: L) -> L {
    let a_top = a.abs().ge(b.abs());
    let (hi, lo) = (L::select(a_top, a, b), L::select(a_top, b, a));
    let c_top = c.abs().ge(hi.abs());
    let c_bot = c.abs().le(lo.abs());
    let big = L::select(c_top, c, hi);
    let small = L::select(c_top, lo, L::select(c_bot, c, lo));
    let mid = L::select(c_top, hi, L::select(c_bot, lo, c));
    (big * small) * mid
}

/// The term `w c v` of a weight `w`, a coefficient `c` and a softplus `v`: 0 where `c` is
/// exactly 0 (whatever `v`, as [`coef`]) or `w` is exactly 0 and `v` is not NaN (a weight
/// of 0 removes the element even at `x = ±inf`), else [`prod3`].
#[cfg_attr(not(nonlin_outline), inline(always))]
fn weighted<L: Lane>(w: L, c: L, v: L) -> L {
    // (v == v: v is not NaN.)
    let gone = c.eq(zero()).or(w.eq(zero()).and(v.eq(v)));
    L::select(gone, zero(), prod3(w, c, v))
}

/// `w r s`: `(w r) s`, unless `w r` overflows where the scaled product does not (f32
/// `w = MAX`, `r = 1e3`, `s = 1/8`): then `(w s) r`. Scaling first everywhere would instead
/// flush `w s` to 0 for a subnormal `w` before a large `r` multiplies it. Where `w r`
/// overflows, `|w| > MAX / |r| >= 1` (`r` is finite), so `|w s| > |s|`: the second order
/// adds no underflow of its own. Two roundings either way.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn weight_then_scale<L: Lane>(w: L, r: L, s: L) -> L {
    let wr = w * r;
    L::select(wr.is_inf(), (w * s) * r, wr * s)
}

/// Lane kernel of [`bce_with_logits`]: `(loss, s d loss / d x)` for logit `x`, target `t`,
/// weight `w`, positive weight `pw`, with the gradient multiplied by the reduction's scale
/// `s`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn bce_with_logits_lane<L: Lane>(x: L, t: L, w: L, pw: L, s_red: L) -> (L, L) {
    let (_, _, l, s, sn) = logistic(x);
    let sp_pos = x.max(zero()) + l; // softplus(x) = -log σ(-x)
    let sp_neg = (-x).max(zero()) + l; // softplus(-x) = -log σ(x)
    let sp_pos = L::select(x.is_nan(), x, sp_pos);
    let sp_neg = L::select(x.is_nan(), x, sp_neg);
    let pwt = pw * t;
    let omt = one::<L>() - t;
    // The weight goes into each term's product (not onto the unweighted sum, which can
    // overflow for finite inputs: x = -f32::MAX, pw t = 24, w = 1e-10 is 8e29, not inf).
    let (a, b) = (weighted(w, pwt, sp_neg), weighted(w, omt, sp_pos));
    let loss = a + b;
    // Both terms overflowed with opposite signs (a negative pos_weight: f32 x = 2, t = 0.25,
    // w = -MAX, pw = -104 is 5.8e38, not NaN): for f32 the lane is formed again in f64,
    // where every product of three f32 is finite, and rounded once. (An f64 element there
    // stays NaN, as documented.)
    let clash = a.is_inf().and(b.is_inf()).and(loss.is_nan());
    let loss = if <L::Scalar as Float>::MANTISSA_DIGITS < 53 && !L::none(clash) {
        let (mut la, aa, ba) = (loss.to_array(), a.to_array(), b.to_array());
        let (wa, pa, oa) = (w.to_array(), pwt.to_array(), omt.to_array());
        let (na, qa) = (sp_neg.to_array(), sp_pos.to_array());
        for (i, l) in la.as_mut().iter_mut().enumerate() {
            let at = |v: &<L as Lane>::Array| v.as_ref().get(i).map_or(0.0, |e| e.to_f64());
            let (ai, bi) = (at(&aa), at(&ba));
            if ai.is_infinite() && bi.is_infinite() && (ai + bi).is_nan() {
                let wi = at(&wa);
                let v = wi * at(&pa) * at(&na) + wi * at(&oa) * at(&qa);
                *l = <L::Scalar as Float>::from_f64(v);
            }
        }
        L::from_array(la)
    } else {
        loss
    };
    // d/dx: (1 - t) σ(x) - pw t σ(-x); each product keeps relative accuracy in both tails.
    // The weight may overflow the unscaled gradient where the mean's is in range (f32
    // x = 0, t = 0.0118, pw = -104, w = -MAX, N = 19: w r = -3.8e38, the gradient -2.0e37;
    // a fuzz finding).
    let g = weight_then_scale(w, omt * s - pwt * sn, s_red);
    // pw t below the normal range (f32 pw = 1e-30, t = 1e-15: 1e-45 rounds to 1.4e-45, 40%
    // off) loses the bits a large weight would bring back into range (w = 1e30 makes the
    // term 5e-15). For f32 such lanes are formed again in f64, where a product of four f32
    // factors is neither subnormal nor rounded more than twice, and rounded once to f32.
    // (f64 has no wider type: its pw t is rounded into the subnormals, as documented.)
    if <L::Scalar as Float>::MANTISSA_DIGITS < 53 {
        let small = pwt.abs().lt(L::splat(<L::Scalar as Float>::MIN_POSITIVE));
        let lost = L::select(pw.eq(zero()).or(t.eq(zero())), zero(), small);
        if !L::none(lost) {
            return rescue_small_pw_t(lost, [t, w, pw, s_red], [sp_neg, sp_pos, s, sn], (loss, g));
        }
    }
    (loss, g)
}

/// The lanes of `lost` of [`bce_with_logits_lane`] (`f32`), formed in `f64` from the inputs
/// `[t, w, pw, s]` and the logistic pieces `[softplus(-x), softplus(x), σ(x), σ(-x)]`:
/// the loss `w pw t softplus(-x) + w (1 - t) softplus(x)` (a zero weight removing a term as
/// [`weighted`] does) and the gradient `w ((1 - t) σ(x) - pw t σ(-x)) s`, each rounded once.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn rescue_small_pw_t<L: Lane>(lost: L, inputs: [L; 4], pieces: [L; 4], lanes: (L, L)) -> (L, L) {
    let arr = |v: L| v.to_array();
    let [t, w, pw, sr] = inputs.map(arr);
    let [spn, spp, sg, sgn] = pieces.map(arr);
    let (mut la, mut ga) = (lanes.0.to_array(), lanes.1.to_array());
    let m = lost.to_array();
    let at = |v: &L::Array, i: usize| v.as_ref().get(i).map_or(0.0, |e| e.to_f64());
    let term = |w: f64, c: f64, v: f64| {
        if c == 0.0 || (w == 0.0 && !v.is_nan()) {
            0.0
        } else {
            w * c * v
        }
    };
    for i in 0..L::LANES {
        // A mask element is all ones (NaN as a float) or zero.
        if at(&m, i) == 0.0 {
            continue;
        }
        let (ti, wi) = (at(&t, i), at(&w, i));
        let pwt = at(&pw, i) * ti;
        // 1 - t rounded as the lane rounds it (the same coefficient, not a more exact one).
        let omt = <L::Scalar as Float>::from_f64(1.0 - ti).to_f64();
        let loss = term(wi, pwt, at(&spn, i)) + term(wi, omt, at(&spp, i));
        let grad = wi * (omt * at(&sg, i) - pwt * at(&sgn, i)) * at(&sr, i);
        if let Some(l) = la.as_mut().get_mut(i) {
            *l = <L::Scalar as Float>::from_f64(loss);
        }
        if let Some(g) = ga.as_mut().get_mut(i) {
            *g = <L::Scalar as Float>::from_f64(grad);
        }
    }
    (L::from_array(la), L::from_array(ga))
}

/// Lane kernel of [`bce`]: `(loss, grad)` for probability `p`, target `t`, weight `w`, with
/// the gradient multiplied by the reduction's scale `s`.
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn bce_lane<L: Lane>(p: L, t: L, w: L, s: L) -> (L, L) {
    let floor = vmath::splat::<L>(-100.0);
    let lp = vmath::ln(p).max(floor);
    // log1p(-p) keeps relative accuracy for small p, where ln(1 - p) would round 1 - p.
    let lq = vmath::log1p(-p).max(floor);
    let omt = one::<L>() - t;
    let loss = -(w * t.mul_add(lp, omt * lq));
    let eps = vmath::splat::<L>(1e-12);
    let r = (p - t) / (p * (one::<L>() - p)).max(eps);
    // (Both orders of the scaling were fuzz findings, see `weight_then_scale`.)
    let g = weight_then_scale(w, r, s);
    (L::select(p.is_nan(), p, loss), L::select(p.is_nan(), p, g))
}

/// Lane kernel of [`sigmoid_focal_loss`]. `at` is the alpha weight already formed by the
/// caller's closure (or 1), `g` is gamma, `gamma_zero` skips the power (`q^0 = 1`, even
/// for `q = 0`, as torch's `0 ** 0 = 1`).
#[cfg_attr(not(nonlin_outline), inline(always))]
pub(crate) fn focal_lane<L: Lane>(x: L, t: L, at: L, g: L, gamma_zero: bool) -> (L, L) {
    let (e, e_lo, l, s, sn) = logistic(x);
    let ax = x.abs();
    let sp_pos = L::select(x.is_nan(), x, x.max(zero()) + l);
    let sp_neg = L::select(x.is_nan(), x, (-x).max(zero()) + l);
    let omt = one::<L>() - t;
    let ce = coef(t, sp_neg) + coef(omt, sp_pos);
    // q = 1 - p_t = (1 - t) σ(x) + t σ(-x) = (u + v e) / (1 + e), where u is the weight of
    // the sigmoid that is >= 1/2 and v the other one's.
    let pos = x.ge(zero());
    let u = L::select(pos, omt, t);
    let v = L::select(pos, t, omt);
    // k: a hard label on the correctly predicted side (u = 0, so v = 1): then
    // q = σ(-|x|) and ln q = -|x| - l, whose -|x| part is carried exactly below.
    let k = u.eq(zero());
    // 1 - t is rounded; its exact error (Fast2Sum, t in [0, 1]) goes back into u + v e.
    let omt_lo = (one::<L>() - omt) - t;
    let u_lo = L::select(pos, omt_lo, zero());
    let inner = L::select(k, one(), v.mul_add(e, u) + u_lo);
    // q^gamma, and 2^-K where it was computed as q^gamma 2^K (see below).
    let (qg, down) = if gamma_zero {
        (one(), one())
    } else {
        let v_lo = L::select(pos, zero(), omt_lo);
        let r_log = focal_ln_q_rest(e, e_lo, u, u_lo, v, v_lo, k, inner);
        // Hard labels (u = 0 or v = 0): ln q - k(-|x|) is exactly -ln(1 + e) = -l, the same
        // l as in ce, whose rounding then partly cancels in ce q^gamma (4.4 -> 3.7 ULP at
        // f32 gamma = 4 near x = 0 against the independently rounded quotient).
        let r_log = L::select(k.or(v.eq(zero())), -l, r_log);
        let kx = L::select(k, ax, zero());
        // gamma ln q = -gamma k|x| + gamma R, both products exact in two parts: the power
        // keeps relative accuracy however small q is (no rounding of a large logarithm),
        // and however close to 1 (gamma = 3e9 times ln q = -1e-12 is not rounded).
        let (h, lo) = L::two_prod(g, kx);
        let (sr, sr_lo) = vmath::two_prod_wide(g, r_log);
        let yh = sr - h;
        let bb = yh - sr;
        let ye = (sr - (yh - bb)) + (-h - bb);
        let yl = (ye - lo) + sr_lo;
        // (exp_scaled clamps its argument at -2000, where q^gamma 2^K is 0 in both types;
        // a huge gamma's low part, 1e67 for gamma = 5e83, must not enter its reduction.)
        let yl = L::select(yl.is_nan().or(yh.lt(vmath::splat(-2000.0))), zero(), yl);
        // A q^gamma below the normal range keeps few bits of its own, and the gradient
        // multiplies it by a bracket of up to gamma ce (f32 gamma = 1e4, x = 4.6: q^gamma
        // = 1e-43, bracket 457, 0.6% wrong): there q^gamma 2^K (K = bias - 32, normal, at
        // most 2^-24) is formed and 2^-K applied after the products, one final rounding.
        let c = <L::Scalar as Float>::VM;
        let tiny =
            yh.lt(L::splat(-(c.bias - <L::Scalar as Float>::from_f64(8.0))) * L::splat(c.ln2_hi));
        let kk = L::splat(c.bias - <L::Scalar as Float>::from_f64(32.0));
        let qs = vmath::exp_scaled(yh, yl, L::select(tiny, kk, zero()));
        (
            L::select(yh.is_nan(), yh, qs),
            L::select(tiny, L::pow2i(-kk), one()),
        )
    };
    let loss = (at * ce * qg) * down;
    // d/dx = at q^g [(σ - t) + g ce (1 - 2t) σ σ̄ / q]; σ σ̄ / q = e / ((1 + e) inner), which
    // is bounded by 1 and needs no division by a small q.
    let d = one::<L>() + e;
    let r = L::select(k, one::<L>() / d, e / (d * inner));
    // ce r is bounded (a huge ce, |x| ~ MAX on the wrong side, comes with r ~ e^-|x|):
    // forming it before the factor gamma avoids gamma ce = inf times r = 0 (NaN) at finite
    // x near -MAX (exact: ce r -> 0, so the bracket is (1 - t) σ - t σ̄).
    let second = g * (ce * ((one::<L>() - (t + t)) * r));
    let second = L::select(x.is_inf(), zero(), second);
    let bracket = (omt * s - t * sn) + second;
    (loss, (at * qg * bracket) * down)
}

/// `ln((u + v e) / (1 + e))` (or `ln(1 / (1 + e))` where `k`), the part of the focal
/// `ln q` that is not the exact `-|x|`. `ln q` is multiplied by gamma before the
/// exponential, so it needs relative accuracy also where `q` is within an ULP of 1 (a
/// soft label near 0 on the confident side) and where it is near 1/2: the numerator
/// `u + v e` (with the rounding errors `u_lo`, `v_lo` of `1 - t` and `e_lo` of `e`) and
/// the denominator `1 + e` are carried in two parts and divided in two parts, so only
/// the logarithm itself rounds. Numerators below the normal range (`t` subnormal, `e`
/// tiny) are formed from operands lifted by `2^p`, which the logarithm takes back.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(nonlin_outline), inline(always))]
fn focal_ln_q_rest<L: Lane>(e: L, e_lo: L, u: L, u_lo: L, v: L, v_lo: L, k: L, inner: L) -> L {
    let c = <L::Scalar as Float>::VM;
    let small = inner.lt(L::splat(<L::Scalar as Float>::MIN_POSITIVE));
    let lift = L::select(small, L::splat(c.two_pow_mant), one());
    let p = L::splat(<L::Scalar as Float>::from_f64(f64::from(
        <L::Scalar as Float>::MANTISSA_DIGITS,
    )));
    let kadj = L::select(small, -p, zero());
    let (es, els, us) = (e * lift, e_lo * lift, u * lift);
    let (pr, pr_lo) = L::two_prod(v, es);
    let (nh, n_lo) = vmath::two_sum(us, pr);
    let nl = n_lo + (pr_lo + v.mul_add(els, v_lo * es) + u_lo * lift);
    let nh = L::select(k, one(), nh);
    let nl = L::select(k, zero(), nl);
    // 1 + e exactly in two parts (Fast2Sum, e <= 1), plus e's own carried error.
    let dh = one::<L>() + e;
    let dl = ((one::<L>() - dh) + e) + e_lo;
    // (nh + nl) / (dh + dl): qh + ql, with the division's remainder computed exactly.
    let qh = nh / dh;
    let (ph, pl) = L::two_prod(qh, dh);
    let ql = (((nh - ph) - pl) + nl - qh * dl) / dh;
    vmath::ln_dw(qh, ql, kadj)
}

// ---------------------------------------------------------------------------------------
// argument checks

fn check_weight<T>(n: usize, weight: Option<&[T]>) -> Result<(), Error> {
    if let Some(w) = weight {
        check_len("weight", n, w.len())?;
    }
    Ok(())
}

/// `pos_weight` holds one value per class (the last dimension): non-empty, and (when
/// `whole` is set) dividing the slice length.
fn check_pos_weight<T>(n: usize, pos_weight: Option<&[T]>, whole: bool) -> Result<(), Error> {
    if let Some(pw) = pos_weight {
        let c = pw.len();
        if c == 0 || (whole && !n.is_multiple_of(c)) {
            return Err(Error::InvalidShape {
                name: "pos_weight.len()",
                value: c,
                len: n,
            });
        }
    }
    Ok(())
}

fn check_probabilities<T: Float>(pred: &[T]) -> Result<(), Error> {
    for &p in pred {
        // NaN passes (it is missing data and propagates), as does every value in [0, 1].
        if p < T::ZERO || p > T::ONE {
            return Err(Error::InvalidParameter {
                name: "pred",
                value: p.to_f64(),
                requirement: "a probability in [0, 1] (or NaN)",
            });
        }
    }
    Ok(())
}

/// Builds the `pos_weight` lane for consecutive chunks: element `j` of a chunk starting at
/// column `col` is `pos_weight[(col + j) % classes]`. The drivers and the reduction visit
/// the chunks in order, `LANES` elements apart, so a running column replaces the division.
struct PosWeightCursor<'a, T: Float> {
    pw: &'a [T],
    col: Cell<usize>,
}

impl<'a, T: Float> PosWeightCursor<'a, T> {
    fn new(pw: &'a [T], offset: usize) -> Self {
        let c = pw.len().max(1);
        PosWeightCursor {
            pw,
            col: Cell::new(offset % c),
        }
    }
    #[cfg_attr(not(nonlin_outline), inline(always))]
    fn next(&self) -> Ln<T> {
        let mut a = <Ln<T> as Lane>::Array::default();
        let mut c = self.col.get();
        let n = self.pw.len();
        for d in a.as_mut().iter_mut() {
            *d = self.pw.get(c).copied().unwrap_or(T::ONE);
            c += 1;
            if c >= n {
                c = 0;
            }
        }
        self.col.set(c);
        Ln::<T>::from_array(a)
    }
}

// ---------------------------------------------------------------------------------------
// bce_with_logits internals: one generic body for the four weight combinations.

fn bce_logits_sum<T: Float>(
    x: &[T],
    t: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    offset: usize,
    scale: T,
    grad: Option<&mut [T]>,
) -> Dd {
    // The scale is applied inside the lane (see `bce_with_logits_lane`); the driver's is 1.
    let (o, sv) = (Ln::<T>::splat(T::ONE), Ln::<T>::splat(scale));
    match (weight, pos_weight) {
        (None, None) => reduce_with(x, t, &[], T::ONE, grad, |x, t, _| {
            bce_with_logits_lane(x, t, o, o, sv)
        }),
        (Some(w), None) => reduce_with(x, t, w, T::ONE, grad, |x, t, w| {
            bce_with_logits_lane(x, t, w, o, sv)
        }),
        (None, Some(pw)) => {
            let cur = PosWeightCursor::new(pw, offset);
            reduce_with(x, t, &[], T::ONE, grad, |x, t, _| {
                bce_with_logits_lane(x, t, o, cur.next(), sv)
            })
        }
        (Some(w), Some(pw)) => {
            let cur = PosWeightCursor::new(pw, offset);
            reduce_with(x, t, w, T::ONE, grad, |x, t, w| {
                bce_with_logits_lane(x, t, w, cur.next(), sv)
            })
        }
    }
}

fn bce_logits_map<T: Float>(
    x: &[T],
    t: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    out: &mut [T],
    grad: Option<&mut [T]>,
) {
    let o = Ln::<T>::splat(T::ONE);
    let cur = PosWeightCursor::new(pos_weight.unwrap_or(&[]), 0);
    let has_pw = pos_weight.is_some();
    let w = weight.unwrap_or(x);
    let has_w = weight.is_some();
    let f = |x, t, w| {
        let pw = if has_pw { cur.next() } else { o };
        bce_with_logits_lane(x, t, if has_w { w } else { o }, pw, o)
    };
    match grad {
        Some(g) => driver::closure::map3_2out_unchecked(x, t, w, out, g, f),
        None => driver::closure::map3_unchecked(x, t, w, out, |x, t, w| f(x, t, w).0),
    }
}

fn bce_logits_checks<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    out: Option<&[T]>,
    grad: Option<&[T]>,
) -> Result<(), Error> {
    check_lens(logits, target, out, grad)?;
    check_weight(logits.len(), weight)?;
    check_pos_weight(logits.len(), pos_weight, true)
}

/// Binary cross-entropy from logits (PyTorch `binary_cross_entropy_with_logits`):
///
/// `ℓ_i = w_i [pw_c t_i softplus(-x_i) + (1 - t_i) softplus(x_i)]`
/// `    = -w_i [pw_c t_i log σ(x_i) + (1 - t_i) log σ(-x_i)]`,
///
/// reduced by `reduction` (the mean is over all elements, not over the weights, as in
/// PyTorch). `weight` (optional) has one value per element. `pos_weight` (optional) has one
/// value per class: the data is read as rows of `pos_weight.len()` classes (row-major, the
/// class is the last dimension), and element `i` uses `pw_c = pos_weight[i % classes]`.
///
/// Computed without cancellation: `softplus(±x) = max(±x, 0) + log1p(exp(-|x|))`, both
/// non-negative, so the loss is a sum of non-negative terms for `t` in `[0, 1]`.
///
/// Domain: every logit; targets are usually in `[0, 1]` (soft labels allowed; outside
/// `[0, 1]` the formula is evaluated as written, without the accuracy bound). Special
/// values: NaN in logits, targets or weights propagates. `x = ±inf` gives the limits
/// (`0` or `inf`); a coefficient that is exactly 0 (`t = 1` for the `(1 - t)` term, `t = 0`
/// or `pw = 0` for the other) removes its term even when the term is infinite, so
/// `x = +inf, t = 1` is `0` (PyTorch: NaN), and so does a weight of exactly 0. The weight
/// is multiplied into each term (largest and smallest factor first), not onto their sum,
/// so finite inputs give a finite loss wherever the exact loss is in range (f32
/// `x = -MAX, t = 0.25, pw = 96, w = 1e-10` is `8.2e29`; with `w = 0` it is 0, not NaN);
/// `+inf` only where the exact loss exceeds the range. A negative `pos_weight` makes the
/// two terms of opposite sign: where both overflow, f32 forms the element in f64 (finite
/// or `±inf` as the exact value is); f64 gives NaN there. Such terms cancel, so the bound
/// below is then relative to the larger term, not to their difference.
///
/// Accuracy (per element term, `t` in `[0, 1]`, weights 1): f32 ≤ 3 ULP, f64 ≤ 3 ULP
/// (measured 2.5 and 1.9 in `tests/tests/loss_binary.rs`); each weight adds one rounding. The reduced
/// value: double-double sum of the terms, rounded once. Where `pw t` falls below the normal
/// range (f32 `pw = 1e-30`, `t = 1e-15`), f32 forms the element and its gradient in `f64`
/// and rounds them once; in f64 such a `pw t` is rounded into the subnormals, an absolute
/// error of half a subnormal ULP times `w softplus(-x)`. Likewise a `softplus` or `σ` that
/// is itself subnormal (f32 `x < -87.3`) carries its own rounding into a weighted term.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `weight`; [`Error::InvalidShape`] naming
/// `pos_weight.len()` if it is 0 or does not divide the length.
///
/// # Example
/// ```
/// use nonlin::loss::{bce_with_logits, Reduction};
/// let l = bce_with_logits(&[0.0f32], &[1.0], None, None, Reduction::Mean)?;
/// assert!((l - core::f32::consts::LN_2).abs() < 1e-7);
/// // The f32 case where PyTorch's form is 2.4e7 ULP wrong (1.9e-6): 5.4967e-7 here.
/// let l = bce_with_logits(&[-17.3f32], &[3e-8], None, None, Reduction::Sum)?;
/// assert!((l as f64 - 5.4966939e-7).abs() < 1e-13);
/// // Two classes, positive weight 3 on the second.
/// let l = bce_with_logits(&[0.0f64, 0.0], &[1.0, 1.0], None, Some(&[1.0, 3.0]), Reduction::Sum)?;
/// assert!((l - 4.0 * core::f64::consts::LN_2).abs() < 1e-15);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_logits<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    reduction: Reduction,
) -> Result<T, Error> {
    bce_logits_checks(logits, target, weight, pos_weight, None, None)?;
    let s = bce_logits_sum(logits, target, weight, pos_weight, 0, T::ONE, None);
    Ok(finish_loss(s, logits.len(), reduction))
}

/// Element-wise [`bce_with_logits`] (reduction "none"). Same formula, special values and
/// accuracy.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`, `weight` or `out`; [`Error::InvalidShape`]
/// naming `pos_weight.len()`.
///
/// # Example
/// ```
/// let mut o = [0.0f64; 2];
/// nonlin::loss::bce_with_logits_none(&[40.0, -40.0], &[0.0, 1.0], None, None, &mut o)?;
/// assert_eq!(o, [40.0, 40.0]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_logits_none<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    out: &mut [T],
) -> Result<(), Error> {
    bce_logits_checks(logits, target, weight, pos_weight, Some(out), None)?;
    bce_logits_map(logits, target, weight, pos_weight, out, None);
    Ok(())
}

/// [`bce_with_logits`] and its gradient in one pass:
/// `grad[i] = s w_i [(1 - t_i) σ(x_i) - pw_c t_i σ(-x_i)]`
/// (`= s w_i [σ(x_i) (pw_c t_i + 1 - t_i) - pw_c t_i]`), with `s = 1/N` for the mean and
/// `1` for the sum. The two products keep relative accuracy in both tails (for `t = 1`,
/// `x = 30` the gradient is `-σ(-30) ≈ -9.4e-14`, not 0). Accuracy (weights 1): hard
/// labels ≤ 4 ULP (f32, f64); soft labels ≤ 4 ULP of `(1 - t) σ(x) + pw t σ(-x)` (the two
/// products cancel at the gradient's zero, `σ(x) = t` for `pw = 1`). The scale `s` is
/// applied before the weight where `w_i [...]` alone would overflow, so a huge weight gives
/// a finite mean gradient wherever the exact one is in range (f32 `w = -MAX`, `N = 19`:
/// `-2.0e37`, not `-inf`).
///
/// # Errors
/// As [`bce_with_logits`], plus [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{bce_with_logits_with_grad, Reduction};
/// let mut g = [0.0f32; 2];
/// let l = bce_with_logits_with_grad(&[0.0, 0.0], &[1.0, 0.0], None, None, Reduction::Mean, &mut g)?;
/// assert!((l - core::f32::consts::LN_2).abs() < 1e-7);
/// assert_eq!(g, [-0.25, 0.25]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_logits_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    bce_logits_checks(logits, target, weight, pos_weight, None, Some(grad))?;
    let scale = grad_scale(logits.len(), reduction);
    let s = bce_logits_sum(logits, target, weight, pos_weight, 0, scale, Some(grad));
    Ok(finish_loss(s, logits.len(), reduction))
}

/// Element-wise [`bce_with_logits`] and its gradient (see [`bce_with_logits_with_grad`]).
///
/// # Errors
/// As [`bce_with_logits_none`], plus [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f64; 1], [0.0f64; 1]);
/// nonlin::loss::bce_with_logits_none_with_grad(&[0.0], &[1.0], Some(&[2.0]), None, &mut o, &mut g)?;
/// assert_eq!(g[0], -1.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_logits_none_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    bce_logits_checks(logits, target, weight, pos_weight, Some(out), Some(grad))?;
    bce_logits_map(logits, target, weight, pos_weight, out, Some(grad));
    Ok(())
}

/// Unreduced [`Dd`] sum of the [`bce_with_logits`] terms of one piece of a larger slice
/// (see [`crate::loss::mse_partial`] for the splitting contract). `weight` is the piece's
/// part of the weights; `pos_weight` is the whole per-class vector and `offset` the
/// position of the piece's first element in the whole slice (its column is
/// `offset % classes`). The piece need not hold whole rows.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`, `weight` or `grad`; [`Error::InvalidShape`]
/// naming `pos_weight.len()` if it is empty; [`Error::InvalidParameter`] naming
/// `grad_scale` if it is not finite.
///
/// # Example
/// ```
/// let d = nonlin::loss::bce_with_logits_partial(&[0.0f64], &[1.0], None, Some(&[1.0, 3.0]), 1, 1.0, None)?;
/// assert!((d.value() - 3.0 * core::f64::consts::LN_2).abs() < 1e-15);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_logits_partial<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    offset: usize,
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    check_lens(logits, target, None, grad.as_deref())?;
    check_weight(logits.len(), weight)?;
    check_pos_weight(logits.len(), pos_weight, false)?;
    check_scale(grad_scale)?;
    Ok(bce_logits_sum(
        logits, target, weight, pos_weight, offset, grad_scale, grad,
    ))
}

// ---------------------------------------------------------------------------------------
// bce on probabilities

fn bce_checks<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    out: Option<&[T]>,
    grad: Option<&[T]>,
) -> Result<(), Error> {
    check_lens(pred, target, out, grad)?;
    check_weight(pred.len(), weight)?;
    check_probabilities(pred)
}

fn bce_sum<T: Float>(
    p: &[T],
    t: &[T],
    weight: Option<&[T]>,
    scale: T,
    grad: Option<&mut [T]>,
) -> Dd {
    // The scale is applied inside the lane (see `bce_lane`); the driver's is 1, exact.
    let (o, sv) = (Ln::<T>::splat(T::ONE), Ln::<T>::splat(scale));
    match weight {
        None => reduce_with(p, t, &[], T::ONE, grad, |p, t, _| bce_lane(p, t, o, sv)),
        Some(w) => reduce_with(p, t, w, T::ONE, grad, |p, t, w| bce_lane(p, t, w, sv)),
    }
}

fn bce_map<T: Float>(
    p: &[T],
    t: &[T],
    weight: Option<&[T]>,
    out: &mut [T],
    grad: Option<&mut [T]>,
) {
    let o = Ln::<T>::splat(T::ONE);
    let has_w = weight.is_some();
    let w = weight.unwrap_or(p);
    let f = |p, t, w| bce_lane(p, t, if has_w { w } else { o }, o);
    match grad {
        Some(g) => driver::closure::map3_2out_unchecked(p, t, w, out, g, f),
        None => driver::closure::map3_unchecked(p, t, w, out, |p, t, w| f(p, t, w).0),
    }
}

/// Binary cross-entropy on probabilities (PyTorch `binary_cross_entropy`):
/// `ℓ_i = -w_i [t_i max(ln p_i, -100) + (1 - t_i) max(ln(1 - p_i), -100)]`, reduced by
/// `reduction` (the mean is over all elements). `weight` (optional) has one value per
/// element.
///
/// The logarithms are clamped at -100 as in PyTorch, so `p = 0` or `1` gives a finite loss
/// (at most `100 w`) and `0 * log 0` never makes a NaN. `ln(1 - p)` is evaluated as
/// `log1p(-p)`, relatively accurate for small `p`. Prefer [`bce_with_logits`] when logits
/// are available: it needs no clamp.
///
/// Domain: `pred` in `[0, 1]` (checked), targets usually in `[0, 1]`. Special values: NaN in
/// `pred` (accepted: PyTorch rejects it), `target` or `weight` propagates.
///
/// Accuracy (per term, `t` in `[0, 1]`, weight 1, unclamped): f32 ≤ 3 ULP, f64 ≤ 3 ULP.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target` or `weight`; [`Error::InvalidParameter`] naming
/// `pred` and the first value outside `[0, 1]`. Nothing is computed then.
///
/// # Example
/// ```
/// use nonlin::loss::{bce, Reduction};
/// let l = bce(&[0.5f32, 0.0], &[1.0, 1.0], None, Reduction::Sum)?;
/// assert!((l - (core::f32::consts::LN_2 + 100.0)).abs() < 1e-5);
/// assert!(bce(&[1.5f32], &[1.0], None, Reduction::Sum).is_err());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    reduction: Reduction,
) -> Result<T, Error> {
    bce_checks(pred, target, weight, None, None)?;
    let s = bce_sum(pred, target, weight, T::ONE, None);
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise [`bce`]. Same formula, clamp, special values and accuracy.
///
/// # Errors
/// As [`bce`], plus [`Error::LengthMismatch`] naming `out`.
///
/// # Example
/// ```
/// let mut o = [0.0f64; 1];
/// nonlin::loss::bce_none(&[1.0], &[0.0], None, &mut o)?;
/// assert_eq!(o[0], 100.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_none<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    out: &mut [T],
) -> Result<(), Error> {
    bce_checks(pred, target, weight, Some(out), None)?;
    bce_map(pred, target, weight, out, None);
    Ok(())
}

/// [`bce`] and its gradient in one pass, with PyTorch's gradient convention
/// `grad[i] = s w_i (p_i - t_i) / max(p_i (1 - p_i), 1e-12)` (`s = 1/N` for the mean, `1`
/// for the sum). This is the exact derivative of the unclamped loss wherever
/// `p (1 - p) >= 1e-12`; the floor keeps it finite at `p = 0` and `p = 1`.
/// Gradient accuracy: ≤ 3 ULP where the floor is not active.
///
/// # Errors
/// As [`bce`], plus [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{bce_with_grad, Reduction};
/// let mut g = [0.0f32; 1];
/// bce_with_grad(&[0.25], &[1.0], None, Reduction::Sum, &mut g)?;
/// assert_eq!(g[0], -4.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    bce_checks(pred, target, weight, None, Some(grad))?;
    let scale = grad_scale(pred.len(), reduction);
    let s = bce_sum(pred, target, weight, scale, Some(grad));
    Ok(finish_loss(s, pred.len(), reduction))
}

/// Element-wise [`bce`] and its gradient (see [`bce_with_grad`]).
///
/// # Errors
/// As [`bce`], plus [`Error::LengthMismatch`] naming `out` or `grad`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f64; 1], [0.0f64; 1]);
/// nonlin::loss::bce_none_with_grad(&[0.5], &[0.0], None, &mut o, &mut g)?;
/// assert_eq!(g[0], 2.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_none_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    bce_checks(pred, target, weight, Some(out), Some(grad))?;
    bce_map(pred, target, weight, out, Some(grad));
    Ok(())
}

/// Unreduced [`Dd`] sum of the [`bce`] terms of one piece; see
/// [`crate::loss::mse_partial`].
///
/// # Errors
/// As [`bce`], plus [`Error::LengthMismatch`] naming `grad` and
/// [`Error::InvalidParameter`] naming `grad_scale`.
///
/// # Example
/// ```
/// let d = nonlin::loss::bce_partial(&[1.0f32], &[0.0], None, 1.0, None)?;
/// assert_eq!(d.value(), 100.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_partial<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    bce_checks(pred, target, weight, None, grad.as_deref())?;
    check_scale(grad_scale)?;
    Ok(bce_sum(pred, target, weight, grad_scale, grad))
}

// ---------------------------------------------------------------------------------------
// sigmoid focal loss

fn focal_params<T: Float>(alpha: T, gamma: T) -> Result<(), Error> {
    let a = alpha.to_f64();
    if !(a.is_finite() && a <= 1.0) {
        return Err(Error::InvalidParameter {
            name: "alpha",
            value: a,
            requirement: "finite and <= 1 (in [0, 1], or negative to disable)",
        });
    }
    let g = gamma.to_f64();
    if !(g.is_finite() && g >= 0.0) {
        return Err(Error::InvalidParameter {
            name: "gamma",
            value: g,
            requirement: "finite and >= 0",
        });
    }
    Ok(())
}

/// The focal kernel as a closure over lanes, with alpha and gamma bound.
#[cfg_attr(not(nonlin_outline), inline(always))]
fn focal_fn<T: Float>(alpha: T, gamma: T) -> impl Fn(Ln<T>, Ln<T>) -> (Ln<T>, Ln<T>) {
    let use_alpha = alpha >= T::ZERO;
    let a = Ln::<T>::splat(alpha);
    let oma = Ln::<T>::splat(T::ONE - alpha);
    let g = Ln::<T>::splat(gamma);
    let gamma_zero = gamma == T::ZERO;
    move |x, t| {
        let at = if use_alpha {
            // alpha t + (1 - alpha)(1 - t): non-negative terms for t, alpha in [0, 1].
            a.mul_add(t, oma * (Ln::<T>::splat(T::ONE) - t))
        } else {
            Ln::<T>::splat(T::ONE)
        };
        focal_lane(x, t, at, g, gamma_zero)
    }
}

/// Sigmoid focal loss (torchvision `sigmoid_focal_loss`), from logits `x` and targets `t`:
///
/// `ℓ_i = α_t · ce_i · (1 - p_t)^γ`, with `p = σ(x)`, `ce = bce_with_logits(x, t)`,
/// `p_t = p t + (1 - p)(1 - t)`, `α_t = α t + (1 - α)(1 - t)` (or 1 when `alpha < 0`,
/// torchvision's way to disable it), reduced by `reduction`.
///
/// Evaluated in log space: `1 - p_t = (1 - t) σ(x) + t σ(-x)` is formed from
/// `e = exp(-|x|)` without subtraction, and `(1 - p_t)^γ = exp(γ ln(1 - p_t))` with the
/// `-|x|` part of the logarithm (hard labels on the correctly predicted side) multiplied
/// exactly, so saturated probabilities (`x = ±100` in f32) and `γ < 1` give finite,
/// relatively accurate values and gradients. `γ = 0` gives `(1 - p_t)^0 = 1` everywhere
/// (the loss is then `α_t · bce_with_logits`).
///
/// Domain: every logit, `t` in `[0, 1]`, `alpha` finite and `<= 1`, `gamma` finite and
/// `>= 0`. Special values: NaN propagates; `x = ±inf` gives the limits. Finite logits give
/// a finite gradient wherever the exact one is in range, also near `x = ±MAX` where `γ ce`
/// overflows (the gradient's `γ ce σ σ̄ / q` is formed as `γ (ce (σ σ̄ / q))`: f32
/// `x = -MAX, t = 1, γ = 2` gives `-1`, not NaN).
///
/// Accuracy (per term, measured in `tests/tests/loss_binary.rs` for `γ` in `[0, 4]` and,
/// for soft labels, up to `10^6`): hard labels (`t` in {0, 1}): f32 ≤ 6 ULP, f64 ≤ 6 ULP
/// (measured 4.1 and 2.7); soft labels: ≤ `8 + 2 γ |ln(1 - p_t)|` ULP (measured at most
/// 0.7 of that bound), because the logarithm's own rounding is multiplied by `γ` before
/// exponentiation. `ln(1 - p_t)` is formed from `1 - t`, `exp(-|x|)` and `1 + exp(-|x|)`
/// each carried in two parts, so it keeps its relative accuracy also where `1 - p_t` is
/// within an ULP of 1 (f32 `x = 100`, `t = 1e-12`, `γ = 3e9`: `ln(1 - p_t) = -1e-12`, the
/// loss `99.705`, not 100). The gradient: ≤ `10 + 2 γ |ln(1 - p_t)|` ULP of its terms'
/// magnitude. A `(1 - p_t)^γ` below the normal range is scaled up before the products that
/// multiply it, so the value and gradient are rounded once at their own magnitude.
///
/// # Errors
/// [`Error::LengthMismatch`] naming `target`; [`Error::InvalidParameter`] naming `alpha`
/// (NaN, infinite or above 1) or `gamma` (negative or not finite).
///
/// # Example
/// ```
/// use nonlin::loss::{sigmoid_focal_loss, Reduction};
/// // At x = 0, t = 1: ce = ln 2, 1 - p_t = 1/2, alpha_t = 0.25.
/// let l = sigmoid_focal_loss(&[0.0f64], &[1.0], 0.25, 2.0, Reduction::Sum)?;
/// assert!((l - 0.25 * core::f64::consts::LN_2 / 4.0).abs() < 1e-16);
/// // Saturated and gamma < 1: finite and positive, where (1 - p)^γ with p = 1 gives 0.
/// let l = sigmoid_focal_loss(&[-30.0f32], &[1.0], -1.0, 0.5, Reduction::Sum)?;
/// assert!((l - 30.0).abs() < 1e-5);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn sigmoid_focal_loss<T: Float>(
    logits: &[T],
    target: &[T],
    alpha: T,
    gamma: T,
    reduction: Reduction,
) -> Result<T, Error> {
    check_lens(logits, target, None, None)?;
    focal_params(alpha, gamma)?;
    let f = focal_fn(alpha, gamma);
    let s = reduce_with(logits, target, &[], T::ONE, None, |x, t, _| f(x, t));
    Ok(finish_loss(s, logits.len(), reduction))
}

/// Element-wise [`sigmoid_focal_loss`]. Same formula, special values and accuracy.
///
/// # Errors
/// As [`sigmoid_focal_loss`], plus [`Error::LengthMismatch`] naming `out`.
///
/// # Example
/// ```
/// let mut o = [0.0f32; 2];
/// nonlin::loss::sigmoid_focal_loss_none(&[0.0, 0.0], &[1.0, 0.0], -1.0, 0.0, &mut o)?;
/// assert!((o[0] - core::f32::consts::LN_2).abs() < 1e-7 && o[0] == o[1]);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn sigmoid_focal_loss_none<T: Float>(
    logits: &[T],
    target: &[T],
    alpha: T,
    gamma: T,
    out: &mut [T],
) -> Result<(), Error> {
    check_lens(logits, target, Some(out), None)?;
    focal_params(alpha, gamma)?;
    let f = focal_fn(alpha, gamma);
    driver::closure::map2_unchecked(logits, target, out, |x, t| f(x, t).0);
    Ok(())
}

/// [`sigmoid_focal_loss`] and its gradient with respect to the logits, in one pass:
/// `d ℓ / d x = α_t (1 - p_t)^γ [(σ(x) - t) + γ ce (1 - 2t) σ(x) σ(-x) / (1 - p_t)]`,
/// times `1/N` for the mean. For hard labels the two bracket terms have the same sign (no
/// cancellation); `σ σ̄ / (1 - p_t) <= 1` is formed without dividing by a small
/// `1 - p_t`, so `γ < 1` stays finite at saturation. Gradient accuracy (`γ <= 4`): hard
/// labels ≤ 8 ULP (f32, f64; measured 4.5); soft labels ≤ `10 + 2 γ |ln(1 - p_t)|` ULP of
/// the magnitude of its terms (the bracket cancels at the gradient's zero).
///
/// # Errors
/// As [`sigmoid_focal_loss`], plus [`Error::LengthMismatch`] naming `grad`.
///
/// # Example
/// ```
/// use nonlin::loss::{sigmoid_focal_loss_with_grad, Reduction};
/// let mut g = [0.0f64; 1];
/// sigmoid_focal_loss_with_grad(&[0.0], &[1.0], -1.0, 0.0, Reduction::Sum, &mut g)?;
/// assert!((g[0] + 0.5).abs() < 1e-16);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn sigmoid_focal_loss_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    alpha: T,
    gamma: T,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    check_lens(logits, target, None, Some(grad))?;
    focal_params(alpha, gamma)?;
    let f = focal_fn(alpha, gamma);
    let scale = grad_scale(logits.len(), reduction);
    let s = reduce_with(logits, target, &[], scale, Some(grad), |x, t, _| f(x, t));
    Ok(finish_loss(s, logits.len(), reduction))
}

/// Element-wise [`sigmoid_focal_loss`] and its gradient (see
/// [`sigmoid_focal_loss_with_grad`]).
///
/// # Errors
/// As [`sigmoid_focal_loss`], plus [`Error::LengthMismatch`] naming `out` or `grad`.
///
/// # Example
/// ```
/// let (mut o, mut g) = ([0.0f32; 1], [0.0f32; 1]);
/// nonlin::loss::sigmoid_focal_loss_none_with_grad(&[-100.0], &[1.0], 0.25, 0.5, &mut o, &mut g)?;
/// assert!(o[0].is_finite() && g[0].is_finite() && g[0] < 0.0);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn sigmoid_focal_loss_none_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    alpha: T,
    gamma: T,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    check_lens(logits, target, Some(out), Some(grad))?;
    focal_params(alpha, gamma)?;
    let f = focal_fn(alpha, gamma);
    driver::closure::map3_2out_unchecked(logits, target, logits, out, grad, |x, t, _| f(x, t));
    Ok(())
}

/// Unreduced [`Dd`] sum of the [`sigmoid_focal_loss`] terms of one piece; see
/// [`crate::loss::mse_partial`].
///
/// # Errors
/// As [`sigmoid_focal_loss`], plus [`Error::LengthMismatch`] naming `grad` and
/// [`Error::InvalidParameter`] naming `grad_scale`.
///
/// # Example
/// ```
/// let d = nonlin::loss::sigmoid_focal_loss_partial(&[0.0f64], &[0.0], -1.0, 1.0, 1.0, None)?;
/// assert!((d.value() - core::f64::consts::LN_2 / 2.0).abs() < 1e-16);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn sigmoid_focal_loss_partial<T: Float>(
    logits: &[T],
    target: &[T],
    alpha: T,
    gamma: T,
    grad_scale: T,
    grad: Option<&mut [T]>,
) -> Result<Dd, Error> {
    check_lens(logits, target, None, grad.as_deref())?;
    focal_params(alpha, gamma)?;
    check_scale(grad_scale)?;
    let f = focal_fn(alpha, gamma);
    Ok(reduce_with(
        logits,
        target,
        &[],
        grad_scale,
        grad,
        |x, t, _| f(x, t),
    ))
}
