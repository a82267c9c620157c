//! Loss functions with their gradients (in progress).
