//! The test firmware's panic handler: a panic is a test failure, reported through
//! semihosting, and QEMU exits with status 1.

use core::panic::PanicInfo;
use cortex_m_semihosting::{debug, hprintln};

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("FAIL: panicked: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
