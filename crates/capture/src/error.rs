use std::path::PathBuf;

/// Why a capture could not be read. Every variant names the file and, where it
/// applies, the record number and byte offset, so the user can find the spot.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: read error at byte {offset}: {source}")]
    Read {
        path: PathBuf,
        offset: u64,
        source: std::io::Error,
    },
    #[error("{path}: the file is empty, not a capture")]
    Empty { path: PathBuf },
    #[error(
        "{path}: not a pcap or pcapng capture (starts with {magic}); give a .pcap or .pcapng file"
    )]
    NotACapture { path: PathBuf, magic: String },
    #[error(
        "{path}: truncated capture: record {record} at byte {offset} is cut short by the end of the file ({missing} more bytes expected); the packets before it were processed"
    )]
    Truncated {
        path: PathBuf,
        record: u64,
        offset: u64,
        missing: usize,
    },
    #[error("{path}: corrupt capture at record {record}, byte {offset}: {detail}")]
    Corrupt {
        path: PathBuf,
        record: u64,
        offset: u64,
        detail: String,
    },
    #[error(
        "{path}: unsupported link type {linktype} ({name}) at record {record}; supported: Ethernet, Linux cooked (SLL, SLL2), raw IPv4/IPv6, null/loopback"
    )]
    UnsupportedLinkType {
        path: PathBuf,
        linktype: i32,
        name: String,
        record: u64,
    },
}

impl CaptureError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            CaptureError::Open { path, .. }
            | CaptureError::Read { path, .. }
            | CaptureError::Empty { path }
            | CaptureError::NotACapture { path, .. }
            | CaptureError::Truncated { path, .. }
            | CaptureError::Corrupt { path, .. }
            | CaptureError::UnsupportedLinkType { path, .. } => path,
        }
    }
}
