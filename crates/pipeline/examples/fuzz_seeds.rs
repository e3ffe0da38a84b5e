//! Writes fuzz seeds for every dissector from capture files: one seed per
//! packet payload, in the input format of `otwatch_proto::fuzzing::run`
//! (mode byte, then length-coded chunks), into `<out>/<proto>/`.
//!
//! ```text
//! cargo run --release -p otwatch-pipeline --example fuzz_seeds -- OUT_DIR CAPTURES...
//! ```
//! CI seeds the fuzz targets from the shared corpus and the generated
//! scenarios this way; the seeds are never committed.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use otwatch_capture::{FileSource, PacketSource};
use otwatch_core::{Proto, Transport};
use otwatch_decode::{Decoder, L4, Net};
use otwatch_proto::{Registry, l2};

/// Seeds kept per protocol.
const MAX_SEEDS: usize = 200;

/// Encodes `payload` as one direction's chunks after `mode`.
fn encode(mode: u8, to_client: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    let dir = if to_client { 0x40 } else { 0 };
    let mut rest = payload;
    while !rest.is_empty() {
        // Chunk length is (ctl & 0x3f) * 8 + 1; the last chunk may be cut by the end.
        let k = if rest.len() >= 505 {
            63
        } else {
            (rest.len() as u8 - 1).div_ceil(8)
        };
        let n = (k as usize * 8 + 1).min(rest.len());
        out.push(dir | k);
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

/// The PDU a wrapped protocol's fuzz target expects (it re-adds the carrier).
fn unwrap(proto: Proto, p: &[u8]) -> Option<(Proto, &[u8])> {
    match proto {
        Proto::Cotp => match p.get(7) {
            Some(0x32) if p.get(5) == Some(&0xf0) => Some((Proto::S7comm, &p[7..])),
            Some(0x72) if p.get(5) == Some(&0xf0) => Some((Proto::S7commPlus, &p[7..])),
            Some(_) if p.get(5) == Some(&0xf0) => Some((Proto::Mms, &p[7..])),
            _ => None,
        },
        Proto::Modbus if p.get(7) == Some(&0x5a) => Some((Proto::Umas, &p[8..])),
        _ => None,
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds OUT_DIR CAPTURES...");
        std::process::exit(2);
    };
    let registry = Registry::default();
    let mut seen: BTreeMap<Proto, HashSet<u64>> = BTreeMap::new();
    let mut write = |proto: Proto, seed: Vec<u8>| {
        let set = seen.entry(proto).or_default();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        let id = h.finish();
        if set.len() >= MAX_SEEDS || !set.insert(id) {
            return;
        }
        let dir = out.join(proto.name());
        std::fs::create_dir_all(&dir).expect("create seed dir");
        std::fs::write(dir.join(format!("{id:016x}")), seed).expect("write seed");
    };
    for path in args {
        let path = Path::new(&path);
        let Ok(mut src) = FileSource::open(path, 0) else {
            continue;
        };
        let mut dec = Decoder::new(Default::default());
        while let Ok(Some(pkt)) = src.next_packet() {
            let d = dec.decode(pkt.ts, pkt.link, pkt.data, pkt.orig_len);
            match d.net {
                Net::L2 { payload } => {
                    if let Some(p) = l2::classify(d.ether_type, payload) {
                        let payload = match (p, l2::snap(payload)) {
                            (Proto::Cdp, Some((_, _, data))) => data,
                            _ => payload,
                        };
                        let mut seed = vec![0];
                        seed.extend_from_slice(payload);
                        write(p, seed);
                    }
                }
                Net::Ip(ip) => {
                    let (t, sport, dport, payload, mode) = match ip.l4 {
                        L4::Tcp(t) => (Transport::Tcp, t.sport, t.dport, t.payload, 0),
                        L4::Udp {
                            sport,
                            dport,
                            payload,
                        } => (Transport::Udp, sport, dport, payload, 1),
                        L4::Icmp { raw, .. } => (Transport::OtherIp, 0, 0, raw, 1),
                        _ => continue,
                    };
                    if payload.is_empty() {
                        continue;
                    }
                    let hit = match t {
                        Transport::OtherIp => Some((Proto::Icmp, false)),
                        _ => registry
                            .lookup(t, dport)
                            .map(|p| (p, false))
                            .or_else(|| registry.lookup(t, sport).map(|p| (p, true))),
                    };
                    let Some((proto, to_client)) = hit else {
                        continue;
                    };
                    write(proto, encode(mode, to_client, payload));
                    if let Some((inner, pdu)) = unwrap(proto, payload) {
                        write(inner, encode(0, to_client, pdu));
                    }
                }
                _ => {}
            }
        }
    }
    for (p, s) in &seen {
        println!("{:>14} {:>4} seeds", p.name(), s.len());
    }
}
