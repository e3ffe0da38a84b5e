//! The ring of recent packets: one byte arena and a fixed ring of records,
//! both allocated once; a per-flow chain through the records.

use hashbrown::HashMap;
use otwatch_capture::LinkType;
use otwatch_core::{FlowId, Timestamp};

/// "No packet" in a chain.
const NONE: u64 = u64::MAX;

/// One buffered packet.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    /// Position in arrival order (never reused).
    pub seq: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    pub orig_len: u32,
    offset: u32,
    /// Bytes kept (fewer than captured only when a frame exceeds the arena).
    len: u32,
    pub flow: Option<FlowId>,
    /// The previous packet of the same flow (`NONE` when none is known).
    prev_same_flow: u64,
}

impl Record {
    /// Bytes kept in the ring for this packet.
    #[inline]
    pub fn len_kept(&self) -> usize {
        self.len as usize
    }
}

/// Ring counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Packets in the ring now.
    pub packets: u64,
    /// Captured bytes of those packets.
    pub bytes: u64,
    /// Packets overwritten by newer ones.
    pub overwritten: u64,
    /// Packets whose new flow found the flow index full (kept, not chained).
    pub index_full: u64,
}

/// A bounded buffer of the most recent packets.
///
/// Bytes go into `arena` back to back; a frame that does not fit before the
/// end starts again at offset 0. Before a frame is written, the oldest
/// records whose bytes it would overwrite are dropped, and so is the oldest
/// record when the record ring is full. Each record links to the previous
/// record of its flow, and `heads` maps a flow to its newest record, so the
/// packets of one flow are found without scanning the ring. A flow's entry
/// goes when its newest packet leaves the ring, so the index holds only
/// flows that have packets buffered.
pub struct PacketRing {
    arena: Vec<u8>,
    recs: Vec<Record>,
    cap: usize,
    /// Oldest live sequence number (== `next` when empty).
    first: u64,
    next: u64,
    /// Where the next frame's bytes go.
    write_at: usize,
    heads: HashMap<FlowId, u64>,
    max_flows: usize,
    stats: RingStats,
}

/// Sizes and counters only (the arena is megabytes of packet bytes).
impl std::fmt::Debug for PacketRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketRing")
            .field("arena_bytes", &self.arena.len())
            .field("records", &self.cap)
            .field("first", &self.first)
            .field("next", &self.next)
            .field("flows", &self.heads.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl PacketRing {
    /// A ring of `bytes` bytes and `packets` records, indexing at most
    /// `max_flows` flows. Everything is allocated here.
    pub fn new(bytes: usize, packets: usize, max_flows: usize) -> Self {
        let cap = packets.max(1);
        PacketRing {
            arena: vec![0; bytes.max(1)],
            recs: Vec::with_capacity(cap),
            cap,
            first: 0,
            next: 0,
            write_at: 0,
            heads: HashMap::with_capacity(max_flows.max(1)),
            max_flows: max_flows.max(1),
            stats: RingStats::default(),
        }
    }

    pub fn stats(&self) -> RingStats {
        self.stats
    }

    pub fn len(&self) -> usize {
        (self.next - self.first) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.first == self.next
    }

    /// Flows indexed now.
    pub fn flows(&self) -> usize {
        self.heads.len()
    }

    #[inline]
    fn slot(&self, seq: u64) -> usize {
        (seq % self.cap as u64) as usize
    }

    /// The live record `seq`, if it is still in the ring.
    #[inline]
    pub fn get(&self, seq: u64) -> Option<&Record> {
        if seq < self.first || seq >= self.next {
            return None;
        }
        let r = &self.recs[self.slot(seq)];
        (r.seq == seq).then_some(r)
    }

    /// The bytes of a live record.
    #[inline]
    pub fn data(&self, r: &Record) -> &[u8] {
        &self.arena[r.offset as usize..r.offset as usize + r.len as usize]
    }

    /// Drops the oldest record.
    fn evict_oldest(&mut self) {
        let Some(&r) = self.get(self.first) else {
            self.first = self.next.min(self.first + 1);
            return;
        };
        if let Some(f) = r.flow
            && self.heads.get(&f) == Some(&r.seq)
        {
            self.heads.remove(&f);
        }
        self.first += 1;
        self.stats.packets -= 1;
        self.stats.bytes -= r.len as u64;
        self.stats.overwritten += 1;
    }

    /// Appends a frame and returns its sequence number.
    pub fn push(
        &mut self,
        ts: Timestamp,
        link: LinkType,
        data: &[u8],
        orig_len: u32,
        flow: Option<FlowId>,
    ) -> u64 {
        let len = data.len().min(self.arena.len());
        if self.len() == self.cap {
            self.evict_oldest();
        }
        let mut at = self.write_at;
        let wrapped = at + len > self.arena.len();
        if wrapped {
            at = 0;
        }
        // Drop the oldest records whose bytes the frame will cover. The
        // records after `write_at` (when wrapping) are the oldest of all.
        let old_at = self.write_at;
        while let Some(o) = self.get(self.first) {
            let (o_start, o_end) = (o.offset as usize, o.offset as usize + o.len as usize);
            let overlaps = o_start < at + len && at < o_end;
            let past_end = wrapped && o_start >= old_at;
            if overlaps || past_end {
                self.evict_oldest();
            } else {
                break;
            }
        }
        self.arena[at..at + len].copy_from_slice(&data[..len]);
        self.write_at = at + len;
        let seq = self.next;
        let prev = match flow {
            Some(f) => match self.heads.get_mut(&f) {
                Some(h) => std::mem::replace(h, seq),
                None => {
                    if self.heads.len() < self.max_flows {
                        self.heads.insert(f, seq);
                    } else {
                        self.stats.index_full += 1;
                    }
                    NONE
                }
            },
            None => NONE,
        };
        let rec = Record {
            seq,
            ts,
            link,
            orig_len: orig_len.max(len as u32),
            offset: at as u32,
            len: len as u32,
            flow,
            prev_same_flow: prev,
        };
        let slot = self.slot(seq);
        if slot == self.recs.len() {
            self.recs.push(rec);
        } else {
            self.recs[slot] = rec;
        }
        self.next += 1;
        self.stats.packets += 1;
        self.stats.bytes += len as u64;
        seq
    }

    /// Sequence numbers of the buffered packets of `flow` captured at or
    /// after `from`, newest first. The walk stops at the first packet older
    /// than `from` (the ring is in capture-time order) or at the end of the
    /// chain.
    pub fn flow_packets(&self, flow: FlowId, from: Timestamp, out: &mut Vec<u64>) {
        let mut seq = self.heads.get(&flow).copied().unwrap_or(NONE);
        while let Some(r) = self.get(seq) {
            if r.flow != Some(flow) || r.ts < from {
                break;
            }
            out.push(seq);
            seq = r.prev_same_flow;
        }
    }

    /// Live records from newest to oldest.
    pub fn iter_newest_first(&self) -> impl Iterator<Item = &Record> {
        (self.first..self.next)
            .rev()
            .filter_map(move |s| self.get(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(i: u64, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i as usize + j) as u8).collect()
    }

    fn check_live(r: &PacketRing, lens: &dyn Fn(u64) -> usize) {
        for rec in r.iter_newest_first() {
            assert_eq!(
                r.data(rec),
                &frame(rec.seq, lens(rec.seq))[..],
                "seq {}",
                rec.seq
            );
        }
    }

    #[test]
    fn bytes_survive_wrap_around_and_oldest_go_first() {
        let mut r = PacketRing::new(1000, 100, 16);
        let lens = |s: u64| 30 + (s as usize * 7) % 90;
        for s in 0..500u64 {
            let seq = r.push(
                Timestamp(s as i64),
                LinkType::Ethernet,
                &frame(s, lens(s)),
                0,
                None,
            );
            assert_eq!(seq, s);
            check_live(&r, &lens);
            assert!(r.stats().bytes <= 1000);
            // The live records are the newest, in order, without holes.
            let live: Vec<u64> = r.iter_newest_first().map(|x| x.seq).collect();
            assert_eq!(live.first(), Some(&s));
            assert!(live.windows(2).all(|w| w[0] == w[1] + 1));
            assert_eq!(live.len(), r.len());
        }
        assert!(r.len() >= 1000 / 120, "{}", r.len());
        assert_eq!(r.stats().overwritten + r.len() as u64, 500);
    }

    #[test]
    fn record_count_caps_the_ring() {
        let mut r = PacketRing::new(1 << 20, 8, 16);
        for s in 0..20u64 {
            r.push(Timestamp(0), LinkType::RawIp, &frame(s, 10), 10, None);
        }
        assert_eq!(r.len(), 8);
        assert_eq!(r.iter_newest_first().last().unwrap().seq, 12);
        assert!(r.get(11).is_none());
    }

    #[test]
    fn chains_follow_flows_across_wrap_around() {
        let mut r = PacketRing::new(4096, 64, 16);
        // Three interleaved flows, many times around the ring.
        for s in 0..1000u64 {
            let f = FlowId(s % 3);
            r.push(
                Timestamp(s as i64),
                LinkType::Ethernet,
                &frame(s, 40 + (s % 5) as usize),
                0,
                Some(f),
            );
            if s % 97 == 0 || s == 999 {
                for fl in 0..3 {
                    let mut v = Vec::new();
                    r.flow_packets(FlowId(fl), Timestamp::ZERO, &mut v);
                    let want: Vec<u64> = r
                        .iter_newest_first()
                        .filter(|x| x.flow == Some(FlowId(fl)))
                        .map(|x| x.seq)
                        .collect();
                    assert_eq!(v, want, "flow {fl} at {s}");
                }
            }
        }
        // Time window: only packets at or after `from`.
        let mut v = Vec::new();
        r.flow_packets(FlowId(1), Timestamp(990), &mut v);
        assert_eq!(v, vec![997, 994, 991]);
        // Index holds only flows with packets buffered.
        assert_eq!(r.flows(), 3);
        for s in 1000..1100u64 {
            r.push(
                Timestamp(s as i64),
                LinkType::Ethernet,
                &frame(s, 40),
                0,
                Some(FlowId(7)),
            );
        }
        assert_eq!(r.flows(), 1);
        let mut v = Vec::new();
        r.flow_packets(FlowId(1), Timestamp::ZERO, &mut v);
        assert!(v.is_empty());
    }

    #[test]
    fn full_index_keeps_packets_unchained() {
        let mut r = PacketRing::new(1 << 16, 1000, 2);
        for s in 0..10u64 {
            r.push(
                Timestamp(0),
                LinkType::Ethernet,
                &frame(s, 20),
                0,
                Some(FlowId(s)),
            );
        }
        assert_eq!(r.flows(), 2);
        assert_eq!(r.stats().index_full, 8);
        assert_eq!(r.len(), 10);
        let mut v = Vec::new();
        r.flow_packets(FlowId(5), Timestamp::ZERO, &mut v);
        assert!(v.is_empty());
    }

    #[test]
    fn oversized_frame_is_truncated_to_the_arena() {
        let mut r = PacketRing::new(100, 10, 4);
        r.push(Timestamp(0), LinkType::Ethernet, &frame(0, 60), 60, None);
        let s = r.push(Timestamp(1), LinkType::Ethernet, &frame(1, 300), 300, None);
        assert_eq!(r.len(), 1);
        let rec = *r.get(s).unwrap();
        assert_eq!(r.data(&rec), &frame(1, 300)[..100]);
        assert_eq!(rec.orig_len, 300);
    }
}
