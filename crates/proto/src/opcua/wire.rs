//! OPC UA binary (UA TCP, OPC 10000-6): pure, zero-copy parsing of one
//! message chunk and of the service bodies otwatch decodes.
//!
//! Every read goes through [`Cursor`]; nothing allocates. Lists (nodes to
//! read, methods to call...) are kept as a count and the raw bytes of the
//! array, walked again with [`NodeIter`]-style helpers when serialized.

use crate::wire::Cursor;

/// Length of the UA TCP message header (type, chunk type, size).
pub const HEADER_LEN: usize = 8;
/// Largest chunk size accepted (a larger announced size is malformed).
pub const MAX_CHUNK: u32 = 16 << 20;
/// Largest chunk otwatch waits for whole; beyond it the chunk is reported
/// from its first bytes and the rest is skipped.
pub const MAX_WAIT: usize = 65_536;
/// Smallest message that has its type-specific header.
const MIN_SIZE: u32 = 8;
/// Deepest nesting of variants / diagnostic infos followed.
const MAX_DEPTH: u8 = 8;

/// UA TCP message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgType {
    Hel,
    Ack,
    Opn,
    Msg,
    Clo,
    Err,
    Rhe,
}

impl MsgType {
    pub fn from_bytes(b: &[u8]) -> Option<MsgType> {
        Some(match b.get(..3)? {
            b"HEL" => MsgType::Hel,
            b"ACK" => MsgType::Ack,
            b"OPN" => MsgType::Opn,
            b"MSG" => MsgType::Msg,
            b"CLO" => MsgType::Clo,
            b"ERR" => MsgType::Err,
            b"RHE" => MsgType::Rhe,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            MsgType::Hel => "HEL",
            MsgType::Ack => "ACK",
            MsgType::Opn => "OPN",
            MsgType::Msg => "MSG",
            MsgType::Clo => "CLO",
            MsgType::Err => "ERR",
            MsgType::Rhe => "RHE",
        }
    }
    /// The function code used when no service is decoded.
    pub fn code(self) -> u16 {
        match self {
            MsgType::Hel => 1,
            MsgType::Ack => 2,
            MsgType::Opn => 3,
            MsgType::Msg => 4,
            MsgType::Clo => 5,
            MsgType::Err => 6,
            MsgType::Rhe => 7,
        }
    }
    /// Types that carry a secure conversation header.
    pub fn secure(self) -> bool {
        matches!(self, MsgType::Opn | MsgType::Msg | MsgType::Clo)
    }
}

/// The 8-byte message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub msg_type: MsgType,
    /// `F` final, `C` intermediate, `A` abort (always `F` for HEL/ACK/ERR/RHE).
    pub chunk: u8,
    pub size: u32,
}

/// Why a chunk or body did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The first three bytes are not a UA TCP message type.
    BadMessageType([u8; 3]),
    /// Chunk type other than F/C/A, or C/A on a type that cannot be chunked.
    BadChunkType { msg_type: &'static str, chunk: u8 },
    /// Message size below the header or above [`MAX_CHUNK`].
    BadSize { msg_type: &'static str, size: u32 },
    /// A field runs past the end of the message.
    Truncated {
        msg_type: &'static str,
        field: &'static str,
    },
    /// A string or array length is negative (other than -1) or larger than the message.
    BadLength { field: &'static str, len: i32 },
    /// Too many chunks or bytes for one multi-chunk message.
    TooManyChunks {
        request_id: u32,
        chunks: u32,
        bytes: usize,
    },
    /// A NodeId encoding byte that does not exist.
    BadNodeId(u8),
    /// A variant type that does not exist, or nesting too deep.
    BadVariant(u8),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadMessageType(_) => "bad_message_type",
            Error::BadChunkType { .. } => "bad_chunk_type",
            Error::BadSize { .. } => "bad_message_size",
            Error::Truncated { .. } => "truncated",
            Error::BadLength { .. } => "bad_length",
            Error::TooManyChunks { .. } => "too_many_chunks",
            Error::BadNodeId(_) => "bad_node_id",
            Error::BadVariant(_) => "bad_variant",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadMessageType(t) => write!(
                f,
                "message type {:02x}{:02x}{:02x} is not HEL/ACK/OPN/MSG/CLO/ERR/RHE",
                t[0], t[1], t[2]
            ),
            Error::BadChunkType { msg_type, chunk } => write!(
                f,
                "{msg_type}: chunk type 0x{chunk:02x} ({:?}) is not allowed (expected F{})",
                *chunk as char,
                if matches!(*msg_type, "MSG" | "OPN" | "CLO") {
                    ", C or A"
                } else {
                    ""
                }
            ),
            Error::BadSize { msg_type, size } => write!(
                f,
                "{msg_type}: message size {size} outside {MIN_SIZE}..={MAX_CHUNK}"
            ),
            Error::Truncated { msg_type, field } => {
                write!(f, "{msg_type}: {field} runs past the end of the message")
            }
            Error::BadLength { field, len } => {
                write!(f, "{field}: length {len} is negative or beyond the message")
            }
            Error::TooManyChunks {
                request_id,
                chunks,
                bytes,
            } => write!(
                f,
                "request {request_id}: multi-chunk message exceeds the limit ({chunks} chunks, {bytes} bytes)"
            ),
            Error::BadNodeId(e) => write!(f, "NodeId encoding 0x{e:02x} does not exist"),
            Error::BadVariant(t) => write!(f, "variant type {t} unknown or nested too deep"),
        }
    }
}

/// Parses the header; checks type, chunk type and size.
pub fn parse_header(b: &[u8]) -> Result<Header, Error> {
    let mt = b.get(..3).ok_or(Error::Truncated {
        msg_type: "?",
        field: "header",
    })?;
    let msg_type = MsgType::from_bytes(mt).ok_or(Error::BadMessageType([mt[0], mt[1], mt[2]]))?;
    let chunk = *b.get(3).ok_or(Error::Truncated {
        msg_type: msg_type.name(),
        field: "header",
    })?;
    let ok = match chunk {
        b'F' => true,
        b'C' | b'A' => msg_type.secure(),
        _ => false,
    };
    if !ok {
        return Err(Error::BadChunkType {
            msg_type: msg_type.name(),
            chunk,
        });
    }
    let s = b.get(4..8).ok_or(Error::Truncated {
        msg_type: msg_type.name(),
        field: "header",
    })?;
    let size = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    if !(MIN_SIZE..=MAX_CHUNK).contains(&size) {
        return Err(Error::BadSize {
            msg_type: msg_type.name(),
            size,
        });
    }
    Ok(Header {
        msg_type,
        chunk,
        size,
    })
}

// ---------------------------------------------------------------- built-ins

/// Little-endian OPC UA reader on top of [`Cursor`], with errors.
#[derive(Clone, Copy, Debug)]
pub struct Rd<'a> {
    pub c: Cursor<'a>,
    pub what: &'static str,
}

type R<T> = Result<T, Error>;

impl<'a> Rd<'a> {
    pub fn new(b: &'a [u8], what: &'static str) -> Self {
        Rd {
            c: Cursor::new(b),
            what,
        }
    }
    fn tr(&self, field: &'static str) -> Error {
        Error::Truncated {
            msg_type: self.what,
            field,
        }
    }
    pub fn u8(&mut self, f: &'static str) -> R<u8> {
        self.c.u8().ok_or(self.tr(f))
    }
    pub fn u16(&mut self, f: &'static str) -> R<u16> {
        self.c.le16().ok_or(self.tr(f))
    }
    pub fn u32(&mut self, f: &'static str) -> R<u32> {
        self.c.le32().ok_or(self.tr(f))
    }
    pub fn i32(&mut self, f: &'static str) -> R<i32> {
        self.u32(f).map(|v| v as i32)
    }
    pub fn f64(&mut self, f: &'static str) -> R<f64> {
        let b = self.take(8, f)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
    pub fn take(&mut self, n: usize, f: &'static str) -> R<&'a [u8]> {
        self.c.take(n).ok_or(self.tr(f))
    }
    pub fn skip(&mut self, n: usize, f: &'static str) -> R<()> {
        self.take(n, f).map(|_| ())
    }
    /// String / ByteString: `None` for a null (-1) value.
    pub fn bytes(&mut self, f: &'static str) -> R<Option<&'a [u8]>> {
        let len = self.i32(f)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > self.c.remaining() {
            return Err(Error::BadLength { field: f, len });
        }
        self.take(len as usize, f).map(Some)
    }
    /// An array length: 0 for a null array; checked against the bytes left
    /// assuming each element takes at least `min` bytes.
    pub fn count(&mut self, f: &'static str, min: usize) -> R<u32> {
        let n = self.i32(f)?;
        if n == -1 {
            return Ok(0);
        }
        if n < 0 || (n as usize).saturating_mul(min.max(1)) > self.c.remaining() {
            return Err(Error::BadLength { field: f, len: n });
        }
        Ok(n as u32)
    }
    pub fn node_id(&mut self, f: &'static str) -> R<NodeId<'a>> {
        let e = self.u8(f)?;
        self.node_id_body(e & 0x3f, f)
    }
    fn node_id_body(&mut self, e: u8, f: &'static str) -> R<NodeId<'a>> {
        Ok(match e {
            0 => NodeId::Numeric {
                ns: 0,
                id: self.u8(f)? as u32,
            },
            1 => {
                let ns = self.u8(f)? as u16;
                NodeId::Numeric {
                    ns,
                    id: self.u16(f)? as u32,
                }
            }
            2 => {
                let ns = self.u16(f)?;
                NodeId::Numeric {
                    ns,
                    id: self.u32(f)?,
                }
            }
            3 => {
                let ns = self.u16(f)?;
                NodeId::String {
                    ns,
                    id: self.bytes(f)?.unwrap_or_default(),
                }
            }
            4 => {
                let ns = self.u16(f)?;
                NodeId::Guid {
                    ns,
                    id: self.take(16, f)?,
                }
            }
            5 => {
                let ns = self.u16(f)?;
                NodeId::Opaque {
                    ns,
                    id: self.bytes(f)?.unwrap_or_default(),
                }
            }
            other => return Err(Error::BadNodeId(other)),
        })
    }
    pub fn expanded_node_id(&mut self, f: &'static str) -> R<NodeId<'a>> {
        let e = self.u8(f)?;
        let n = self.node_id_body(e & 0x3f, f)?;
        if e & 0x80 != 0 {
            self.bytes(f)?;
        }
        if e & 0x40 != 0 {
            self.u32(f)?;
        }
        Ok(n)
    }
    pub fn qualified_name(&mut self, f: &'static str) -> R<Option<&'a [u8]>> {
        self.u16(f)?;
        self.bytes(f)
    }
    pub fn localized_text(&mut self, f: &'static str) -> R<Option<&'a [u8]>> {
        let mask = self.u8(f)?;
        if mask & 1 != 0 {
            self.bytes(f)?;
        }
        if mask & 2 != 0 {
            return self.bytes(f);
        }
        Ok(None)
    }
    /// ExtensionObject: its type id and binary body, if any.
    pub fn extension_object(&mut self, f: &'static str) -> R<(NodeId<'a>, Option<&'a [u8]>)> {
        let id = self.node_id(f)?;
        let enc = self.u8(f)?;
        let body = if enc & 3 != 0 { self.bytes(f)? } else { None };
        Ok((id, body))
    }
    pub fn diagnostic_info(&mut self, depth: u8) -> R<()> {
        const F: &str = "diagnostic info";
        if depth > MAX_DEPTH {
            return Err(Error::BadVariant(25));
        }
        let m = self.u8(F)?;
        for bit in [1u8, 2, 4, 8] {
            if m & bit != 0 {
                self.u32(F)?;
            }
        }
        if m & 0x10 != 0 {
            self.bytes(F)?;
        }
        if m & 0x20 != 0 {
            self.u32(F)?;
        }
        if m & 0x40 != 0 {
            self.diagnostic_info(depth + 1)?;
        }
        Ok(())
    }
    fn scalar(&mut self, t: u8, depth: u8) -> R<()> {
        const F: &str = "variant";
        match t {
            0 => {}
            1..=3 => self.skip(1, F)?,
            4 | 5 => self.skip(2, F)?,
            6 | 7 | 10 | 19 => self.skip(4, F)?,
            8 | 9 | 11 | 13 => self.skip(8, F)?,
            12 | 15 | 16 => {
                self.bytes(F)?;
            }
            14 => self.skip(16, F)?,
            17 => {
                self.node_id(F)?;
            }
            18 => {
                self.expanded_node_id(F)?;
            }
            20 => {
                self.qualified_name(F)?;
            }
            21 => {
                self.localized_text(F)?;
            }
            22 => {
                self.extension_object(F)?;
            }
            23 => self.data_value(depth + 1)?,
            24 => self.variant(depth + 1)?,
            25 => self.diagnostic_info(depth + 1)?,
            other => return Err(Error::BadVariant(other)),
        }
        Ok(())
    }
    pub fn variant(&mut self, depth: u8) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(Error::BadVariant(24));
        }
        let e = self.u8("variant")?;
        let t = e & 0x3f;
        if e & 0x80 != 0 {
            let n = self.count("variant array", 0)?;
            for _ in 0..n {
                self.scalar(t, depth)?;
            }
            if e & 0x40 != 0 {
                let d = self.count("variant dimensions", 4)?;
                self.skip(d as usize * 4, "variant dimensions")?;
            }
        } else {
            self.scalar(t, depth)?;
        }
        Ok(())
    }
    pub fn data_value(&mut self, depth: u8) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(Error::BadVariant(23));
        }
        let m = self.u8("data value")?;
        if m & 1 != 0 {
            self.variant(depth + 1)?;
        }
        if m & 2 != 0 {
            self.u32("data value")?;
        }
        if m & 4 != 0 {
            self.skip(8, "data value")?;
        }
        if m & 0x10 != 0 {
            self.skip(2, "data value")?;
        }
        if m & 8 != 0 {
            self.skip(8, "data value")?;
        }
        if m & 0x20 != 0 {
            self.skip(2, "data value")?;
        }
        Ok(())
    }
    /// ApplicationDescription: (application uri, product uri, application name).
    pub fn application_description(&mut self) -> R<AppDesc<'a>> {
        const F: &str = "application description";
        let uri = self.bytes(F)?;
        let product_uri = self.bytes(F)?;
        let name = self.localized_text(F)?;
        let app_type = self.u32(F)?;
        self.bytes(F)?;
        self.bytes(F)?;
        let n = self.count("discovery urls", 4)?;
        for _ in 0..n {
            self.bytes(F)?;
        }
        Ok(AppDesc {
            uri,
            product_uri,
            name,
            app_type,
        })
    }
}

/// An OPC UA NodeId (zero-copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeId<'a> {
    Numeric { ns: u16, id: u32 },
    String { ns: u16, id: &'a [u8] },
    Guid { ns: u16, id: &'a [u8] },
    Opaque { ns: u16, id: &'a [u8] },
}

impl NodeId<'_> {
    /// The numeric id in namespace 0, if that is what it is.
    pub fn ns0(&self) -> Option<u32> {
        match *self {
            NodeId::Numeric { ns: 0, id } => Some(id),
            _ => None,
        }
    }
}

impl std::fmt::Display for NodeId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = |f: &mut std::fmt::Formatter<'_>, ns: u16| {
            if ns != 0 {
                write!(f, "ns={ns};")
            } else {
                Ok(())
            }
        };
        match *self {
            NodeId::Numeric { ns: n, id } => {
                ns(f, n)?;
                write!(f, "i={id}")
            }
            NodeId::String { ns: n, id } => {
                ns(f, n)?;
                write!(f, "s={}", String::from_utf8_lossy(id))
            }
            NodeId::Guid { ns: n, id } => {
                ns(f, n)?;
                let g = |i: usize| id.get(i).copied().unwrap_or(0);
                write!(
                    f,
                    "g={:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
                    g(3),
                    g(2),
                    g(1),
                    g(0),
                    g(5),
                    g(4),
                    g(7),
                    g(6),
                    g(8),
                    g(9)
                )?;
                for i in 10..16 {
                    write!(f, "{:02x}", g(i))?;
                }
                Ok(())
            }
            NodeId::Opaque { ns: n, id } => {
                ns(f, n)?;
                write!(f, "b=")?;
                for b in id {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// The fields of an ApplicationDescription otwatch keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AppDesc<'a> {
    pub uri: Option<&'a [u8]>,
    pub product_uri: Option<&'a [u8]>,
    pub name: Option<&'a [u8]>,
    /// 0 server, 1 client, 2 client and server, 3 discovery server.
    pub app_type: u32,
}

// ---------------------------------------------------------------- chunks

/// Security header of an OPN chunk (asymmetric algorithm header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asym<'a> {
    pub policy_uri: Option<&'a [u8]>,
    pub sender_cert_len: Option<u32>,
    pub receiver_thumbprint_len: Option<u32>,
}

/// The part of a chunk after the message header.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Chunk<'a> {
    Hello {
        version: u32,
        receive_buffer: u32,
        send_buffer: u32,
        max_message: u32,
        max_chunks: u32,
        endpoint_url: Option<&'a [u8]>,
    },
    Ack {
        version: u32,
        receive_buffer: u32,
        send_buffer: u32,
        max_message: u32,
        max_chunks: u32,
    },
    Error {
        error: u32,
        reason: Option<&'a [u8]>,
    },
    ReverseHello {
        server_uri: Option<&'a [u8]>,
        endpoint_url: Option<&'a [u8]>,
    },
    /// OPN/MSG/CLO: secure channel id, security header, sequence header and body
    /// (the body may be encrypted; it includes padding/signature if any).
    Secure {
        channel_id: u32,
        asym: Option<Asym<'a>>,
        token_id: Option<u32>,
        seq: Option<u32>,
        request_id: Option<u32>,
        body: &'a [u8],
    },
}

/// Parses a whole chunk (`b` is exactly `size` bytes, header included).
pub fn parse_chunk<'a>(h: &Header, b: &'a [u8]) -> Result<Chunk<'a>, Error> {
    let body = b.get(HEADER_LEN..).unwrap_or_default();
    let mut r = Rd::new(body, h.msg_type.name());
    Ok(match h.msg_type {
        MsgType::Hel => Chunk::Hello {
            version: r.u32("protocol version")?,
            receive_buffer: r.u32("receive buffer size")?,
            send_buffer: r.u32("send buffer size")?,
            max_message: r.u32("max message size")?,
            max_chunks: r.u32("max chunk count")?,
            endpoint_url: r.bytes("endpoint url")?,
        },
        MsgType::Ack => Chunk::Ack {
            version: r.u32("protocol version")?,
            receive_buffer: r.u32("receive buffer size")?,
            send_buffer: r.u32("send buffer size")?,
            max_message: r.u32("max message size")?,
            max_chunks: r.u32("max chunk count")?,
        },
        MsgType::Err => Chunk::Error {
            error: r.u32("error")?,
            reason: r.bytes("reason")?,
        },
        MsgType::Rhe => Chunk::ReverseHello {
            server_uri: r.bytes("server uri")?,
            endpoint_url: r.bytes("endpoint url")?,
        },
        MsgType::Opn => {
            let channel_id = r.u32("secure channel id")?;
            let policy_uri = r.bytes("security policy uri")?;
            let cert = r.bytes("sender certificate")?;
            let thumb = r.bytes("receiver certificate thumbprint")?;
            let asym = Asym {
                policy_uri,
                sender_cert_len: cert.map(|c| c.len() as u32),
                receiver_thumbprint_len: thumb.map(|c| c.len() as u32),
            };
            // With a security policy other than None the rest is encrypted.
            let plain = policy_short(policy_uri) == "None";
            let (seq, request_id) = if plain {
                (Some(r.u32("sequence number")?), Some(r.u32("request id")?))
            } else {
                (None, None)
            };
            Chunk::Secure {
                channel_id,
                asym: Some(asym),
                token_id: None,
                seq,
                request_id,
                body: r.c.rest(),
            }
        }
        MsgType::Msg | MsgType::Clo => {
            let channel_id = r.u32("secure channel id")?;
            let token_id = r.u32("token id")?;
            let seq = r.u32("sequence number")?;
            let request_id = r.u32("request id")?;
            Chunk::Secure {
                channel_id,
                asym: None,
                token_id: Some(token_id),
                seq: Some(seq),
                request_id: Some(request_id),
                body: r.c.rest(),
            }
        }
    })
}

/// Short name of a security policy URI (`None`, `Basic256Sha256`...).
pub fn policy_short(uri: Option<&[u8]>) -> &str {
    let Some(u) = uri else { return "None" };
    let tail = match u.iter().rposition(|&c| c == b'#') {
        Some(i) => &u[i + 1..],
        None => u,
    };
    std::str::from_utf8(tail).unwrap_or("?")
}

/// Name of a MessageSecurityMode.
pub fn mode_name(m: u32) -> &'static str {
    match m {
        0 => "Invalid",
        1 => "None",
        2 => "Sign",
        3 => "SignAndEncrypt",
        _ => "unknown",
    }
}

// ---------------------------------------------------------------- services

/// A decoded service body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Service<'a> {
    /// Encoding node id (ns 0), e.g. 631 ReadRequest.
    pub id: u32,
    pub request_handle: Option<u32>,
    /// Service result of a response.
    pub status: Option<u32>,
    pub detail: Detail<'a>,
}

/// Service-specific fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Detail<'a> {
    None,
    /// ReadRequest: `items` holds `count` ReadValueIds.
    Read {
        count: u32,
        items: &'a [u8],
    },
    /// WriteRequest: `items` holds `count` WriteValues.
    Write {
        count: u32,
        items: &'a [u8],
    },
    /// BrowseRequest: `items` holds `count` BrowseDescriptions.
    Browse {
        count: u32,
        items: &'a [u8],
    },
    /// CallRequest: `items` holds `count` CallMethodRequests.
    Call {
        count: u32,
        items: &'a [u8],
    },
    /// A response with a results array: its size.
    Results {
        count: u32,
    },
    CreateSession {
        client: AppDesc<'a>,
        endpoint_url: Option<&'a [u8]>,
        session_name: Option<&'a [u8]>,
    },
    /// CreateSessionResponse / GetEndpointsResponse: the first endpoint's server.
    Endpoints {
        count: u32,
        endpoint_url: Option<&'a [u8]>,
        server: Option<AppDesc<'a>>,
        security_mode: Option<u32>,
        security_policy: Option<&'a [u8]>,
    },
    ActivateSession {
        /// Identity token type id (321 anonymous, 324 user name, 327 X509, 940 issued).
        token: u32,
        user: Option<&'a [u8]>,
    },
    CreateSubscription {
        interval: f64,
    },
    CreateSubscriptionResponse {
        subscription_id: u32,
        interval: f64,
    },
    Publish {
        acks: u32,
    },
    PublishResponse {
        subscription_id: u32,
        /// Event notifications (EventFieldLists of EventNotificationList
        /// data) in the NotificationMessage; 0 when there are none or the
        /// message could not be read that far.
        events: u32,
    },
    OpenSecureChannel {
        request_type: u32,
        mode: u32,
        lifetime: u32,
    },
    OpenSecureChannelResponse {
        channel_id: u32,
        token_id: u32,
        lifetime: u32,
    },
}

/// Whether an encoding id is a request (vs response). Responses are odd
/// multiples of 3 steps above their request (request + 3).
pub fn is_response(id: u32) -> bool {
    service_name(id).ends_with("Response") || id == 397
}

/// Name of a service encoding id (DefaultBinary), or `""` when unknown.
pub fn service_name(id: u32) -> &'static str {
    match id {
        397 => "ServiceFault",
        422 => "FindServersRequest",
        425 => "FindServersResponse",
        12208 => "FindServersOnNetworkRequest",
        12209 => "FindServersOnNetworkResponse",
        428 => "GetEndpointsRequest",
        431 => "GetEndpointsResponse",
        437 => "RegisterServerRequest",
        440 => "RegisterServerResponse",
        12211 => "RegisterServer2Request",
        12212 => "RegisterServer2Response",
        446 => "OpenSecureChannelRequest",
        449 => "OpenSecureChannelResponse",
        452 => "CloseSecureChannelRequest",
        455 => "CloseSecureChannelResponse",
        461 => "CreateSessionRequest",
        464 => "CreateSessionResponse",
        467 => "ActivateSessionRequest",
        470 => "ActivateSessionResponse",
        473 => "CloseSessionRequest",
        476 => "CloseSessionResponse",
        479 => "CancelRequest",
        482 => "CancelResponse",
        488 => "AddNodesRequest",
        491 => "AddNodesResponse",
        494 => "AddReferencesRequest",
        497 => "AddReferencesResponse",
        500 => "DeleteNodesRequest",
        503 => "DeleteNodesResponse",
        506 => "DeleteReferencesRequest",
        509 => "DeleteReferencesResponse",
        527 => "BrowseRequest",
        530 => "BrowseResponse",
        533 => "BrowseNextRequest",
        536 => "BrowseNextResponse",
        554 => "TranslateBrowsePathsToNodeIdsRequest",
        557 => "TranslateBrowsePathsToNodeIdsResponse",
        560 => "RegisterNodesRequest",
        563 => "RegisterNodesResponse",
        566 => "UnregisterNodesRequest",
        569 => "UnregisterNodesResponse",
        615 => "QueryFirstRequest",
        618 => "QueryFirstResponse",
        621 => "QueryNextRequest",
        624 => "QueryNextResponse",
        631 => "ReadRequest",
        634 => "ReadResponse",
        664 => "HistoryReadRequest",
        667 => "HistoryReadResponse",
        673 => "WriteRequest",
        676 => "WriteResponse",
        700 => "HistoryUpdateRequest",
        703 => "HistoryUpdateResponse",
        712 => "CallRequest",
        715 => "CallResponse",
        751 => "CreateMonitoredItemsRequest",
        754 => "CreateMonitoredItemsResponse",
        763 => "ModifyMonitoredItemsRequest",
        766 => "ModifyMonitoredItemsResponse",
        769 => "SetMonitoringModeRequest",
        772 => "SetMonitoringModeResponse",
        775 => "SetTriggeringRequest",
        778 => "SetTriggeringResponse",
        781 => "DeleteMonitoredItemsRequest",
        784 => "DeleteMonitoredItemsResponse",
        787 => "CreateSubscriptionRequest",
        790 => "CreateSubscriptionResponse",
        793 => "ModifySubscriptionRequest",
        796 => "ModifySubscriptionResponse",
        799 => "SetPublishingModeRequest",
        802 => "SetPublishingModeResponse",
        826 => "PublishRequest",
        829 => "PublishResponse",
        832 => "RepublishRequest",
        835 => "RepublishResponse",
        841 => "TransferSubscriptionsRequest",
        844 => "TransferSubscriptionsResponse",
        847 => "DeleteSubscriptionsRequest",
        850 => "DeleteSubscriptionsResponse",
        _ => "",
    }
}

/// Name of an identity token type id.
pub fn token_name(id: u32) -> &'static str {
    match id {
        321 => "anonymous",
        324 => "username",
        327 => "x509",
        940 => "issued",
        _ => "unknown",
    }
}

/// Name of a few common status codes (upper 16 bits), else `""`.
pub fn status_name(code: u32) -> &'static str {
    match code & 0xffff_0000 {
        0x0000_0000 => "Good",
        0x8001_0000 => "BadUnexpectedError",
        0x8002_0000 => "BadInternalError",
        0x8005_0000 => "BadCommunicationError",
        0x800a_0000 => "BadTimeout",
        0x800b_0000 => "BadServiceUnsupported",
        0x800d_0000 => "BadServerNotConnected",
        0x8010_0000 => "BadNothingToDo",
        0x8013_0000 => "BadCertificateInvalid",
        0x801f_0000 => "BadUserAccessDenied",
        0x8020_0000 => "BadIdentityTokenInvalid",
        0x8021_0000 => "BadIdentityTokenRejected",
        0x8022_0000 => "BadSecureChannelIdInvalid",
        0x8025_0000 => "BadSessionIdInvalid",
        0x8026_0000 => "BadSessionClosed",
        0x8027_0000 => "BadSessionNotActivated",
        0x8029_0000 => "BadSubscriptionIdInvalid",
        0x8033_0000 => "BadNodeIdUnknown",
        0x8034_0000 => "BadNodeIdInvalid",
        0x8035_0000 => "BadAttributeIdInvalid",
        0x803b_0000 => "BadNotWritable",
        0x803c_0000 => "BadOutOfRange",
        0x803d_0000 => "BadNotSupported",
        0x803e_0000 => "BadNotFound",
        0x8040_0000 => "BadSecurityModeRejected",
        0x8055_0000 => "BadSecurityPolicyRejected",
        0x8074_0000 => "BadTypeMismatch",
        0x8075_0000 => "BadMethodInvalid",
        0x8079_0000 => "BadTooManyPublishRequests",
        0x807c_0000 => "BadTcpMessageTypeInvalid",
        0x807d_0000 => "BadTcpSecureChannelUnknown",
        0x807e_0000 => "BadTcpMessageTooLarge",
        0x8080_0000 => "BadTcpInternalError",
        0x8081_0000 => "BadTcpEndpointUrlInvalid",
        0x8086_0000 => "BadSecurityChecksFailed",
        0x80ab_0000 => "BadInvalidArgument",
        0x80ad_0000 => "BadConnectionClosed",
        0x80b2_0000 => "BadEncodingLimitsExceeded",
        0x80be_0000 => "BadProtocolVersionUnsupported",
        _ if code & 0x8000_0000 != 0 => "Bad",
        _ if code & 0x4000_0000 != 0 => "Uncertain",
        _ => "",
    }
}

fn request_header(r: &mut Rd<'_>) -> R<u32> {
    const F: &str = "request header";
    r.node_id(F)?; // authentication token
    r.skip(8, F)?; // timestamp
    let handle = r.u32(F)?;
    r.u32(F)?; // return diagnostics
    r.bytes(F)?; // audit entry id
    r.u32(F)?; // timeout hint
    r.extension_object(F)?;
    Ok(handle)
}

fn response_header(r: &mut Rd<'_>) -> R<(u32, u32)> {
    const F: &str = "response header";
    r.skip(8, F)?;
    let handle = r.u32(F)?;
    let status = r.u32(F)?;
    r.diagnostic_info(0)?;
    let n = r.count("string table", 4)?;
    for _ in 0..n {
        r.bytes(F)?;
    }
    r.extension_object(F)?;
    Ok((handle, status))
}

/// Reads the encoding node id at the start of a service body.
pub fn service_id(body: &[u8]) -> Result<u32, Error> {
    let mut r = Rd::new(body, "MSG");
    let id = r.node_id("service node id")?;
    Ok(id.ns0().unwrap_or(u32::MAX))
}

/// Parses a plain (unencrypted) service body: encoding id, header and the
/// service fields otwatch decodes. Unknown services keep only the header.
/// Binary encoding id of `EventNotificationList`.
pub const EVENT_NOTIFICATION_LIST: u32 = 916;

/// The rest of a PublishResponse after the subscription id: counts the
/// event field lists of its `EventNotificationList` notification data.
fn publish_events(r: &mut Rd<'_>) -> R<u32> {
    let n = r.count("available sequence numbers", 4)?;
    r.skip(4 * n as usize, "available sequence numbers")?;
    r.skip(1, "more notifications")?;
    // NotificationMessage: sequence number, publish time.
    r.skip(12, "notification message")?;
    let k = r.count("notification data", 3)?;
    let mut events = 0u32;
    for _ in 0..k.min(64) {
        let (id, body) = r.extension_object("notification data")?;
        if let (Some(EVENT_NOTIFICATION_LIST), Some(b)) = (id.ns0(), body) {
            let mut t = Rd::new(b, "MSG");
            events = events.saturating_add(t.count("events", 8)?);
        }
    }
    Ok(events)
}

pub fn parse_service(body: &[u8]) -> Result<Service<'_>, Error> {
    let mut r = Rd::new(body, "MSG");
    let nid = r.node_id("service node id")?;
    let Some(id) = nid.ns0() else {
        return Ok(Service {
            id: u32::MAX,
            request_handle: None,
            status: None,
            detail: Detail::None,
        });
    };
    let resp = is_response(id);
    let (request_handle, status) = if resp {
        let (h, s) = response_header(&mut r)?;
        (Some(h), Some(s))
    } else if service_name(id).is_empty() {
        return Ok(Service {
            id,
            request_handle: None,
            status: None,
            detail: Detail::None,
        });
    } else {
        (Some(request_header(&mut r)?), None)
    };
    let detail = body_detail(id, &mut r)?;
    Ok(Service {
        id,
        request_handle,
        status,
        detail,
    })
}

fn array_rest<'a>(r: &mut Rd<'a>, f: &'static str, min: usize) -> R<(u32, &'a [u8])> {
    let count = r.count(f, min)?;
    Ok((count, r.c.rest()))
}

fn body_detail<'a>(id: u32, r: &mut Rd<'a>) -> R<Detail<'a>> {
    Ok(match id {
        631 => {
            r.skip(8, "max age")?;
            r.u32("timestamps to return")?;
            let (count, items) = array_rest(r, "nodes to read", 8)?;
            Detail::Read { count, items }
        }
        673 => {
            let (count, items) = array_rest(r, "nodes to write", 8)?;
            Detail::Write { count, items }
        }
        527 => {
            r.node_id("view")?;
            r.skip(12, "view")?;
            r.u32("max references")?;
            let (count, items) = array_rest(r, "nodes to browse", 16)?;
            Detail::Browse { count, items }
        }
        712 => {
            let (count, items) = array_rest(r, "methods to call", 6)?;
            Detail::Call { count, items }
        }
        634 | 676 | 530 | 715 | 754 | 491 | 503 | 557 => Detail::Results {
            count: r.count("results", 1)?,
        },
        461 => {
            let client = r.application_description()?;
            r.bytes("server uri")?;
            let endpoint_url = r.bytes("endpoint url")?;
            let session_name = r.bytes("session name")?;
            Detail::CreateSession {
                client,
                endpoint_url,
                session_name,
            }
        }
        464 | 431 => {
            if id == 464 {
                r.node_id("session id")?;
                r.node_id("authentication token")?;
                r.skip(8, "revised session timeout")?;
                r.bytes("server nonce")?;
                r.bytes("server certificate")?;
            }
            let count = r.count("endpoints", 4)?;
            if count == 0 {
                Detail::Endpoints {
                    count,
                    endpoint_url: None,
                    server: None,
                    security_mode: None,
                    security_policy: None,
                }
            } else {
                let endpoint_url = r.bytes("endpoint url")?;
                let server = r.application_description()?;
                r.bytes("server certificate")?;
                let mode = r.u32("security mode")?;
                let policy = r.bytes("security policy uri")?;
                Detail::Endpoints {
                    count,
                    endpoint_url,
                    server: Some(server),
                    security_mode: Some(mode),
                    security_policy: policy,
                }
            }
        }
        467 => {
            r.bytes("client signature")?;
            r.bytes("client signature")?;
            let n = r.count("client software certificates", 8)?;
            for _ in 0..n {
                r.bytes("software certificate")?;
                r.bytes("software certificate")?;
            }
            let n = r.count("locale ids", 4)?;
            for _ in 0..n {
                r.bytes("locale id")?;
            }
            let (tid, tbody) = r.extension_object("user identity token")?;
            let token = tid.ns0().unwrap_or(0);
            let user = match (token, tbody) {
                (324, Some(b)) => {
                    let mut t = Rd::new(b, "MSG");
                    t.bytes("policy id")?;
                    t.bytes("user name")?
                }
                _ => None,
            };
            Detail::ActivateSession { token, user }
        }
        787 => Detail::CreateSubscription {
            interval: r.f64("publishing interval")?,
        },
        790 => Detail::CreateSubscriptionResponse {
            subscription_id: r.u32("subscription id")?,
            interval: r.f64("publishing interval")?,
        },
        826 => Detail::Publish {
            acks: r.count("subscription acknowledgements", 8)?,
        },
        829 => Detail::PublishResponse {
            subscription_id: r.u32("subscription id")?,
            events: publish_events(r).unwrap_or(0),
        },
        446 => {
            r.u32("client protocol version")?;
            let request_type = r.u32("request type")?;
            let mode = r.u32("security mode")?;
            r.bytes("client nonce")?;
            Detail::OpenSecureChannel {
                request_type,
                mode,
                lifetime: r.u32("requested lifetime")?,
            }
        }
        449 => {
            r.u32("server protocol version")?;
            let channel_id = r.u32("channel id")?;
            let token_id = r.u32("token id")?;
            r.skip(8, "created at")?;
            Detail::OpenSecureChannelResponse {
                channel_id,
                token_id,
                lifetime: r.u32("revised lifetime")?,
            }
        }
        _ => Detail::None,
    })
}

/// One ReadValueId / WriteValue / BrowseDescription / CallMethodRequest, as
/// `(node id, attribute id or method id)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Item<'a> {
    Attr {
        node: NodeId<'a>,
        attribute: u32,
    },
    Node(NodeId<'a>),
    Call {
        object: NodeId<'a>,
        method: NodeId<'a>,
    },
}

/// Walks the items of a Read/Write/Browse/Call request (stops at the first
/// item that does not parse).
pub struct Items<'a> {
    r: Rd<'a>,
    left: u32,
    service: u32,
}

impl<'a> Items<'a> {
    pub fn new(service: u32, count: u32, items: &'a [u8]) -> Self {
        Items {
            r: Rd::new(items, "MSG"),
            left: count,
            service,
        }
    }
    fn one(&mut self) -> R<Item<'a>> {
        let r = &mut self.r;
        Ok(match self.service {
            631 => {
                let node = r.node_id("node")?;
                let attribute = r.u32("attribute")?;
                r.bytes("index range")?;
                r.qualified_name("data encoding")?;
                Item::Attr { node, attribute }
            }
            673 => {
                let node = r.node_id("node")?;
                let attribute = r.u32("attribute")?;
                r.bytes("index range")?;
                r.data_value(0)?;
                Item::Attr { node, attribute }
            }
            527 => {
                let node = r.node_id("node")?;
                r.u32("direction")?;
                r.node_id("reference type")?;
                r.skip(9, "browse description")?;
                Item::Node(node)
            }
            _ => {
                let object = r.node_id("object")?;
                let method = r.node_id("method")?;
                let n = r.count("input arguments", 1)?;
                for _ in 0..n {
                    r.variant(0)?;
                }
                Item::Call { object, method }
            }
        })
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;
    fn next(&mut self) -> Option<Item<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match self.one() {
            Ok(i) => Some(i),
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }
}

/// Name of an attribute id.
pub fn attribute_name(a: u32) -> &'static str {
    match a {
        1 => "NodeId",
        2 => "NodeClass",
        3 => "BrowseName",
        4 => "DisplayName",
        5 => "Description",
        6 => "WriteMask",
        7 => "UserWriteMask",
        8 => "IsAbstract",
        9 => "Symmetric",
        10 => "InverseName",
        11 => "ContainsNoLoops",
        12 => "EventNotifier",
        13 => "Value",
        14 => "DataType",
        15 => "ValueRank",
        16 => "ArrayDimensions",
        17 => "AccessLevel",
        18 => "UserAccessLevel",
        19 => "MinimumSamplingInterval",
        20 => "Historizing",
        21 => "Executable",
        22 => "UserExecutable",
        _ => "unknown",
    }
}
