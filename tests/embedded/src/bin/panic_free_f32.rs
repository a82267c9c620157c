//! Links only if nonlin's public API has no panic path, for `f32` (see `src/panic_free.rs`).
#![no_std]
#![no_main]

#[path = "../no_panic.rs"]
mod no_panic;
#[path = "../panic_free.rs"]
mod panic_free;

panic_free::entry!(f32);
