//! The runtime `Activation` enum and diagnostics (in progress).
