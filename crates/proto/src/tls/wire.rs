//! Pure parsing of TLS records and plaintext handshake messages.

use std::fmt;

use crate::wire::{Cursor, be16_at};

pub const RECORD_HEADER: usize = 5;
/// Largest record accepted (2^14 + 2048, RFC 5246 ciphertext limit).
pub const MAX_RECORD: usize = 16384 + 2048;
/// Largest handshake message reassembled across records.
pub const MAX_HANDSHAKE: usize = 64 * 1024;

pub const CT_CCS: u8 = 20;
pub const CT_ALERT: u8 = 21;
pub const CT_HANDSHAKE: u8 = 22;
pub const CT_APP: u8 = 23;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub length: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    BadContentType(u8),
    BadVersion(u16),
    BadRecordLength(u16),
    /// A handshake message longer than we reassemble.
    HandshakeTooLong(u32),
    /// A handshake body that does not parse (handshake type, offset).
    BadHandshake(u8, usize),
    BadAlert(usize),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadContentType(_) => "bad_content_type",
            Error::BadVersion(_) => "bad_record_version",
            Error::BadRecordLength(_) => "bad_record_length",
            Error::HandshakeTooLong(_) => "handshake_too_long",
            Error::BadHandshake(..) => "bad_handshake",
            Error::BadAlert(_) => "bad_alert",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadContentType(t) => write!(f, "record content type {t} not in 20..=24"),
            Error::BadVersion(v) => write!(f, "record version 0x{v:04x} not 0x0300..=0x0304"),
            Error::BadRecordLength(l) => {
                write!(f, "record length {l} is 0 or above {MAX_RECORD}")
            }
            Error::HandshakeTooLong(l) => {
                write!(f, "handshake message of {l} bytes exceeds {MAX_HANDSHAKE}")
            }
            Error::BadHandshake(t, o) => {
                write!(
                    f,
                    "handshake type {t} body truncated or invalid at offset {o}"
                )
            }
            Error::BadAlert(n) => write!(f, "alert record of {n} bytes, expected 2"),
        }
    }
}

/// Reads a record header (5 bytes) without validation.
#[inline]
pub fn record_header(b: &[u8]) -> Option<RecordHeader> {
    Some(RecordHeader {
        content_type: *b.first()?,
        version: be16_at(b, 1)?,
        length: be16_at(b, 3)?,
    })
}

pub fn check_header(h: &RecordHeader) -> Result<(), Error> {
    if !(20..=24).contains(&h.content_type) {
        return Err(Error::BadContentType(h.content_type));
    }
    if !(0x0300..=0x0304).contains(&h.version) {
        return Err(Error::BadVersion(h.version));
    }
    if h.length == 0 && h.content_type != CT_APP || h.length as usize > MAX_RECORD {
        return Err(Error::BadRecordLength(h.length));
    }
    Ok(())
}

/// GREASE values (RFC 8701): 0x?a?a with equal bytes.
#[inline]
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A ClientHello (zero-copy; lists are raw and iterated on demand).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientHello<'a> {
    pub legacy_version: u16,
    pub session_id: &'a [u8],
    /// Cipher suites, 2 bytes each.
    pub ciphers: &'a [u8],
    pub compression: &'a [u8],
    /// Extensions block (type, length, data)*.
    pub extensions: &'a [u8],
    pub sni: Option<&'a [u8]>,
    /// ALPN protocol_name_list (length-prefixed names).
    pub alpn: Option<&'a [u8]>,
    /// supported_versions list (2 bytes each).
    pub supported_versions: Option<&'a [u8]>,
    pub groups: Option<&'a [u8]>,
    pub point_formats: Option<&'a [u8]>,
    pub sig_algs: Option<&'a [u8]>,
}

impl ClientHello<'_> {
    /// Highest offered version (supported_versions without GREASE, else legacy).
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .and_then(|v| {
                v.chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .filter(|v| !is_grease(*v))
                    .max()
            })
            .unwrap_or(self.legacy_version)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerHello<'a> {
    pub legacy_version: u16,
    pub cipher: u16,
    pub compression: u8,
    pub extensions: &'a [u8],
    /// The selected supported_versions value (TLS 1.3).
    pub selected_version: Option<u16>,
    pub alpn: Option<&'a [u8]>,
}

impl ServerHello<'_> {
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

/// Iterates extensions `(type, data)` of an extensions block.
pub fn extensions(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut c = Cursor::new(b);
    std::iter::from_fn(move || {
        let t = c.be16()?;
        let l = c.be16()? as usize;
        let d = c.take(l)?;
        Some((t, d))
    })
}

/// Iterates the length-prefixed (u8) strings of an ALPN list.
pub fn alpn_names(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut c = Cursor::new(b);
    std::iter::from_fn(move || {
        let l = c.u8()? as usize;
        c.take(l)
    })
}

/// Reads a u16-length-prefixed vector's content.
fn vec16(d: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(d);
    let l = c.be16()? as usize;
    c.take(l)
}

pub fn parse_client_hello(b: &[u8]) -> Option<ClientHello<'_>> {
    let mut c = Cursor::new(b);
    let mut h = ClientHello {
        legacy_version: c.be16()?,
        ..Default::default()
    };
    c.skip(32)?;
    let sl = c.u8()? as usize;
    h.session_id = c.take(sl)?;
    let cl = c.be16()? as usize;
    h.ciphers = c.take(cl)?;
    let ml = c.u8()? as usize;
    h.compression = c.take(ml)?;
    if c.is_empty() {
        return Some(h);
    }
    let el = c.be16()? as usize;
    h.extensions = c.take(el)?;
    for (t, d) in extensions(h.extensions) {
        match t {
            0 => {
                // server_name_list: list length, then (type, len, name)*; first host_name.
                let list = vec16(d)?;
                let mut lc = Cursor::new(list);
                while !lc.is_empty() {
                    let nt = lc.u8()?;
                    let nl = lc.be16()? as usize;
                    let name = lc.take(nl)?;
                    if nt == 0 {
                        h.sni = Some(name);
                        break;
                    }
                }
            }
            16 => h.alpn = vec16(d),
            43 => {
                let mut vc = Cursor::new(d);
                let l = vc.u8()? as usize;
                h.supported_versions = vc.take(l);
            }
            10 => h.groups = vec16(d),
            11 => {
                let mut vc = Cursor::new(d);
                let l = vc.u8()? as usize;
                h.point_formats = vc.take(l);
            }
            13 => h.sig_algs = vec16(d),
            _ => {}
        }
    }
    Some(h)
}

pub fn parse_server_hello(b: &[u8]) -> Option<ServerHello<'_>> {
    let mut c = Cursor::new(b);
    let mut h = ServerHello {
        legacy_version: c.be16()?,
        ..Default::default()
    };
    c.skip(32)?;
    let sl = c.u8()? as usize;
    c.skip(sl)?;
    h.cipher = c.be16()?;
    h.compression = c.u8()?;
    if c.is_empty() {
        return Some(h);
    }
    let el = c.be16()? as usize;
    h.extensions = c.take(el)?;
    for (t, d) in extensions(h.extensions) {
        match t {
            43 => h.selected_version = be16_at(d, 0),
            16 => h.alpn = vec16(d),
            _ => {}
        }
    }
    Some(h)
}

/// The first (leaf) certificate of a TLS ≤ 1.2 Certificate message, and the
/// number of certificates in the chain.
pub fn parse_certificate(b: &[u8]) -> Option<(Option<&[u8]>, u16)> {
    let mut c = Cursor::new(b);
    let l = c.u8()? as usize;
    let l = (l << 16) | c.be16()? as usize;
    let list = c.take(l)?;
    let mut lc = Cursor::new(list);
    let mut first = None;
    let mut n = 0u16;
    while !lc.is_empty() {
        let a = lc.u8()? as usize;
        let cl = (a << 16) | lc.be16()? as usize;
        let cert = lc.take(cl)?;
        if first.is_none() {
            first = Some(cert);
        }
        n = n.saturating_add(1);
    }
    Some((first, n))
}

pub fn alert_description_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

pub fn handshake_name(t: u8) -> &'static str {
    match t {
        0 => "hello_request",
        1 => "client_hello",
        2 => "server_hello",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        8 => "encrypted_extensions",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        20 => "finished",
        22 => "certificate_status",
        24 => "key_update",
        _ => "unknown",
    }
}
