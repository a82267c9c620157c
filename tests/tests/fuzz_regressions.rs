//! Inputs the fuzzers found, kept as regression tests.

/// `activations` fuzzer: softplus with an extreme beta gave NaN (beta = f64::MAX,
/// x = 1.36e-312; beta = 5e-324). beta is now limited to [2^-64, 2^64] and refused outside.
#[test]
fn softplus_extreme_beta_is_refused_not_nan() {
    let x = [1.36006667727e-312f64, 1.0];
    let mut out = [0.0f64; 2];
    for beta in [f64::MAX, 5e-324, 1e-30, 1e30] {
        let e = nonlin::softplus(&x, beta, &mut out).unwrap_err();
        assert!(e.to_string().contains("beta"), "{e}");
    }
    let (lo, hi) = nonlin::SOFTPLUS_BETA_RANGE;
    for beta in [lo, hi, 1e-10, 1e10] {
        nonlin::softplus(&x, beta, &mut out).unwrap();
        assert!(
            out.iter().all(|v| v.is_finite() && *v >= 0.0),
            "beta {beta}: {out:?}"
        );
    }
    let xf = [1e-40f32, 1.0];
    let mut of = [0.0f32; 2];
    assert!(nonlin::softplus(&xf, f32::MAX, &mut of).is_err());
    assert!(nonlin::softplus(&xf, 1e-38f32, &mut of).is_err());
}

/// `activations` fuzzer: elu with a subnormal alpha gave NaN (alpha = 5e-324,
/// x = -5.39e67). A subnormal alpha is refused; 0 and normal values work.
#[test]
fn elu_subnormal_alpha_is_refused_not_nan() {
    let x = [-5.3919893334301274e67f64, -1.0];
    let mut out = [0.0f64; 2];
    assert!(nonlin::elu(&x, 5e-324, &mut out).is_err());
    assert!(nonlin::celu(&x, -5e-324, &mut out).is_err());
    nonlin::elu(&x, 0.0, &mut out).unwrap();
    assert_eq!(out, [0.0, 0.0]);
    nonlin::elu(&x, f64::MIN_POSITIVE, &mut out).unwrap();
    assert!(out.iter().all(|v| v.is_finite()));
}

/// `activations` fuzzer: celu with a negative alpha has an infinite derivative for very
/// negative x (exp(x/alpha) overflows); times a zero gradient that is NaN, as IEEE says.
/// The forward value is the limit -inf, never NaN.
#[test]
fn celu_negative_alpha_tail() {
    let x = [-1.3476555e28f32];
    let mut y = [0.0f32];
    nonlin::celu(&x, -0.5, &mut y).unwrap();
    assert_eq!(y[0], f32::NEG_INFINITY);
    let mut d = [0.0f32];
    nonlin::celu_derivative(&x, -0.5, &mut d).unwrap();
    assert_eq!(d[0], f32::INFINITY);
}

/// `activations` fuzzer (reference side): silu(-inf) is the limit -0, not the NaN of
/// -inf * sigmoid(-inf) that a naive formula gives.
#[test]
fn silu_at_negative_infinity_is_negative_zero() {
    let mut y = [1.0f32; 2];
    nonlin::silu(&[f32::NEG_INFINITY, f32::INFINITY], &mut y).unwrap();
    assert_eq!(y[0].to_bits(), (-0.0f32).to_bits());
    assert_eq!(y[1], f32::INFINITY);
}
