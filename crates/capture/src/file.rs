//! One capture file, read in blocks through a reusable buffer.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use otwatch_core::Timestamp;
use pcap_parser::pcapng::{Block, parse_block_be, parse_block_le, parse_sectionheaderblock};
use pcap_parser::{PcapError, pcap};

use crate::{CaptureError, LinkType, Packet, PacketSource};

/// Initial read buffer; it grows only for blocks larger than this.
const BUF_SIZE: usize = 256 << 10;
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
            let step = match &mut self.format {
                Format::Pcap {
                    big_endian,
                    modified,
                    units,
                    link,
                } => pcap_step(avail, base, *big_endian, *modified, *units, *link),
                Format::PcapNg {
                    big_endian,
                    interfaces,
                } => pcapng_step(avail, base, big_endian, interfaces),
            };
            match step {
                Step::Packet {
                    used,
                    link,
                    ts,
                    start,
                    len,
                    orig_len,
                } => {
                    self.record += 1;
                    let link = link.map_err(|v| self.unsupported(v))?;
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
                Step::Skip { used } => {
                    self.record += 1;
                    self.consume(used);
                }
                Step::NeedMore {
                    needed,
                    announced_len,
                } => {
                    // A header announcing an absurd length is damage, not truncation.
                    if announced_len.is_some_and(|l| l as usize > MAX_RECORD) {
                        return Err(self.corrupt(format!(
                            "a record of {} bytes is announced, larger than any real packet",
                            announced_len.unwrap_or_default()
                        )));
                    }
                    if !self.need_more(needed)? {
                        return Ok(false);
                    }
                }
                Step::Damaged(detail) => {
                    let detail = match detail {
                        Damage::Text(t) => t.to_string(),
                        Damage::Parse(e) => format!("unreadable pcapng block ({e})"),
                        Damage::Interface { if_id, known } => format!(
                            "packet refers to interface {if_id} but only {known} interface(s) are described"
                        ),
                        Damage::TooLarge(l) => {
                            format!("record length {l} is larger than any real packet")
                        }
                    };
                    return Err(self.corrupt(detail));
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

/// What parsing the bytes at the read position found.
enum Step {
    /// A packet: `used` bytes of the buffer, the data at `start..start + len`.
    Packet {
        used: usize,
        link: Result<LinkType, i32>,
        ts: Timestamp,
        start: usize,
        len: usize,
        orig_len: u32,
    },
    /// A block without a packet (pcapng section, interface, statistics, ...).
    Skip {
        used: usize,
    },
    /// The record continues past the buffered bytes.
    NeedMore {
        needed: usize,
        announced_len: Option<u32>,
    },
    Damaged(Damage),
}

enum Damage {
    Text(&'static str),
    /// The block parser's complaint (the bytes are not repeated in messages).
    Parse(String),
    Interface {
        if_id: u32,
        known: usize,
    },
    TooLarge(u32),
}

fn needed(n: nom::Needed) -> usize {
    match n {
        nom::Needed::Size(s) => s.get(),
        nom::Needed::Unknown => 1,
    }
}

fn u32_at(b: &[u8], off: usize, big_endian: bool) -> Option<u32> {
    let w: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    })
}

/// One legacy pcap record at the start of `avail` (`base` is the buffer's address).
fn pcap_step(
    avail: &[u8],
    base: usize,
    big_endian: bool,
    modified: bool,
    units: u64,
    link: Result<LinkType, i32>,
) -> Step {
    let r = if modified {
        pcap::parse_pcap_frame_modified(avail)
    } else if big_endian {
        pcap::parse_pcap_frame_be(avail)
    } else {
        pcap::parse_pcap_frame(avail)
    };
    match r {
        Ok((_, b)) if b.caplen as usize > MAX_RECORD => Step::Damaged(Damage::TooLarge(b.caplen)),
        Ok((rest, b)) => Step::Packet {
            used: avail.len() - rest.len(),
            link,
            ts: Timestamp::from_parts(b.ts_sec as i64, b.ts_usec as u64, units),
            start: b.data.as_ptr() as usize - base,
            len: b.data.len(),
            orig_len: b.origlen,
        },
        Err(nom::Err::Incomplete(n)) => Step::NeedMore {
            needed: needed(n),
            announced_len: u32_at(avail, 8, big_endian),
        },
        Err(_) => Step::Damaged(Damage::Text("unreadable record header")),
    }
}

/// One pcapng block at the start of `avail`; updates the section state.
fn pcapng_step(
    avail: &[u8],
    base: usize,
    big_endian: &mut bool,
    interfaces: &mut Vec<Interface>,
) -> Step {
    // A section header may switch the byte order.
    let is_shb = avail.get(..4) == Some(&[0x0A, 0x0D, 0x0D, 0x0A]);
    let r = if is_shb {
        parse_sectionheaderblock(avail).map(|(r, b)| (r, Block::SectionHeader(b)))
    } else if *big_endian {
        parse_block_be(avail)
    } else {
        parse_block_le(avail)
    };
    let (rest, block) = match r {
        Ok(x) => x,
        Err(nom::Err::Incomplete(n)) => {
            return Step::NeedMore {
                needed: needed(n),
                // A section header's length is read in its own byte order later.
                announced_len: if is_shb {
                    None
                } else {
                    u32_at(avail, 4, *big_endian)
                },
            };
        }
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
            return Step::Damaged(match e {
                PcapError::HeaderNotRecognized => Damage::Text("section header not recognized"),
                PcapError::NomError(_, kind) => Damage::Parse(format!("{kind:?}")),
                other => Damage::Parse(
                    format!("{:?}", other.to_owned_vec())
                        .chars()
                        .take(80)
                        .collect(),
                ),
            });
        }
    };
    let used = avail.len() - rest.len();
    let (ifc, data, ts_raw, orig_len) = match block {
        Block::SectionHeader(shb) => {
            *big_endian = shb.big_endian();
            interfaces.clear();
            return Step::Skip { used };
        }
        Block::InterfaceDescription(idb) => {
            interfaces.push(Interface {
                link: LinkType::from_linktype(idb.linktype.0).ok_or(idb.linktype.0),
                resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                offset_secs: idb.ts_offset(),
            });
            return Step::Skip { used };
        }
        Block::EnhancedPacket(epb) => {
            let Some(ifc) = interfaces.get(epb.if_id as usize).copied() else {
                return Step::Damaged(Damage::Interface {
                    if_id: epb.if_id,
                    known: interfaces.len(),
                });
            };
            let cap = (epb.caplen as usize).min(epb.data.len());
            let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            (ifc, &epb.data[..cap], Some(raw), epb.origlen)
        }
        Block::SimplePacket(spb) => {
            let Some(ifc) = interfaces.first().copied() else {
                return Step::Damaged(Damage::Text(
                    "simple packet block before any interface description",
                ));
            };
            let cap = (spb.origlen as usize).min(spb.data.len());
            (ifc, &spb.data[..cap], None, spb.origlen)
        }
        // Name resolution, statistics, secrets, custom and unknown blocks carry no packets.
        _ => return Step::Skip { used },
    };
    let ts = match ts_raw {
        Some(raw) => Timestamp::from_parts(
            (raw / ifc.resolution) as i64 + ifc.offset_secs,
            raw % ifc.resolution,
            ifc.resolution,
        ),
        // Simple packet blocks carry no timestamp.
        None => Timestamp::ZERO,
    };
    Step::Packet {
        used,
        link: ifc.link,
        ts,
        start: data.as_ptr() as usize - base,
        len: data.len(),
        orig_len,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn open(bytes: Vec<u8>) -> Result<FileSource, CaptureError> {
        let total = bytes.len() as u64;
        FileSource::from_reader(
            PathBuf::from("t.pcap"),
            Box::new(std::io::Cursor::new(bytes)),
            total,
            0,
        )
    }

    fn all(mut s: FileSource) -> Result<Vec<(Timestamp, LinkType, Vec<u8>)>, CaptureError> {
        let mut v = Vec::new();
        while let Some(p) = s.next_packet()? {
            v.push((p.ts, p.link, p.data.to_vec()));
        }
        Ok(v)
    }

    /// Classic pcap: magic written in the file's byte order.
    fn pcap(big_endian: bool, nanos: bool, link: u32, recs: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut f = w32(if nanos { 0xA1B23C4D } else { 0xA1B2C3D4 }).to_vec();
        f.extend_from_slice(&w16(2));
        f.extend_from_slice(&w16(4));
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&w32(65535));
        f.extend_from_slice(&w32(link));
        for (sec, frac, data) in recs {
            f.extend_from_slice(&w32(*sec));
            f.extend_from_slice(&w32(*frac));
            f.extend_from_slice(&w32(data.len() as u32));
            f.extend_from_slice(&w32(data.len() as u32));
            f.extend_from_slice(data);
        }
        f
    }

    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut v = t.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&len.to_le_bytes());
        v
    }

    fn shb() -> Vec<u8> {
        let mut b = 0x1A2B3C4Du32.to_le_bytes().to_vec();
        b.extend_from_slice(&[1, 0, 0, 0]);
        b.extend_from_slice(&(-1i64).to_le_bytes());
        block(0x0A0D0D0A, &b)
    }

    fn idb(link: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut b = link.to_le_bytes().to_vec();
        b.extend_from_slice(&[0, 0, 0xff, 0xff, 0, 0]);
        if let Some(r) = tsresol {
            b.extend_from_slice(&[9, 0, 1, 0, r, 0, 0, 0, 0, 0, 0, 0]);
        }
        block(1, &b)
    }

    fn epb(if_id: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut b = if_id.to_le_bytes().to_vec();
        b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        block(6, &b)
    }

    #[test]
    fn pcap_byte_orders_and_resolutions() {
        for be in [false, true] {
            let p =
                all(open(pcap(be, false, 1, &[(10, 5, b"abc"), (11, 0, b"d")])).unwrap()).unwrap();
            assert_eq!(p.len(), 2);
            assert_eq!(p[0].0, Timestamp(10_000_005_000));
            assert_eq!(p[0].2, b"abc");
            let p = all(open(pcap(be, true, 101, &[(10, 5, b"x")])).unwrap()).unwrap();
            assert_eq!(p[0].0, Timestamp(10_000_000_005));
            assert_eq!(p[0].1, LinkType::RawIp);
        }
    }

    #[test]
    fn pcapng_interfaces_sections_and_resolutions() {
        let mut f = shb();
        f.extend(idb(1, None)); // microseconds (default)
        f.extend(idb(101, Some(9))); // nanoseconds
        f.extend(epb(0, 2_000_001, b"eth"));
        f.extend(block(0x0000_0BAD, &[0; 4])); // unknown block: skipped
        f.extend(epb(1, 3_000_000_007, b"raw"));
        // A second section resets the interfaces.
        f.extend(shb());
        f.extend(idb(113, None));
        f.extend(epb(0, 5_000_000, b"sll"));
        let p = all(open(f).unwrap()).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(
            (p[0].0, p[0].1),
            (Timestamp(2_000_001_000), LinkType::Ethernet)
        );
        assert_eq!(
            (p[1].0, p[1].1),
            (Timestamp(3_000_000_007), LinkType::RawIp)
        );
        assert_eq!(p[2].1, LinkType::LinuxSll);
    }

    #[test]
    fn damage_is_reported_with_record_and_offset() {
        // Unknown interface id.
        let mut f = shb();
        f.extend(idb(1, None));
        f.extend(epb(3, 0, b"x"));
        let err = all(open(f).unwrap()).unwrap_err().to_string();
        assert!(
            err.contains("interface 3") && err.contains("record 3"),
            "{err}"
        );
        // An absurd record length is damage, not truncation.
        let mut f = pcap(false, false, 1, &[(1, 0, b"ok")]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x70, 0, 0, 0, 0x70, 1, 2]);
        let err = all(open(f).unwrap()).unwrap_err();
        assert!(
            matches!(
                err,
                CaptureError::Corrupt {
                    record: 2,
                    offset: 42,
                    ..
                }
            ),
            "{err}"
        );
        // Truncated inside the second record: the first is still delivered.
        let f = pcap(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]);
        let mut s = open(f[..f.len() - 3].to_vec()).unwrap();
        assert!(s.next_packet().unwrap().is_some());
        let err = s.next_packet().unwrap_err();
        assert!(
            matches!(err, CaptureError::Truncated { record: 2, .. }),
            "{err}"
        );
        // Unsupported link type, named.
        let err = all(open(pcap(false, false, 105, &[(1, 0, b"x")])).unwrap()).unwrap_err();
        assert!(err.to_string().contains("IEEE802_11"), "{err}");
    }

    #[test]
    fn records_larger_than_the_buffer_are_read() {
        let big = vec![7u8; BUF_SIZE + 1000];
        let p =
            all(open(pcap(false, false, 1, &[(1, 0, &big), (2, 0, b"after")])).unwrap()).unwrap();
        assert_eq!(p[0].2.len(), big.len());
        assert_eq!(p[1].2, b"after");
    }

    #[test]
    fn not_a_capture_and_empty() {
        assert!(matches!(open(Vec::new()), Err(CaptureError::Empty { .. })));
        assert!(matches!(
            open(b"GIF89a....".to_vec()),
            Err(CaptureError::NotACapture { .. })
        ));
    }
}
