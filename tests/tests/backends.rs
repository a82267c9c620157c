//! Every kernel of the catalog through every lane backend this CPU supports (issue #7):
//! each backend is held to the published ULP budgets against the references, is position
//! independent on its own, and agrees with the other backends within the budgets.
//!
//! On targets with one backend (aarch64, where `wide` uses NEON) this is the accuracy and
//! position-independence check of every kernel on that backend: `scripts/aarch64.sh` runs it
//! under qemu-user.
//!
//! The backend is a process-wide selection, so everything runs in one test function (this
//! file is its own test binary: no other test can switch the backend under it).

use nonlin::backend::{Backend, backend, set_backend};
use nonlin_tests::catalog::{Unary, unary_kernels};
use nonlin_tests::{
    budgets, check_position_independence_f32, check_position_independence_f64, edge_cases_f32,
    edge_cases_f64, mp, par_map, range_f32, sample_f64, sweep_f32, ulp_f32, ulp_f64, worst_over,
};

/// ULP distance between two results of the same kernel, treating equal NaNs as agreeing.
fn ulp_apart_f32(a: f32, b: f32) -> f64 {
    if a.is_nan() && b.is_nan() {
        return 0.0;
    }
    ulp_f32(a, b as f64)
}

fn ulp_apart_f64(a: f64, b: f64) -> f64 {
    if a.is_nan() && b.is_nan() {
        return 0.0;
    }
    if a == b {
        return 0.0;
    }
    if a.is_nan() || b.is_nan() || a.is_infinite() || b.is_infinite() || a.signum() != b.signum() {
        return f64::INFINITY;
    }
    // Both finite, same sign: the distance in representable numbers.
    (a.abs().to_bits() as i64 - b.abs().to_bits() as i64).unsigned_abs() as f64
}

/// One kernel on every backend in `backends`: each held to the budgets against references
/// computed once (f64 for f32, MPFR for f64) and checked for position independence; returns
/// each backend's outputs on all of `xs32` / `xs64` (non-finite inputs included).
fn run_kernel(
    k: &Unary,
    backends: &[Backend],
    xs32: &[f32],
    xs64: &[f64],
) -> Vec<(Vec<f32>, Vec<f64>)> {
    let b32 = budgets::budget(k.name, "f32").expect("budget f32");
    let b64 = budgets::budget(k.name, "f64").expect("budget f64");
    // Non-finite inputs are compared across backends below (their values are each family's
    // own special-value test); the references are for finite numbers.
    let num32: Vec<f32> = xs32.iter().copied().filter(|x| x.is_finite()).collect();
    let num64: Vec<f64> = xs64.iter().copied().filter(|x| x.is_finite()).collect();
    let want32 = par_map(&num32, |&x| (k.ref64)(x as f64));
    let want64 = par_map(&num64, |&x| (k.mpfr)(&mp(x)));
    let mut outs = Vec::new();
    for &b in backends {
        set_backend(b).expect("supported backend");
        assert_eq!(backend(), b);
        let name = format!("{} [{}]", k.name, b.name());
        let mut got32 = vec![0.0f32; num32.len()];
        (k.f32)(&num32, &mut got32);
        // The measuring scans run on several threads (`worst_over`, the sequential scan's
        // result): serially, `ulp_f32` over the 18 million inputs was a quarter of this
        // test's time.
        let w = worst_over(num32.len(), |i| {
            let (x, y, want) = (num32[i], got32[i], want32[i]);
            (!(k.excluded)(x as f64)).then(|| (ulp_f32(y, want), x as f64, y as f64, want))
        });
        nonlin_tests::assert_within(&format!("{name} f32"), &w, b32);
        let mut got64 = vec![0.0f64; num64.len()];
        (k.f64)(&num64, &mut got64);
        let w = worst_over(num64.len(), |i| {
            let (x, y, want) = (num64[i], got64[i], &want64[i]);
            (!(k.excluded)(x)).then(|| (ulp_f64(y, want), x, y, want.to_f64()))
        });
        nonlin_tests::assert_within(&format!("{name} f64"), &w, b64);
        check_position_independence_f32(&name, k.f32);
        check_position_independence_f64(&name, k.f64);
        let mut o32 = vec![0.0f32; xs32.len()];
        (k.f32)(xs32, &mut o32);
        let mut o64 = vec![0.0f64; xs64.len()];
        (k.f64)(xs64, &mut o64);
        outs.push((o32, o64));
    }
    outs
}

#[test]
fn every_backend_within_budget_and_backends_agree() {
    let kernels = unary_kernels();
    // Every 4093rd f32 bit pattern (about a million inputs) plus every 128th float of
    // [-20, 20] (17 million); NONLIN_SWEEP_STRIDE coarsens both for slow runners (qemu-user
    // and the native-build pass in CI). Each family's own tests sweep the default backend
    // more densely.
    let stride: u32 = std::env::var("NONLIN_SWEEP_STRIDE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&s| s >= 1)
        .unwrap_or(4093);
    let mut xs32 = sweep_f32(stride);
    xs32.extend(range_f32(-20.0, 20.0, 128 * stride.div_ceil(4093)));
    xs32.extend(edge_cases_f32());
    let mut xs64 = sample_f64(20_000, -30, 10, 0.5, 3);
    xs64.extend(edge_cases_f64());

    let initial = backend();
    let supported: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|b| b.is_supported())
        .collect();
    eprintln!(
        "backends supported here: {:?} (initially selected: {})",
        supported,
        initial.name()
    );
    for b in Backend::ALL {
        if !b.is_supported() {
            assert_eq!(
                set_backend(b),
                Err(nonlin::Error::UnsupportedBackend {
                    requested: b.name()
                })
            );
            assert_eq!(backend(), initial, "a refused request changes nothing");
        }
    }

    // Kernel by kernel, every backend in turn (the backend is process-wide, so this one
    // test owns it), references computed once per kernel.
    for k in &kernels {
        let outs = run_kernel(k, &supported, &xs32, &xs64);
        // Across backends: two results within their budgets of the exact value are within
        // twice the budget of each other; in practice they differ by an FMA's last-bit
        // rounding.
        let b32 = budgets::budget(k.name, "f32").expect("budget");
        let b64 = budgets::budget(k.name, "f64").expect("budget");
        for (pair, names) in outs.windows(2).zip(supported.windows(2)) {
            let ((oa32, oa64), (ob32, ob64)) = (&pair[0], &pair[1]);
            let (ba, bb) = (names[0], names[1]);
            let w32 = worst_over(xs32.len(), |i| {
                let x = xs32[i];
                let (ya, yb) = (oa32[i], ob32[i]);
                (!(k.excluded)(x as f64))
                    .then(|| (ulp_apart_f32(ya, yb), x as f64, ya as f64, yb as f64))
            });
            let w64 = worst_over(xs64.len(), |i| {
                let x = xs64[i];
                let (ya, yb) = (oa64[i], ob64[i]);
                (!(k.excluded)(x)).then(|| (ulp_apart_f64(ya, yb), x, ya, yb))
            });
            let (worst32, worst64) = ((w32.ulp, w32.at as f32), (w64.ulp, w64.at));
            eprintln!(
                "{}: {} vs {}: f32 {:.2} ULP apart (x = {:e}), f64 {:.0} ULP apart (x = {:e})",
                k.name,
                ba.name(),
                bb.name(),
                worst32.0,
                worst32.1,
                worst64.0,
                worst64.1
            );
            assert!(
                worst32.0 <= 2.0 * b32,
                "{}: backends {} and {} differ by {} ULP at {:e}",
                k.name,
                ba.name(),
                bb.name(),
                worst32.0,
                worst32.1
            );
            assert!(
                worst64.0 <= 2.0 * b64,
                "{}: backends {} and {} differ by {} ULP at {:e} (f64)",
                k.name,
                ba.name(),
                bb.name(),
                worst64.0,
                worst64.1
            );
        }
    }
    set_backend(initial).expect("restore");
}
