//! (in progress)

pub(crate) mod scalar_ref {}
