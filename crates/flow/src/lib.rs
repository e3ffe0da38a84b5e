//! Flow tracking and TCP reassembly.
//!
//! [`FlowTable`] keeps one [`Flow`] per 5-tuple plus VLAN, both directions
//! together. It decides which side is the client (from the handshake, or by
//! port when the capture starts mid-stream), counts packets and bytes per
//! direction, reassembles each TCP direction into an in-order byte stream, and
//! ends flows on close, idle timeout or eviction.
//!
//! Memory is bounded: the table has a flow cap (the least recently used flow is
//! evicted and counted), each TCP direction buffers at most
//! [`FlowConfig::max_ooo_bytes`] of out-of-order data and
//! [`FlowConfig::max_pending_bytes`] of unconsumed data.
//!
//! Flows live in a slab; three intrusive LRU lists (TCP, other, closed) are
//! ordered by last activity, so timeouts are found at the list tails in O(1).
//! Nothing is allocated per packet: a flow's buffers are allocated the first
//! time they are needed and then reused.

mod reassembly;
mod table;

pub use reassembly::TcpDir;
pub use table::{Flow, FlowConfig, FlowHandler, FlowStats, FlowTable};
