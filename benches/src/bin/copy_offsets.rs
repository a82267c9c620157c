//! Why the report's copy row is slow at some sizes: `copy_from_slice` throughput of 65,536
//! `f32` (256 KiB, in L2) as a function of where the destination sits relative to the
//! source, modulo a 4 KiB page.
//!
//! The report's copy is the memory-bandwidth yardstick of the relu family, so a slow copy
//! row needs a cause. glibc copies blocks of this size with `rep movsb`; on this machine's
//! CPU (AMD EPYC, family 25) that instruction is fast or an order of magnitude slower
//! depending on the destination's offset from the source modulo 4 KiB. The source is
//! placed at a page boundary and the destination at a page boundary plus the offsets
//! below; each configuration is timed over batches and the median reported.
//!
//! Run: `cargo run --release -p nonlin-benches --bin copy_offsets [REPEATS]`

use std::hint::black_box;
use std::time::Instant;

/// Elements copied per call.
const N: usize = 65_536;
/// Destination offsets tried, in bytes past the source's offset in its page.
const OFFSETS: [usize; 12] = [0, 4, 8, 16, 24, 32, 48, 60, 64, 128, 2048, 4092];

/// Index of the first element of `v` that sits on a 4 KiB boundary.
fn page_start(v: &[f32]) -> usize {
    let p = v.as_ptr() as usize;
    (4096 - p % 4096) % 4096 / 4
}

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let src = vec![1.5f32; N + 1024];
    let mut dst = vec![0.0f32; N + 2048];
    let s0 = page_start(&src);
    let d0 = page_start(&dst);
    println!("copy_from_slice of {N} f32, Melem/s (median of {repeats} batches of 2,000 calls)");
    println!("| destination offset from the source, mod 4096 (bytes) | Melem/s |");
    println!("|---:|---:|");
    for off in OFFSETS {
        let s = &src[s0..s0 + N];
        let d = d0 + off / 4;
        let mut t: Vec<f64> = (0..repeats)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..2000 {
                    dst[d..d + N].copy_from_slice(black_box(s));
                    black_box(&mut dst);
                }
                (2000 * N) as f64 / start.elapsed().as_secs_f64() / 1e6
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!("| {off} | {:.0} |", t[t.len() / 2]);
    }
}
