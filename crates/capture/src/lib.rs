//! Capture sources: where packets come from.
//!
//! A [`PacketSource`] yields [`Packet`]s that borrow from the source's own
//! buffer until the next call, so reading never allocates per packet. Files
//! are read with `pcap-parser` (legacy pcap in both byte orders and both
//! timestamp resolutions, and pcapng with any number of sections and
//! interfaces). Several files are merged in timestamp order by [`Merge`].
//! Live interfaces (libpcap) implement the same trait in the sensor service.

mod error;
mod file;
mod linktype;
mod merge;

pub use error::CaptureError;
pub use file::FileSource;
pub use linktype::LinkType;
pub use merge::Merge;

use otwatch_core::Timestamp;

/// One captured frame.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    /// Captured bytes (possibly fewer than `orig_len` when the snap length cut the frame).
    pub data: &'a [u8],
    pub orig_len: u32,
    /// Index of the input the packet came from (position on the command line).
    pub input: u16,
    /// 1-based record number within that input.
    pub record: u64,
}

/// A stream of packets.
pub trait PacketSource {
    /// The next packet, `Ok(None)` at the end of input. The packet stays valid
    /// until the next call.
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError>;

    /// Bytes consumed so far and the total expected (for progress display).
    fn progress(&self) -> (u64, u64);
}
