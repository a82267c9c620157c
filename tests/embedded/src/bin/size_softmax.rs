//! Flash/RAM measurement firmware: `softmax` f32 (row-wise) (see `src/size.rs`).
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
    let cols = core::hint::black_box(8);
    ok &= nonlin::softmax(x, cols, out).is_ok();
    size::finish(ok, out)
}
