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

pub mod ads;
pub mod bacnet;
pub mod ber;
pub mod c37118;
pub mod cdp;
pub mod cotp;
pub mod dhcp;
pub mod dhcpv6;
pub mod dissector;
pub mod dnp3;
pub mod dns;
pub mod enip;
pub mod event;
pub mod fins;
pub mod fox;
pub mod framing;
pub mod ftp;
pub mod fuzzing;
pub mod goose;
pub mod hart_ip;
pub mod http;
pub mod icmp;
pub mod ident;
pub mod iec104;
pub mod json;
pub mod l2;
pub mod lldp;
pub mod llmnr;
pub mod mdns;
pub mod melsec;
pub mod mms;
pub mod modbus;
pub mod mqtt;
pub mod nbns;
pub mod ntp;
pub mod opcua;
pub mod profinet_dcp;
pub mod profinet_io;
pub mod profinet_rt;
pub mod protocols;
pub mod rdp;
pub mod registry;
pub mod s7comm;
pub mod s7comm_plus;
pub mod smb;
pub mod snmp;
pub mod srtp;
pub mod ssh;
pub mod sv;
pub mod syslog;
pub mod telnet;
pub mod tls;
pub mod tristation;
pub mod umas;
pub mod vnc;
pub mod wire;

pub use dissector::{Ctx, Dissector};
pub use event::{AppEvent, Event, EventSink, Message, NullSink};
pub use ident::Identity;
pub use protocols::{ProtoMessage, Session};
pub use registry::Registry;

#[cfg(test)]
pub(crate) mod testutil;
