//! `erf`, `erfc` and the standard normal CDF over lanes. (Filled in by the erf work.)
