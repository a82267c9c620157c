//! `nonlin-parallel` is bit-identical to serial `nonlin` for 1, 2, 3 and 8 threads, on odd
//! lengths and lengths around the parallel threshold and the block size; errors match.

use nonlin::loss::Reduction;
use nonlin_parallel::{PAR_THRESHOLD, in_pool};
use nonlin_tests::Rng;

fn pools() -> Vec<rayon::ThreadPool> {
    [1, 2, 3, 8]
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("pool")
        })
        .collect()
}

fn lengths() -> Vec<usize> {
    let t = PAR_THRESHOLD;
    vec![
        0,
        1,
        7,
        4097,
        t - 1,
        t,
        t + 1,
        t + 4095,
        3 * t + 17,
        300_001,
    ]
}

fn data(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.uniform(lo, hi) as f32).collect()
}

/// Errors compared by their text (an error holding a NaN value is not `==` to itself).
macro_rules! assert_same_err {
    ($a:expr, $b:expr $(, $($m:tt)*)?) => {
        assert_eq!(format!("{:?}", $a), format!("{:?}", $b) $(, $($m)*)?)
    };
}

fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn elementwise_bit_identical() {
    type K = (
        &'static str,
        fn(&[f32], &mut [f32]) -> Result<(), nonlin::Error>,
        fn(&[f32], &mut [f32]) -> Result<(), nonlin::Error>,
    );
    let ks: [K; 6] = [
        ("gelu", nonlin::gelu, nonlin_parallel::gelu),
        (
            "tanh_derivative",
            nonlin::tanh_derivative,
            nonlin_parallel::tanh_derivative,
        ),
        ("relu", nonlin::relu, nonlin_parallel::relu),
        ("mish", nonlin::mish, nonlin_parallel::mish),
        (
            "softplus",
            |x, o| nonlin::softplus(x, 2.0, o),
            |x, o| nonlin_parallel::softplus(x, 2.0, o),
        ),
        (
            "hardtanh",
            |x, o| nonlin::hardtanh(x, -0.5, 2.0, o),
            |x, o| nonlin_parallel::hardtanh(x, -0.5, 2.0, o),
        ),
    ];
    let ps = pools();
    for n in lengths() {
        let x = data(n, n as u64, -20.0, 20.0);
        for (name, s, p) in ks {
            let mut want = vec![0.0f32; n];
            s(&x, &mut want).unwrap();
            for pool in &ps {
                let mut got = vec![0.0f32; n];
                in_pool(pool, || p(&x, &mut got)).unwrap();
                assert!(
                    same(&got, &want),
                    "{name} n={n} threads={}",
                    pool.current_num_threads()
                );
            }
        }
        // backward and in place
        let g = data(n, 5, -1.0, 1.0);
        let mut want = vec![0.0f32; n];
        nonlin::gelu_backward(&x, &g, &mut want).unwrap();
        let mut got = vec![0.0f32; n];
        in_pool(&ps[1], || nonlin_parallel::gelu_backward(&x, &g, &mut got)).unwrap();
        assert!(same(&got, &want));
        let mut ip = x.clone();
        in_pool(&ps[3], || nonlin_parallel::sigmoid_inplace(&mut ip));
        let mut s = vec![0.0f32; n];
        nonlin::sigmoid(&x, &mut s).unwrap();
        assert!(same(&ip, &s));
    }
}

#[test]
fn rows_bit_identical() {
    let ps = pools();
    for &cols in &[1usize, 9, 1000] {
        let rows = (PAR_THRESHOLD * 2 + 3 * cols) / cols;
        let x = data(rows * cols, cols as u64, -30.0, 30.0);
        let mut want = vec![0.0f32; x.len()];
        nonlin::softmax(&x, cols, &mut want).unwrap();
        let mut lwant = vec![0.0f32; rows];
        nonlin::logsumexp(&x, cols, &mut lwant).unwrap();
        for pool in &ps {
            let mut got = vec![0.0f32; x.len()];
            in_pool(pool, || nonlin_parallel::softmax(&x, cols, &mut got)).unwrap();
            assert!(same(&got, &want), "softmax cols={cols}");
            let mut lgot = vec![0.0f32; rows];
            in_pool(pool, || nonlin_parallel::logsumexp(&x, cols, &mut lgot)).unwrap();
            assert!(same(&lgot, &lwant), "logsumexp cols={cols}");
        }
    }
    let mut out = [0.0f32; 10];
    assert_eq!(
        nonlin::softmax(&[0.0f32; 12], 5, &mut out[..]).unwrap_err(),
        nonlin_parallel::softmax(&[0.0f32; 12], 5, &mut out[..]).unwrap_err()
    );
}

#[test]
fn losses_bit_identical() {
    let ps = pools();
    for n in lengths() {
        let p = data(n, 1, -8.0, 8.0);
        let t: Vec<f32> = data(n, 2, 0.0, 1.0);
        for red in [Reduction::Mean, Reduction::Sum] {
            let want = nonlin::loss::mse(&p, &t, red).unwrap();
            let mut gw = vec![0.0f32; n];
            let want_g = nonlin::loss::huber_with_grad(&p, &t, 0.7, red, &mut gw).unwrap();
            let mut bw = vec![0.0f32; n];
            let want_b =
                nonlin::loss::bce_with_logits_with_grad(&p, &t, None, None, red, &mut bw).unwrap();
            for pool in &ps {
                let got = in_pool(pool, || nonlin_parallel::loss::mse(&p, &t, red)).unwrap();
                assert_eq!(got.to_bits(), want.to_bits(), "mse n={n}");
                let mut gg = vec![0.0f32; n];
                let got_g = in_pool(pool, || {
                    nonlin_parallel::loss::huber_with_grad(&p, &t, 0.7, red, &mut gg)
                })
                .unwrap();
                assert_eq!(got_g.to_bits(), want_g.to_bits(), "huber n={n}");
                assert!(same(&gg, &gw), "huber grad n={n}");
                let mut bg = vec![0.0f32; n];
                let got_b = in_pool(pool, || {
                    nonlin_parallel::loss::bce_with_logits_with_grad(
                        &p, &t, None, None, red, &mut bg,
                    )
                })
                .unwrap();
                assert_eq!(got_b.to_bits(), want_b.to_bits(), "bce_with_logits n={n}");
                assert!(same(&bg, &bw), "bce_with_logits grad n={n}");
            }
        }
    }
    // Errors are the serial errors, reported before any work.
    let p = vec![0.0f32; PAR_THRESHOLD + 5];
    let t = vec![0.0f32; PAR_THRESHOLD + 4];
    assert_eq!(
        nonlin::loss::mse(&p, &t, Reduction::Mean).unwrap_err(),
        nonlin_parallel::loss::mse(&p, &t, Reduction::Mean).unwrap_err()
    );
    assert!(nonlin_parallel::loss::huber(&p, &p, -1.0, Reduction::Mean).is_err());
}

// ---------------------------------------------------------------------------------------
// Row losses, bce on probabilities, diagnostics, the Activation entry points.

use nonlin::Float;
use nonlin::loss::{CrossEntropyOptions, FocalOptions, NllOptions};
use nonlin::reduce::BLOCK;

/// The bits of a result (value, out and grad as f64 bits: the f32 -> f64 conversion is
/// exact, so equal bits here are equal bits there).
fn bits<T: Float>(v: Option<T>, out: &[T], grad: &[T]) -> Vec<u64> {
    v.iter()
        .chain(out)
        .chain(grad)
        .map(|x| x.to_f64().to_bits())
        .collect()
}

/// Runs `serial` once and `par` in every pool (and once directly inside
/// `ThreadPool::install`), asserting the same bits.
fn agree(
    name: &str,
    ps: &[rayon::ThreadPool],
    serial: impl Fn() -> Vec<u64>,
    par: impl Fn() -> Vec<u64> + Send + Sync,
) {
    let want = serial();
    for pool in ps {
        let got = in_pool(pool, &par);
        assert!(
            got == want,
            "{name}: threads={} differs from serial: {:?} vs {:?}",
            pool.current_num_threads(),
            got.first().map(|&b| f64::from_bits(b)),
            want.first().map(|&b| f64::from_bits(b))
        );
    }
    if let Some(pool) = ps.get(1) {
        assert!(pool.install(&par) == want, "{name}: install");
    }
}

/// Shapes `(cols, rows)` around the element threshold, the chunk size and the row block.
fn row_shapes() -> Vec<(usize, usize)> {
    let t = PAR_THRESHOLD;
    vec![
        (1, t - 1),
        (1, t + 1),
        (1, 4 * BLOCK * 5 + 1),
        (16, BLOCK - 1),
        (16, BLOCK),
        (17, 2 * BLOCK - 1),
        (17, 2 * BLOCK + 1),
        (1000, t / 1000),
        (1000, t / 1000 + 1),
        (1000, 131),
    ]
}

fn row_data<T: Float>(cols: usize, rows: usize, seed: u64, specials: bool) -> (Vec<T>, Vec<i64>) {
    let mut r = Rng::new(seed);
    let mut x: Vec<T> = (0..rows * cols)
        .map(|_| T::from_f64(r.uniform(-30.0, 30.0)))
        .collect();
    let t: Vec<i64> = (0..rows)
        .map(|_| {
            if r.unit() < 0.05 {
                -100
            } else {
                (r.next_u64() % cols as u64) as i64
            }
        })
        .collect();
    if specials {
        // A NaN row, a +inf row, a fully masked row, a -inf target logit, scattered.
        for (k, v) in [
            (3usize, T::NAN),
            (rows / 2, T::INFINITY),
            (rows - 2, -T::INFINITY),
        ] {
            if let Some(row) = x.get_mut(k * cols..(k + 1) * cols) {
                if v == -T::INFINITY {
                    row.iter_mut().for_each(|e| *e = v);
                } else if let Some(e) = row.first_mut() {
                    *e = v;
                }
            }
        }
    }
    (x, t)
}

fn targets_for_index(t: &[i64], ignore: Option<i64>, cols: usize) -> Vec<i64> {
    // Without an ignored index, every target must be a class.
    t.iter()
        .map(|&v| {
            if ignore.is_none() && v < 0 {
                (cols / 2) as i64
            } else {
                v
            }
        })
        .collect()
}

fn probs_target<T: Float>(cols: usize, rows: usize, seed: u64) -> Vec<T> {
    let mut r = Rng::new(seed);
    let mut t = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let row: Vec<f64> = (0..cols).map(|_| r.unit()).collect();
        let s: f64 = row.iter().sum();
        t.extend(row.iter().map(|v| T::from_f64(v / s)));
    }
    t
}

fn row_losses_case<T: Float>(ps: &[rayon::ThreadPool], cols: usize, rows: usize, specials: bool) {
    use nonlin::loss as s;
    use nonlin_parallel::loss as p;
    let n = rows * cols;
    let (x, t0) = row_data::<T>(cols, rows, (cols * rows) as u64, specials);
    let w: Vec<T> = (0..cols)
        .map(|c| T::from_f64(0.5 + (c % 3) as f64))
        .collect();
    let pt = probs_target::<T>(cols, rows, 9);
    let logp: Vec<T> = x.iter().map(|&v| T::from_f64(-v.to_f64().abs())).collect();
    for (ignore, weight, eps) in [
        (None, None, 0.0),
        (Some(-100), Some(&w[..]), 0.1),
        (Some(-100), None, 1.0),
    ] {
        let t = targets_for_index(&t0, ignore, cols);
        let ce = CrossEntropyOptions {
            weight,
            ignore_index: ignore,
            label_smoothing: T::from_f64(eps),
        };
        let nl = NllOptions {
            weight,
            ignore_index: ignore,
        };
        let fo = FocalOptions {
            alpha: weight,
            gamma: T::from_f64(0.5 + 2.0 * eps),
            ignore_index: ignore,
        };
        let tag = format!(
            "cols={cols} rows={rows} specials={specials} ignore={ignore:?} w={} eps={eps}",
            weight.is_some()
        );
        for red in [Reduction::Mean, Reduction::Sum] {
            macro_rules! reduced {
                ($f:ident, $wg:ident, $tg:expr, $o:expr) => {
                    agree(
                        &format!("{} {tag} {red:?}", stringify!($f)),
                        ps,
                        || bits(Some(s::$f(&x, $tg, cols, $o, red).unwrap()), &[], &[]),
                        || bits(Some(p::$f(&x, $tg, cols, $o, red).unwrap()), &[], &[]),
                    );
                    agree(
                        &format!("{} {tag} {red:?}", stringify!($wg)),
                        ps,
                        || {
                            let mut g = vec![T::ZERO; n];
                            let v = s::$wg(&x, $tg, cols, $o, red, &mut g).unwrap();
                            bits(Some(v), &[], &g)
                        },
                        || {
                            let mut g = vec![T::ZERO; n];
                            let v = p::$wg(&x, $tg, cols, $o, red, &mut g).unwrap();
                            bits(Some(v), &[], &g)
                        },
                    );
                };
            }
            reduced!(cross_entropy, cross_entropy_with_grad, &t, &ce);
            reduced!(cross_entropy_probs, cross_entropy_probs_with_grad, &pt, &ce);
            reduced!(softmax_focal_loss, softmax_focal_loss_with_grad, &t, &fo);
            agree(
                &format!("nll_loss {tag} {red:?}"),
                ps,
                || {
                    bits(
                        Some(s::nll_loss(&logp, &t, cols, &nl, red).unwrap()),
                        &[],
                        &[],
                    )
                },
                || {
                    bits(
                        Some(p::nll_loss(&logp, &t, cols, &nl, red).unwrap()),
                        &[],
                        &[],
                    )
                },
            );
            agree(
                &format!("nll_loss_with_grad {tag} {red:?}"),
                ps,
                || {
                    let mut g = vec![T::ZERO; n];
                    let v = s::nll_loss_with_grad(&logp, &t, cols, &nl, red, &mut g).unwrap();
                    bits(Some(v), &[], &g)
                },
                || {
                    let mut g = vec![T::ZERO; n];
                    let v = p::nll_loss_with_grad(&logp, &t, cols, &nl, red, &mut g).unwrap();
                    bits(Some(v), &[], &g)
                },
            );
        }
        macro_rules! none {
            ($f:ident, $fg:ident, $xs:expr, $tg:expr, $o:expr) => {
                agree(
                    &format!("{} {tag}", stringify!($f)),
                    ps,
                    || {
                        let mut o = vec![T::ZERO; rows];
                        s::$f($xs, $tg, cols, $o, &mut o).unwrap();
                        bits(None, &o, &[])
                    },
                    || {
                        let mut o = vec![T::ZERO; rows];
                        p::$f($xs, $tg, cols, $o, &mut o).unwrap();
                        bits(None, &o, &[])
                    },
                );
                agree(
                    &format!("{} {tag}", stringify!($fg)),
                    ps,
                    || {
                        let (mut o, mut g) = (vec![T::ZERO; rows], vec![T::ZERO; n]);
                        s::$fg($xs, $tg, cols, $o, &mut o, &mut g).unwrap();
                        bits(None, &o, &g)
                    },
                    || {
                        let (mut o, mut g) = (vec![T::ZERO; rows], vec![T::ZERO; n]);
                        p::$fg($xs, $tg, cols, $o, &mut o, &mut g).unwrap();
                        bits(None, &o, &g)
                    },
                );
            };
        }
        none!(
            cross_entropy_none,
            cross_entropy_none_with_grad,
            &x,
            &t,
            &ce
        );
        none!(
            cross_entropy_probs_none,
            cross_entropy_probs_none_with_grad,
            &x,
            &pt,
            &ce
        );
        none!(nll_loss_none, nll_loss_none_with_grad, &logp, &t, &nl);
        none!(
            softmax_focal_loss_none,
            softmax_focal_loss_none_with_grad,
            &x,
            &t,
            &fo
        );
    }
}

#[test]
fn row_losses_bit_identical_f32() {
    let ps = pools();
    for (cols, rows) in row_shapes() {
        row_losses_case::<f32>(&ps, cols, rows, false);
    }
    for (cols, rows) in [(1000usize, 131usize), (17, 2 * BLOCK + 1)] {
        row_losses_case::<f32>(&ps, cols, rows, true);
    }
}

#[test]
fn row_losses_bit_identical_f64() {
    let ps = pools();
    for (cols, rows) in [
        (1usize, PAR_THRESHOLD + 1),
        (17, 2 * BLOCK + 1),
        (1000, 131),
    ] {
        row_losses_case::<f64>(&ps, cols, rows, false);
    }
    row_losses_case::<f64>(&ps, 17, 2 * BLOCK - 1, true);
}

/// `(what, logits, targets, cols, options)` of an error case.
type CeCase<'a> = (
    &'a str,
    &'a [f32],
    &'a [i64],
    usize,
    &'a CrossEntropyOptions<'a, f32>,
);

/// Every error is the serial one, and on `Err` nothing has been written.
#[test]
fn row_losses_errors_match_serial() {
    use nonlin::loss as s;
    use nonlin_parallel::loss as p;
    let ps = pools();
    let (cols, rows) = (10usize, 20_000usize);
    let n = cols * rows;
    let x = data(n, 3, -5.0, 5.0);
    let good: Vec<i64> = (0..rows).map(|i| (i % cols) as i64).collect();
    let mut late_bad = good.clone();
    late_bad[rows - 7] = cols as i64; // the first bad target is near the end
    let mut neg_bad = good.clone();
    neg_bad[12_345] = -3;
    neg_bad[rows - 1] = 99;
    let w_bad: Vec<f32> = (0..cols).map(|c| if c == 4 { -1.0 } else { 1.0 }).collect();
    let w_short = vec![1.0f32; cols - 1];
    let ce = CrossEntropyOptions::<f32>::default();
    let ce_w = CrossEntropyOptions {
        weight: Some(&w_bad[..]),
        ..Default::default()
    };
    let ce_ws = CrossEntropyOptions {
        weight: Some(&w_short[..]),
        ..Default::default()
    };
    let ce_eps = CrossEntropyOptions {
        label_smoothing: 1.5f32,
        ..Default::default()
    };
    let ce_nan = CrossEntropyOptions {
        label_smoothing: f32::NAN,
        ..Default::default()
    };
    let fo_g = FocalOptions {
        gamma: -0.5f32,
        ..Default::default()
    };
    let fo_a = FocalOptions {
        alpha: Some(&w_bad[..]),
        ..Default::default()
    };
    let nl_w = NllOptions {
        weight: Some(&w_short[..]),
        ignore_index: None,
    };
    let sentinel = 7.25f32;
    for pool in &ps {
        in_pool(pool, || {
            let cases: Vec<CeCase> = vec![
                ("late bad target", &x, &late_bad, cols, &ce),
                ("negative target", &x, &neg_bad, cols, &ce),
                ("short targets", &x, &good[1..], cols, &ce),
                ("bad cols", &x, &good, 7, &ce),
                ("zero cols", &x, &good, 0, &ce),
                ("bad weight", &x, &good, cols, &ce_w),
                ("short weight", &x, &good, cols, &ce_ws),
                ("smoothing", &x, &good, cols, &ce_eps),
                ("smoothing NaN", &x, &good, cols, &ce_nan),
            ];
            for (what, xs, ts, c, o) in cases {
                for red in [Reduction::Mean, Reduction::Sum] {
                    assert_same_err!(
                        p::cross_entropy(xs, ts, c, o, red).unwrap_err(),
                        s::cross_entropy(xs, ts, c, o, red).unwrap_err(),
                        "cross_entropy {what}"
                    );
                    let mut g = vec![sentinel; xs.len()];
                    assert_same_err!(
                        p::cross_entropy_with_grad(xs, ts, c, o, red, &mut g).unwrap_err(),
                        s::cross_entropy_with_grad(xs, ts, c, o, red, &mut g).unwrap_err(),
                        "cross_entropy_with_grad {what}"
                    );
                    assert!(g.iter().all(|&v| v == sentinel), "grad written: {what}");
                }
                let mut out = vec![sentinel; rows];
                assert_same_err!(
                    p::cross_entropy_none(xs, ts, c, o, &mut out).unwrap_err(),
                    s::cross_entropy_none(xs, ts, c, o, &mut out).unwrap_err(),
                    "cross_entropy_none {what}"
                );
                let mut g = vec![sentinel; xs.len()];
                assert_same_err!(
                    p::cross_entropy_none_with_grad(xs, ts, c, o, &mut out, &mut g).unwrap_err(),
                    s::cross_entropy_none_with_grad(xs, ts, c, o, &mut out, &mut g).unwrap_err(),
                    "cross_entropy_none_with_grad {what}"
                );
                assert!(
                    out.iter().chain(&g).all(|&v| v == sentinel),
                    "written: {what}"
                );
            }
            // Wrong grad / out lengths.
            let mut g = vec![sentinel; n - 1];
            assert_same_err!(
                p::cross_entropy_with_grad(&x, &good, cols, &ce, Reduction::Mean, &mut g)
                    .unwrap_err(),
                s::cross_entropy_with_grad(&x, &good, cols, &ce, Reduction::Mean, &mut g)
                    .unwrap_err()
            );
            let mut o = vec![sentinel; rows + 1];
            assert_same_err!(
                p::nll_loss_none(&x, &good, cols, &NllOptions::default(), &mut o).unwrap_err(),
                s::nll_loss_none(&x, &good, cols, &NllOptions::default(), &mut o).unwrap_err()
            );
            // Probability targets: target length, smoothing.
            let pt = vec![0.1f32; n];
            assert_same_err!(
                p::cross_entropy_probs(&x, &pt[1..], cols, &ce, Reduction::Mean).unwrap_err(),
                s::cross_entropy_probs(&x, &pt[1..], cols, &ce, Reduction::Mean).unwrap_err()
            );
            let mut g = vec![sentinel; n];
            assert_same_err!(
                p::cross_entropy_probs_with_grad(&x, &pt, cols, &ce_eps, Reduction::Sum, &mut g)
                    .unwrap_err(),
                s::cross_entropy_probs_with_grad(&x, &pt, cols, &ce_eps, Reduction::Sum, &mut g)
                    .unwrap_err()
            );
            assert!(g.iter().all(|&v| v == sentinel));
            // nll: bad target, short weight.
            assert_same_err!(
                p::nll_loss(&x, &late_bad, cols, &NllOptions::default(), Reduction::Sum)
                    .unwrap_err(),
                s::nll_loss(&x, &late_bad, cols, &NllOptions::default(), Reduction::Sum)
                    .unwrap_err()
            );
            assert_same_err!(
                p::nll_loss(&x, &good, cols, &nl_w, Reduction::Sum).unwrap_err(),
                s::nll_loss(&x, &good, cols, &nl_w, Reduction::Sum).unwrap_err()
            );
            // focal: gamma, alpha, bad target.
            for o in [&fo_g, &fo_a] {
                let mut g = vec![sentinel; n];
                assert_same_err!(
                    p::softmax_focal_loss_with_grad(&x, &good, cols, o, Reduction::Mean, &mut g)
                        .unwrap_err(),
                    s::softmax_focal_loss_with_grad(&x, &good, cols, o, Reduction::Mean, &mut g)
                        .unwrap_err()
                );
                assert!(g.iter().all(|&v| v == sentinel));
            }
            assert_same_err!(
                p::softmax_focal_loss(&x, &neg_bad, cols, &FocalOptions::default(), Reduction::Sum)
                    .unwrap_err(),
                s::softmax_focal_loss(&x, &neg_bad, cols, &FocalOptions::default(), Reduction::Sum)
                    .unwrap_err()
            );
        });
    }
}

#[test]
fn bce_bit_identical_and_errors() {
    use nonlin::loss as s;
    use nonlin_parallel::loss as p;
    let ps = pools();
    let t_ = PAR_THRESHOLD;
    let mut ls = lengths();
    ls.extend([4 * BLOCK * 4 - 1, 4 * BLOCK * 4 + 1, 2 * 32768 + 1]);
    let _ = t_;
    for n in ls {
        let mut pr = data(n, 11, 0.0, 1.0);
        // Clamped ends and NaN (accepted, propagates) at scattered places.
        for (k, v) in [
            (n / 3, 0.0f32),
            (n / 2, 1.0),
            (n.saturating_sub(2), f32::NAN),
        ] {
            if let Some(e) = pr.get_mut(k) {
                *e = v;
            }
        }
        let tg = data(n, 12, 0.0, 1.0);
        let w = data(n, 13, 0.0, 2.0);
        for weight in [None, Some(&w[..])] {
            for red in [Reduction::Mean, Reduction::Sum] {
                agree(
                    &format!("bce n={n}"),
                    &ps,
                    || bits(Some(s::bce(&pr, &tg, weight, red).unwrap()), &[], &[]),
                    || bits(Some(p::bce(&pr, &tg, weight, red).unwrap()), &[], &[]),
                );
                agree(
                    &format!("bce_with_grad n={n}"),
                    &ps,
                    || {
                        let mut g = vec![0.0f32; n];
                        let v = s::bce_with_grad(&pr, &tg, weight, red, &mut g).unwrap();
                        bits(Some(v), &[], &g)
                    },
                    || {
                        let mut g = vec![0.0f32; n];
                        let v = p::bce_with_grad(&pr, &tg, weight, red, &mut g).unwrap();
                        bits(Some(v), &[], &g)
                    },
                );
            }
            agree(
                &format!("bce_none n={n}"),
                &ps,
                || {
                    let mut o = vec![0.0f32; n];
                    s::bce_none(&pr, &tg, weight, &mut o).unwrap();
                    bits(None, &o, &[])
                },
                || {
                    let mut o = vec![0.0f32; n];
                    p::bce_none(&pr, &tg, weight, &mut o).unwrap();
                    bits(None, &o, &[])
                },
            );
            agree(
                &format!("bce_none_with_grad n={n}"),
                &ps,
                || {
                    let (mut o, mut g) = (vec![0.0f32; n], vec![0.0f32; n]);
                    s::bce_none_with_grad(&pr, &tg, weight, &mut o, &mut g).unwrap();
                    bits(None, &o, &g)
                },
                || {
                    let (mut o, mut g) = (vec![0.0f32; n], vec![0.0f32; n]);
                    p::bce_none_with_grad(&pr, &tg, weight, &mut o, &mut g).unwrap();
                    bits(None, &o, &g)
                },
            );
        }
    }
    // f64 at one length past the threshold.
    let n = PAR_THRESHOLD + 4097;
    let pr: Vec<f64> = data(n, 21, 0.0, 1.0).iter().map(|&v| v as f64).collect();
    let tg: Vec<f64> = data(n, 22, 0.0, 1.0).iter().map(|&v| v as f64).collect();
    agree(
        "bce_with_grad f64",
        &ps,
        || {
            let mut g = vec![0.0f64; n];
            let v = s::bce_with_grad(&pr, &tg, None, Reduction::Mean, &mut g).unwrap();
            bits(Some(v), &[], &g)
        },
        || {
            let mut g = vec![0.0f64; n];
            let v = p::bce_with_grad(&pr, &tg, None, Reduction::Mean, &mut g).unwrap();
            bits(Some(v), &[], &g)
        },
    );
    // Errors: the first probability outside [0, 1] (two bad values, the first one late in
    // the slice), and lengths; nothing written.
    let n = 3 * PAR_THRESHOLD + 17;
    let mut pr = data(n, 31, 0.0, 1.0);
    pr[n - 100] = 1.5;
    pr[n - 5] = -2.0;
    let tg = data(n, 32, 0.0, 1.0);
    let sentinel = 3.5f32;
    for pool in &ps {
        in_pool(pool, || {
            assert_same_err!(
                p::bce(&pr, &tg, None, Reduction::Mean).unwrap_err(),
                s::bce(&pr, &tg, None, Reduction::Mean).unwrap_err()
            );
            let (mut o, mut g) = (vec![sentinel; n], vec![sentinel; n]);
            assert_same_err!(
                p::bce_with_grad(&pr, &tg, None, Reduction::Sum, &mut g).unwrap_err(),
                s::bce_with_grad(&pr, &tg, None, Reduction::Sum, &mut g).unwrap_err()
            );
            assert_same_err!(
                p::bce_none_with_grad(&pr, &tg, None, &mut o, &mut g).unwrap_err(),
                s::bce_none_with_grad(&pr, &tg, None, &mut o, &mut g).unwrap_err()
            );
            assert_same_err!(
                p::bce_none(&pr, &tg, None, &mut o).unwrap_err(),
                s::bce_none(&pr, &tg, None, &mut o).unwrap_err()
            );
            assert!(o.iter().chain(&g).all(|&v| v == sentinel));
            let w = vec![1.0f32; n - 1];
            assert_same_err!(
                p::bce(&tg, &tg, Some(&w), Reduction::Mean).unwrap_err(),
                s::bce(&tg, &tg, Some(&w), Reduction::Mean).unwrap_err()
            );
            assert_same_err!(
                p::bce(&tg, &tg[1..], None, Reduction::Mean).unwrap_err(),
                s::bce(&tg, &tg[1..], None, Reduction::Mean).unwrap_err()
            );
            assert_same_err!(
                p::bce_with_grad(&tg, &tg, None, Reduction::Mean, &mut g[1..]).unwrap_err(),
                s::bce_with_grad(&tg, &tg, None, Reduction::Mean, &mut g[1..]).unwrap_err()
            );
        });
    }
}

#[test]
fn diagnostics_bit_identical() {
    use nonlin::Squash;
    let ps = pools();
    for n in lengths() {
        let mut x = data(n, 41, -12.0, 12.0);
        for (k, v) in [
            (n / 4, f32::NAN),
            (n / 3, f32::INFINITY),
            (n / 2, -f32::INFINITY),
        ] {
            if let Some(e) = x.get_mut(k) {
                *e = v;
            }
        }
        for squash in [Squash::Sigmoid, Squash::Tanh] {
            for eps in [1e-3, 0.01, 0.49] {
                let want = nonlin::saturated_fraction(&x, squash, eps).unwrap();
                for pool in &ps {
                    let got = in_pool(pool, || {
                        nonlin_parallel::saturated_fraction(&x, squash, eps)
                    })
                    .unwrap();
                    assert_eq!(got.to_bits(), want.to_bits(), "saturated_fraction n={n}");
                }
            }
        }
        let want = nonlin::activation_stats(&x);
        for pool in &ps {
            assert_eq!(
                in_pool(pool, || nonlin_parallel::activation_stats(&x)),
                want
            );
        }
    }
    let x = vec![1.0f64; PAR_THRESHOLD + 1];
    for eps in [0.0, 0.5, f64::NAN, -1.0] {
        assert_same_err!(
            nonlin_parallel::saturated_fraction(&x, Squash::Tanh, eps).unwrap_err(),
            nonlin::saturated_fraction(&x, Squash::Tanh, eps).unwrap_err()
        );
    }
}

#[test]
fn activation_enum_bit_identical() {
    use nonlin::Activation;
    use nonlin_parallel::activation as pa;
    let ps = pools();
    let acts = [
        Activation::Gelu,
        Activation::Elu { alpha: 0.7f32 },
        Activation::Hardtanh {
            min: -0.5,
            max: 2.0,
        },
        Activation::Softplus { beta: 3.0 },
    ];
    for n in [7usize, PAR_THRESHOLD - 1, PAR_THRESHOLD + 1, 300_001] {
        let x = data(n, 51, -20.0, 20.0);
        let g = data(n, 52, -1.0, 1.0);
        for act in &acts {
            let name = act.name();
            agree(
                &format!("{name} forward n={n}"),
                &ps,
                || {
                    let mut o = vec![0.0f32; n];
                    act.forward(&x, &mut o).unwrap();
                    bits(None, &o, &[])
                },
                || {
                    let mut o = vec![0.0f32; n];
                    pa::forward(act, &x, &mut o).unwrap();
                    bits(None, &o, &[])
                },
            );
            agree(
                &format!("{name} derivative n={n}"),
                &ps,
                || {
                    let mut o = vec![0.0f32; n];
                    act.derivative(&x, &mut o).unwrap();
                    bits(None, &o, &[])
                },
                || {
                    let mut o = vec![0.0f32; n];
                    pa::derivative(act, &x, &mut o).unwrap();
                    bits(None, &o, &[])
                },
            );
            agree(
                &format!("{name} backward n={n}"),
                &ps,
                || {
                    let mut o = vec![0.0f32; n];
                    act.backward(&x, &g, &mut o).unwrap();
                    bits(None, &o, &[])
                },
                || {
                    let mut o = vec![0.0f32; n];
                    pa::backward(act, &x, &g, &mut o).unwrap();
                    bits(None, &o, &[])
                },
            );
            agree(
                &format!("{name} forward_inplace n={n}"),
                &ps,
                || {
                    let mut o = x.clone();
                    act.forward_inplace(&mut o).unwrap();
                    bits(None, &o, &[])
                },
                || {
                    let mut o = x.clone();
                    pa::forward_inplace(act, &mut o).unwrap();
                    bits(None, &o, &[])
                },
            );
        }
    }
    // Invalid parameters and lengths: the serial errors, nothing written.
    let x = data(PAR_THRESHOLD + 3, 53, -2.0, 2.0);
    let bad = Activation::Elu { alpha: f32::NAN };
    let mut o = vec![9.0f32; x.len()];
    assert_same_err!(
        pa::forward(&bad, &x, &mut o).unwrap_err(),
        bad.forward(&x, &mut o).unwrap_err()
    );
    let mut ip = x.clone();
    assert_same_err!(
        pa::forward_inplace(&bad, &mut ip).unwrap_err(),
        bad.forward_inplace(&mut x.clone()).unwrap_err()
    );
    assert!(o.iter().all(|&v| v == 9.0) && ip == x);
    assert_same_err!(
        pa::backward(&Activation::Gelu, &x, &x[1..], &mut o).unwrap_err(),
        Activation::Gelu.backward(&x, &x[1..], &mut o).unwrap_err()
    );
}

#[test]
fn elementwise_loss_none_forms_bit_identical() {
    use nonlin::loss as s;
    use nonlin_parallel::loss as p;
    let ps = pools();
    for n in [
        7usize,
        PAR_THRESHOLD - 1,
        PAR_THRESHOLD + 1,
        3 * PAR_THRESHOLD + 17,
    ] {
        let x = data(n, 61, -8.0, 8.0);
        let t = data(n, 62, 0.0, 1.0);
        let lx: Vec<f32> = x.iter().map(|v| -v.abs()).collect();
        macro_rules! none2 {
            ($f:ident, $fg:ident, $xs:expr $(, $a:expr)*) => {
                agree(&format!("{} n={n}", stringify!($f)), &ps,
                    || { let mut o = vec![0.0f32; n]; s::$f($xs, &t, $($a,)* &mut o).unwrap(); bits(None, &o, &[]) },
                    || { let mut o = vec![0.0f32; n]; p::$f($xs, &t, $($a,)* &mut o).unwrap(); bits(None, &o, &[]) });
                agree(&format!("{} n={n}", stringify!($fg)), &ps,
                    || { let (mut o, mut g) = (vec![0.0f32; n], vec![0.0f32; n]); s::$fg($xs, &t, $($a,)* &mut o, &mut g).unwrap(); bits(None, &o, &g) },
                    || { let (mut o, mut g) = (vec![0.0f32; n], vec![0.0f32; n]); p::$fg($xs, &t, $($a,)* &mut o, &mut g).unwrap(); bits(None, &o, &g) });
            };
        }
        none2!(mse_none, mse_none_with_grad, &x);
        none2!(l1_none, l1_none_with_grad, &x);
        none2!(huber_none, huber_none_with_grad, &x, 0.7);
        none2!(smooth_l1_none, smooth_l1_none_with_grad, &x, 0.0);
        none2!(
            sigmoid_focal_loss_none,
            sigmoid_focal_loss_none_with_grad,
            &x,
            0.25,
            0.5
        );
        none2!(kl_div_none, kl_div_none_with_grad, &lx, false);
        let pw = [0.5f32, 2.0, 3.0];
        let m = n / 3 * 3;
        let w = data(m, 63, 0.0, 2.0);
        let (xm, tm) = (&x[..m], &t[..m]);
        agree(
            &format!("bce_with_logits_none n={m}"),
            &ps,
            || {
                let mut o = vec![0.0f32; m];
                s::bce_with_logits_none(xm, tm, Some(&w), Some(&pw), &mut o).unwrap();
                bits(None, &o, &[])
            },
            || {
                let mut o = vec![0.0f32; m];
                p::bce_with_logits_none(xm, tm, Some(&w), Some(&pw), &mut o).unwrap();
                bits(None, &o, &[])
            },
        );
        agree(
            &format!("bce_with_logits_none_with_grad n={m}"),
            &ps,
            || {
                let (mut o, mut g) = (vec![0.0f32; m], vec![0.0f32; m]);
                s::bce_with_logits_none_with_grad(xm, tm, None, Some(&pw), &mut o, &mut g).unwrap();
                bits(None, &o, &g)
            },
            || {
                let (mut o, mut g) = (vec![0.0f32; m], vec![0.0f32; m]);
                p::bce_with_logits_none_with_grad(xm, tm, None, Some(&pw), &mut o, &mut g).unwrap();
                bits(None, &o, &g)
            },
        );
        if m > 0 {
            agree(
                &format!("kl_div_batchmean n={m}"),
                &ps,
                || {
                    bits(
                        Some(s::kl_div_batchmean(&lx[..m], tm, false, 3).unwrap()),
                        &[],
                        &[],
                    )
                },
                || {
                    bits(
                        Some(p::kl_div_batchmean(&lx[..m], tm, false, 3).unwrap()),
                        &[],
                        &[],
                    )
                },
            );
            agree(
                &format!("kl_div_batchmean_with_grad n={m}"),
                &ps,
                || {
                    let mut g = vec![0.0f32; m];
                    let v =
                        s::kl_div_batchmean_with_grad(&lx[..m], tm, true, m / 3, &mut g).unwrap();
                    bits(Some(v), &[], &g)
                },
                || {
                    let mut g = vec![0.0f32; m];
                    let v =
                        p::kl_div_batchmean_with_grad(&lx[..m], tm, true, m / 3, &mut g).unwrap();
                    bits(Some(v), &[], &g)
                },
            );
        }
    }
    // Errors: the serial ones, nothing written.
    let n = PAR_THRESHOLD + 10;
    let x = data(n, 64, -1.0, 1.0);
    let mut o = vec![5.0f32; n];
    let mut g = vec![5.0f32; n];
    assert_same_err!(
        p::huber_none(&x, &x, -1.0, &mut o).unwrap_err(),
        s::huber_none(&x, &x, -1.0, &mut o).unwrap_err()
    );
    assert_same_err!(
        p::sigmoid_focal_loss_none_with_grad(&x, &x, 2.0, 1.0, &mut o, &mut g).unwrap_err(),
        s::sigmoid_focal_loss_none_with_grad(&x, &x, 2.0, 1.0, &mut o, &mut g).unwrap_err()
    );
    assert_same_err!(
        p::mse_none(&x, &x[1..], &mut o).unwrap_err(),
        s::mse_none(&x, &x[1..], &mut o).unwrap_err()
    );
    assert_same_err!(
        p::bce_with_logits_none(&x, &x, None, Some(&[1.0, 2.0, 3.0]), &mut o).unwrap_err(),
        s::bce_with_logits_none(&x, &x, None, Some(&[1.0, 2.0, 3.0]), &mut o).unwrap_err()
    );
    assert_same_err!(
        p::kl_div_batchmean(&x, &x, false, 7).unwrap_err(),
        s::kl_div_batchmean(&x, &x, false, 7).unwrap_err()
    );
    assert!(o.iter().chain(&g).all(|&v| v == 5.0));
}
