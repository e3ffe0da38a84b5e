//! The NDJSON event writer: an event consumer that serializes records.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use otwatch_proto::event::{Event, EventSink};

/// Writes one JSON object per line. Serialization happens here only, off the
/// dissectors' path, and only when `--events` is given.
pub struct NdjsonWriter {
    out: BufWriter<File>,
    line: Vec<u8>,
    error: Option<std::io::Error>,
    pub records: u64,
}

impl NdjsonWriter {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(NdjsonWriter {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            line: Vec::with_capacity(1024),
            error: None,
            records: 0,
        })
    }

    pub fn finish(mut self) -> std::io::Result<u64> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.records)
    }
}

impl EventSink for NdjsonWriter {
    fn on_event(&mut self, ev: &Event<'_>) {
        if self.error.is_some() {
            return;
        }
        let Some(rec) = otwatch_proto::json::record(ev) else {
            return;
        };
        self.line.clear();
        if let Err(e) = serde_json::to_writer(&mut self.line, &rec) {
            self.error = Some(std::io::Error::other(e));
            return;
        }
        self.line.push(b'\n');
        if let Err(e) = self.out.write_all(&self.line) {
            self.error = Some(e);
            return;
        }
        self.records += 1;
    }
}
