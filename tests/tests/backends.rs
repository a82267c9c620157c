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
    edge_cases_f64, measure_f32, measure_f64, range_f32, sample_f64, sweep_f32, ulp_f32,
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

struct Outputs {
    f32: Vec<Vec<f32>>,
    f64: Vec<Vec<f64>>,
}

fn run_backend(b: Backend, kernels: &[Unary], xs32: &[f32], xs64: &[f64]) -> Outputs {
    set_backend(b).expect("supported backend");
    assert_eq!(backend(), b);
    let mut out = Outputs {
        f32: Vec::new(),
        f64: Vec::new(),
    };
    for k in kernels {
        let name = format!("{} [{}]", k.name, b.name());
        let b32 = budgets::budget(k.name, "f32").expect("budget f32");
        let b64 = budgets::budget(k.name, "f64").expect("budget f64");
        // Non-finite inputs are compared across backends below (their values are each family's
        // own special-value test); the references are for finite numbers.
        let num32: Vec<f32> = xs32.iter().copied().filter(|x| x.is_finite()).collect();
        let num64: Vec<f64> = xs64.iter().copied().filter(|x| x.is_finite()).collect();
        let w = measure_f32(&num32, k.f32, k.ref64, k.excluded);
        nonlin_tests::assert_within(&format!("{name} f32"), &w, b32);
        let w = measure_f64(&num64, k.f64, k.mpfr, k.excluded);
        nonlin_tests::assert_within(&format!("{name} f64"), &w, b64);
        check_position_independence_f32(&name, k.f32);
        check_position_independence_f64(&name, k.f64);
        let mut o32 = vec![0.0f32; xs32.len()];
        (k.f32)(xs32, &mut o32);
        let mut o64 = vec![0.0f64; xs64.len()];
        (k.f64)(xs64, &mut o64);
        out.f32.push(o32);
        out.f64.push(o64);
    }
    out
}

#[test]
fn every_backend_within_budget_and_backends_agree() {
    let kernels = unary_kernels();
    // Every 4093rd f32 bit pattern (about a million inputs) plus a dense [-20, 20] range;
    // NONLIN_SWEEP_STRIDE coarsens both for slow runners (qemu-user in CI).
    let stride: u32 = std::env::var("NONLIN_SWEEP_STRIDE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&s| s >= 1)
        .unwrap_or(4093);
    let mut xs32 = sweep_f32(stride);
    xs32.extend(range_f32(-20.0, 20.0, 64 * stride.div_ceil(4093)));
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

    let results: Vec<(Backend, Outputs)> = supported
        .iter()
        .map(|&b| (b, run_backend(b, &kernels, &xs32, &xs64)))
        .collect();

    // Across backends: two results within their budgets of the exact value are within twice
    // the budget of each other; in practice they differ by an FMA's last-bit rounding.
    for (i, k) in kernels.iter().enumerate() {
        let b32 = budgets::budget(k.name, "f32").expect("budget");
        let b64 = budgets::budget(k.name, "f64").expect("budget");
        for pair in results.windows(2) {
            let ((ba, oa), (bb, ob)) = (&pair[0], &pair[1]);
            let mut worst32 = (0.0f64, 0.0f32);
            for ((&x, &ya), &yb) in xs32.iter().zip(&oa.f32[i]).zip(&ob.f32[i]) {
                if (k.excluded)(x as f64) {
                    continue;
                }
                let d = ulp_apart_f32(ya, yb);
                if d > worst32.0 {
                    worst32 = (d, x);
                }
            }
            let mut worst64 = (0.0f64, 0.0f64);
            for ((&x, &ya), &yb) in xs64.iter().zip(&oa.f64[i]).zip(&ob.f64[i]) {
                if (k.excluded)(x) {
                    continue;
                }
                let d = ulp_apart_f64(ya, yb);
                if d > worst64.0 {
                    worst64 = (d, x);
                }
            }
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
