//! Pure parsing of one HTTP/1.x message head (start line and header fields).

use std::fmt;

/// Longest message head (start line + headers) we wait for.
pub const MAX_HEAD: usize = 32 * 1024;
/// Longest chunk-size line we wait for.
pub const MAX_CHUNK_LINE: usize = 1024;

/// A message head: request or response start line plus the headers we keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head<'a> {
    /// Request: method, URI. Empty on a response.
    pub method: &'a [u8],
    pub uri: &'a [u8],
    /// `HTTP/1.x` as written.
    pub version: &'a [u8],
    /// Response: status code and reason phrase.
    pub status: u16,
    pub reason: &'a [u8],
    pub host: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    pub server: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    pub content_length: Option<u64>,
    /// The raw Content-Length value when it is present (even if invalid).
    pub content_length_raw: Option<&'a [u8]>,
    pub chunked: bool,
    /// The base64 credentials of `Authorization: Basic ...`.
    pub basic_auth: Option<&'a [u8]>,
    pub cookie: bool,
    pub x_forwarded_for: Option<&'a [u8]>,
    /// The `SOAPAction` header of a SOAP 1.1 request (quotes kept as sent).
    pub soap_action: Option<&'a [u8]>,
    pub connection_close: bool,
    /// Number of header fields.
    pub header_count: u16,
    /// Longest header line, or the start line when longer (bytes, without
    /// the line end; saturating).
    pub longest_line: u16,
    /// Parameters in the request target's query (`a=1&b=2` is 2).
    pub query_params: u16,
    /// Control bytes (other than HT) in the start line and header lines
    /// (a CR inside a line, NUL...).
    pub ctl_bytes: u16,
    /// A header name with whitespace or non-token characters
    /// (`Transfer-Encoding : chunked`).
    pub bad_name: bool,
    /// Content-Length header fields.
    pub content_length_count: u8,
    /// Transfer-Encoding header fields.
    pub transfer_encoding_count: u8,
    /// `Content-Type: message/...`: the body is itself a message with its
    /// own header block.
    pub nested_message: bool,
}

impl Head<'_> {
    #[inline]
    pub fn is_response(&self) -> bool {
        self.status != 0
    }
}

/// Why a head could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The first line is neither a request line nor a status line.
    BadStartLine,
    /// A status code outside 100–599.
    BadStatus(u16),
    /// A header line without a colon (line number within the head).
    BadHeaderLine(u16),
    /// Content-Length that is not a decimal number.
    BadContentLength,
    /// The head exceeds [`MAX_HEAD`] without an empty line.
    HeadTooLong(usize),
    /// A chunk-size line that is not hexadecimal (or is too long).
    BadChunkSize,
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadStartLine => "bad_start_line",
            Error::BadStatus(_) => "bad_status_code",
            Error::BadHeaderLine(_) => "bad_header_line",
            Error::BadContentLength => "bad_content_length",
            Error::HeadTooLong(_) => "head_too_long",
            Error::BadChunkSize => "bad_chunk_size",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadStartLine => write!(
                f,
                "first line is neither 'METHOD SP URI SP HTTP/1.x' nor 'HTTP/1.x SP NNN'"
            ),
            Error::BadStatus(s) => write!(f, "status code {s} outside 100..=599"),
            Error::BadHeaderLine(n) => write!(f, "header line {n} has no ':' separator"),
            Error::BadContentLength => write!(f, "Content-Length is not a decimal number"),
            Error::HeadTooLong(n) => write!(
                f,
                "message head longer than {MAX_HEAD} bytes without an empty line ({n} buffered)"
            ),
            Error::BadChunkSize => write!(f, "chunk-size line is not a hexadecimal number"),
        }
    }
}

/// Methods with their function codes.
pub const METHODS: &[(&[u8], u16)] = &[
    (b"GET", 1),
    (b"POST", 2),
    (b"HEAD", 3),
    (b"PUT", 4),
    (b"DELETE", 5),
    (b"OPTIONS", 6),
    (b"CONNECT", 7),
    (b"TRACE", 8),
    (b"PATCH", 9),
];

/// Function code of a request method (0 for other methods).
pub fn method_code(m: &[u8]) -> u16 {
    METHODS.iter().find(|(n, _)| *n == m).map_or(0, |(_, c)| *c)
}

/// True when `line` (without its line end) is a plausible request line:
/// `TOKEN SP target SP HTTP/1.d`.
pub fn is_request_line(line: &[u8]) -> bool {
    let Some(sp) = line.iter().position(|&c| c == b' ') else {
        return false;
    };
    if sp == 0
        || sp > 24
        || !line[..sp]
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c == b'-')
    {
        return false;
    }
    let Some(last) = line.iter().rposition(|&c| c == b' ') else {
        return false;
    };
    let v = &line[last + 1..];
    last > sp && v.len() == 8 && v.starts_with(b"HTTP/1.") && v[7].is_ascii_digit()
}

/// True when `line` is a plausible status line: `HTTP/1.d SP ddd`.
pub fn is_status_line(line: &[u8]) -> bool {
    line.len() >= 12
        && line.starts_with(b"HTTP/1.")
        && line[7].is_ascii_digit()
        && line[8] == b' '
        && line[9..12].iter().all(u8::is_ascii_digit)
        && line.get(12).is_none_or(|&c| c == b' ')
}

/// True when `b` starts with a plausible start line (complete or not yet
/// complete but consistent so far).
pub fn starts_like_message(b: &[u8]) -> bool {
    let line_end = b.iter().position(|&c| c == b'\n');
    match line_end {
        Some(n) => {
            let line = trim_cr(&b[..n]);
            is_request_line(line) || is_status_line(line)
        }
        None => {
            // Incomplete: the prefix must look like a method or "HTTP/".
            let k = b.len().min(8);
            let p = &b[..k];
            b"HTTP/1.".starts_with(&p[..p.len().min(7)])
                || METHODS.iter().any(|(m, _)| {
                    let mut full = [0u8; 9];
                    let n = m.len().min(8);
                    full[..n].copy_from_slice(&m[..n]);
                    full[n] = b' ';
                    full[..=n].starts_with(&p[..p.len().min(n + 1)])
                })
        }
    }
}

#[inline]
pub fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Offset just past the empty line that ends the head, if present.
pub fn head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'\n')) {
        let nl = i + p;
        // Empty line: "\n\n" or "\n\r\n".
        match b.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if b.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// A header-name byte (RFC 9110 `tchar`).
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn ctl_count(l: &[u8]) -> u16 {
    l.iter()
        .filter(|&&c| (c < 0x20 && c != b'\t') || c == 0x7f)
        .count()
        .min(u16::MAX as usize) as u16
}

fn sat16(n: usize) -> u16 {
    n.min(u16::MAX as usize) as u16
}

fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64))
}

/// Parses a complete head (through its empty line). On a header-level error
/// the head parsed so far is returned with the error so the message can still
/// be reported.
pub fn parse_head(b: &[u8]) -> (Option<Head<'_>>, Option<Error>) {
    let mut lines = b.split(|&c| c == b'\n').map(trim_cr);
    let first = lines.next().unwrap_or_default();
    let mut h = Head::default();
    if is_status_line(first) {
        h.version = &first[..8];
        let st = first[9..12]
            .iter()
            .fold(0u16, |a, &c| a * 10 + (c - b'0') as u16);
        h.status = st;
        h.reason = first.get(13..).unwrap_or_default();
        if !(100..=599).contains(&st) {
            return (None, Some(Error::BadStatus(st)));
        }
    } else if is_request_line(first) {
        let sp = first.iter().position(|&c| c == b' ').unwrap_or(0);
        let last = first.iter().rposition(|&c| c == b' ').unwrap_or(0);
        h.method = &first[..sp];
        h.uri = trim(&first[sp + 1..last]);
        h.version = &first[last + 1..];
        if let Some(q) = h.uri.iter().position(|&c| c == b'?') {
            let query = &h.uri[q + 1..];
            h.query_params = sat16(
                query
                    .split(|&c| c == b'&')
                    .filter(|p| !p.is_empty())
                    .count(),
            );
        }
    } else {
        return (None, Some(Error::BadStartLine));
    }
    h.longest_line = sat16(first.len());
    h.ctl_bytes = ctl_count(first);
    let mut err = None;
    let mut n = 0u16;
    for line in lines {
        if line.is_empty() {
            break;
        }
        n = n.saturating_add(1);
        h.longest_line = h.longest_line.max(sat16(line.len()));
        h.ctl_bytes = h.ctl_bytes.saturating_add(ctl_count(line));
        if line[0] == b' ' || line[0] == b'\t' {
            continue; // obsolete line folding
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            err.get_or_insert(Error::BadHeaderLine(n));
            continue;
        };
        let name = &line[..colon];
        let value = trim(&line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&c| is_tchar(c)) {
            h.bad_name = true;
        }
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        if is("host") {
            h.host = Some(value);
        } else if is("user-agent") {
            h.user_agent = Some(value);
        } else if is("server") {
            h.server = Some(value);
        } else if is("content-type") {
            h.content_type = Some(value);
            h.nested_message = value.len() >= 8 && value[..8].eq_ignore_ascii_case(b"message/");
        } else if is("content-length") {
            h.content_length_count = h.content_length_count.saturating_add(1);
            h.content_length_raw = Some(value);
            match parse_u64(value) {
                Some(v) => h.content_length = Some(v),
                None => {
                    err.get_or_insert(Error::BadContentLength);
                }
            }
        } else if is("transfer-encoding") {
            h.transfer_encoding_count = h.transfer_encoding_count.saturating_add(1);
            if value.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked")) {
                h.chunked = true;
            }
        } else if is("authorization") {
            if value.len() > 6 && value[..6].eq_ignore_ascii_case(b"basic ") {
                h.basic_auth = Some(trim(&value[6..]));
            }
        } else if is("cookie") {
            h.cookie = true;
        } else if is("x-forwarded-for") {
            h.x_forwarded_for = Some(value);
        } else if is("soapaction") {
            h.soap_action = Some(value);
        } else if is("connection") && value.eq_ignore_ascii_case(b"close") {
            h.connection_close = true;
        }
    }
    h.header_count = n;
    (Some(h), err)
}

/// Parses a chunk-size line (without its line end): hex digits, optional
/// `;extensions`.
pub fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let end = line.iter().position(|&c| c == b';').unwrap_or(line.len());
    let hex = trim(&line[..end]);
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    let mut v = 0u64;
    for &c in hex {
        v = v * 16 + (c as char).to_digit(16)? as u64;
    }
    Some(v)
}

/// Decodes base64 `Basic` credentials and returns the user part (before ':').
/// Allocates; only for JSON and identity.
pub fn basic_user(b64: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(b64.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in b64 {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    let user = out.split(|&c| c == b':').next()?;
    Some(String::from_utf8_lossy(user).into_owned())
}
