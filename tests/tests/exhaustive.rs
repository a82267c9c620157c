//! All 2^32 f32 inputs for every unary kernel in the catalog, against the stable f64
//! reference, held to the budget table (finite inputs: ±inf and NaN are each family's
//! special-value tests). Ignored by default (about 1–3 minutes per kernel
//! on 2 cores). Run with:
//!
//! ```text
//! cargo test --release -p nonlin-tests --test exhaustive -- --ignored --nocapture
//! NONLIN_ONLY=gelu,tanh cargo test --release -p nonlin-tests --test exhaustive -- --ignored --nocapture
//! ```

use nonlin_tests::catalog::{Unary, unary_kernels};
use nonlin_tests::{budgets, ulp_f32};
use std::time::Instant;

fn exhaustive(k: &Unary) -> (f64, f32) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let span = (1u64 << 32) / threads;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut worst = (0.0f64, 0.0f32);
                    let chunk = 1u64 << 16;
                    let mut xs = vec![0.0f32; chunk as usize];
                    let mut out = vec![0.0f32; chunk as usize];
                    let end = if t + 1 == threads {
                        1u64 << 32
                    } else {
                        (t + 1) * span
                    };
                    let mut b = t * span;
                    while b < end {
                        let n = chunk.min(end - b) as usize;
                        for (i, x) in xs[..n].iter_mut().enumerate() {
                            *x = f32::from_bits((b + i as u64) as u32);
                        }
                        (k.f32)(&xs[..n], &mut out[..n]);
                        for (&x, &y) in xs[..n].iter().zip(&out[..n]) {
                            // ±inf and NaN are each family's special-value tests (the
                            // stable references are for finite inputs: silu's gives NaN
                            // at -inf, where the kernel's -0 is the limit).
                            if !x.is_finite() || (k.excluded)(x as f64) {
                                continue;
                            }
                            let u = ulp_f32(y, (k.ref64)(x as f64));
                            if u > worst.0 {
                                worst = (u, x);
                            }
                        }
                        b += n as u64;
                    }
                    worst
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or((f64::INFINITY, f32::NAN)))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    })
}

#[test]
#[ignore = "all 2^32 inputs per kernel: run explicitly (see the module docs)"]
fn all_f32_inputs_within_budget() {
    let only: Option<Vec<String>> = std::env::var("NONLIN_ONLY")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());
    let mut failures = vec![];
    for k in unary_kernels() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == k.name))
        {
            continue;
        }
        let t = Instant::now();
        let (u, at) = exhaustive(&k);
        let b = budgets::budget(k.name, "f32").unwrap_or(0.0);
        eprintln!(
            "{:<24} max {:>8.3} ULP at x = {:e} (budget {b}) in {:.1} s",
            k.name,
            u,
            at,
            t.elapsed().as_secs_f64()
        );
        if u > b {
            failures.push(format!("{}: {u} ULP at {at:e} > {b}", k.name));
        }
    }
    assert!(failures.is_empty(), "over budget: {failures:?}");
}
