//! Build-time code layout of nonlin (no code generation).
//!
//! `nonlin_opt_size`: the build optimises for size (`opt-level = "s"` or `"z"`), where
//! loops are not unrolled; `vmath::estrin16` then takes a form whose indices are provably
//! in range, so that no bounds check (and no panic path) is left in the kernels.
//!
//! `nonlin_outline`: in size-optimised builds (`opt-level = "s"` or `"z"`) for bare-metal
//! targets (`target_os = "none"`) with the default `wide` lanes, the helpers of the row
//! kernels and losses (`softmax.rs`, `reduce.rs`, `loss/`) are not force-inlined. There an
//! f64x4 lane is four software `f64` values (the Cortex-M4F has a single-precision FPU)
//! and every force-inlined helper is unrolled into each of its callers: sigmoid + softmax +
//! cross_entropy took 140 KiB of flash on a Cortex-M4F at "s", 74 KiB with those helpers
//! left to the compiler, for 10-15% more stack in the row kernels (`scripts/embedded-size.sh`).
//! At opt-level 3 the same change saved 40 KiB of 109 but doubled the row kernels' stack
//! (softmax 0.9 -> 2.1 KiB), so speed-optimised builds keep the attributes. The element-wise
//! kernels keep theirs too: leaving them to the compiler saved a third of sigmoid's flash
//! but took half as much stack again. Everywhere else the force-inlining is what keeps a
//! kernel's lanes in registers, and with the `scalar-lanes` feature it makes the firmware
//! smaller (each helper is a few instructions on one element, and inlined options fold
//! away). The arithmetic is the same either way: results do not change
//! (`scripts/embedded.sh` checks the firmware's bits against the host's).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(nonlin_outline)");
    println!("cargo::rustc-check-cfg=cfg(nonlin_opt_size)");
    println!("cargo::rerun-if-changed=build.rs");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let bare_metal = env("CARGO_CFG_TARGET_OS") == "none";
    let for_size = matches!(env("OPT_LEVEL").as_str(), "s" | "z");
    let scalar_lanes = std::env::var_os("CARGO_FEATURE_SCALAR_LANES").is_some();
    if for_size {
        println!("cargo::rustc-cfg=nonlin_opt_size");
    }
    if bare_metal && for_size && !scalar_lanes {
        println!("cargo::rustc-cfg=nonlin_outline");
    }
}
