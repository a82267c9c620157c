//! A panic handler that makes any panic path a link error: it calls `panic_path_reached`,
//! which no object file defines. A firmware with this handler links only if link-time
//! optimisation removed every call to it, that is, if nothing left in the firmware can
//! panic (see `src/panic_free.rs`).

use core::panic::PanicInfo;

unsafe extern "Rust" {
    /// Defined nowhere: referencing it is a link error.
    fn panic_path_reached() -> !;
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: never executed. If this handler is reachable at all the firmware does not
    // link (the symbol is undefined), so a binary that exists never calls it.
    unsafe { panic_path_reached() }
}
