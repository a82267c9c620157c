//! Links only if nonlin's public API has no panic path, for `f32` (see `src/panic_free.rs`).
#![no_std]
#![no_main]

#[path = "../no_panic.rs"]
mod no_panic;
#[path = "../panic_free.rs"]
mod panic_free;

#[cortex_m_rt::entry]
fn main() -> ! {
    static mut BUF: [f32; 96] = [0.5; 96];
    // `cortex_m_rt::entry` turns the `static mut` into a `&'static mut`, handed out once.
    core::hint::black_box(panic_free::all(panic_free::io::<f32>(BUF)));
    #[allow(clippy::empty_loop)]
    loop {}
}
