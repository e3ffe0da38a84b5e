//! MMS tests.
