//! Proves the firmware's failure path: calls a kernel, then panics on purpose. The panic
//! handler must report through semihosting and make QEMU exit with status 1
//! (`scripts/embedded.sh` checks both).
#![no_std]
#![no_main]

#[path = "../report.rs"]
mod report;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;

#[entry]
fn main() -> ! {
    let x = core::hint::black_box([0.0f32, 1.0, -1.0]);
    let mut y = [0.0f32; 3];
    let r = nonlin::sigmoid(&x, &mut y);
    hprintln!(
        "panic_check: sigmoid -> {:?} {:?}; now panicking on purpose",
        r,
        y
    );
    let i = core::hint::black_box(7usize);
    // An out-of-bounds index: the kind of panic a kernel must never reach.
    let v = y[i];
    hprintln!("unreachable {}", v);
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}
