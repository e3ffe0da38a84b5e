//! `otwatch sensor`: the long-running service on a SPAN port.
//!
//! Threads: one analysis thread owns the packet path (`runtime.rs`); one
//! capture thread per interface (`live.rs`); the store's batching writer;
//! a tokio runtime serving the REST API. See docs/sensor.md.

pub mod config;
pub mod control;
pub mod evidence;
pub mod live;
pub mod metrics;
pub mod priority;
pub mod runtime;
pub mod service;

pub use config::{ConfigError, SensorConfig};
