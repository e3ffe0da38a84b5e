//! Several capture files read as one stream, in timestamp order.

use std::path::Path;

use crate::{CaptureError, FileSource, Packet, PacketSource};

/// Merges inputs by timestamp (ties go to the earlier input on the command line).
///
/// Each input keeps its own read buffer; the packet returned last stays valid
/// until the next call, when that input is advanced.
#[derive(Debug)]
pub struct Merge {
    inputs: Vec<FileSource>,
    /// Per input: a packet is loaded and waiting.
    ready: Vec<bool>,
    /// Input whose packet was returned last and must advance first.
    last: Option<usize>,
    started: bool,
}

impl Merge {
    /// Opens every file (a missing or non-capture file fails before any packet is read).
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<Merge, CaptureError> {
        let inputs = paths
            .iter()
            .enumerate()
            .map(|(i, p)| FileSource::open(p, i as u16))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Merge::new(inputs))
    }

    pub fn new(inputs: Vec<FileSource>) -> Merge {
        let n = inputs.len();
        Merge {
            inputs,
            ready: vec![false; n],
            last: None,
            started: false,
        }
    }

    pub fn inputs(&self) -> &[FileSource] {
        &self.inputs
    }
}

impl PacketSource for Merge {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if !self.started {
            self.started = true;
            for i in 0..self.inputs.len() {
                self.ready[i] = self.inputs[i].advance()?;
            }
        } else if let Some(i) = self.last.take() {
            self.ready[i] = self.inputs[i].advance()?;
        }
        // Few inputs: a linear scan beats a heap.
        let mut best: Option<(usize, otwatch_core::Timestamp)> = None;
        for (i, src) in self.inputs.iter().enumerate() {
            if !self.ready[i] {
                continue;
            }
            if let Some(p) = src.current()
                && best.is_none_or(|(_, t)| p.ts < t)
            {
                best = Some((i, p.ts));
            }
        }
        match best {
            Some((i, _)) => {
                self.last = Some(i);
                Ok(self.inputs[i].current())
            }
            None => Ok(None),
        }
    }

    fn progress(&self) -> (u64, u64) {
        self.inputs
            .iter()
            .fold((0, 0), |(a, b), s| (a + s.position(), b + s.total()))
    }
}
