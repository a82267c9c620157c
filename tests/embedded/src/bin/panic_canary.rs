//! The counter-check of `panic_free_f32` / `panic_free_f64`: the same panic handler
//! (`src/no_panic.rs`) and one indexing whose range the compiler cannot prove. This firmware
//! must fail to link; `scripts/embedded.sh` checks that it does, so that the link check of
//! the others cannot pass for a reason other than the absence of panic paths.
#![no_std]
#![no_main]

#[path = "../no_panic.rs"]
mod no_panic;

#[cortex_m_rt::entry]
fn main() -> ! {
    static mut BUF: [f32; 8] = [0.5; 8];
    // `cortex_m_rt::entry` turns the `static mut` into a `&'static mut`, handed out once.
    let x = core::hint::black_box(&mut BUF[..]);
    nonlin::sigmoid_inplace(x);
    let i = core::hint::black_box(9usize);
    core::hint::black_box(x[i]);
    #[allow(clippy::empty_loop)]
    loop {}
}
