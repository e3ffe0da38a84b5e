//! Bounded IPv4/IPv6 fragment reassembly on top of etherparse's `IpDefragBuf`
//! (which handles fragment ordering, overlaps and the end marker).

use std::net::IpAddr;

use etherparse::IpFragOffset;
use etherparse::defrag::IpDefragBuf;
use hashbrown::HashMap;
use otwatch_core::Timestamp;

/// Limits of the reassembly pool.
#[derive(Clone, Copy, Debug)]
pub struct DefragConfig {
    /// Datagrams being reassembled at once; the oldest is dropped beyond this.
    pub max_datagrams: usize,
    /// A datagram whose last fragment is older than this is dropped.
    pub timeout_ns: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 1024,
            timeout_ns: 30 * 1_000_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
    pub vlan: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct FragInfo {
    pub id: u32,
    pub offset: IpFragOffset,
    pub more: bool,
}

pub(crate) enum AddResult {
    Pending,
    Complete,
    Dropped,
}

/// The reassembly pool.
#[derive(Debug)]
pub struct Defragmenter {
    cfg: DefragConfig,
    active: HashMap<FragKey, (IpDefragBuf, Timestamp)>,
    /// The last completed datagram.
    out: Vec<u8>,
    spare: Vec<Vec<u8>>,
    last_sweep: Timestamp,
}

impl Defragmenter {
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            active: HashMap::new(),
            out: Vec::new(),
            spare: Vec::new(),
            last_sweep: Timestamp::ZERO,
        }
    }

    pub fn len(&self) -> usize {
        self.active.len()
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    fn recycle(&mut self, buf: IpDefragBuf) {
        let (data, _) = buf.take_bufs();
        if self.spare.len() < 16 {
            self.spare.push(data);
        }
    }

    fn sweep(&mut self, now: Timestamp) {
        let limit = now.add_nanos(-self.cfg.timeout_ns);
        let expired: Vec<FragKey> = self
            .active
            .iter()
            .filter(|(_, (_, t))| *t < limit)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some((b, _)) = self.active.remove(&k) {
                self.recycle(b);
            }
        }
        self.last_sweep = now;
    }

    pub(crate) fn add(
        &mut self,
        now: Timestamp,
        key: FragKey,
        frag: FragInfo,
        payload: &[u8],
    ) -> AddResult {
        if now.nanos_since(self.last_sweep) > self.cfg.timeout_ns / 4 {
            self.sweep(now);
        }
        if !self.active.contains_key(&key) && self.active.len() >= self.cfg.max_datagrams {
            // Full: drop the datagram that waited longest.
            if let Some(oldest) = self
                .active
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| *k)
                && let Some((b, _)) = self.active.remove(&oldest)
            {
                self.recycle(b);
            }
        }
        if !self.active.contains_key(&key) {
            let mut data = self.spare.pop().unwrap_or_default();
            data.clear();
            let buf = IpDefragBuf::new(etherparse::IpNumber(key.proto), data, Vec::new());
            self.active.insert(key, (buf, now));
        }
        let Some(entry) = self.active.get_mut(&key) else {
            return AddResult::Dropped;
        };
        entry.1 = now;
        if entry.0.add(frag.offset, frag.more, payload).is_err() {
            if let Some((b, _)) = self.active.remove(&key) {
                self.recycle(b);
            }
            return AddResult::Dropped;
        }
        if entry.0.is_complete() {
            if let Some((b, _)) = self.active.remove(&key) {
                let (data, _) = b.take_bufs();
                let old = std::mem::replace(&mut self.out, data);
                if self.spare.len() < 16 {
                    self.spare.push(old);
                }
            }
            return AddResult::Complete;
        }
        AddResult::Pending
    }
}
