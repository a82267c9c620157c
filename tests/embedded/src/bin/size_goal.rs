//! Flash/RAM measurement firmware: `sigmoid` + `softmax` + `cross_entropy` f32 (issue #8's 4 KiB goal) (see `src/size.rs`).
#![no_std]
#![no_main]

#[path = "../size.rs"]
mod size;

#[allow(unused_imports)]
use nonlin::loss::{CrossEntropyOptions, Reduction};

#[cortex_m_rt::entry]
fn main() -> ! {
    let x = size::input();
    let mut out = [0.0f32; 24];
    let out = out.get_mut(..x.len()).unwrap_or(&mut []);
    #[allow(unused_mut)]
    let mut ok = core::hint::black_box(true);
    ok &= nonlin::sigmoid(x, out).is_ok();
    let cols = core::hint::black_box(8);
    ok &= nonlin::softmax(x, cols, out).is_ok();
    let cols = core::hint::black_box(8);
    let targets = core::hint::black_box([1i64, 0, 7]);
    let opts = CrossEntropyOptions::default();
    let loss = nonlin::loss::cross_entropy(x, &targets, cols, &opts, Reduction::Mean);
    ok &= loss.is_ok();
    if let Some(o) = out.first_mut() {
        *o = loss.unwrap_or(0.0);
    }
    size::finish(ok, out)
}
