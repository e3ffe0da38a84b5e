//! Protocol dissectors, the typed event model and the dissector registry.
//!
//! Data flows in one direction: the flow layer hands each flow's in-order bytes
//! to that flow's [`registry::Session`]; the session's protocol module parses
//! PDUs with its pure `wire` functions and reports typed [`event::Event`]s
//! through a [`dissector::Ctx`] to whatever [`event::EventSink`] the pipeline
//! wired in (inventory, statistics, NDJSON writer, later the detection engines).
//!
//! Invariants every protocol module keeps:
//! - no panic on any input (fuzzed), no unbounded state (every table is capped);
//! - zero-copy: messages borrow from the input; nothing allocates per PDU;
//! - a malformed PDU becomes a `Malformed` event and parsing goes on.

pub mod dissector;
pub mod dnp3;
pub mod event;
pub mod json;
pub mod modbus;
pub mod registry;
pub mod wire;

pub use dissector::{Ctx, Dissector};
pub use event::{AppEvent, Event, EventSink, Message, NullSink};
pub use registry::{Registry, Session};

#[cfg(test)]
pub(crate) mod testutil;
