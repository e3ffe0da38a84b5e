//! Run summary: what was seen, per protocol and function, as an event consumer.

use std::collections::BTreeMap;

use otwatch_core::{MsgKind, Proto, Timestamp};
use otwatch_proto::event::{Event, EventSink};
use serde::Serialize;

/// Counters for one protocol.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProtoCounts {
    pub flows: u64,
    pub messages: u64,
    pub requests: u64,
    pub responses: u64,
    /// Messages per function code and kind, keyed `"<code>/<kind>"` (e.g. `"3/request"`).
    pub functions: BTreeMap<String, u64>,
    pub exceptions: u64,
    pub malformed: u64,
    /// Malformed PDUs per error code.
    pub malformed_by_code: BTreeMap<&'static str, u64>,
    /// Name of each function code seen, taken from the first message's record.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub function_names: BTreeMap<u16, String>,
    pub gaps: u64,
}

/// Event-level counters of a run (packet, flow and decode counters are added by the caller).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub flows: u64,
    pub messages: u64,
    pub malformed: u64,
    pub gaps: u64,
    pub arp: u64,
    pub protocols: BTreeMap<Proto, ProtoCounts>,
    /// Dense counters by (protocol, function code, kind) for the hot path.
    #[serde(skip)]
    fc: Vec<[u64; 3]>,
    /// Codes of 256 and above (FINS commands, S7 userdata, OPC UA services...).
    #[serde(skip)]
    fc_wide: BTreeMap<(Proto, u16), [u64; 3]>,
}

const FC_SLOTS: usize = 256;

fn slot(p: Proto) -> usize {
    Proto::ALL.iter().position(|x| *x == p).unwrap_or(0)
}

impl Summary {
    pub fn new() -> Self {
        Summary {
            fc: vec![[0; 3]; Proto::ALL.len() * FC_SLOTS],
            ..Default::default()
        }
    }

    fn seen(&mut self, ts: Timestamp) {
        if self.first_ts.is_none_or(|t| ts < t) {
            self.first_ts = Some(ts);
        }
        if self.last_ts.is_none_or(|t| ts > t) {
            self.last_ts = Some(ts);
        }
    }

    /// Folds the dense counters into `protocols[..].functions`; call before reporting.
    pub fn finalize(&mut self) {
        let dense = self
            .fc
            .iter()
            .enumerate()
            .map(|(i, c)| (Proto::ALL[i / FC_SLOTS], i % FC_SLOTS, c));
        let wide = self.fc_wide.iter().map(|((p, f), c)| (*p, *f as usize, c));
        for (p, f, c) in dense.chain(wide) {
            for (k, kind) in [MsgKind::Request, MsgKind::Response, MsgKind::Other]
                .iter()
                .enumerate()
            {
                if c[k] > 0 {
                    let e = self.protocols.entry(p).or_default();
                    e.functions.insert(format!("{f}/{}", kind.as_str()), c[k]);
                }
            }
        }
    }

    /// Messages of `proto` with function code `fc` and `kind`.
    pub fn count(&self, proto: Proto, fc: u16, kind: MsgKind) -> u64 {
        let k = match kind {
            MsgKind::Request => 0,
            MsgKind::Response => 1,
            MsgKind::Other => 2,
        };
        if (fc as usize) < FC_SLOTS {
            self.fc
                .get(slot(proto) * FC_SLOTS + fc as usize)
                .map_or(0, |c| c[k])
        } else {
            self.fc_wide.get(&(proto, fc)).map_or(0, |c| c[k])
        }
    }
}

impl EventSink for Summary {
    #[inline]
    fn on_event(&mut self, ev: &Event<'_>) {
        match *ev {
            Event::App(a) => {
                self.messages += 1;
                let p = a.msg.proto();
                let k = match a.kind {
                    MsgKind::Request => 0,
                    MsgKind::Response => 1,
                    MsgKind::Other => 2,
                };
                let fc = a.msg.function_code();
                let first = if (fc as usize) < FC_SLOTS {
                    match self.fc.get_mut(slot(p) * FC_SLOTS + fc as usize) {
                        Some(c) => {
                            c[k] += 1;
                            c.iter().sum::<u64>() == 1
                        }
                        None => false,
                    }
                } else {
                    let c = self.fc_wide.entry((p, fc)).or_default();
                    c[k] += 1;
                    c.iter().sum::<u64>() == 1
                };
                if first && let Some(name) = function_name(ev) {
                    self.protocols
                        .entry(p)
                        .or_default()
                        .function_names
                        .insert(fc, name);
                }
                let e = self.protocols.entry(p).or_default();
                e.messages += 1;
                match a.kind {
                    MsgKind::Request => e.requests += 1,
                    MsgKind::Response => e.responses += 1,
                    MsgKind::Other => {}
                }
                if let otwatch_proto::Message::Modbus(m) = &a.msg
                    && m.exception_code().is_some()
                {
                    e.exceptions += 1;
                }
            }
            Event::Malformed(m) => {
                self.malformed += 1;
                let e = self.protocols.entry(m.proto).or_default();
                e.malformed += 1;
                *e.malformed_by_code.entry(m.code).or_default() += 1;
            }
            Event::Gap(g) => {
                self.gaps += 1;
                if let Some(p) = g.flow.proto {
                    self.protocols.entry(p).or_default().gaps += 1;
                }
            }
            Event::FlowStart(f) => {
                self.flows += 1;
                self.seen(f.first_seen);
            }
            Event::FlowEnd(f) => {
                self.seen(f.last_seen);
                // Counted at the end: probing may assign the protocol after the start.
                if let Some(p) = f.proto {
                    self.protocols.entry(p).or_default().flows += 1;
                }
            }
            Event::Arp(a) => {
                self.arp += 1;
                self.seen(a.ts);
            }
            Event::Payload(_) | Event::File(_) => {}
        }
    }
}

/// The name a protocol gives a message's function: the first of the usual
/// name fields of its record (off the hot path: once per new function code).
fn function_name(ev: &Event<'_>) -> Option<String> {
    let rec = serde_json::to_value(otwatch_proto::json::record(ev)?).ok()?;
    let obj = rec.get(rec.get("proto")?.as_str()?)?;
    [
        "function",
        "function_name",
        "service_name",
        "command_name",
        "msg_name",
        "op_name",
        "type_name",
        "pdu_name",
        "qtype_name",
        "reason",
        "tpdu",
        "msg_type",
        "method",
    ]
    .iter()
    .find_map(|k| obj.get(*k)?.as_str().map(str::to_string))
}
