//! Accuracy of the vector-math `erf`, `erfc` and `normal_cdf` (Φ): f32 against libm in f64
//! (every 509th f32 bit pattern plus dense sweeps over the tails), f64 against MPFR on 3·10^5
//! inputs per function, special values and symmetries.
//!
//! The budgets are local constants (the shared table has no entries for these yet); the
//! measured maxima are printed by `assert_within`.

use nonlin::vmath;
use nonlin_tests::*;
use rug::Float as Mp;

type L32 = <f32 as nonlin::Float>::Lane;
type L64 = <f64 as nonlin::Float>::Lane;

/// Budgets (ULP) asserted here, f32 and f64 alike.
const ERF_BUDGET: f64 = 2.0;
const ERFC_BUDGET: f64 = 2.0;
const NORMAL_CDF_BUDGET: f64 = 2.0;

/// Φ(x) in f64 for f32 arguments: `erfc(-x/√2)/2`. The rounding of `x/√2` perturbs the
/// result by about `2 z² 2^-53` relative (z² < 110 here): below 2^-45, negligible at f32
/// precision. libm's `erfc` is relatively accurate in the tail.
fn phi_ref(x: f64) -> f64 {
    0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2)
}

fn phi_mp(x: &Mp) -> Mp {
    let z = Mp::with_val(MPFR_PREC, -x) / Mp::with_val(MPFR_PREC, 2u32).sqrt();
    z.erfc() / 2u32
}

/// The sweep, then every 5th f32 in each of the `dense` ranges (kept away from 0, where the
/// sweep is already dense and the f32 grid would make a dense range enormous).
fn f32_case(name: &str, f: fn(L32) -> L32, r: fn(f64) -> f64, budget: f64, dense: &[(f32, f32)]) {
    let w = measure_f32(&sweep_f32(509), |x, o| apply_lane(x, o, f), r, |_| false);
    assert_within(&format!("{name} f32"), &w, budget);
    for &(lo, hi) in dense {
        let w = measure_f32(
            &range_f32(lo, hi, 5),
            |x, o| apply_lane(x, o, f),
            r,
            |_| false,
        );
        assert_within(&format!("{name} f32 dense [{lo}, {hi}]"), &w, budget);
    }
}

fn f64_case(
    name: &str,
    f: fn(L64) -> L64,
    r: impl Fn(&Mp) -> Mp + Sync,
    budget: f64,
    emax: i32,
    lin: f64,
    seed: u64,
) {
    // 300k: MPFR's erfc costs ~100 µs per tail argument, and the tails have their own
    // dense test (`tails_f64`).
    let xs = sample_f64(300_000, -1080, emax, lin, seed);
    let w = measure_f64(&xs, |x, o| apply_lane(x, o, f), r, |_| false);
    assert_within(&format!("{name} f64"), &w, budget);
}

#[test]
fn erf_f32() {
    f32_case(
        "erf",
        vmath::erf,
        libm::erf,
        ERF_BUDGET,
        &[(-4.5, -0.25), (1e-3, 0.25)],
    );
}

#[test]
fn erfc_f32() {
    f32_case(
        "erfc",
        vmath::erfc,
        libm::erfc,
        ERFC_BUDGET,
        &[(-4.0, -0.25), (0.25, 10.1)],
    );
}

#[test]
fn normal_cdf_f32() {
    f32_case(
        "normal_cdf",
        vmath::normal_cdf,
        phi_ref,
        NORMAL_CDF_BUDGET,
        &[(-14.2, -0.5), (0.5, 6.0)],
    );
}

#[test]
fn erf_f64() {
    f64_case(
        "erf",
        vmath::erf,
        |x| x.clone().erf(),
        ERF_BUDGET,
        3,
        7.0,
        101,
    );
}

#[test]
fn erfc_f64() {
    f64_case(
        "erfc",
        vmath::erfc,
        |x| x.clone().erfc(),
        ERFC_BUDGET,
        5,
        28.0,
        102,
    );
}

#[test]
fn normal_cdf_f64() {
    f64_case(
        "normal_cdf",
        vmath::normal_cdf,
        phi_mp,
        NORMAL_CDF_BUDGET,
        6,
        40.0,
        103,
    );
}

/// The deep tails in f64 specifically (uniform over the range where the result is a
/// subnormal or a small normal), where a rounded Gaussian argument would show first.
#[test]
fn tails_f64() {
    let mut r = Rng::new(104);
    let xs: Vec<f64> = (0..100_000).map(|_| r.uniform(-38.6, -20.0)).collect();
    let w = measure_f64(
        &xs,
        |x, o| apply_lane(x, o, vmath::normal_cdf::<L64>),
        phi_mp,
        |_| false,
    );
    assert_within("normal_cdf f64 tail [-38.6, -20]", &w, NORMAL_CDF_BUDGET);
    let zs: Vec<f64> = (0..100_000).map(|_| r.uniform(15.0, 27.3)).collect();
    let w = measure_f64(
        &zs,
        |x, o| apply_lane(x, o, vmath::erfc::<L64>),
        |x| x.clone().erfc(),
        |_| false,
    );
    assert_within("erfc f64 tail [15, 27.3]", &w, ERFC_BUDGET);
}

fn one32(f: fn(L32) -> L32, x: f32) -> f32 {
    let mut o = [0.0f32];
    apply_lane(&[x], &mut o, f);
    o[0]
}

fn one64(f: fn(L64) -> L64, x: f64) -> f64 {
    let mut o = [0.0f64];
    apply_lane(&[x], &mut o, f);
    o[0]
}

#[test]
fn specials() {
    for (f, inf_lo, inf_hi) in [
        (vmath::erf::<L32> as fn(L32) -> L32, -1.0f32, 1.0f32),
        (vmath::erfc::<L32>, 2.0, 0.0),
        (vmath::normal_cdf::<L32>, 0.0, 1.0),
    ] {
        assert_eq!(one32(f, f32::NEG_INFINITY), inf_lo);
        assert_eq!(one32(f, f32::INFINITY), inf_hi);
        assert!(one32(f, f32::NAN).is_nan());
    }
    for (f, inf_lo, inf_hi) in [
        (vmath::erf::<L64> as fn(L64) -> L64, -1.0f64, 1.0f64),
        (vmath::erfc::<L64>, 2.0, 0.0),
        (vmath::normal_cdf::<L64>, 0.0, 1.0),
    ] {
        assert_eq!(one64(f, f64::NEG_INFINITY), inf_lo);
        assert_eq!(one64(f, f64::INFINITY), inf_hi);
        assert!(one64(f, f64::NAN).is_nan());
    }
    // erf is odd, with the sign of zero kept; erfc(0) = 1, Φ(0) = 1/2 exactly.
    assert_eq!(one32(vmath::erf, -0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(one64(vmath::erf, 0.0).to_bits(), 0.0f64.to_bits());
    assert_eq!(one32(vmath::erfc, 0.0), 1.0);
    assert_eq!(one64(vmath::erfc, -0.0), 1.0);
    assert_eq!(one32(vmath::normal_cdf, 0.0), 0.5);
    assert_eq!(one64(vmath::normal_cdf, -0.0), 0.5);
    // erf of a subnormal is the correctly scaled subnormal (2/√π z).
    let t = f32::from_bits(1000);
    assert!(ulp_f32(one32(vmath::erf, t), libm::erf(t as f64)) <= 1.0);
    // The last representable tail values are computed, not flushed.
    assert!(one32(vmath::normal_cdf, -14.0) > 0.0);
    assert!(one32(vmath::erfc, 10.0) > 0.0);
    assert!(one64(vmath::normal_cdf, -38.4) > 0.0);
    assert!(one64(vmath::erfc, 27.2) > 0.0);
    // ... and zero beyond (Φ < 2^-150 below -14.17 in f32, erfc < 2^-1075 above 27.23 in f64).
    assert_eq!(one32(vmath::normal_cdf, -14.2), 0.0);
    assert_eq!(one32(vmath::erfc, 10.06), 0.0);
    assert_eq!(one64(vmath::normal_cdf, -38.5), 0.0);
    assert_eq!(one64(vmath::erfc, 27.25), 0.0);
}

#[test]
fn symmetries_and_monotonicity() {
    // A uniform grid: away from Φ ≈ 1, steps of 1e-3 move Φ by far more than its error.
    let xs: Vec<f32> = (-15_000..=15_000).map(|i| i as f32 * 1e-3).collect();
    let mut prev = 0.0f32;
    for &x in &xs {
        let p = one32(vmath::normal_cdf, x);
        let q = one32(vmath::normal_cdf, -x);
        // Where a 1e-3 step moves Φ by less than an ulp (Φ near 1), a 1-ulp dip is rounding.
        assert!(
            p as f64 >= prev as f64 - ulp_of_f32(prev as f64),
            "Φ must be monotone at {x}: {p} < {prev}"
        );
        prev = p;
        assert!((0.0..=1.0).contains(&p));
        // Φ(x) + Φ(-x) = 1 to within the rounding of the larger term.
        assert!(((p as f64) + (q as f64) - 1.0).abs() <= 2.0 * ulp_of_f32(0.5));
        let e = one32(vmath::erf, x);
        assert_eq!(e, -one32(vmath::erf, -x), "erf must be odd at {x}");
        let c = one32(vmath::erfc, x);
        assert!(
            ((c as f64) + (one32(vmath::erfc, -x) as f64) - 2.0).abs() <= 4.0 * ulp_of_f32(1.0)
        );
    }
}
