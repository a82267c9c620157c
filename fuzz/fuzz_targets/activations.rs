//! Every activation (forward, derivative, backward, in place), f32 and f64, with arbitrary
//! parameters and data. Invariants, not just "did not crash":
//! - invalid parameters or mismatched lengths give `Err` and leave the output untouched;
//! - NaN out exactly where the input is NaN (backward: where input or gradient is NaN/inf);
//! - forward outputs inside the function's range;
//! - f32 results within the published ULP budget of the f64 scalar reference, f64 results
//!   (at the fuzzed parameters) within their budget of an MPFR reference;
//! - each element equals the one-element call (position independence);
//! - `_inplace` equals the out-of-place call, bit for bit.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nonlin::scalar as s;
use nonlin_tests::budgets::budget;
use nonlin_tests::catalog::{Unary, unary_kernels};
use nonlin_tests::rug::Float as Mp;
use nonlin_tests::{MPFR_PREC, mp, ulp_f64};

#[derive(Arbitrary, Debug)]
struct Case {
    kernel: u8,
    f64: bool,
    p1: f64,
    p2: f64,
    data: Vec<f64>,
    grad: Vec<f64>,
    bad_len: bool,
}

type Fwd<T> = fn(&[T], T, T, &mut [T]) -> Result<(), nonlin::Error>;
type Inp<T> = fn(&mut [T], T, T) -> Result<(), nonlin::Error>;
type Bwd<T> = fn(&[T], &[T], T, T, &mut [T]) -> Result<(), nonlin::Error>;

struct Kernel<T> {
    name: &'static str,
    fwd: Fwd<T>,
    inplace: Inp<T>,
    der: Fwd<T>,
    bwd: Bwd<T>,
    reference: fn(f64, f64, f64) -> f64,
    reference_der: fn(f64, f64, f64) -> f64,
    valid: fn(f64, f64, f64) -> bool,
    range: fn(f64, f64) -> (f64, f64),
    budget: f64,
    budget_der: f64,
    /// Zero-crossing neighbourhood of the derivative (documented absolute bound there).
    der_excluded: fn(f64) -> bool,
}

fn finite(p: f64, _: f64, _: f64) -> bool {
    p.is_finite()
}
fn softplus_beta(p: f64, _: f64, _: f64) -> bool {
    (nonlin::SOFTPLUS_BETA_RANGE.0..=nonlin::SOFTPLUS_BETA_RANGE.1).contains(&p)
}
fn nonzero(p: f64, _: f64, min_pos: f64) -> bool {
    p.is_finite() && p != 0.0 && p.abs() >= min_pos
}
/// elu's alpha: finite, and 0 or a normal number of the element type.
fn alpha_ok(p: f64, _: f64, min_pos: f64) -> bool {
    p.is_finite() && (p == 0.0 || p.abs() >= min_pos)
}
fn any(_: f64, _: f64, _: f64) -> bool {
    true
}
fn ordered(a: f64, b: f64, _: f64) -> bool {
    a.is_finite() && b.is_finite() && a <= b
}
fn no_excl(_: f64) -> bool {
    false
}
fn all_reals(_: f64, _: f64) -> (f64, f64) {
    (f64::NEG_INFINITY, f64::INFINITY)
}

macro_rules! kernels {
    ($t:ty) => {{
        macro_rules! k0 {
            ($name:literal, $f:ident, $i:ident, $d:ident, $b:ident, $rf:expr, $rd:expr, $range:expr, $bud:expr, $bd:expr, $ex:expr) => {
                Kernel::<$t> {
                    name: $name,
                    fwd: |x, _, _, o| nonlin::$f(x, o),
                    inplace: |x, _, _| {
                        nonlin::$i(x);
                        Ok(())
                    },
                    der: |x, _, _, o| nonlin::$d(x, o),
                    bwd: |x, g, _, _, o| nonlin::$b(x, g, o),
                    reference: |x, _, _| $rf(x),
                    reference_der: |x, _, _| $rd(x),
                    valid: any,
                    range: $range,
                    budget: $bud,
                    budget_der: $bd,
                    der_excluded: $ex,
                }
            };
        }
        macro_rules! k1 {
            ($name:literal, $f:ident, $i:ident, $d:ident, $b:ident, $rf:expr, $rd:expr, $valid:expr, $range:expr, $bud:expr, $bd:expr) => {
                Kernel::<$t> {
                    name: $name,
                    fwd: |x, p, _, o| nonlin::$f(x, p, o),
                    inplace: |x, p, _| nonlin::$i(x, p),
                    der: |x, p, _, o| nonlin::$d(x, p, o),
                    bwd: |x, g, p, _, o| nonlin::$b(x, g, p, o),
                    reference: |x, p, _| $rf(x, p),
                    reference_der: |x, p, _| $rd(x, p),
                    valid: $valid,
                    range: $range,
                    budget: $bud,
                    budget_der: $bd,
                    der_excluded: no_excl,
                }
            };
        }
        vec![
            k0!("sigmoid", sigmoid, sigmoid_inplace, sigmoid_derivative, sigmoid_backward,
                s::sigmoid::<f64>, s::sigmoid_derivative::<f64>, |_, _| (0.0, 1.0), 2.0, 4.0, no_excl),
            k0!("tanh", tanh, tanh_inplace, tanh_derivative, tanh_backward,
                s::tanh::<f64>, s::tanh_derivative::<f64>, |_, _| (-1.0, 1.0), 2.0, 4.0, no_excl),
            k0!("relu", relu, relu_inplace, relu_derivative, relu_backward,
                s::relu::<f64>, s::relu_derivative::<f64>, |_, _| (0.0, f64::INFINITY), 1.0, 1.0, no_excl),
            k0!("relu6", relu6, relu6_inplace, relu6_derivative, relu6_backward,
                s::relu6::<f64>, s::relu6_derivative::<f64>, |_, _| (0.0, 6.0), 1.0, 1.0, no_excl),
            k0!("selu", selu, selu_inplace, selu_derivative, selu_backward,
                s::selu::<f64>, s::selu_derivative::<f64>, |_, _| (-1.7581, f64::INFINITY), 2.0, 4.0, no_excl),
            k0!("gelu", gelu, gelu_inplace, gelu_derivative, gelu_backward,
                s::gelu::<f64>, s::gelu_derivative::<f64>, |_, _| (-0.17, f64::INFINITY), 4.0, 4.0,
                |x| (-1.1..=-0.45).contains(&x)),
            k0!("gelu_tanh", gelu_tanh, gelu_tanh_inplace, gelu_tanh_derivative, gelu_tanh_backward,
                s::gelu_tanh::<f64>, s::gelu_tanh_derivative::<f64>, |_, _| (-0.171, f64::INFINITY), 4.0, 4.0,
                |x| (-1.1..=-0.45).contains(&x)),
            k0!("silu", silu, silu_inplace, silu_derivative, silu_backward,
                s::silu::<f64>, s::silu_derivative::<f64>, |_, _| (-0.2785, f64::INFINITY), 2.0, 4.0,
                |x| (-1.6..=-1.0).contains(&x)),
            k0!("mish", mish, mish_inplace, mish_derivative, mish_backward,
                s::mish::<f64>, s::mish_derivative::<f64>, |_, _| (-0.3089, f64::INFINITY), 4.0, 4.0,
                |x| (-1.6..=-0.9).contains(&x)),
            k0!("log_sigmoid", log_sigmoid, log_sigmoid_inplace, log_sigmoid_derivative, log_sigmoid_backward,
                s::log_sigmoid::<f64>, s::log_sigmoid_derivative::<f64>, |_, _| (f64::NEG_INFINITY, 0.0), 2.0, 4.0, no_excl),
            k0!("hardsigmoid", hardsigmoid, hardsigmoid_inplace, hardsigmoid_derivative, hardsigmoid_backward,
                s::hardsigmoid::<f64>, s::hardsigmoid_derivative::<f64>, |_, _| (0.0, 1.0), 1.0, 1.0, no_excl),
            k0!("hardswish", hardswish, hardswish_inplace, hardswish_derivative, hardswish_backward,
                s::hardswish::<f64>, s::hardswish_derivative::<f64>, |_, _| (-0.375, f64::INFINITY), 1.0, 1.0, no_excl),
            k0!("softsign", softsign, softsign_inplace, softsign_derivative, softsign_backward,
                s::softsign::<f64>, s::softsign_derivative::<f64>, |_, _| (-1.0, 1.0), 2.0, 4.0, no_excl),
            k1!("leaky_relu", leaky_relu, leaky_relu_inplace, leaky_relu_derivative, leaky_relu_backward,
                s::leaky_relu::<f64>, s::leaky_relu_derivative::<f64>, finite, all_reals, 1.0, 1.0),
            k1!("elu", elu, elu_inplace, elu_derivative, elu_backward,
                s::elu::<f64>, s::elu_derivative::<f64>, alpha_ok, all_reals, 2.0, 4.0),
            k1!("celu", celu, celu_inplace, celu_derivative, celu_backward,
                s::celu::<f64>, s::celu_derivative::<f64>, nonzero, all_reals, 2.0, 4.0),
            k1!("swish", swish, swish_inplace, swish_derivative, swish_backward,
                s::swish::<f64>, s::swish_derivative::<f64>, finite, all_reals, 2.0, 4.0),
            k1!("softplus", softplus, softplus_inplace, softplus_derivative, softplus_backward,
                s::softplus::<f64>, s::softplus_derivative::<f64>, softplus_beta, |_, _| (0.0, f64::INFINITY), 2.0, 4.0),
            Kernel::<$t> {
                name: "hardtanh",
                fwd: |x, a, b, o| nonlin::hardtanh(x, a, b, o),
                inplace: |x, a, b| nonlin::hardtanh_inplace(x, a, b),
                der: |x, a, b, o| nonlin::hardtanh_derivative(x, a, b, o),
                bwd: |x, g, a, b, o| nonlin::hardtanh_backward(x, g, a, b, o),
                reference: |x, a, b| s::hardtanh::<f64>(x, a, b),
                reference_der: |x, a, b| s::hardtanh_derivative::<f64>(x, a, b),
                valid: ordered,
                range: |a, b| (a, b),
                budget: 1.0,
                budget_der: 1.0,
                der_excluded: no_excl,
            },
        ]
    }};
}

/// ULP distance of an f32 result from an f64 reference (subnormal spacing below normal).
fn ulp32(got: f32, want: f64) -> f64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if (want as f32).is_infinite() || got.is_infinite() {
        return if got == want as f32 {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let a = want.abs();
    let ulp = if a < f32::MIN_POSITIVE as f64 {
        libm::ldexp(1.0, -149)
    } else {
        libm::ldexp(1.0, libm::ilogb(a) - 23)
    };
    ((got as f64) - want).abs() / ulp
}

macro_rules! run {
    ($t:ty, $case:expr, $ulp_check:expr) => {{
        let case = $case;
        let ks = kernels!($t);
        let k = &ks[case.kernel as usize % ks.len()];
        let x: Vec<$t> = case.data.iter().take(64).map(|&v| v as $t).collect();
        let g: Vec<$t> = case.grad.iter().take(64).map(|&v| v as $t).collect();
        let (p1, p2) = (case.p1 as $t, case.p2 as $t);
        let (q1, q2) = (p1 as f64, p2 as f64);
        // Subnormal alpha is refused in f64 only (see elu.rs); f32 accepts it.
        let min_pos = if core::mem::size_of::<$t>() == 8 {
            f64::MIN_POSITIVE
        } else {
            0.0
        };
        let valid = (k.valid)(q1, q2, min_pos);
        let n = x.len();
        // Wrong output length: Err, output untouched.
        if case.bad_len {
            let mut out = vec![7.0 as $t; n + 1];
            assert!(
                (k.fwd)(&x, p1, p2, &mut out).is_err(),
                "{}: length mismatch accepted",
                k.name
            );
            assert!(
                out.iter().all(|&v| v == 7.0),
                "{}: output written on error",
                k.name
            );
        }
        let mut out = vec![7.0 as $t; n];
        let r = (k.fwd)(&x, p1, p2, &mut out);
        if !valid {
            assert!(
                r.is_err(),
                "{}: invalid parameters ({q1}, {q2}) accepted",
                k.name
            );
            assert!(
                out.iter().all(|&v| v == 7.0),
                "{}: output written on error",
                k.name
            );
            return;
        }
        assert!(
            r.is_ok(),
            "{}: valid parameters ({q1}, {q2}) refused: {r:?}",
            k.name
        );
        let mut der = vec![0.0 as $t; n];
        assert!((k.der)(&x, p1, p2, &mut der).is_ok());
        let (lo, hi) = (k.range)(q1, q2);
        for i in 0..n {
            let xi = x[i];
            let (y, d) = (out[i], der[i]);
            assert_eq!(
                xi.is_nan(),
                y.is_nan(),
                "{}({xi:e}) = {y:e}: NaN in iff NaN out",
                k.name
            );
            assert_eq!(
                xi.is_nan(),
                d.is_nan(),
                "{}'({xi:e}) = {d:e}: NaN in iff NaN out",
                k.name
            );
            if !xi.is_nan() {
                let yf = y as f64;
                assert!(
                    yf >= lo - 1e-6 * lo.abs() && yf <= hi + 1e-6 * hi.abs(),
                    "{}({xi:e}) = {y:e} outside [{lo}, {hi}]",
                    k.name
                );
            }
            // Position independence: the one-element call gives the same bits.
            let mut one = [0.0 as $t];
            let _ = (k.fwd)(&[xi], p1, p2, &mut one);
            assert_eq!(
                one[0].to_bits(),
                y.to_bits(),
                "{}: element {i} differs from a one-element call",
                k.name
            );
            $ulp_check(k, xi as f64, y as f64, d as f64, q1, q2);
        }
        // In place equals out of place.
        let mut inp = x.clone();
        assert!((k.inplace)(&mut inp, p1, p2).is_ok());
        assert!(
            inp.iter()
                .zip(&out)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{}: in place differs",
            k.name
        );
        // Backward: grad * derivative; a length mismatch is an error.
        if g.len() == n {
            let mut gi = vec![0.0 as $t; n];
            assert!((k.bwd)(&x, &g, p1, p2, &mut gi).is_ok());
            for i in 0..n {
                // grad * f'(x) is NaN only from a NaN input, a non-finite gradient, or an
                // infinite derivative times a zero gradient (celu with alpha < 0).
                if !x[i].is_nan() && g[i].is_finite() && !der[i].is_infinite() && gi[i].is_nan() {
                    panic!(
                        "{}: backward NaN from x = {:e}, grad = {:e}",
                        k.name, x[i], g[i]
                    );
                }
            }
        } else {
            let mut gi = vec![0.0 as $t; n];
            assert!(
                (k.bwd)(&x, &g, p1, p2, &mut gi).is_err(),
                "{}: backward length mismatch accepted",
                k.name
            );
        }
    }};
}

fn check32(k: &Kernel<f32>, x: f64, y: f64, d: f64, p1: f64, p2: f64) {
    // At ±inf the libm-based scalar references may form inf * 0; the limits are tested in
    // tests/ against their mathematical values instead.
    if !x.is_finite() {
        return;
    }
    let u = ulp32(y as f32, (k.reference)(x, p1, p2));
    assert!(
        u <= k.budget,
        "{}({x:e}; {p1}, {p2}) = {y:e}: {u} ULP > {}",
        k.name,
        k.budget
    );
    if !(k.der_excluded)(x) {
        let u = ulp32(d as f32, (k.reference_der)(x, p1, p2));
        assert!(
            u <= k.budget_der,
            "{}'({x:e}; {p1}, {p2}) = {d:e}: {u} ULP > {}",
            k.name,
            k.budget_der
        );
    }
}

/// The f64 kernels against MPFR (the libm-based scalar reference is itself only a few ULP
/// accurate in f64): the parameter-free kernels through the tests' catalog of MPFR
/// references and the budget table, the same ones `tests/` and the report measure; the
/// parametrised ones (the catalog holds them at their default parameters only) through
/// [`mpfr_param`] at the fuzzed parameters, against the same budget table.
fn check64(k: &Kernel<f64>, x: f64, y: f64, d: f64, p1: f64, p2: f64) {
    if !x.is_finite() {
        return;
    }
    if !PARAMETER_FREE.contains(&k.name) {
        let Some((want, want_der, der_excluded)) = mpfr_param(k.name, x, p1, p2) else {
            panic!("{}: no MPFR reference", k.name);
        };
        let der_name = format!("{}_derivative", k.name);
        for (name, got, want, skip) in [
            (k.name, y, want, false),
            (der_name.as_str(), d, want_der, der_excluded),
        ] {
            let Some(bud) = budget(name, "f64") else {
                panic!("{name}: no f64 budget");
            };
            if skip {
                continue;
            }
            let u = ulp_f64(got, &want);
            assert!(
                u <= bud,
                "{name}({x:e}; {p1:e}, {p2:e}) = {got:e}: {u} ULP > {bud} (f64, MPFR {want})"
            );
        }
        return;
    }
    let der_name = format!("{}_derivative", k.name);
    for (name, got) in [(k.name, y), (der_name.as_str(), d)] {
        let (Some(entry), Some(bud)) =
            (CATALOG.iter().find(|u| u.name == name), budget(name, "f64"))
        else {
            panic!("{name}: no catalog entry or f64 budget");
        };
        if (entry.excluded)(x) {
            continue;
        }
        let want = (entry.mpfr)(&mp(x));
        let u = ulp_f64(got, &want);
        assert!(
            u <= bud,
            "{name}({x:e}) = {got:e}: {u} ULP > {bud} (f64, MPFR {want})"
        );
    }
}

/// `σ(z)` in MPFR.
fn sigmoid_mp(z: &Mp) -> Mp {
    let e = Mp::with_val(MPFR_PREC, -z).exp();
    Mp::with_val(MPFR_PREC, 1u32) / (e + 1u32)
}

/// MPFR references of the parametrised kernels at finite `x`, as each kernel's
/// documentation states them (the branch at the kink as the kernel takes it): the value,
/// the derivative, and whether the derivative is in its documented zero-crossing
/// neighbourhood (an absolute bound there, not the ULP budget). Products and quotients of
/// `x` with a parameter are exact at MPFR's 160 bits, as the kernels' contracts assume
/// ("`βx` carried exactly", "the quotient `x / alpha` carried with its rounding error").
fn mpfr_param(name: &str, x: f64, p1: f64, p2: f64) -> Option<(Mp, Mp, bool)> {
    let xm = mp(x);
    let one = || mp(1.0);
    Some(match name {
        "leaky_relu" => {
            if x > 0.0 {
                (xm, one(), false)
            } else {
                (xm * p1, mp(p1), false)
            }
        }
        "elu" => {
            if x > 0.0 {
                (xm, one(), false)
            } else {
                let em1 = Mp::with_val(MPFR_PREC, xm.exp_m1_ref()) * p1;
                (em1, xm.exp() * p1, false)
            }
        }
        "celu" => {
            if x > 0.0 {
                (xm, one(), false)
            } else {
                let q = xm / p1;
                let em1 = Mp::with_val(MPFR_PREC, q.exp_m1_ref()) * p1;
                (em1, q.exp(), false)
            }
        }
        "swish" => {
            let z = Mp::with_val(MPFR_PREC, &xm * p1);
            let s = sigmoid_mp(&z);
            let value = Mp::with_val(MPFR_PREC, &xm * &s);
            // σ(z)(1 + z(1 - σ(z))): zero near z = -1.2785, like silu'.
            let der = Mp::with_val(MPFR_PREC, &z * (one() - &s) + 1u32) * &s;
            let zf = z.to_f64();
            (value, der, (-1.6..=-1.0).contains(&zf))
        }
        "softplus" => {
            // max(x, 0) + ln(1 + e^{-β|x|}) / β (β > 0: the kernel refuses others).
            let z = Mp::with_val(MPFR_PREC, &xm * p1);
            let a = Mp::with_val(MPFR_PREC, z.abs_ref());
            let t = Mp::with_val(MPFR_PREC, -a).exp().ln_1p() / p1;
            let value = if x > 0.0 { t + &xm } else { t };
            (value, sigmoid_mp(&z), false)
        }
        "hardtanh" => {
            let (value, der) = if x < p1 {
                (mp(p1), 0.0)
            } else if x > p2 {
                (mp(p2), 0.0)
            } else {
                (xm, if x > p1 && x < p2 { 1.0 } else { 0.0 })
            };
            (value, mp(der), false)
        }
        _ => return None,
    })
}

/// The kernels whose catalog entry (default parameters) is the kernel the fuzzer calls.
const PARAMETER_FREE: [&str; 13] = [
    "sigmoid",
    "tanh",
    "relu",
    "relu6",
    "selu",
    "gelu",
    "gelu_tanh",
    "silu",
    "mish",
    "log_sigmoid",
    "hardsigmoid",
    "hardswish",
    "softsign",
];

static CATALOG: std::sync::LazyLock<Vec<Unary>> = std::sync::LazyLock::new(unary_kernels);

fuzz_target!(|case: Case| {
    if case.f64 {
        run!(f64, case, check64)
    } else {
        run!(f32, case, check32)
    }
});
