//! `nonlin-parallel` gives the same bits as serial `nonlin`, for arbitrary lengths (around
//! and above the parallel threshold), data and thread counts (1–4).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[derive(Arbitrary, Debug)]
struct Case {
    kernel: u8,
    threads: u8,
    len: u32,
    seed: Vec<f32>,
}

fn pools() -> &'static [rayon::ThreadPool] {
    static P: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    P.get_or_init(|| {
        (1..=4)
            .filter_map(|t| rayon::ThreadPoolBuilder::new().num_threads(t).build().ok())
            .collect()
    })
}

type K = (
    fn(&[f32], &mut [f32]) -> Result<(), nonlin::Error>,
    fn(&[f32], &mut [f32]) -> Result<(), nonlin::Error>,
);

fuzz_target!(|case: Case| {
    let ks: [K; 8] = [
        (nonlin::sigmoid, nonlin_parallel::sigmoid),
        (nonlin::tanh, nonlin_parallel::tanh),
        (nonlin::gelu, nonlin_parallel::gelu),
        (nonlin::relu, nonlin_parallel::relu),
        (nonlin::mish_derivative, nonlin_parallel::mish_derivative),
        (
            |x, o| nonlin::softplus(x, 1.5, o),
            |x, o| nonlin_parallel::softplus(x, 1.5, o),
        ),
        (
            |x, o| nonlin::elu(x, 0.7, o),
            |x, o| nonlin_parallel::elu(x, 0.7, o),
        ),
        (
            nonlin::gelu_tanh_derivative,
            nonlin_parallel::gelu_tanh_derivative,
        ),
    ];
    let (serial, par) = ks[case.kernel as usize % ks.len()];
    if case.seed.is_empty() {
        return;
    }
    // Lengths up to ~4x the threshold, so that splitting really happens.
    let len = (case.len as usize) % (nonlin_parallel::PAR_THRESHOLD * 4 + 17);
    let x: Vec<f32> = (0..len)
        .map(|i| case.seed[i % case.seed.len()] * (1.0 + (i % 7) as f32))
        .collect();
    let mut a = vec![0.0f32; len];
    let mut b = vec![0.0f32; len];
    serial(&x, &mut a).expect("serial");
    let pool = &pools()[case.threads as usize % pools().len()];
    pool.install(|| par(&x, &mut b)).expect("parallel");
    for i in 0..len {
        assert_eq!(
            a[i].to_bits(),
            b[i].to_bits(),
            "element {i} of {len} differs"
        );
    }
    // Errors match and come before any work.
    let mut short = vec![0.0f32; len.saturating_sub(1)];
    if len > 0 {
        assert_eq!(
            serial(&x, &mut short).err(),
            pool.install(|| par(&x, &mut short)).err()
        );
    }
});
