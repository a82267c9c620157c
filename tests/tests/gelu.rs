//! gelu, gelu_tanh and their derivatives: accuracy (f32 against stable f64 references,
//! f64 against MPFR), the negative tails, the derivatives' zero crossings (absolute bound),
//! special values, invariants, central differences, backward, position independence, errors.

use nonlin_tests::*;
use rug::Float as Mp;

/// The documented neighbourhood of the derivatives' zero crossings (gelu' at -0.751792,
/// gelu_tanh' at -0.752461): inside it the ULP budget is replaced by an absolute bound.
const ZC_LO: f64 = -0.80;
const ZC_HI: f64 = -0.70;
/// The absolute bound there, in ULPs of `Φ(x)` (resp. `σ(2u)`), the scale of the two
/// cancelling terms.
const ZC_ULPS_OF_TERM: f64 = 1.0;

fn in_zc(x: f64) -> bool {
    (ZC_LO..=ZC_HI).contains(&x)
}

fn b(name: &str, dtype: &str) -> f64 {
    budgets::budget(name, dtype).unwrap()
}

// ---------------------------------------------------------------------------------------
// References.
//
// f64 references for the f32 kernels: Φ(x) = erfc(-x/√2)/2 through libm's erfc, which is
// relatively accurate in the tail. The rounding of -x/√2 perturbs Φ by about 2 z² 2^-53
// relative (z² < 110 where f32 results are nonzero): below 2^-45, negligible at f32
// precision. (The 1 + erf form would be wrong below x ≈ -8.) x² is exact in f64 for f32 x.

fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2)
}
fn pdf(x: f64) -> f64 {
    libm::exp(-0.5 * x * x) * 0.398_942_280_401_432_7
}
fn gelu_ref(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        -0.0
    } else {
        x * phi(x)
    }
}
fn gelu_derivative_ref(x: f64) -> f64 {
    if x.is_infinite() {
        return if x > 0.0 { 1.0 } else { -0.0 };
    }
    phi(x) + x * pdf(x)
}

const C1: f64 = 1.595_769_121_605_730_8; // 2 √(2/π)
const C3: f64 = 0.071_354_816_272_600_25; // 2 √(2/π) 0.044715

/// σ(v) from e = exp(-|v|) (no cancellation), v = 2u in f64: |v| 2^-52 < 2^-45 absolute.
fn tanh_terms(x: f64) -> (f64, f64, f64) {
    let v = x * (C1 + C3 * x * x);
    let e = libm::exp(-v.abs());
    (v, e, 1.0 + e)
}
fn sigma2u(x: f64) -> f64 {
    let (v, e, d) = tanh_terms(x);
    if v >= 0.0 { 1.0 / d } else { e / d }
}
fn gelu_tanh_ref(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        -0.0
    } else {
        x * sigma2u(x)
    }
}
fn gelu_tanh_derivative_ref(x: f64) -> f64 {
    // Beyond ±30 the limits hold in f64 (and x v' e would be inf * 0).
    if x.abs() > 30.0 {
        return if x > 0.0 { 1.0 } else { -0.0 };
    }
    let (v, e, d) = tanh_terms(x);
    let xvp = x * (C1 + 3.0 * C3 * x * x);
    if v < 0.0 {
        e * (d + xvp) / (d * d)
    } else {
        (d + xvp * e) / (d * d)
    }
}

// MPFR references for the f64 kernels.

fn phi_mp(x: &Mp) -> Mp {
    let z = Mp::with_val(MPFR_PREC, -x) / Mp::with_val(MPFR_PREC, 2u32).sqrt();
    z.erfc() / 2u32
}
fn pdf_mp(x: &Mp) -> Mp {
    let two_pi = Mp::with_val(MPFR_PREC, rug::float::Constant::Pi) * 2u32;
    let g = Mp::with_val(MPFR_PREC, x * x) / -2i32;
    g.exp() / two_pi.sqrt()
}
fn gelu_mp(x: &Mp) -> Mp {
    phi_mp(x) * x
}
fn gelu_derivative_mp(x: &Mp) -> Mp {
    phi_mp(x) + pdf_mp(x) * x
}
/// (v = 2u, e = exp(-|v|), x v') exactly, with 0.044715 the exact decimal.
fn tanh_terms_mp(x: &Mp) -> (Mp, Mp, Mp) {
    let c = Mp::with_val(MPFR_PREC, Mp::parse("0.044715").expect("decimal constant"));
    let pi = Mp::with_val(MPFR_PREC, rug::float::Constant::Pi);
    let k = (Mp::with_val(MPFR_PREC, 2u32) / pi).sqrt() * 2u32; // 2 √(2/π)
    let x2 = Mp::with_val(MPFR_PREC, x * x);
    let cx2 = Mp::with_val(MPFR_PREC, &c * &x2);
    let v = Mp::with_val(MPFR_PREC, &cx2 + 1u32) * x * &k;
    let vp = (cx2 * 3u32 + 1u32) * &k;
    let e = Mp::with_val(MPFR_PREC, -v.clone().abs()).exp();
    (v, e, vp * x)
}
fn gelu_tanh_mp(x: &Mp) -> Mp {
    let (v, e, _) = tanh_terms_mp(x);
    let d = Mp::with_val(MPFR_PREC, &e + 1u32);
    let s = if v >= 0 {
        Mp::with_val(MPFR_PREC, 1u32) / d
    } else {
        e / d
    };
    s * x
}
fn gelu_tanh_derivative_mp(x: &Mp) -> Mp {
    let (v, e, xvp) = tanh_terms_mp(x);
    let d = Mp::with_val(MPFR_PREC, &e + 1u32);
    let d2 = Mp::with_val(MPFR_PREC, d.square_ref());
    if v < 0 {
        e * (d + xvp) / d2
    } else {
        (xvp * &e + d) / d2
    }
}

// ---------------------------------------------------------------------------------------
// f32 accuracy.

type K32 = fn(&[f32], &mut [f32]);

fn f32_case(name: &str, k: K32, r: fn(f64) -> f64, dense: &[(f32, f32)], skip: fn(f64) -> bool) {
    let w = measure_f32(&sweep_f32(509), k, r, skip);
    assert_within(&format!("{name} f32"), &w, b(name, "f32"));
    for &(lo, hi) in dense {
        let w = measure_f32(&range_f32(lo, hi, 5), k, r, skip);
        assert_within(
            &format!("{name} f32 dense [{lo}, {hi}]"),
            &w,
            b(name, "f32"),
        );
    }
}

// Dense ranges: the negative tail down to where the results underflow, and the transition
// to x (resp. 1) on the positive side. |x| < 0.5 is covered densely by the sweep already.
const GELU_DENSE: &[(f32, f32)] = &[(-14.6, -0.5), (0.5, 8.0)];
const TANH_DENSE: &[(f32, f32)] = &[(-11.0, -0.5), (0.5, 8.0)];

#[test]
fn gelu_f32() {
    f32_case(
        "gelu",
        |x, o| nonlin::gelu(x, o).unwrap(),
        gelu_ref,
        GELU_DENSE,
        |_| false,
    );
}

#[test]
fn gelu_derivative_f32() {
    f32_case(
        "gelu_derivative",
        |x, o| nonlin::gelu_derivative(x, o).unwrap(),
        gelu_derivative_ref,
        GELU_DENSE,
        in_zc,
    );
}

#[test]
fn gelu_tanh_f32() {
    f32_case(
        "gelu_tanh",
        |x, o| nonlin::gelu_tanh(x, o).unwrap(),
        gelu_tanh_ref,
        TANH_DENSE,
        |_| false,
    );
}

#[test]
fn gelu_tanh_derivative_f32() {
    f32_case(
        "gelu_tanh_derivative",
        |x, o| nonlin::gelu_tanh_derivative(x, o).unwrap(),
        gelu_tanh_derivative_ref,
        TANH_DENSE,
        in_zc,
    );
}

// ---------------------------------------------------------------------------------------
// f64 accuracy against MPFR (10^6 inputs each: log-uniform magnitudes from 2^-1080 to 2^6
// and uniform values over the range where the tails are nonzero).

type K64 = fn(&[f64], &mut [f64]);

fn f64_case(name: &str, k: K64, r: fn(&Mp) -> Mp, lin: f64, seed: u64, skip: fn(f64) -> bool) {
    // 300k: MPFR's erfc costs ~100 µs per tail argument, and the tails have their own
    // dense test (`gelu_negative_tail_f64`).
    let xs = sample_f64(300_000, -1080, 6, lin, seed);
    // ±inf: the limits (the value at -inf is -0 for the functions, 0 for the derivatives;
    // ulp_f64 does not compare signs of zero, `specials` does). MPFR would give NaN.
    let limit_hi = if name.ends_with("derivative") {
        1.0
    } else {
        f64::INFINITY
    };
    let w = measure_f64(
        &xs,
        k,
        |x| {
            if x.is_infinite() {
                mp(if x.is_sign_positive() { limit_hi } else { 0.0 })
            } else {
                r(x)
            }
        },
        skip,
    );
    assert_within(&format!("{name} f64"), &w, b(name, "f64"));
}

#[test]
fn gelu_f64_mpfr() {
    f64_case(
        "gelu",
        |x, o| nonlin::gelu(x, o).unwrap(),
        gelu_mp,
        40.0,
        1,
        |_| false,
    );
}

#[test]
fn gelu_derivative_f64_mpfr() {
    f64_case(
        "gelu_derivative",
        |x, o| nonlin::gelu_derivative(x, o).unwrap(),
        gelu_derivative_mp,
        40.0,
        2,
        in_zc,
    );
}

#[test]
fn gelu_tanh_f64_mpfr() {
    f64_case(
        "gelu_tanh",
        |x, o| nonlin::gelu_tanh(x, o).unwrap(),
        gelu_tanh_mp,
        25.0,
        3,
        |_| false,
    );
}

#[test]
fn gelu_tanh_derivative_f64_mpfr() {
    f64_case(
        "gelu_tanh_derivative",
        |x, o| nonlin::gelu_tanh_derivative(x, o).unwrap(),
        gelu_tanh_derivative_mp,
        25.0,
        4,
        in_zc,
    );
}

// ---------------------------------------------------------------------------------------
// The zero crossings: absolute bound |err| <= ZC_ULPS_OF_TERM ulp(term) in [ZC_LO, ZC_HI],
// checked on every f32 there and on 200 000 f64 values; the worst case is printed as a
// multiple of the term's ulp.

fn zero_crossing_f32(name: &str, k: K32, r: fn(f64) -> f64, term: fn(f64) -> f64) {
    let xs = range_f32(ZC_LO as f32, ZC_HI as f32, 1);
    let mut out = vec![0.0f32; xs.len()];
    k(&xs, &mut out);
    let mut w = Worst::default();
    for (&x, &y) in xs.iter().zip(&out) {
        let x = x as f64;
        let e = ((y as f64) - r(x)).abs() / ulp_of_f32(term(x));
        w.see(e, x, y as f64, r(x));
    }
    assert_within(
        &format!("{name} f32 zero crossing, in ulp(term)"),
        &w,
        ZC_ULPS_OF_TERM,
    );
}

fn ulp_of_f64(v: f64) -> f64 {
    libm::ldexp(1.0, libm::ilogb(v.abs()) - 52)
}

fn zero_crossing_f64(name: &str, k: K64, r: fn(&Mp) -> Mp, term: fn(f64) -> f64) {
    let mut rng = Rng::new(5);
    let mut xs: Vec<f64> = (0..200_000).map(|_| rng.uniform(ZC_LO, ZC_HI)).collect();
    // ... and the f64 values nearest the crossings themselves.
    for c in [-0.751_791_524_693_564_5f64, -0.752_461_422_071_016_3] {
        for d in -200i64..=200 {
            xs.push(f64::from_bits((c.to_bits() as i64 + d) as u64));
        }
    }
    let mut out = vec![0.0f64; xs.len()];
    k(&xs, &mut out);
    let mut w = Worst::default();
    for (&x, &y) in xs.iter().zip(&out) {
        let want = r(&mp(x));
        let diff = (Mp::with_val(MPFR_PREC, y) - &want).to_f64().abs();
        w.see(diff / ulp_of_f64(term(x)), x, y, want.to_f64());
    }
    assert_within(
        &format!("{name} f64 zero crossing, in ulp(term)"),
        &w,
        ZC_ULPS_OF_TERM,
    );
}

#[test]
fn derivative_zero_crossings() {
    zero_crossing_f32(
        "gelu_derivative",
        |x, o| nonlin::gelu_derivative(x, o).unwrap(),
        gelu_derivative_ref,
        phi,
    );
    zero_crossing_f32(
        "gelu_tanh_derivative",
        |x, o| nonlin::gelu_tanh_derivative(x, o).unwrap(),
        gelu_tanh_derivative_ref,
        sigma2u,
    );
    zero_crossing_f64(
        "gelu_derivative",
        |x, o| nonlin::gelu_derivative(x, o).unwrap(),
        gelu_derivative_mp,
        phi,
    );
    zero_crossing_f64(
        "gelu_tanh_derivative",
        |x, o| nonlin::gelu_tanh_derivative(x, o).unwrap(),
        gelu_tanh_derivative_mp,
        sigma2u,
    );
    // The crossings are where the docs say, and the sign changes there.
    let mut d = [0.0f64; 4];
    nonlin::gelu_derivative(&[-0.7518, -0.7517, -0.80, -0.70], &mut d).unwrap();
    assert!(d[0] < 0.0 && d[1] > 0.0 && d[2] < 0.0 && d[3] > 0.0);
    nonlin::gelu_tanh_derivative(&[-0.7525, -0.7524, -0.80, -0.70], &mut d).unwrap();
    assert!(d[0] < 0.0 && d[1] > 0.0 && d[2] < 0.0 && d[3] > 0.0);
}

// ---------------------------------------------------------------------------------------
// Tails.

fn one32(k: K32, x: f32) -> f32 {
    let mut o = [0.0f32];
    k(&[x], &mut o);
    o[0]
}
fn one64(k: K64, x: f64) -> f64 {
    let mut o = [0.0f64];
    k(&[x], &mut o);
    o[0]
}

#[test]
fn gelu_negative_tail_f32() {
    let g: K32 = |x, o| nonlin::gelu(x, o).unwrap();
    // The case: -1.54e-33, where PyTorch/ONNX return 0.
    let y = one32(g, -12.217);
    assert!(y < 0.0 && y.is_normal(), "gelu(-12.217) = {y}");
    let u = ulp_f32(y, gelu_ref(-12.217f32 as f64));
    assert!(u <= b("gelu", "f32"), "gelu(-12.217): {u} ULP");
    assert!((y as f64 / -1.54e-33 - 1.0).abs() < 0.01);
    // Over [-13.15, -5.54] (zero in 1 + erf based kernels) every result is nonzero and
    // within budget, as are the subnormal results down to the last one.
    for x in range_f32(-14.35, -5.54, 101) {
        let y = one32(g, x);
        assert!(y < 0.0, "gelu({x}) = {y}");
        assert!(
            ulp_f32(y, gelu_ref(x as f64)) <= b("gelu", "f32"),
            "gelu({x})"
        );
    }
    assert_eq!(one32(g, -14.4), 0.0);
    // gelu_tanh in the same tail: x = -10 has 2u ≈ -87.3 (a rounded 2u costs ~100 ULP).
    let t: K32 = |x, o| nonlin::gelu_tanh(x, o).unwrap();
    for x in range_f32(-10.77, -5.0, 101) {
        let y = one32(t, x);
        let want = gelu_tanh_ref(x as f64);
        assert!(y < 0.0 || want > -1e-45, "gelu_tanh({x}) = {y}");
        assert!(ulp_f32(y, want) <= b("gelu_tanh", "f32"), "gelu_tanh({x})");
    }
    let y = one32(t, -10.0);
    assert!(y < 0.0 && y.is_normal(), "gelu_tanh(-10) = {y}");
    // The derivatives stay relative in the tail too (nonzero, within budget).
    let d: K32 = |x, o| nonlin::gelu_derivative(x, o).unwrap();
    let y = one32(d, -12.217);
    assert!(ulp_f32(y, gelu_derivative_ref(-12.217f32 as f64)) <= b("gelu_derivative", "f32"));
    assert!(y < 0.0 && y.is_normal());
}

#[test]
fn gelu_negative_tail_f64() {
    // Down to the last subnormal results, against MPFR.
    let mut r = Rng::new(9);
    let xs: Vec<f64> = (0..50_000).map(|_| r.uniform(-38.7, -8.0)).collect();
    let w = measure_f64(&xs, |x, o| nonlin::gelu(x, o).unwrap(), gelu_mp, |_| false);
    assert_within("gelu f64 tail [-38.7, -8]", &w, b("gelu", "f64"));
    let w = measure_f64(
        &xs,
        |x, o| nonlin::gelu_derivative(x, o).unwrap(),
        gelu_derivative_mp,
        |_| false,
    );
    assert_within(
        "gelu_derivative f64 tail [-38.7, -8]",
        &w,
        b("gelu_derivative", "f64"),
    );
    let xs: Vec<f64> = (0..100_000).map(|_| r.uniform(-22.5, -4.0)).collect();
    let w = measure_f64(
        &xs,
        |x, o| nonlin::gelu_tanh(x, o).unwrap(),
        gelu_tanh_mp,
        |_| false,
    );
    assert_within("gelu_tanh f64 tail [-22.5, -4]", &w, b("gelu_tanh", "f64"));
    let w = measure_f64(
        &xs,
        |x, o| nonlin::gelu_tanh_derivative(x, o).unwrap(),
        gelu_tanh_derivative_mp,
        |_| false,
    );
    assert_within(
        "gelu_tanh_derivative f64 tail [-22.5, -4]",
        &w,
        b("gelu_tanh_derivative", "f64"),
    );
    assert!(one64(|x, o| nonlin::gelu(x, o).unwrap(), -38.5) < 0.0);
    assert_eq!(one64(|x, o| nonlin::gelu(x, o).unwrap(), -38.6), 0.0);
}

// ---------------------------------------------------------------------------------------
// Special values.

#[test]
fn specials() {
    let xs = [f32::NEG_INFINITY, f32::INFINITY, f32::NAN, -0.0, 0.0];
    let mut y = [0.0f32; 5];
    nonlin::gelu(&xs, &mut y).unwrap();
    // gelu(-inf) = -0.0: the sign of the vanishing negative values (documented).
    assert_eq!(y[0].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[1], f32::INFINITY);
    assert!(y[2].is_nan());
    assert_eq!(y[3].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[4].to_bits(), 0.0f32.to_bits());
    nonlin::gelu_tanh(&xs, &mut y).unwrap();
    assert_eq!(y[0].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[1], f32::INFINITY);
    assert!(y[2].is_nan());
    assert_eq!(y[3].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[4].to_bits(), 0.0f32.to_bits());
    for k in [
        (|x, o| nonlin::gelu_derivative(x, o).unwrap()) as K32,
        |x, o| nonlin::gelu_tanh_derivative(x, o).unwrap(),
    ] {
        let mut d = [0.0f32; 5];
        k(&xs, &mut d);
        assert_eq!(d[0], 0.0); // -0.0 (negative values vanishing), == 0
        assert_eq!(d[1], 1.0);
        assert!(d[2].is_nan());
        assert_eq!(d[3], 0.5);
        assert_eq!(d[4], 0.5);
    }
    let xs = [f64::NEG_INFINITY, f64::INFINITY, f64::NAN, -0.0, 0.0];
    let mut y = [0.0f64; 5];
    for k in [(|x, o| nonlin::gelu(x, o).unwrap()) as K64, |x, o| {
        nonlin::gelu_tanh(x, o).unwrap()
    }] {
        k(&xs, &mut y);
        assert_eq!(y[0].to_bits(), (-0.0f64).to_bits());
        assert_eq!(y[1], f64::INFINITY);
        assert!(y[2].is_nan());
        assert_eq!(y[3].to_bits(), (-0.0f64).to_bits());
        assert_eq!(y[4].to_bits(), 0.0f64.to_bits());
    }
    for k in [
        (|x, o| nonlin::gelu_derivative(x, o).unwrap()) as K64,
        |x, o| nonlin::gelu_tanh_derivative(x, o).unwrap(),
    ] {
        k(&xs, &mut y);
        assert_eq!(y[0], 0.0);
        assert_eq!(y[1], 1.0);
        assert!(y[2].is_nan());
        assert_eq!(y[3], 0.5);
        assert_eq!(y[4], 0.5);
    }
    // Large finite inputs: x itself and 1; subnormal inputs: x/2 (rounded in subnormal ULPs).
    for k in [(|x, o| nonlin::gelu(x, o).unwrap()) as K32, |x, o| {
        nonlin::gelu_tanh(x, o).unwrap()
    }] {
        assert_eq!(one32(k, f32::MAX), f32::MAX);
        assert_eq!(one32(k, 1e30), 1e30);
        assert_eq!(one32(k, -f32::MAX), 0.0);
        let t = f32::from_bits(7);
        assert!(ulp_f32(one32(k, t), t as f64 / 2.0) <= 0.5);
        assert!(ulp_f32(one32(k, -t), -(t as f64) / 2.0) <= 0.5);
    }
    // The scalar references agree on the special values.
    assert_eq!(nonlin::scalar::gelu(f32::NEG_INFINITY), 0.0);
    assert_eq!(nonlin::scalar::gelu(f64::INFINITY), f64::INFINITY);
    assert!(nonlin::scalar::gelu_tanh(f32::NAN).is_nan());
    assert_eq!(nonlin::scalar::gelu_derivative(f64::INFINITY), 1.0);
    assert_eq!(nonlin::scalar::gelu_tanh_derivative(f64::NEG_INFINITY), 0.0);
}

// ---------------------------------------------------------------------------------------
// Invariants.

#[test]
fn invariants() {
    let xs: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 1e-3).collect();
    for (name, k) in [
        ("gelu", (|x, o| nonlin::gelu(x, o).unwrap()) as K32),
        ("gelu_tanh", |x, o| nonlin::gelu_tanh(x, o).unwrap()),
    ] {
        let mut y = vec![0.0f32; xs.len()];
        k(&xs, &mut y);
        let mut m = vec![0.0f32; xs.len()];
        let neg: Vec<f32> = xs.iter().map(|&x| -x).collect();
        k(&neg, &mut m);
        for i in 0..xs.len() {
            let (x, g) = (xs[i], y[i]);
            // Range: min(x, 0) - ... : gelu lies between its minimum (-0.1700) and max(x, 0),
            // with the sign of x.
            assert!(g >= -0.1701 && g <= x.max(0.0), "{name}({x}) = {g}");
            assert!(g == 0.0 || (g > 0.0) == (x > 0.0), "{name}({x}) sign");
            // gelu(x) - gelu(-x) = x (Φ(x) + Φ(-x) = 1, σ(v) + σ(-v) = 1).
            let d = (g as f64) - (m[i] as f64);
            assert!(
                (d - x as f64).abs() <= 4.0 * ulp_of_f32(x as f64),
                "{name} at {x}"
            );
            // Monotone on both sides of the minimum near -0.7518.
            if i > 0 && xs[i - 1] >= -0.70 {
                assert!(g >= y[i - 1], "{name} increasing at {x}");
            }
            if i > 0 && x <= -0.80 {
                assert!(g <= y[i - 1], "{name} decreasing at {x}");
            }
        }
    }
    for (name, k) in [
        (
            "gelu_derivative",
            (|x, o| nonlin::gelu_derivative(x, o).unwrap()) as K32,
        ),
        ("gelu_tanh_derivative", |x, o| {
            nonlin::gelu_tanh_derivative(x, o).unwrap()
        }),
    ] {
        let mut y = vec![0.0f32; xs.len()];
        k(&xs, &mut y);
        for (&x, &d) in xs.iter().zip(&y) {
            // The derivative lies in [-0.13, 1.13] and tends to 0 and 1.
            assert!((-0.1300..=1.1290).contains(&d), "{name}({x}) = {d}");
        }
    }
}

#[test]
fn derivatives_match_central_difference() {
    for i in -400..400 {
        let x = i as f64 * 0.05;
        let mut d = [0.0f64];
        nonlin::gelu_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(nonlin::scalar::gelu, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-9, max_relative = 1e-6);
        nonlin::gelu_tanh_derivative(&[x], &mut d).unwrap();
        let fd = central_difference(nonlin::scalar::gelu_tanh, x);
        approx::assert_relative_eq!(d[0], fd, epsilon = 1e-9, max_relative = 1e-6);
    }
    // The scalar references agree with the kernels' references.
    for i in -300..300 {
        let x = i as f64 * 0.05;
        approx::assert_relative_eq!(nonlin::scalar::gelu(x), gelu_ref(x), max_relative = 1e-13);
        approx::assert_relative_eq!(
            nonlin::scalar::gelu_tanh_derivative(x),
            gelu_tanh_derivative_ref(x),
            epsilon = 1e-15,
            max_relative = 1e-12
        );
    }
}

#[test]
fn backward_is_grad_times_derivative() {
    let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.7 - 14.0).collect();
    let g: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 * 0.125).collect();
    let mut gi = vec![0.0f32; 37];
    let mut d = vec![0.0f32; 37];
    nonlin::gelu_backward(&x, &g, &mut gi).unwrap();
    nonlin::gelu_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    nonlin::gelu_tanh_backward(&x, &g, &mut gi).unwrap();
    nonlin::gelu_tanh_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
    let mut gi = vec![0.0f64; 37];
    let mut d = vec![0.0f64; 37];
    nonlin::gelu_backward(&x, &g, &mut gi).unwrap();
    nonlin::gelu_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
    nonlin::gelu_tanh_backward(&x, &g, &mut gi).unwrap();
    nonlin::gelu_tanh_derivative(&x, &mut d).unwrap();
    for i in 0..37 {
        assert_eq!(gi[i], g[i] * d[i]);
    }
}

#[test]
fn position_independence() {
    check_position_independence_f32("gelu", |x, o| nonlin::gelu(x, o).unwrap());
    check_position_independence_f64("gelu", |x, o| nonlin::gelu(x, o).unwrap());
    check_position_independence_f32("gelu_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::gelu_inplace(o)
    });
    check_position_independence_f64("gelu_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::gelu_inplace(o)
    });
    check_position_independence_f32("gelu_derivative", |x, o| {
        nonlin::gelu_derivative(x, o).unwrap()
    });
    check_position_independence_f64("gelu_derivative", |x, o| {
        nonlin::gelu_derivative(x, o).unwrap()
    });
    check_position_independence_f32("gelu_backward", |x, o| {
        let g: Vec<f32> = x.iter().map(|&v| 1.5 - v).collect();
        nonlin::gelu_backward(x, &g, o).unwrap()
    });
    check_position_independence_f64("gelu_backward", |x, o| {
        let g: Vec<f64> = x.iter().map(|&v| 1.5 - v).collect();
        nonlin::gelu_backward(x, &g, o).unwrap()
    });
    check_position_independence_f32("gelu_tanh", |x, o| nonlin::gelu_tanh(x, o).unwrap());
    check_position_independence_f64("gelu_tanh", |x, o| nonlin::gelu_tanh(x, o).unwrap());
    check_position_independence_f32("gelu_tanh_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::gelu_tanh_inplace(o)
    });
    check_position_independence_f64("gelu_tanh_inplace", |x, o| {
        o.copy_from_slice(x);
        nonlin::gelu_tanh_inplace(o)
    });
    check_position_independence_f32("gelu_tanh_derivative", |x, o| {
        nonlin::gelu_tanh_derivative(x, o).unwrap()
    });
    check_position_independence_f64("gelu_tanh_derivative", |x, o| {
        nonlin::gelu_tanh_derivative(x, o).unwrap()
    });
    check_position_independence_f32("gelu_tanh_backward", |x, o| {
        let g: Vec<f32> = x.iter().map(|&v| 1.5 - v).collect();
        nonlin::gelu_tanh_backward(x, &g, o).unwrap()
    });
    check_position_independence_f64("gelu_tanh_backward", |x, o| {
        let g: Vec<f64> = x.iter().map(|&v| 1.5 - v).collect();
        nonlin::gelu_tanh_backward(x, &g, o).unwrap()
    });
}

#[test]
fn errors() {
    let mut out = [0.0f32; 2];
    for k in [
        nonlin::gelu::<f32> as fn(&[f32], &mut [f32]) -> Result<(), nonlin::Error>,
        nonlin::gelu_derivative::<f32>,
        nonlin::gelu_tanh::<f32>,
        nonlin::gelu_tanh_derivative::<f32>,
    ] {
        let e = k(&[1.0f32; 3], &mut out).unwrap_err();
        assert_eq!(
            e,
            nonlin::Error::LengthMismatch {
                arg: "out",
                expected: 3,
                found: 2
            }
        );
        assert!(e.to_string().contains("`out`"));
        assert_eq!(out, [0.0; 2], "nothing written on error");
    }
    for k in [
        nonlin::gelu_backward::<f64> as fn(&[f64], &[f64], &mut [f64]) -> Result<(), nonlin::Error>,
        nonlin::gelu_tanh_backward::<f64>,
    ] {
        let mut gi = [0.0f64; 3];
        let e = k(&[1.0f64; 3], &[1.0; 2], &mut gi).unwrap_err();
        assert!(e.to_string().contains("grad_out"));
        let mut gi = [0.0f64; 2];
        let e = k(&[1.0f64; 3], &[1.0; 3], &mut gi).unwrap_err();
        assert!(e.to_string().contains("grad_in"));
        assert_eq!(gi, [0.0; 2]);
    }
}
