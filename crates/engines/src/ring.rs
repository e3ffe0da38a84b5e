//! A fixed-size ring of capture timestamps (ns), newest last: the sliding
//! windows of the operational and health engines (no allocation, bounded).

/// Timestamps kept per ring (caps the `count` thresholds that use it).
pub(crate) const RING: usize = 16;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ring {
    ts: [i64; RING],
    pub(crate) len: u8,
    head: u8,
}

impl Ring {
    pub(crate) fn push(&mut self, t: i64) {
        let i = (self.head as usize + self.len as usize) % RING;
        self.ts[i] = t;
        if (self.len as usize) < RING {
            self.len += 1;
        } else {
            self.head = ((self.head as usize + 1) % RING) as u8;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.head = 0;
    }

    /// The `k`-th newest entry (0 = newest).
    pub(crate) fn newest(&self, k: usize) -> Option<i64> {
        if k >= self.len as usize {
            return None;
        }
        let i = (self.head as usize + self.len as usize - 1 - k) % RING;
        Some(self.ts[i])
    }

    /// Entries in `[lo, hi]`.
    pub(crate) fn count_in(&self, lo: i64, hi: i64) -> usize {
        (0..self.len as usize)
            .filter_map(|k| self.newest(k))
            .filter(|&t| t >= lo && t <= hi)
            .count()
    }

    /// Entries at or after `lo`.
    pub(crate) fn count_since(&self, lo: i64) -> usize {
        self.count_in(lo, i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_counts_windows() {
        let mut r = Ring::default();
        for t in 0..20 {
            r.push(t);
        }
        assert_eq!(r.len as usize, RING);
        assert_eq!(r.newest(0), Some(19));
        assert_eq!(r.newest(RING - 1), Some(4));
        assert_eq!(r.newest(RING), None);
        assert_eq!(r.count_in(10, 12), 3);
        assert_eq!(r.count_since(15), 5);
        r.clear();
        assert_eq!(r.newest(0), None);
    }
}
