//! Shared framing of length-prefixed PDUs over a TCP stream, with
//! resynchronisation: used by the protocols whose header says how long the
//! PDU is and carries a recognisable pattern to resync on.
//!
//! Per direction a session keeps one [`StreamSync`]. [`frame_stream`] walks
//! the bytes it is given: whole PDUs go to the callback as `Ok(pdu)`; a header
//! that cannot be valid goes once as `Err(error, bytes)` (one malformed event
//! per run of garbage) and the walk resyncs byte by byte on the next
//! plausible header. A partial PDU is left unconsumed for the next call.

/// Resync state of one stream direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamSync {
    started: bool,
    /// Looking for a header (after garbage, a gap, or a mid-stream start).
    resync: bool,
    /// The current run of garbage was already reported.
    reported: bool,
}

impl StreamSync {
    /// Bytes were lost: resync on what follows, without reporting it.
    pub fn lost(&mut self) {
        self.resync = true;
        self.reported = true;
    }
}

/// How a protocol's PDUs are recognised and measured.
pub struct Framer<E> {
    /// Bytes needed before `len` can decide.
    pub min_len: usize,
    /// Does a PDU header plausibly start here?
    pub plausible: fn(&[u8]) -> bool,
    /// Offset of the next plausible header in the bytes, if any.
    pub find: fn(&[u8]) -> Option<usize>,
    /// Length of the PDU starting here: `Ok(None)` when more bytes are
    /// needed, `Err` when the header cannot be valid.
    pub len: fn(&[u8]) -> Result<Option<usize>, E>,
}

/// Frames as many whole PDUs of `data` as it holds and returns the bytes
/// consumed. `suspect_start`: the flow's first bytes may be mid-PDU (no
/// handshake seen), so the first call resyncs unless they look like a header.
pub fn frame_stream<E>(
    sync: &mut StreamSync,
    data: &[u8],
    suspect_start: bool,
    f: &Framer<E>,
    mut on: impl FnMut(Result<&[u8], (E, &[u8])>),
) -> usize {
    if !sync.started {
        sync.started = true;
        if suspect_start && !(f.plausible)(data) {
            sync.lost();
        }
    }
    let mut off = 0;
    while data.len() - off >= f.min_len {
        let rest = &data[off..];
        if sync.resync && !(f.plausible)(rest) {
            match (f.find)(&rest[1..]) {
                Some(k) => {
                    off += 1 + k;
                    continue;
                }
                None => {
                    off = data.len() - (f.min_len - 1);
                    break;
                }
            }
        }
        match (f.len)(rest) {
            Ok(None) => break,
            Ok(Some(n)) => {
                if rest.len() < n {
                    break;
                }
                sync.resync = false;
                sync.reported = false;
                on(Ok(&rest[..n]));
                off += n;
            }
            Err(e) => {
                if !sync.reported {
                    on(Err((e, rest)));
                    sync.reported = true;
                }
                sync.resync = true;
                off += 1;
            }
        }
    }
    off
}

#[cfg(test)]
mod tests {
    use super::*;

    // A toy format: 0xAA, length byte (total length, >= 2).
    fn len(b: &[u8]) -> Result<Option<usize>, u8> {
        match b {
            [0xaa, n, ..] if *n >= 2 => Ok(Some(*n as usize)),
            [0xaa, n, ..] => Err(*n),
            [0xaa] => Ok(None),
            [x, ..] => Err(*x),
            [] => Ok(None),
        }
    }
    const F: Framer<u8> = Framer {
        min_len: 2,
        plausible: |b| b.first() == Some(&0xaa),
        find: |b| b.iter().position(|&x| x == 0xaa),
        len,
    };

    fn run(sync: &mut StreamSync, data: &[u8], suspect: bool) -> (usize, Vec<Vec<u8>>, usize) {
        let (mut pdus, mut errs) = (Vec::new(), 0);
        let n = frame_stream(sync, data, suspect, &F, |r| match r {
            Ok(p) => pdus.push(p.to_vec()),
            Err(_) => errs += 1,
        });
        (n, pdus, errs)
    }

    #[test]
    fn pdus_partials_and_garbage() {
        let mut s = StreamSync::default();
        let (n, pdus, errs) = run(&mut s, &[0xaa, 3, 1, 0xaa, 4, 2], false);
        assert_eq!((n, pdus.len(), errs), (3, 1, 0), "partial PDU left");
        // Garbage is reported once, then the next header is found.
        let mut s = StreamSync::default();
        let (n, pdus, errs) = run(&mut s, &[1, 2, 3, 0xaa, 2], false);
        assert_eq!((n, pdus, errs), (5, vec![vec![0xaa, 2]], 1));
    }

    #[test]
    fn midstream_start_and_gap_resync_silently() {
        let mut s = StreamSync::default();
        let (_, pdus, errs) = run(&mut s, &[7, 7, 0xaa, 2], true);
        assert_eq!((pdus.len(), errs), (1, 0));
        s.lost();
        let (_, pdus, errs) = run(&mut s, &[9, 0xaa, 2], false);
        assert_eq!((pdus.len(), errs), (1, 0));
    }
}
