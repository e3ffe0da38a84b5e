//! One direction of a TCP stream: sequence tracking, out-of-order buffering,
//! retransmission/overlap trimming, gap detection, and the unconsumed tail that
//! the dissector has not parsed yet.

/// What the reassembler asks its caller to do with a segment.
pub(crate) trait Sink {
    /// In-order bytes; returns how many the dissector consumed.
    fn data(&mut self, data: &[u8]) -> usize;
    /// `len` bytes of sequence space will never be delivered.
    fn gap(&mut self, len: u32);
}

/// Counters shared by all streams of a table.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct StreamStats {
    /// Segments whose bytes had all been delivered already.
    pub retransmissions: u64,
    /// Segments that partly overlapped delivered bytes (the new part is kept).
    pub overlaps: u64,
    /// Segments held because earlier bytes were missing.
    pub out_of_order: u64,
    /// Gaps reported to dissectors, and the bytes they covered.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Unconsumed data dropped because a dissector held more than the cap.
    pub pending_overflows: u64,
}

/// State of one TCP direction.
#[derive(Debug, Default)]
pub struct TcpDir {
    started: bool,
    next_seq: u32,
    /// Bytes delivered but not consumed by the dissector (a partial PDU).
    pending: Vec<u8>,
    /// Out-of-order segments, sorted by sequence number.
    ooo: Vec<(u32, Vec<u8>)>,
    ooo_bytes: usize,
    pub fin: bool,
}

/// `a - b` in sequence space.
#[inline]
fn seq_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

pub(crate) struct Limits {
    pub max_ooo_bytes: usize,
    pub max_ooo_segments: usize,
    pub max_pending_bytes: usize,
}

impl TcpDir {
    /// A SYN fixes the initial sequence number.
    pub(crate) fn syn(&mut self, seq: u32) {
        self.started = true;
        self.next_seq = seq.wrapping_add(1);
        self.pending.clear();
        self.ooo.clear();
        self.ooo_bytes = 0;
    }

    pub(crate) fn has_buffered(&self) -> bool {
        !self.ooo.is_empty()
    }

    /// Bytes held in memory (for accounting).
    pub fn buffered_bytes(&self) -> usize {
        self.pending.len() + self.ooo_bytes
    }

    fn deliver(
        &mut self,
        data: &[u8],
        lim: &Limits,
        stats: &mut StreamStats,
        sink: &mut impl Sink,
    ) {
        if data.is_empty() {
            return;
        }
        self.next_seq = self.next_seq.wrapping_add(data.len() as u32);
        if self.pending.is_empty() {
            let n = sink.data(data).min(data.len());
            if n < data.len() {
                self.pending.extend_from_slice(&data[n..]);
            }
        } else {
            self.pending.extend_from_slice(data);
            let n = sink.data(&self.pending).min(self.pending.len());
            self.pending.drain(..n);
        }
        if self.pending.len() > lim.max_pending_bytes {
            stats.pending_overflows += 1;
            let len = self.pending.len() as u32;
            self.pending.clear();
            sink.gap(len);
        }
    }

    fn gap_to(&mut self, seq: u32, stats: &mut StreamStats, sink: &mut impl Sink) {
        let len = seq_diff(seq, self.next_seq);
        if len <= 0 {
            return;
        }
        stats.gaps += 1;
        stats.gap_bytes += len as u64;
        self.pending.clear();
        self.next_seq = seq;
        sink.gap(len as u32);
    }

    /// Delivers buffered segments that have become contiguous.
    fn drain_ooo(&mut self, lim: &Limits, stats: &mut StreamStats, sink: &mut impl Sink) {
        while let Some((seq, _)) = self.ooo.first() {
            let rel = seq_diff(*seq, self.next_seq);
            if rel > 0 {
                break;
            }
            let (_, seg) = self.ooo.remove(0);
            self.ooo_bytes -= seg.len();
            let skip = (-rel) as usize;
            if skip < seg.len() {
                self.deliver(&seg[skip..], lim, stats, sink);
            }
        }
    }

    /// Handles a data segment.
    pub(crate) fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        lim: &Limits,
        stats: &mut StreamStats,
        sink: &mut impl Sink,
    ) {
        if data.is_empty() {
            return;
        }
        if !self.started {
            // Mid-stream pickup: the first byte seen starts the stream.
            self.started = true;
            self.next_seq = seq;
        }
        let rel = seq_diff(seq, self.next_seq);
        if rel < 0 {
            let dup = (-rel) as usize;
            if dup >= data.len() {
                stats.retransmissions += 1;
                return;
            }
            stats.overlaps += 1;
            self.deliver(&data[dup..], lim, stats, sink);
            self.drain_ooo(lim, stats, sink);
            return;
        }
        if rel == 0 {
            self.deliver(data, lim, stats, sink);
            if !self.ooo.is_empty() {
                self.drain_ooo(lim, stats, sink);
            }
            return;
        }
        // A hole before this segment: hold it if there is room.
        if self.ooo_bytes + data.len() <= lim.max_ooo_bytes && self.ooo.len() < lim.max_ooo_segments
        {
            stats.out_of_order += 1;
            let pos = self
                .ooo
                .iter()
                .position(|(s, _)| seq_diff(*s, seq) > 0)
                .unwrap_or(self.ooo.len());
            if self
                .ooo
                .get(pos.wrapping_sub(1))
                .is_some_and(|(s, d)| *s == seq && d.len() >= data.len())
            {
                stats.retransmissions += 1;
                return;
            }
            self.ooo.insert(pos, (seq, data.to_vec()));
            self.ooo_bytes += data.len();
            return;
        }
        // No room: give up on the hole and move on.
        let first = self.ooo.first().map_or(seq, |(s, _)| *s);
        let target = if seq_diff(first, seq) < 0 { first } else { seq };
        self.gap_to(target, stats, sink);
        self.drain_ooo(lim, stats, sink);
        let rel = seq_diff(seq, self.next_seq);
        if rel <= 0 {
            let skip = (-rel) as usize;
            if skip < data.len() {
                self.deliver(&data[skip..], lim, stats, sink);
            }
            self.drain_ooo(lim, stats, sink);
        } else {
            self.segment(seq, data, lim, stats, sink);
        }
    }

    /// The peer acknowledged up to `ack`: any hole before that will never be
    /// filled in this capture, so buffered data past it is delivered after a gap.
    pub(crate) fn acked(
        &mut self,
        ack: u32,
        lim: &Limits,
        stats: &mut StreamStats,
        sink: &mut impl Sink,
    ) {
        let Some((first, _)) = self.ooo.first() else {
            return;
        };
        let first = *first;
        if self.started && seq_diff(ack, first) >= 0 && seq_diff(first, self.next_seq) > 0 {
            self.gap_to(first, stats, sink);
            self.drain_ooo(lim, stats, sink);
        }
    }

    /// The stream ends: deliver what is buffered, with gaps where bytes are missing.
    pub(crate) fn finish(&mut self, lim: &Limits, stats: &mut StreamStats, sink: &mut impl Sink) {
        while let Some((first, _)) = self.ooo.first() {
            let first = *first;
            self.gap_to(first, stats, sink);
            self.drain_ooo(lim, stats, sink);
        }
        self.pending.clear();
        self.pending.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Rec {
        out: Vec<u8>,
        gaps: Vec<u32>,
        /// Consume only whole 4-byte records, like a framed protocol.
        framed: bool,
        /// Consume nothing (a dissector waiting for a PDU that never completes).
        hold: bool,
    }
    impl Sink for Rec {
        fn data(&mut self, d: &[u8]) -> usize {
            let n = if self.hold {
                0
            } else if self.framed {
                d.len() / 4 * 4
            } else {
                d.len()
            };
            self.out.extend_from_slice(&d[..n]);
            n
        }
        fn gap(&mut self, len: u32) {
            self.gaps.push(len);
        }
    }

    fn lim() -> Limits {
        Limits {
            max_ooo_bytes: 1000,
            max_ooo_segments: 16,
            max_pending_bytes: 100,
        }
    }

    #[test]
    fn in_order_and_out_of_order() {
        let (mut t, mut st, mut r) = (TcpDir::default(), StreamStats::default(), Rec::default());
        t.syn(99);
        t.segment(100, b"abc", &lim(), &mut st, &mut r);
        t.segment(106, b"ghi", &lim(), &mut st, &mut r); // hole 103..106
        t.segment(103, b"def", &lim(), &mut st, &mut r);
        assert_eq!(r.out, b"abcdefghi");
        assert_eq!(st.out_of_order, 1);
        assert!(r.gaps.is_empty());
    }

    #[test]
    fn retransmission_and_overlap() {
        let (mut t, mut st, mut r) = (TcpDir::default(), StreamStats::default(), Rec::default());
        t.segment(1000, b"abcd", &lim(), &mut st, &mut r);
        t.segment(1000, b"abcd", &lim(), &mut st, &mut r);
        t.segment(1002, b"cdef", &lim(), &mut st, &mut r);
        assert_eq!(r.out, b"abcdef");
        assert_eq!((st.retransmissions, st.overlaps), (1, 1));
    }

    #[test]
    fn ack_past_hole_reports_gap() {
        let (mut t, mut st, mut r) = (TcpDir::default(), StreamStats::default(), Rec::default());
        t.segment(0, b"aaaa", &lim(), &mut st, &mut r);
        t.segment(8, b"cccc", &lim(), &mut st, &mut r); // 4..8 lost
        t.acked(12, &lim(), &mut st, &mut r);
        assert_eq!(r.out, b"aaaacccc");
        assert_eq!(r.gaps, vec![4]);
        assert_eq!(st.gap_bytes, 4);
    }

    #[test]
    fn partial_pdu_waits_for_more() {
        let (mut t, mut st) = (TcpDir::default(), StreamStats::default());
        let mut r = Rec {
            framed: true,
            ..Default::default()
        };
        t.segment(0, b"abcde", &lim(), &mut st, &mut r);
        assert_eq!(r.out, b"abcd");
        t.segment(5, b"fgh", &lim(), &mut st, &mut r);
        assert_eq!(r.out, b"abcdefgh");
        assert_eq!(t.buffered_bytes(), 0);
    }

    #[test]
    fn buffers_are_capped() {
        let (mut t, mut st) = (TcpDir::default(), StreamStats::default());
        let mut r = Rec {
            hold: true,
            ..Default::default()
        };
        // Never a full record: pending grows to the cap, then is dropped as a gap.
        for i in 0..200u32 {
            t.segment(i, b"x", &lim(), &mut st, &mut r);
            assert!(t.buffered_bytes() <= 101);
        }
        assert!(st.pending_overflows >= 1);
        // Out-of-order data beyond the cap forces a gap instead of growing.
        let (mut t, mut st, mut r) = (TcpDir::default(), StreamStats::default(), Rec::default());
        t.segment(0, b"a", &lim(), &mut st, &mut r);
        for i in 0..100u32 {
            t.segment(10 + i * 100, &[b'z'; 90], &lim(), &mut st, &mut r);
            assert!(t.buffered_bytes() <= 1000);
        }
        assert!(!r.gaps.is_empty());
    }

    #[test]
    fn finish_flushes_with_gaps() {
        let (mut t, mut st, mut r) = (TcpDir::default(), StreamStats::default(), Rec::default());
        t.segment(0, b"ab", &lim(), &mut st, &mut r);
        t.segment(5, b"ef", &lim(), &mut st, &mut r);
        t.finish(&lim(), &mut st, &mut r);
        assert_eq!(r.out, b"abef");
        assert_eq!(r.gaps, vec![3]);
    }

    #[test]
    fn sequence_wraparound() {
        let (mut t, mut st, mut r) = (TcpDir::default(), StreamStats::default(), Rec::default());
        t.syn(u32::MAX - 2);
        t.segment(u32::MAX - 1, b"ab", &lim(), &mut st, &mut r);
        t.segment(2, b"ef", &lim(), &mut st, &mut r);
        t.segment(0, b"cd", &lim(), &mut st, &mut r);
        assert_eq!(r.out, b"abcdef");
    }
}
