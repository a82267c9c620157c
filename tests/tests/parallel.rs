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
