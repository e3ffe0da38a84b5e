//! One capture file, read in blocks through a reusable buffer.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use otwatch_core::Timestamp;
use pcap_parser::pcapng::{Block, parse_block_be, parse_block_le, parse_sectionheaderblock};
use pcap_parser::{PcapError, pcap};

use crate::{CaptureError, LinkType, Packet, PacketSource};

/// Initial read buffer; it grows only for blocks larger than this.
const BUF_SIZE: usize = 1 << 20;
/// Largest packet record accepted (libpcap's own limit is 256 KiB).
const MAX_RECORD: usize = 16 << 20;

#[derive(Clone, Copy, Debug)]
struct Interface {
    link: Result<LinkType, i32>,
    /// Timestamp units per second.
    resolution: u64,
    offset_secs: i64,
}

#[derive(Debug)]
enum Format {
    Pcap {
        big_endian: bool,
        modified: bool,
        units: u64,
        link: Result<LinkType, i32>,
    },
    PcapNg {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

#[derive(Clone, Copy, Debug)]
struct Current {
    ts: Timestamp,
    link: LinkType,
    start: usize,
    len: usize,
    orig_len: u32,
}

/// A pcap or pcapng file.
pub struct FileSource {
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Valid bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// File offset of `buf[start]`.
    offset: u64,
    total: u64,
    format: Format,
    /// Records read so far (packets and other blocks).
    record: u64,
    current: Option<Current>,
    input: u16,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .field("record", &self.record)
            .finish()
    }
}

fn hex4(b: &[u8]) -> String {
    b.iter()
        .take(4)
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl FileSource {
    /// Opens `path` and reads its file header.
    pub fn open(path: impl AsRef<Path>, input: u16) -> Result<FileSource, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| CaptureError::Open {
            path: path.clone(),
            source,
        })?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        Self::from_reader(path, Box::new(file), total, input)
    }

    /// Reads a capture from any byte stream; `name` is used in messages.
    pub fn from_reader(
        name: PathBuf,
        reader: Box<dyn Read + Send>,
        total: u64,
        input: u16,
    ) -> Result<FileSource, CaptureError> {
        let mut s = FileSource {
            path: name,
            reader,
            buf: vec![0; BUF_SIZE],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            total,
            format: Format::PcapNg {
                big_endian: false,
                interfaces: Vec::new(),
            },
            record: 0,
            current: None,
            input,
        };
        s.fill(24)?;
        s.read_file_header()?;
        Ok(s)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads until at least `want` bytes are buffered or the input ends.
    fn fill(&mut self, want: usize) -> Result<(), CaptureError> {
        if self.end - self.start >= want || self.eof {
            return Ok(());
        }
        // Move the unread tail to the front, then grow if needed.
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < want {
            self.buf.resize(want.next_power_of_two(), 0);
        }
        while self.end < want && !self.eof {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(CaptureError::Read {
                        path: self.path.clone(),
                        offset: self.offset + (self.end - self.start) as u64,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    fn read_file_header(&mut self) -> Result<(), CaptureError> {
        let avail = &self.buf[self.start..self.end];
        if avail.is_empty() {
            return Err(CaptureError::Empty {
                path: self.path.clone(),
            });
        }
        let magic = avail
            .get(..4)
            .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]));
        match magic {
            Some(0x0A0D0D0A) => {
                // pcapng: the section header is parsed as the first block.
                self.format = Format::PcapNg {
                    big_endian: false,
                    interfaces: Vec::new(),
                };
                Ok(())
            }
            Some(0xA1B2C3D4 | 0xD4C3B2A1 | 0xA1B23C4D | 0x4D3CB2A1 | 0xA1B2CD34 | 0x34CDB2A1) => {
                match pcap::parse_pcap_header(avail) {
                    Ok((rest, h)) => {
                        let used = avail.len() - rest.len();
                        let network = h.network.0;
                        self.format = Format::Pcap {
                            big_endian: h.is_bigendian(),
                            modified: h.is_modified_format(),
                            units: if h.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            },
                            link: LinkType::from_linktype(network).ok_or(network),
                        };
                        self.consume(used);
                        Ok(())
                    }
                    Err(_) => Err(CaptureError::Truncated {
                        path: self.path.clone(),
                        record: 0,
                        offset: 0,
                        missing: 24 - avail.len().min(24),
                    }),
                }
            }
            _ => Err(CaptureError::NotACapture {
                path: self.path.clone(),
                magic: hex4(avail),
            }),
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn unsupported(&self, linktype: i32) -> CaptureError {
        CaptureError::UnsupportedLinkType {
            path: self.path.clone(),
            linktype,
            name: LinkType::name_of(linktype).to_string(),
            record: self.record,
        }
    }

    fn corrupt(&self, detail: String) -> CaptureError {
        CaptureError::Corrupt {
            path: self.path.clone(),
            record: self.record + 1,
            offset: self.offset,
            detail,
        }
    }

    /// Handles a parser result that asked for more data. Returns `Ok(true)` to retry.
    fn need_more(&mut self, needed: usize) -> Result<bool, CaptureError> {
        let have = self.end - self.start;
        if self.eof {
            if have == 0 {
                return Ok(false);
            }
            return Err(CaptureError::Truncated {
                path: self.path.clone(),
                record: self.record + 1,
                offset: self.offset,
                missing: needed.max(1),
            });
        }
        let want = have + needed.max(1);
        if want > MAX_RECORD {
            return Err(self.corrupt(format!(
                "a record of more than {} bytes is announced; the file is damaged",
                MAX_RECORD
            )));
        }
        self.fill(want.max(have + 4096).min(MAX_RECORD))?;
        Ok(true)
    }

    /// Moves to the next packet. `Ok(false)` at the end of the file.
    pub fn advance(&mut self) -> Result<bool, CaptureError> {
        self.current = None;
        loop {
            if self.end - self.start < 32 && !self.eof {
                self.fill(BUF_SIZE / 2)?;
            }
            if self.start == self.end && self.eof {
                return Ok(false);
            }
            let base = self.buf.as_ptr() as usize;
            let avail = &self.buf[self.start..self.end];
            match &mut self.format {
                Format::Pcap {
                    big_endian,
                    modified,
                    units,
                    link,
                } => {
                    let r = if *modified {
                        pcap::parse_pcap_frame_modified(avail)
                    } else if *big_endian {
                        pcap::parse_pcap_frame_be(avail)
                    } else {
                        pcap::parse_pcap_frame(avail)
                    };
                    match r {
                        Ok((rest, b)) => {
                            if b.caplen as usize > MAX_RECORD {
                                return Err(self.corrupt(format!(
                                    "record length {} is larger than any real packet",
                                    b.caplen
                                )));
                            }
                            let used = avail.len() - rest.len();
                            let start = b.data.as_ptr() as usize - base;
                            let len = b.data.len();
                            let ts =
                                Timestamp::from_parts(b.ts_sec as i64, b.ts_usec as u64, *units);
                            let orig_len = b.origlen;
                            let link = *link;
                            self.record += 1;
                            let link = match link {
                                Ok(l) => l,
                                Err(v) => return Err(self.unsupported(v)),
                            };
                            self.current = Some(Current {
                                ts,
                                link,
                                start,
                                len,
                                orig_len,
                            });
                            self.consume(used);
                            return Ok(true);
                        }
                        Err(nom::Err::Incomplete(n)) => {
                            let needed = match n {
                                nom::Needed::Size(s) => s.get(),
                                nom::Needed::Unknown => 1,
                            };
                            // A record header announcing an absurd length is damage, not truncation.
                            if avail.len() >= 16 {
                                let cl = if *big_endian {
                                    u32::from_be_bytes([avail[8], avail[9], avail[10], avail[11]])
                                } else {
                                    u32::from_le_bytes([avail[8], avail[9], avail[10], avail[11]])
                                };
                                if cl as usize > MAX_RECORD {
                                    return Err(self.corrupt(format!(
                                        "record length {cl} is larger than any real packet"
                                    )));
                                }
                            }
                            if !self.need_more(needed)? {
                                return Ok(false);
                            }
                        }
                        Err(e) => {
                            return Err(self.corrupt(format!("unreadable record header ({e:?})")));
                        }
                    }
                }
                Format::PcapNg {
                    big_endian,
                    interfaces,
                } => {
                    // A section header may switch the byte order.
                    let is_shb = avail.len() >= 4 && avail[..4] == [0x0A, 0x0D, 0x0D, 0x0A];
                    let r = if is_shb {
                        parse_sectionheaderblock(avail).map(|(r, b)| (r, Block::SectionHeader(b)))
                    } else if *big_endian {
                        parse_block_be(avail)
                    } else {
                        parse_block_le(avail)
                    };
                    match r {
                        Ok((rest, block)) => {
                            let used = avail.len() - rest.len();
                            self.record += 1;
                            let mut packet = None;
                            match block {
                                Block::SectionHeader(shb) => {
                                    *big_endian = shb.big_endian();
                                    interfaces.clear();
                                }
                                Block::InterfaceDescription(idb) => {
                                    let resolution = idb.ts_resolution().unwrap_or(1_000_000);
                                    interfaces.push(Interface {
                                        link: LinkType::from_linktype(idb.linktype.0)
                                            .ok_or(idb.linktype.0),
                                        resolution: resolution.max(1),
                                        offset_secs: idb.ts_offset(),
                                    });
                                }
                                Block::EnhancedPacket(epb) => {
                                    let Some(ifc) = interfaces.get(epb.if_id as usize).copied()
                                    else {
                                        let n = interfaces.len();
                                        return Err(self.corrupt(format!(
                                            "packet refers to interface {} but only {n} interface(s) are described",
                                            epb.if_id
                                        )));
                                    };
                                    let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                                    let secs = (raw / ifc.resolution) as i64 + ifc.offset_secs;
                                    let ts = Timestamp::from_parts(
                                        secs,
                                        raw % ifc.resolution,
                                        ifc.resolution,
                                    );
                                    let cap = (epb.caplen as usize).min(epb.data.len());
                                    let data: &[u8] = &epb.data[..cap];
                                    packet = Some((ifc.link, ts, data, epb.origlen));
                                }
                                Block::SimplePacket(spb) => {
                                    let Some(ifc) = interfaces.first().copied() else {
                                        return Err(self.corrupt(
                                            "simple packet block before any interface description"
                                                .into(),
                                        ));
                                    };
                                    let cap = (spb.origlen as usize).min(spb.data.len());
                                    let data: &[u8] = &spb.data[..cap];
                                    packet = Some((ifc.link, Timestamp::ZERO, data, spb.origlen));
                                }
                                // Name resolution, statistics, secrets, custom and unknown
                                // blocks carry no packets.
                                _ => {}
                            }
                            if let Some((link, ts, data, orig_len)) = packet {
                                let start = data.as_ptr() as usize - base;
                                let len = data.len();
                                let link = match link {
                                    Ok(l) => l,
                                    Err(v) => return Err(self.unsupported(v)),
                                };
                                self.current = Some(Current {
                                    ts,
                                    link,
                                    start,
                                    len,
                                    orig_len,
                                });
                                self.consume(used);
                                return Ok(true);
                            }
                            self.consume(used);
                        }
                        Err(nom::Err::Incomplete(n)) => {
                            let needed = match n {
                                nom::Needed::Size(s) => s.get(),
                                nom::Needed::Unknown => 1,
                            };
                            if avail.len() >= 8 {
                                let bl = if *big_endian && !is_shb {
                                    u32::from_be_bytes([avail[4], avail[5], avail[6], avail[7]])
                                } else {
                                    u32::from_le_bytes([avail[4], avail[5], avail[6], avail[7]])
                                };
                                if bl as usize > MAX_RECORD && !is_shb {
                                    return Err(self.corrupt(format!(
                                        "block length {bl} is larger than any real block"
                                    )));
                                }
                            }
                            if !self.need_more(needed)? {
                                return Ok(false);
                            }
                        }
                        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
                            let detail = match e {
                                PcapError::HeaderNotRecognized => {
                                    "section header not recognized".to_string()
                                }
                                other => format!("unreadable block ({:?})", other.to_owned_vec()),
                            };
                            return Err(self.corrupt(detail));
                        }
                    }
                }
            }
        }
    }

    /// The packet found by the last successful [`advance`](Self::advance).
    #[inline]
    pub fn current(&self) -> Option<Packet<'_>> {
        let c = self.current?;
        Some(Packet {
            ts: c.ts,
            link: c.link,
            data: &self.buf[c.start..c.start + c.len],
            orig_len: c.orig_len,
            input: self.input,
            record: self.record,
        })
    }

    /// Bytes of the file consumed so far.
    pub fn position(&self) -> u64 {
        self.offset
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.advance()? {
            Ok(self.current())
        } else {
            Ok(None)
        }
    }

    fn progress(&self) -> (u64, u64) {
        (self.offset, self.total)
    }
}
