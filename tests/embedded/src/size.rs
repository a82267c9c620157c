//! The skeleton shared by the flash/RAM measurement firmwares (`size_*`): inputs through
//! `black_box` (nothing folds away), no printing (float formatting alone is ~20 KiB), a
//! panic handler that only exits. Each `size_*` binary differs from `size_baseline` by the
//! kernels it calls, so `scripts/embedded-size.sh` reports their cost as the difference.

use core::panic::PanicInfo;
use cortex_m_semihosting::debug;

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Inputs of unknown length and content.
pub fn input() -> &'static [f32] {
    static X: [f32; 24] = [0.25; 24];
    core::hint::black_box(&X[..])
}

/// Reports the outcome and ends the run.
pub fn finish(ok: bool, out: &[f32]) -> ! {
    core::hint::black_box(out);
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}
