//! SV tests.
