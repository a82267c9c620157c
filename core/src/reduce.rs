//! Deterministic, accurate reductions (in progress).
