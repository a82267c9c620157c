//! Measures where splitting a call across 2 threads starts to pay, to choose
//! `nonlin_parallel::PAR_THRESHOLD`.
//!
//! For a cheap kernel (relu), a mid one (sigmoid), expensive ones (gelu, mish), softmax
//! rows of 1000 and cross_entropy with grad on rows of 1000, over sizes 1K..256K f32
//! elements, in one run, inside a 2-thread rayon pool:
//! - `serial`: the `nonlin` call;
//! - `split2`: the same call on two halves through `rayon::join` (the best split a parallel
//!   layer can make at that size, whatever its threshold);
//! - `crate`: the `nonlin_parallel` call as shipped (serial below its threshold).
//!
//! Each sample times a batch of calls lasting about 0.2 ms; the three variants are sampled
//! in turn (interleaved, so that load from other processes hits them alike) and the median
//! of the samples is reported. The crossover of a kernel is the smallest size from which
//! `split2` beats `serial` by at least 10% at every larger size.
//!
//! Run (the README numbers use the default flags; add `RUSTFLAGS='-C target-cpu=native'`
//! with its own `CARGO_TARGET_DIR` for a native build):
//! `cargo run --release -p nonlin-benches --bin par_threshold [REPEATS]`

use nonlin::loss::{CrossEntropyOptions, Reduction};
use std::hint::black_box;
use std::time::Instant;

type Kernel = Box<dyn Fn(&[f32], &mut [f32]) + Sync>;

struct Case {
    name: &'static str,
    /// Elements per row (1 for element-wise kernels): splits are made between rows.
    cols: usize,
    serial: Kernel,
    parallel: Kernel,
}

fn cases(targets: &'static [i64]) -> Vec<Case> {
    let ce_opts = CrossEntropyOptions::<f32>::default();
    vec![
        Case {
            name: "relu",
            cols: 1,
            serial: Box::new(|x, o| {
                let _ = nonlin::relu(x, o);
            }),
            parallel: Box::new(|x, o| {
                let _ = nonlin_parallel::relu(x, o);
            }),
        },
        Case {
            name: "sigmoid",
            cols: 1,
            serial: Box::new(|x, o| {
                let _ = nonlin::sigmoid(x, o);
            }),
            parallel: Box::new(|x, o| {
                let _ = nonlin_parallel::sigmoid(x, o);
            }),
        },
        Case {
            name: "gelu",
            cols: 1,
            serial: Box::new(|x, o| {
                let _ = nonlin::gelu(x, o);
            }),
            parallel: Box::new(|x, o| {
                let _ = nonlin_parallel::gelu(x, o);
            }),
        },
        Case {
            name: "mish",
            cols: 1,
            serial: Box::new(|x, o| {
                let _ = nonlin::mish(x, o);
            }),
            parallel: Box::new(|x, o| {
                let _ = nonlin_parallel::mish(x, o);
            }),
        },
        Case {
            name: "softmax (rows of 1000)",
            cols: 1000,
            serial: Box::new(|x, o| {
                let _ = nonlin::softmax(x, 1000, o);
            }),
            parallel: Box::new(|x, o| {
                let _ = nonlin_parallel::softmax(x, 1000, o);
            }),
        },
        Case {
            name: "cross_entropy_with_grad (rows of 1000)",
            cols: 1000,
            serial: Box::new(move |x, g| {
                let t = targets.get(..x.len() / 1000).unwrap_or(&[]);
                let _ = black_box(nonlin::loss::cross_entropy_with_grad(
                    x,
                    t,
                    1000,
                    &ce_opts,
                    Reduction::Mean,
                    g,
                ));
            }),
            parallel: Box::new(move |x, g| {
                let t = targets.get(..x.len() / 1000).unwrap_or(&[]);
                let _ = black_box(nonlin_parallel::loss::cross_entropy_with_grad(
                    x,
                    t,
                    1000,
                    &ce_opts,
                    Reduction::Mean,
                    g,
                ));
            }),
        },
    ]
}

/// `reps` samples of the seconds per call of each of `fs` (batches of `batch` calls), taken
/// in turn.
fn per_call(samples: &mut [Vec<f64>], reps: usize, batch: usize, fs: &mut [&mut dyn FnMut()]) {
    for f in fs.iter_mut() {
        f();
    }
    for s in samples.iter_mut() {
        s.clear();
    }
    for _ in 0..reps {
        for (f, s) in fs.iter_mut().zip(samples.iter_mut()) {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            s.push(t.elapsed().as_secs_f64() / batch as f64);
        }
    }
}

/// `(median, best)` of the samples.
fn median_best(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN),
        v.first().copied().unwrap_or(f64::NAN),
    )
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(31);
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(2).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("thread pool: {e}");
            return;
        }
    };
    let max_n = 256 * 1024;
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 40) as u32
    };
    let x: Vec<f32> = (0..max_n)
        .map(|_| (next() as f32 / (1u32 << 24) as f32) * 16.0 - 8.0)
        .collect();
    let targets: &'static [i64] = Vec::leak(
        (0..max_n / 1000 + 1)
            .map(|_| (next() % 1000) as i64)
            .collect(),
    );
    let mut out = vec![0.0f32; max_n];
    println!(
        "par_threshold: f32, 2-thread rayon pool, median of {reps} interleaved samples; PAR_THRESHOLD = {}; RUSTFLAGS='{}' profile {}",
        nonlin_parallel::PAR_THRESHOLD,
        env!("NONLIN_RUSTFLAGS"),
        env!("NONLIN_PROFILE")
    );
    for case in cases(targets) {
        println!("\n{}", case.name);
        println!(
            "| elements | serial us | split2 us | crate us | split2 / serial | crate / serial | best split2 / best serial |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        let mut rows = Vec::new();
        let mut k = 10;
        while (1usize << k) <= max_n {
            // Whole rows: for rows of 1000, 1K..256K elements are 1..256 rows.
            let n = if case.cols == 1 {
                1usize << k
            } else {
                (1usize << (k - 10)) * case.cols
            };
            k += 1;
            let (xs, os) = (&x[..n], &mut out[..n]);
            // About 0.2 ms per sample, from one timed call.
            let t = Instant::now();
            (case.serial)(xs, os);
            let one = t.elapsed().as_secs_f64().max(1e-8);
            let batch = ((2e-4 / one) as usize).clamp(1, 100_000);
            let half = (n / case.cols).div_ceil(2) * case.cols;
            let mut samples: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(reps)).collect();
            pool.install(|| {
                let (sr, pr) = (&case.serial, &case.parallel);
                let mut o1 = vec![0.0f32; n];
                let mut o2 = vec![0.0f32; n];
                let mut o3 = vec![0.0f32; n];
                let mut f_serial = || sr(black_box(xs), &mut o1);
                let mut f_split = || {
                    let (xa, xb) = xs.split_at(half.min(n));
                    let (oa, ob) = o2.split_at_mut(half.min(n));
                    rayon::join(|| sr(black_box(xa), oa), || sr(black_box(xb), ob));
                };
                let mut f_crate = || pr(black_box(xs), &mut o3);
                per_call(
                    &mut samples,
                    reps,
                    batch,
                    &mut [&mut f_serial, &mut f_split, &mut f_crate],
                );
            });
            let m: Vec<(f64, f64)> = samples.iter_mut().map(|s| median_best(s)).collect();
            let [(ser, ser_b), (split, split_b), (krate, _)] = [m[0], m[1], m[2]];
            println!(
                "| {n} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                ser * 1e6,
                split * 1e6,
                krate * 1e6,
                split / ser,
                krate / ser,
                split_b / ser_b
            );
            rows.push((n, split / ser, split_b / ser_b));
        }
        // Crossover: the smallest size from which split2 is >= 10% faster at every larger
        // size measured (on the medians, and on the best samples: the idle-machine case).
        for (what, pick) in [("median", 0usize), ("best", 1)] {
            let r = |row: &(usize, f64, f64)| if pick == 0 { row.1 } else { row.2 };
            let cross = (0..rows.len())
                .find(|&i| rows.iter().skip(i).all(|row| r(row) <= 0.9))
                .and_then(|i| rows.get(i))
                .map(|row| row.0);
            match cross {
                Some(n) => println!(
                    "crossover ({}, {what}): split2 >= 10% faster from {n} elements",
                    case.name
                ),
                None => println!(
                    "crossover ({}, {what}): none up to {max_n} elements",
                    case.name
                ),
            }
        }
    }
}
