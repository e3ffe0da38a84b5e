//! DNS wire format (RFC 1035), shared by DNS, mDNS, LLMNR and NBNS: pure,
//! zero-copy parsing of one message. A name is a view over the message
//! ([`Name`]) whose labels are iterated lazily, following compression
//! pointers; parsing validates every name once (bounded hops and length).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::{Cursor, be16_at};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Longest name on the wire (RFC 1035 2.3.4), in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Compression pointers followed per name before giving up.
pub const MAX_HOPS: usize = 32;
/// Records validated per message (beyond this the rest is not examined).
pub const MAX_RECORDS: usize = 256;

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer than 12 bytes.
    ShortHeader(usize),
    /// A name ran past the end of the message (offset of the name).
    NameTruncated(usize),
    /// A compression pointer loop or too many hops (offset of the name).
    PointerLoop(usize),
    /// A pointer to an offset not before the label that holds it.
    BadPointer { at: usize, target: usize },
    /// A name longer than 255 bytes.
    NameTooLong(usize),
    /// A label type 0x40/0x80 (extended/reserved) at this offset.
    BadLabelType(usize, u8),
    /// A question or record ends past the message: which section (0–3) and record index.
    RecordTruncated { section: u8, index: u16 },
    /// TCP framing: length prefix smaller than a header.
    BadLength(u16),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::ShortHeader(_) => "short_header",
            Error::NameTruncated(_) => "name_truncated",
            Error::PointerLoop(_) => "pointer_loop",
            Error::BadPointer { .. } => "bad_pointer",
            Error::NameTooLong(_) => "name_too_long",
            Error::BadLabelType(..) => "bad_label_type",
            Error::RecordTruncated { .. } => "record_truncated",
            Error::BadLength(_) => "bad_length",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::ShortHeader(n) => write!(f, "message of {n} bytes, a header needs 12"),
            Error::NameTruncated(o) => write!(f, "name at offset {o} runs past the message end"),
            Error::PointerLoop(o) => {
                write!(
                    f,
                    "name at offset {o}: more than {MAX_HOPS} compression pointers (loop)"
                )
            }
            Error::BadPointer { at, target } => write!(
                f,
                "compression pointer at offset {at} points to {target}, not before the pointer"
            ),
            Error::NameTooLong(o) => write!(f, "name at offset {o} longer than 255 bytes"),
            Error::BadLabelType(o, b) => {
                write!(
                    f,
                    "label at offset {o} has reserved type bits 0x{:02x}",
                    b & 0xc0
                )
            }
            Error::RecordTruncated { section, index } => write!(
                f,
                "{} {index} runs past the message end",
                [
                    "question",
                    "answer",
                    "authority record",
                    "additional record"
                ][section as usize & 3]
            ),
            Error::BadLength(n) => write!(f, "TCP length prefix {n}, a header needs 12"),
        }
    }
}

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    #[inline]
    pub fn response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    #[inline]
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    #[inline]
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    #[inline]
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    #[inline]
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    #[inline]
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    #[inline]
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// Reads the header, if 12 bytes are there.
pub fn parse_header(b: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(b);
    Some(Header {
        id: c.be16()?,
        flags: c.be16()?,
        qdcount: c.be16()?,
        ancount: c.be16()?,
        nscount: c.be16()?,
        arcount: c.be16()?,
    })
}

/// A domain name: a view over the message starting at `start`.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
}

/// Labels of a validated name, in order (pointers followed).
#[derive(Clone, Copy, Debug)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    hops: usize,
    done: bool,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.done {
            let Some(&l) = self.msg.get(self.pos) else {
                self.done = true;
                return None;
            };
            match l & 0xc0 {
                0 if l == 0 => self.done = true,
                0 => {
                    let s = self.msg.get(self.pos + 1..self.pos + 1 + l as usize);
                    self.pos += 1 + l as usize;
                    if s.is_none() {
                        self.done = true;
                    }
                    return s;
                }
                0xc0 => {
                    self.hops += 1;
                    match be16_at(self.msg, self.pos) {
                        Some(p) if self.hops <= MAX_HOPS => self.pos = (p & 0x3fff) as usize,
                        _ => self.done = true,
                    }
                }
                _ => self.done = true,
            }
        }
        None
    }
}

impl<'a> Name<'a> {
    /// A name at `start` of `msg` (not validated: see [`parse_name`]).
    pub fn at(msg: &'a [u8], start: usize) -> Self {
        Name { msg, start }
    }
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            msg: self.msg,
            pos: self.start,
            hops: 0,
            done: false,
        }
    }
    /// The first label (e.g. the host part), if any.
    pub fn first_label(&self) -> Option<&'a [u8]> {
        self.labels().next()
    }
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }
    /// Dotted form (`www.example.com`; the root is `""`). Allocates.
    pub fn to_dotted(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.labels().enumerate() {
            if i > 0 {
                s.push('.');
            }
            for &c in l {
                if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                    s.push(c as char);
                } else {
                    use std::fmt::Write;
                    let _ = write!(s, "\\{:03}", c);
                }
            }
        }
        s
    }
}

/// Validates the name at `off` and returns it with the offset just after it
/// in the record stream (after its first pointer or terminating zero).
pub fn parse_name(msg: &[u8], off: usize) -> Result<(Name<'_>, usize), Error> {
    let mut pos = off;
    let mut end = None;
    let mut len = 1usize;
    let mut hops = 0;
    // Pointers must go strictly backwards: the first label start of each hop
    // bounds the next pointer target, which rules out loops.
    let mut limit = off;
    loop {
        let l = *msg.get(pos).ok_or(Error::NameTruncated(off))?;
        match l & 0xc0 {
            0 => {
                if l == 0 {
                    return Ok((Name { msg, start: off }, end.unwrap_or(pos + 1)));
                }
                len += 1 + l as usize;
                if len > MAX_NAME_LEN {
                    return Err(Error::NameTooLong(off));
                }
                if msg.len() < pos + 1 + l as usize {
                    return Err(Error::NameTruncated(off));
                }
                pos += 1 + l as usize;
            }
            0xc0 => {
                let p = (be16_at(msg, pos).ok_or(Error::NameTruncated(off))? & 0x3fff) as usize;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Error::PointerLoop(off));
                }
                if p >= limit {
                    return Err(if p <= pos {
                        Error::PointerLoop(off)
                    } else {
                        Error::BadPointer { at: pos, target: p }
                    });
                }
                limit = p;
                pos = p;
            }
            _ => return Err(Error::BadLabelType(pos, l)),
        }
    }
}

/// The first question.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: u16,
    pub qclass: u16,
}

/// One resource record.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub name: Name<'a>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// Offset of the rdata in the message (names inside it are views too).
    pub rdata_off: usize,
    pub rdata: &'a [u8],
}

/// A parsed message: the header, the first question and where the answers start.
#[derive(Clone, Copy, Debug)]
pub struct Msg<'a> {
    pub buf: &'a [u8],
    pub header: Header,
    pub question: Option<Question<'a>>,
    /// Offset of the answer section.
    pub answers_off: usize,
    /// When the first question's name is bad: the type after it (else 0).
    pub bad_qtype: u16,
}

impl Msg<'_> {
    /// Type of the first question (0 when there is none).
    #[inline]
    pub fn qtype(&self) -> u16 {
        self.question.map_or(self.bad_qtype, |q| q.qtype)
    }
    /// The records after the questions are not walkable (a question was bad).
    fn records_unusable(&self) -> bool {
        self.header.qdcount > 0 && self.question.is_none()
    }
}

/// The end of the name at `off` in the record stream, without following
/// pointers (labels up to a zero byte or a pointer).
fn skip_name(msg: &[u8], mut off: usize) -> Option<usize> {
    loop {
        let l = *msg.get(off)?;
        match l & 0xc0 {
            0 if l == 0 => return Some(off + 1),
            0 => off += 1 + l as usize,
            0xc0 => return Some(off + 2),
            _ => return None,
        }
    }
}

fn read_record(buf: &[u8], off: usize) -> Option<Result<(Record<'_>, usize), Error>> {
    let (name, p) = match parse_name(buf, off) {
        Ok(x) => x,
        Err(e) => return Some(Err(e)),
    };
    let mut c = Cursor::new(buf.get(p..)?);
    let rtype = c.be16()?;
    let class = c.be16()?;
    let ttl = c.be32()?;
    let rdlen = c.be16()? as usize;
    let rdata = c.take(rdlen)?;
    Some(Ok((
        Record {
            name,
            rtype,
            class,
            ttl,
            rdata_off: p + 10,
            rdata,
        },
        p + 10 + rdlen,
    )))
}

/// Parses a whole message. On a record error the message up to the first
/// question may still be usable: the partial result is in the error's `Ok`
/// side of the returned pair (`Some(msg)` when the header and question parsed).
pub fn parse(buf: &[u8]) -> (Option<Msg<'_>>, Result<(), Error>) {
    let Some(header) = parse_header(buf) else {
        return (None, Err(Error::ShortHeader(buf.len())));
    };
    let mut off = HEADER_LEN;
    let mut question = None;
    for i in 0..header.qdcount {
        let q = parse_name(buf, off).and_then(|(name, p)| {
            let t = be16_at(buf, p)
                .zip(be16_at(buf, p + 2))
                .ok_or(Error::RecordTruncated {
                    section: 0,
                    index: i,
                })?;
            Ok((name, t, p + 4))
        });
        match q {
            Ok((name, (qtype, qclass), p)) => {
                if i == 0 {
                    question = Some(Question {
                        name,
                        qtype,
                        qclass,
                    });
                }
                off = p;
            }
            Err(e) => {
                // The header is sound: the message is still reported, with the
                // question type when the name's extent on the wire is known.
                // As tshark: a looping or forward pointer still lets the type be
                // read; a name running out of the message does not.
                let known_extent = match e {
                    Error::PointerLoop(_) => true,
                    Error::BadPointer { target, .. } => target < buf.len(),
                    _ => false,
                };
                let qtype = if i == 0 {
                    skip_name(buf, off)
                        .filter(|_| known_extent)
                        .and_then(|p| be16_at(buf, p))
                        .unwrap_or(0)
                } else {
                    question.map_or(0, |q| q.qtype)
                };
                let msg = Msg {
                    buf,
                    header,
                    question: if i == 0 { None } else { question },
                    answers_off: off,
                    bad_qtype: qtype,
                };
                return (Some(msg), Err(e));
            }
        }
        if i as usize >= MAX_RECORDS {
            break;
        }
    }
    let msg = Msg {
        buf,
        header,
        question,
        answers_off: off,
        bad_qtype: 0,
    };
    let counts = [header.ancount, header.nscount, header.arcount];
    let mut n = 0;
    for (s, &count) in counts.iter().enumerate() {
        for i in 0..count {
            n += 1;
            if n > MAX_RECORDS {
                return (Some(msg), Ok(()));
            }
            match read_record(buf, off) {
                Some(Ok((_, p))) => off = p,
                Some(Err(e)) => return (Some(msg), Err(e)),
                None => {
                    return (
                        Some(msg),
                        Err(Error::RecordTruncated {
                            section: s as u8 + 1,
                            index: i,
                        }),
                    );
                }
            }
        }
    }
    (Some(msg), Ok(()))
}

/// Iterator over the records after the questions (answers, then authority,
/// then additional), with their section (1–3). Stops at the first bad record.
#[derive(Clone, Copy, Debug)]
pub struct Records<'a> {
    buf: &'a [u8],
    off: usize,
    left: [u16; 3],
}

impl<'a> Iterator for Records<'a> {
    type Item = (u8, Record<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let s = self.left.iter().position(|&n| n > 0)?;
        self.left[s] -= 1;
        match read_record(self.buf, self.off) {
            Some(Ok((r, p))) => {
                self.off = p;
                Some((s as u8 + 1, r))
            }
            _ => {
                self.left = [0; 3];
                None
            }
        }
    }
}

impl<'a> Msg<'a> {
    /// All records of the answer, authority and additional sections.
    pub fn records(&self) -> Records<'a> {
        Records {
            buf: self.buf,
            off: self.answers_off,
            left: if self.records_unusable() {
                [0; 3]
            } else {
                [
                    self.header.ancount,
                    self.header.nscount,
                    self.header.arcount,
                ]
            },
        }
    }
}

/// Type mnemonics.
pub fn type_name(t: u16) -> &'static str {
    match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        10 => "NULL",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        32 => "NB",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => "unknown",
    }
}

/// Response code mnemonics.
pub fn rcode_name(r: u8) -> &'static str {
    match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => "unknown",
    }
}

/// Short text of a record's data (JSON only; allocates).
pub fn rdata_text(buf: &[u8], r: &Record<'_>) -> String {
    let name_at = |o: usize| match parse_name(buf, o) {
        Ok((n, _)) => n.to_dotted(),
        Err(_) => String::new(),
    };
    let d = r.rdata;
    match (r.rtype, d.len()) {
        (1, 4) => Ipv4Addr::new(d[0], d[1], d[2], d[3]).to_string(),
        (28, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(d);
            Ipv6Addr::from(a).to_string()
        }
        (2 | 5 | 12, _) => name_at(r.rdata_off),
        (15, 3..) => format!(
            "{} {}",
            u16::from_be_bytes([d[0], d[1]]),
            name_at(r.rdata_off + 2)
        ),
        (33, 7..) => format!(
            "{} {} {} {}",
            u16::from_be_bytes([d[0], d[1]]),
            u16::from_be_bytes([d[2], d[3]]),
            u16::from_be_bytes([d[4], d[5]]),
            name_at(r.rdata_off + 6)
        ),
        (6, _) => {
            let m = parse_name(buf, r.rdata_off);
            match m {
                Ok((mn, p)) => match parse_name(buf, p) {
                    Ok((rn, p2)) => {
                        let serial = buf
                            .get(p2..p2 + 4)
                            .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
                        format!("{} {} {}", mn.to_dotted(), rn.to_dotted(), serial)
                    }
                    Err(_) => mn.to_dotted(),
                },
                Err(_) => String::new(),
            }
        }
        (16, _) => {
            let mut out = String::new();
            let mut c = Cursor::new(d);
            while let Some(n) = c.u8() {
                let Some(s) = c.take(n as usize) else { break };
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&String::from_utf8_lossy(s));
                if out.len() > 256 {
                    break;
                }
            }
            out
        }
        _ => {
            let mut s = String::with_capacity(d.len().min(32) * 2);
            for b in d.iter().take(32) {
                use std::fmt::Write;
                let _ = write!(s, "{b:02x}");
            }
            s
        }
    }
}

/// Big-endian u16 at `off`, if present (re-exported for the sessions).
#[inline]
pub fn be16_at_opt(b: &[u8], off: usize) -> Option<u16> {
    be16_at(b, off)
}
