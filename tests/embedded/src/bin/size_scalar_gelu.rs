//! Flash/RAM measurement firmware: the scalar-loop alternative to `gelu` f32: `nonlin::scalar::gelu` (libm) per element (see `src/size.rs`).
#![no_std]
#![no_main]

#[path = "../size.rs"]
mod size;

#[cortex_m_rt::entry]
fn main() -> ! {
    let x = size::input();
    let mut out = [0.0f32; 24];
    let out = out.get_mut(..x.len()).unwrap_or(&mut []);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = nonlin::scalar::gelu(v);
    }
    size::finish(true, out)
}
