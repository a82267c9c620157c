//! Accuracy of the vector math (exp, expm1, ln, log1p, tanh) against f64 (for f32) and MPFR
//! (for f64), over dense sweeps and edge cases.

use nonlin::vmath;
use nonlin_tests::*;

fn f32_case(
    name: &str,
    f: impl Fn(<f32 as nonlin::Float>::Lane) -> <f32 as nonlin::Float>::Lane + Copy,
    r: impl Fn(f64) -> f64 + Sync,
) {
    let xs = sweep_f32(509);
    let w = measure_f32(&xs, |x, o| apply_lane(x, o, f), r, |_| false);
    assert_within(
        &format!("{name} f32"),
        &w,
        budgets::budget(if name == "tanh" { "tanh_vm" } else { name }, "f32").unwrap(),
    );
}

fn f64_case(
    name: &str,
    f: impl Fn(<f64 as nonlin::Float>::Lane) -> <f64 as nonlin::Float>::Lane + Copy,
    r: impl Fn(&rug::Float) -> rug::Float + Sync,
    emax: i32,
    lin: f64,
) {
    let xs = sample_f64(1_000_000, -1080, emax, lin, 42);
    let w = measure_f64(&xs, |x, o| apply_lane(x, o, f), r, |_| false);
    assert_within(
        &format!("{name} f64"),
        &w,
        budgets::budget(name, "f64").unwrap(),
    );
}

#[test]
fn exp_f32() {
    f32_case("exp", vmath::exp, libm::exp);
}
#[test]
fn expm1_f32() {
    f32_case("expm1", vmath::expm1, libm::expm1);
}
#[test]
fn ln_f32() {
    f32_case("ln", vmath::ln, libm::log);
}
#[test]
fn log1p_f32() {
    f32_case("log1p", vmath::log1p, libm::log1p);
}
#[test]
fn exp_f64() {
    f64_case("exp", vmath::exp, |x| x.clone().exp(), 10, 800.0);
}
#[test]
fn expm1_f64() {
    f64_case("expm1", vmath::expm1, |x| x.clone().exp_m1(), 10, 800.0);
}
#[test]
fn ln_f64() {
    f64_case("ln", vmath::ln, |x| x.clone().ln(), 1024, 1e6);
}
#[test]
fn log1p_f64() {
    f64_case("log1p", vmath::log1p, |x| x.clone().ln_1p(), 1024, 1e6);
}
