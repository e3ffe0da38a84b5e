//! Niagara Fox frames: a text header line `fox <type> <n> <n> <channel>
//! <command>` followed by an optional `{ ... }` block of `key=type:value`
//! lines, terminated by `;;` and a newline (public descriptions: Nmap
//! `fox-info`, Tridium Niagara security notes).

/// Largest message waited for on a stream.
pub const MAX_MSG: usize = 64 * 1024;

pub mod function {
    pub const OTHER: u8 = 0;
    pub const HELLO: u8 = 1;
    pub const CHALLENGE: u8 = 2;
    pub const AUTHENTICATE: u8 = 3;
}

pub fn function_name(f: u8) -> &'static str {
    match f {
        1 => "hello",
        2 => "challenge",
        3 => "authenticate",
        _ => "other",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bytes do not start with `fox `.
    NotFox,
    /// The header line has fewer than 6 tokens.
    BadHeader { tokens: usize },
    /// No `;;` terminator within the size limit.
    TooLong { len: usize },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFox => "not_fox",
            Error::BadHeader { .. } => "bad_header",
            Error::TooLong { .. } => "too_long",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::NotFox => write!(f, "message does not start with \"fox \""),
            Error::BadHeader { tokens } => write!(
                f,
                "header line has {tokens} tokens, expected 6 (fox type n n channel command)"
            ),
            Error::TooLong { len } => {
                write!(
                    f,
                    "no \";;\" terminator within {len} bytes (limit {MAX_MSG})"
                )
            }
        }
    }
}

/// One Fox message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Message type letter (`a`, `r`, `e`...).
    pub msg_type: u8,
    pub num1: &'a [u8],
    pub num2: &'a [u8],
    pub channel: &'a [u8],
    pub command: &'a [u8],
    /// The `{ ... }` block without braces (may be empty).
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    pub fn function(&self) -> u8 {
        match self.command {
            b"hello" => function::HELLO,
            b"challenge" => function::CHALLENGE,
            b"authenticate" => function::AUTHENTICATE,
            _ => function::OTHER,
        }
    }

    /// `key=type:value` pairs of the body: `(key, type, value)`.
    pub fn params(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8], &'a [u8])> + 'a {
        self.body.split(|&c| c == b'\n').filter_map(|l| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let eq = l.iter().position(|&c| c == b'=')?;
            let (k, v) = (&l[..eq], &l[eq + 1..]);
            match v.iter().position(|&c| c == b':') {
                Some(c) if c <= 2 => Some((k, &v[..c], &v[c + 1..])),
                _ => Some((k, &b""[..], v)),
            }
        })
    }

    /// The value of parameter `key`.
    pub fn param(&self, key: &str) -> Option<&'a [u8]> {
        self.params()
            .find(|(k, _, _)| *k == key.as_bytes())
            .map(|(_, _, v)| v)
    }
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

/// Length of the message at `b` (through the newline after `;;`), `None`
/// while incomplete.
pub fn message_len(b: &[u8]) -> Result<Option<usize>, Error> {
    if b.len() >= 4 && !b.starts_with(b"fox ") {
        return Err(Error::NotFox);
    }
    match find(b, b";;") {
        Some(i) => {
            // Swallow the line end that follows.
            let mut n = i + 2;
            if b.get(n) == Some(&b'\r') {
                n += 1;
            }
            if b.get(n) == Some(&b'\n') {
                n += 1;
            }
            Ok(Some(n))
        }
        None if b.len() > MAX_MSG => Err(Error::TooLong { len: b.len() }),
        None => Ok(None),
    }
}

/// Parses one whole message.
pub fn parse(m: &[u8]) -> Result<Frame<'_>, Error> {
    if !m.starts_with(b"fox ") {
        return Err(Error::NotFox);
    }
    let line_end = m.iter().position(|&c| c == b'\n').unwrap_or(m.len());
    let line = &m[..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b";;").unwrap_or(line);
    let mut t = line.split(|&c| c == b' ').filter(|t| !t.is_empty());
    let toks: [Option<&[u8]>; 6] = [t.next(), t.next(), t.next(), t.next(), t.next(), t.next()];
    let n = toks.iter().filter(|x| x.is_some()).count();
    let [_, Some(ty), Some(n1), Some(n2), Some(ch), Some(cmd)] = toks else {
        return Err(Error::BadHeader { tokens: n });
    };
    let rest = &m[line_end.min(m.len())..];
    let body = match (
        rest.iter().position(|&c| c == b'{'),
        rest.iter().rposition(|&c| c == b'}'),
    ) {
        (Some(a), Some(b)) if a < b => &rest[a + 1..b],
        _ => &[],
    };
    Ok(Frame {
        msg_type: ty.first().copied().unwrap_or(0),
        num1: n1,
        num2: n2,
        channel: ch,
        command: cmd,
        body,
    })
}
