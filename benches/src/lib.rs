//! Shared helpers for the benches and the `report` binary.
