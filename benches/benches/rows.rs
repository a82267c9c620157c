//! Criterion benches for the softmax family, the losses with their gradients and the
//! backward passes: a plain scalar libm loop (the naive formula, the baseline), the `nonlin`
//! SIMD kernel and the `nonlin-parallel` call, f32 at 4K / 64K / 1M / 16M elements (rows of
//! 1000 for the row kernels, so 4, 65, 1048 and 16777 rows) and f64 at 1M, next to a plain
//! copy (the memory-bandwidth limit).
//!
//! `cargo bench -p nonlin-benches --bench rows -- 'softmax/'` runs one group;
//! `NONLIN_BENCH_SIZES=4096,65536` limits the sizes.

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_main};
use nonlin::loss::{CrossEntropyOptions, Reduction};
use nonlin_tests::Rng;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 4] = [4096, 65536, 1 << 20, 1 << 24];
const COLS: usize = 1000;

fn input(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.uniform(-8.0, 8.0) as f32).collect()
}

fn targets(rows: usize) -> Vec<i64> {
    let mut r = Rng::new(9);
    (0..rows)
        .map(|_| (r.next_u64() % COLS as u64) as i64)
        .collect()
}

/// The naive scalar softmax of one row (max, exp, sum, divide) through libm.
fn scalar_softmax(x: &[f32], out: &mut [f32]) {
    for (xr, or) in x.chunks_exact(COLS).zip(out.chunks_exact_mut(COLS)) {
        let m = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut s = 0.0f32;
        for (o, &v) in or.iter_mut().zip(xr) {
            *o = libm::expf(v - m);
            s += *o;
        }
        for o in or.iter_mut() {
            *o /= s;
        }
    }
}

/// The naive scalar cross-entropy (mean, index targets) with its gradient.
fn scalar_cross_entropy(x: &[f32], t: &[i64], grad: &mut [f32]) -> f32 {
    let rows = x.len() / COLS;
    let mut total = 0.0f32;
    for ((xr, gr), &k) in x.chunks_exact(COLS).zip(grad.chunks_exact_mut(COLS)).zip(t) {
        let m = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let s: f32 = xr.iter().map(|&v| libm::expf(v - m)).sum();
        let lse = m + libm::logf(s);
        total += lse - xr[k as usize];
        for (j, (g, &v)) in gr.iter_mut().zip(xr).enumerate() {
            let p = libm::expf(v - lse);
            *g = (p - if j == k as usize { 1.0 } else { 0.0 }) / rows as f32;
        }
    }
    total / rows as f32
}

fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    g.sample_size(20);
}

fn bench(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("NONLIN_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    let ce = CrossEntropyOptions::<f32>::default();
    let ce64 = CrossEntropyOptions::<f64>::default();
    let mean = Reduction::Mean;

    {
        let mut g = c.benchmark_group("rows_copy");
        for &n in &sizes {
            let x = input(n, 1);
            let mut out = vec![0.0f32; n];
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(BenchmarkId::new("f32", n), |b| {
                b.iter(|| out.copy_from_slice(black_box(&x)))
            });
        }
    }

    let mut g = c.benchmark_group("softmax");
    configure(&mut g);
    for &size in &sizes {
        let n = size / COLS * COLS;
        let x = input(n, 1);
        let mut out = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("scalar_f32", n), |b| {
            b.iter(|| scalar_softmax(black_box(&x), &mut out))
        });
        g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
            b.iter(|| nonlin::softmax(black_box(&x), COLS, &mut out))
        });
        g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
            b.iter(|| nonlin_parallel::softmax(black_box(&x), COLS, &mut out))
        });
    }
    let n = (1 << 20) / COLS * COLS;
    let x64: Vec<f64> = input(n, 1).into_iter().map(f64::from).collect();
    let mut out64 = vec![0.0f64; n];
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("simd_f64", n), |b| {
        b.iter(|| nonlin::softmax(black_box(&x64), COLS, &mut out64))
    });
    g.finish();

    let mut g = c.benchmark_group("log_softmax");
    configure(&mut g);
    for &size in &sizes {
        let n = size / COLS * COLS;
        let x = input(n, 1);
        let mut out = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
            b.iter(|| nonlin::log_softmax(black_box(&x), COLS, &mut out))
        });
        g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
            b.iter(|| nonlin_parallel::log_softmax(black_box(&x), COLS, &mut out))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("softmax_backward");
    configure(&mut g);
    for &size in &sizes {
        let n = size / COLS * COLS;
        let mut y = vec![0.0f32; n];
        let _ = nonlin::softmax(&input(n, 1), COLS, &mut y);
        let dy = input(n, 2);
        let mut out = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
            b.iter(|| nonlin::softmax_backward(black_box(&y), &dy, COLS, &mut out))
        });
        g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
            b.iter(|| nonlin_parallel::softmax_backward(black_box(&y), &dy, COLS, &mut out))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("cross_entropy_with_grad");
    configure(&mut g);
    for &size in &sizes {
        let n = size / COLS * COLS;
        let x = input(n, 1);
        let t = targets(n / COLS);
        let mut grad = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("scalar_f32", n), |b| {
            b.iter(|| scalar_cross_entropy(black_box(&x), &t, &mut grad))
        });
        g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
            b.iter(|| {
                nonlin::loss::cross_entropy_with_grad(black_box(&x), &t, COLS, &ce, mean, &mut grad)
            })
        });
        g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
            b.iter(|| {
                nonlin_parallel::loss::cross_entropy_with_grad(
                    black_box(&x),
                    &t,
                    COLS,
                    &ce,
                    mean,
                    &mut grad,
                )
            })
        });
    }
    let t = targets(n / COLS);
    let mut grad64 = vec![0.0f64; n];
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("simd_f64", n), |b| {
        b.iter(|| {
            nonlin::loss::cross_entropy_with_grad(
                black_box(&x64),
                &t,
                COLS,
                &ce64,
                mean,
                &mut grad64,
            )
        })
    });
    g.finish();

    // Element-wise losses and a backward pass: the same sizes, no rows.
    let mut g = c.benchmark_group("bce_with_logits_with_grad");
    configure(&mut g);
    for &n in &sizes {
        let x = input(n, 1);
        let t: Vec<f32> = input(n, 2)
            .iter()
            .map(|v| (v > &0.0) as u8 as f32)
            .collect();
        let mut grad = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("scalar_f32", n), |b| {
            b.iter(|| {
                let mut s = 0.0f32;
                for ((gi, &xi), &ti) in grad.iter_mut().zip(black_box(&x)).zip(&t) {
                    let p = 1.0 / (1.0 + libm::expf(-xi));
                    s += xi.max(0.0) - xi * ti + libm::log1pf(libm::expf(-xi.abs()));
                    *gi = (p - ti) / n as f32;
                }
                s / n as f32
            })
        });
        g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
            b.iter(|| {
                nonlin::loss::bce_with_logits_with_grad(
                    black_box(&x),
                    &t,
                    None,
                    None,
                    mean,
                    &mut grad,
                )
            })
        });
        g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
            b.iter(|| {
                nonlin_parallel::loss::bce_with_logits_with_grad(
                    black_box(&x),
                    &t,
                    None,
                    None,
                    mean,
                    &mut grad,
                )
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("mse_with_grad");
    configure(&mut g);
    for &n in &sizes {
        let x = input(n, 1);
        let t = input(n, 2);
        let mut grad = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
            b.iter(|| nonlin::loss::mse_with_grad(black_box(&x), &t, mean, &mut grad))
        });
        g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
            b.iter(|| nonlin_parallel::loss::mse_with_grad(black_box(&x), &t, mean, &mut grad))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("gelu_backward");
    configure(&mut g);
    for &n in &sizes {
        let x = input(n, 1);
        let dy = input(n, 2);
        let mut out = vec![0.0f32; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("scalar_f32", n), |b| {
            b.iter(|| {
                for ((o, &xi), &gi) in out.iter_mut().zip(black_box(&x)).zip(&dy) {
                    *o = gi * nonlin::scalar::gelu_derivative(xi);
                }
            })
        });
        g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
            b.iter(|| nonlin::gelu_backward(black_box(&x), &dy, &mut out))
        });
        g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
            b.iter(|| nonlin_parallel::gelu_backward(black_box(&x), &dy, &mut out))
        });
    }
    g.finish();
}

// The macro generates an undocumented `benches` function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
