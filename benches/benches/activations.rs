//! Criterion benches: for every unary kernel in the catalog, the scalar libm reference loop,
//! the SIMD kernel and the parallel call, f32 at 4K / 64K / 1M / 16M elements and f64 at 1M,
//! next to a plain copy (the memory-bandwidth limit).
//!
//! `cargo bench -p nonlin-benches --bench activations -- 'gelu/'` runs one kernel.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use nonlin_tests::Rng;
use nonlin_tests::catalog::unary_kernels;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 4] = [4096, 65536, 1 << 20, 1 << 24];

fn input32(n: usize) -> Vec<f32> {
    let mut r = Rng::new(3);
    (0..n).map(|_| r.uniform(-10.0, 10.0) as f32).collect()
}

fn bench(c: &mut Criterion) {
    let only = std::env::var("NONLIN_BENCH_SIZES").ok();
    let sizes: Vec<usize> = only
        .map(|s| s.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    {
        let mut g = c.benchmark_group("copy");
        for &n in &sizes {
            let x = input32(n);
            let mut out = vec![0.0f32; n];
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(BenchmarkId::new("f32", n), |b| {
                b.iter(|| out.copy_from_slice(black_box(&x)))
            });
        }
    }
    for k in unary_kernels() {
        let mut g = c.benchmark_group(k.name);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_secs(1));
        g.sample_size(20);
        for &n in &sizes {
            let x = input32(n);
            let mut out = vec![0.0f32; n];
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(BenchmarkId::new("scalar_f32", n), |b| {
                b.iter(|| {
                    for (o, &v) in out.iter_mut().zip(black_box(&x)) {
                        *o = (k.scalar32)(v);
                    }
                })
            });
            g.bench_function(BenchmarkId::new("simd_f32", n), |b| {
                b.iter(|| (k.f32)(black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("parallel_f32", n), |b| {
                b.iter(|| (k.par32)(black_box(&x), &mut out))
            });
        }
        let n = 1 << 20;
        let x: Vec<f64> = input32(n).into_iter().map(f64::from).collect();
        let mut out = vec![0.0f64; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("simd_f64", n), |b| {
            b.iter(|| (k.f64)(black_box(&x), &mut out))
        });
        g.finish();
    }
}

// The macro generates an undocumented `benches` function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
