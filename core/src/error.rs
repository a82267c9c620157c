//! The error type every fallible entry point returns.

use core::fmt;

/// Why a call was refused. Nothing was written to the output when an `Error` is returned:
/// every argument is checked before the first element is computed.
///
/// The message (`Display`) names the offending argument and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Two slices that must have the same length do not.
    LengthMismatch {
        /// The argument whose length is wrong.
        arg: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// A numeric parameter is outside its domain (NaN, infinite, negative, zero, ...).
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// The value given (widened to `f64`).
        value: f64,
        /// What the parameter must satisfy.
        requirement: &'static str,
    },
    /// A shape argument (a column or channel count) does not fit the slice.
    InvalidShape {
        /// The shape argument's name.
        name: &'static str,
        /// The value given.
        value: usize,
        /// The slice length it must divide.
        len: usize,
    },
    /// A class index is outside `0..classes` (and is not the `ignore_index`).
    IndexOutOfRange {
        /// The argument holding the index.
        arg: &'static str,
        /// Position of the bad index in that argument.
        position: usize,
        /// The index found.
        index: i64,
        /// The number of classes.
        classes: usize,
    },
    /// [`set_backend`](crate::backend::set_backend) asked for a backend this CPU or build
    /// cannot run.
    UnsupportedBackend {
        /// The backend's name.
        requested: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::LengthMismatch {
                arg,
                expected,
                found,
            } => write!(
                f,
                "length mismatch: `{arg}` has length {found}, expected {expected}"
            ),
            Error::InvalidParameter {
                name,
                value,
                requirement,
            } => write!(
                f,
                "invalid parameter: `{name}` = {value} ({name} must be {requirement})"
            ),
            Error::UnsupportedBackend { requested } => write!(
                f,
                "unsupported backend: `{requested}` cannot run on this CPU or in this build"
            ),
            Error::InvalidShape { name, value, len } => write!(
                f,
                "invalid shape: `{name}` = {value} must be non-zero and divide the slice length {len}"
            ),
            Error::IndexOutOfRange {
                arg,
                position,
                index,
                classes,
            } => write!(
                f,
                "index out of range: `{arg}[{position}]` = {index}, expected 0..{classes}"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// Checks that `found` (the length of `arg`) equals `expected`.
#[inline]
pub(crate) fn check_len(arg: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

/// Checks that a parameter is finite.
#[inline]
pub(crate) fn check_finite(name: &'static str, value: f64) -> Result<(), Error> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value,
            requirement: "finite",
        })
    }
}

/// Checks that a parameter is finite and strictly positive.
#[inline]
pub(crate) fn check_positive(name: &'static str, value: f64) -> Result<(), Error> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value,
            requirement: "finite and > 0",
        })
    }
}

/// Checks that a parameter is finite and non-zero.
#[inline]
pub(crate) fn check_nonzero(name: &'static str, value: f64) -> Result<(), Error> {
    if value.is_finite() && value != 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value,
            requirement: "finite and non-zero",
        })
    }
}
