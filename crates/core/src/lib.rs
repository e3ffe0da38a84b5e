//! Shared primitives of the otwatch pipeline.
//!
//! Everything here is plain data that several pipeline stages exchange: capture
//! timestamps, MAC addresses, the bidirectional flow identity and its summary,
//! packet direction and the canonical list of protocol names. Nothing here
//! allocates on the packet path.

pub mod flow;
pub mod net;
pub mod proto;
pub mod time;

pub use flow::{
    ClientBy, Direction, EndReason, Endpoints, FlowId, FlowInfo, FlowKey, FlowSide, Transport,
};
pub use net::MacAddr;
pub use proto::{MsgKind, Proto};
pub use time::Timestamp;
