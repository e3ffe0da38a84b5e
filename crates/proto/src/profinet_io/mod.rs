//! Profinet IO context management (DCE/RPC connectionless over UDP 34964).
//!
//! Only RPCs to/from the PNIO interfaces (device, controller, supervisor,
//! parameter server) are reported; endpoint-mapper lookups and other RPC
//! interfaces on the port are skipped silently. Requests and responses are
//! matched by activity UUID and sequence number.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Pnio, Rpc};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 34964)];

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub activity: [u8; 16],
    pub seq: u32,
    pub opnum: u16,
    pub ts: Timestamp,
}

/// A dissected PNIO RPC.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub rpc: Rpc,
    pub interface: &'static str,
    pub pnio: Option<Pnio<'a>>,
    pub request: Option<RequestInfo>,
    pub latency_ns: Option<i64>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.rpc.opnum
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    pending: [Option<RequestInfo>; MAX_PENDING],
    pub unanswered: u64,
}

impl Session {
    fn remember(&mut self, info: RequestInfo) {
        if let Some(slot) = self
            .pending
            .iter_mut()
            .find(|p| p.is_none_or(|r| r.activity == info.activity && r.seq == info.seq))
        {
            *slot = Some(info);
            return;
        }
        let oldest = (0..MAX_PENDING)
            .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
            .unwrap_or(0);
        self.pending[oldest] = Some(info);
        self.unanswered += 1;
    }
}

fn kind_of(pt: u8) -> MsgKind {
    match pt {
        0 | 1 | 8 => MsgKind::Request,
        _ => MsgKind::Response,
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let (rpc, body) = match wire::parse_rpc(data) {
            Ok(x) => x,
            Err(e) => {
                let fc = (data.len() >= 70).then(|| {
                    let le = data.get(4).is_some_and(|d| d & 0x10 != 0);
                    let v = [data[68], data[69]];
                    if le {
                        u16::from_le_bytes(v)
                    } else {
                        u16::from_be_bytes(v)
                    }
                });
                cx.malformed(
                    Proto::ProfinetIo,
                    e.code(),
                    &e,
                    fc,
                    &data[..data.len().min(256)],
                );
                return data.len();
            }
        };
        let Some(interface) = wire::interface_name(&rpc.interface) else {
            return data.len();
        };
        let kind = kind_of(rpc.packet_type);
        let mut pnio = None;
        if matches!(rpc.packet_type, 0 | 2) && rpc.fragment == 0 {
            match wire::parse_pnio(body, rpc.packet_type == 2, rpc.flags1 & 0x04 != 0) {
                Ok(p) => pnio = Some(p),
                Err(e) => cx.malformed(
                    Proto::ProfinetIo,
                    e.code(),
                    &e,
                    Some(rpc.opnum),
                    &data[..data.len().min(256)],
                ),
            }
        }
        let request = if kind == MsgKind::Request {
            if rpc.packet_type == 0 {
                self.remember(RequestInfo {
                    activity: rpc.activity,
                    seq: rpc.seq,
                    opnum: rpc.opnum,
                    ts: cx.ts,
                });
            }
            None
        } else if matches!(rpc.packet_type, 2 | 3 | 6) {
            self.pending
                .iter_mut()
                .find(|p| p.is_some_and(|r| r.activity == rpc.activity && r.seq == rpc.seq))
                .and_then(|p| p.take())
        } else {
            None
        };
        let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
        cx.message(
            kind,
            crate::Message::ProfinetIo(Message {
                rpc,
                interface,
                pnio,
                request,
                latency_ns,
            }),
        );
        data.len()
    }

    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

/// Content probe: a connectionless RPC to a PNIO interface.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Udp
        && wire::parse_rpc(data).is_ok_and(|(r, _)| wire::interface_name(&r.interface).is_some())
}

#[cfg(test)]
mod tests;
