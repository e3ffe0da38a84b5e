//! Zero-copy BER (X.690) reading for the ASN.1 protocols: MMS and the ISO
//! upper layers, GOOSE, Sampled Values, SNMP, certificates.
//!
//! [`Tlv::parse`] reads one tag-length-value; [`Tlvs`] iterates the elements of
//! a constructed value. Lengths are checked against the input, indefinite
//! lengths are accepted for constructed values (the content ends at the
//! matching end-of-contents), and no read can go out of bounds.

/// Tag class (bits 8–7 of the identifier octet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// One BER element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub class: Class,
    pub constructed: bool,
    /// Tag number (multi-byte tags are folded; numbers above `u32` are rejected).
    pub tag: u32,
    /// The contents octets (without end-of-contents for indefinite lengths).
    pub value: &'a [u8],
    /// Bytes taken by identifier, length, contents (and end-of-contents).
    pub len: usize,
}

/// Why an element could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BerError {
    /// The input ends inside the element.
    Truncated,
    /// A length or tag form that BER does not allow, or too large.
    BadLength,
    BadTag,
    /// Nesting of indefinite lengths deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl std::fmt::Display for BerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BerError::Truncated => "BER element truncated",
            BerError::BadLength => "invalid BER length",
            BerError::BadTag => "invalid BER tag",
            BerError::TooDeep => "BER indefinite-length nesting too deep",
        })
    }
}

/// Maximum nesting of indefinite-length values followed to find their end.
pub const MAX_DEPTH: usize = 16;

impl<'a> Tlv<'a> {
    /// Reads the element at the start of `b`.
    pub fn parse(b: &'a [u8]) -> Result<Tlv<'a>, BerError> {
        Self::parse_depth(b, 0)
    }

    fn parse_depth(b: &'a [u8], depth: usize) -> Result<Tlv<'a>, BerError> {
        if depth > MAX_DEPTH {
            return Err(BerError::TooDeep);
        }
        let id = *b.first().ok_or(BerError::Truncated)?;
        let class = match id >> 6 {
            0 => Class::Universal,
            1 => Class::Application,
            2 => Class::Context,
            _ => Class::Private,
        };
        let constructed = id & 0x20 != 0;
        let mut pos = 1;
        let mut tag = (id & 0x1f) as u32;
        if tag == 0x1f {
            tag = 0;
            loop {
                let c = *b.get(pos).ok_or(BerError::Truncated)?;
                pos += 1;
                if tag > (u32::MAX >> 7) {
                    return Err(BerError::BadTag);
                }
                tag = (tag << 7) | (c & 0x7f) as u32;
                if c & 0x80 == 0 {
                    break;
                }
            }
        }
        let l0 = *b.get(pos).ok_or(BerError::Truncated)?;
        pos += 1;
        if l0 == 0x80 {
            // Indefinite length: constructed only; walk children to the end-of-contents.
            if !constructed {
                return Err(BerError::BadLength);
            }
            let start = pos;
            loop {
                let rest = b.get(pos..).ok_or(BerError::Truncated)?;
                if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                    return Ok(Tlv {
                        class,
                        constructed,
                        tag,
                        value: &b[start..pos],
                        len: pos + 2,
                    });
                }
                let child = Self::parse_depth(rest, depth + 1)?;
                pos += child.len;
            }
        }
        let len = if l0 & 0x80 == 0 {
            l0 as usize
        } else {
            let n = (l0 & 0x7f) as usize;
            if n == 0x7f || n > 4 {
                return Err(BerError::BadLength);
            }
            let mut v = 0usize;
            for _ in 0..n {
                v = (v << 8) | *b.get(pos).ok_or(BerError::Truncated)? as usize;
                pos += 1;
            }
            v
        };
        let end = pos.checked_add(len).ok_or(BerError::BadLength)?;
        let value = b.get(pos..end).ok_or(BerError::Truncated)?;
        Ok(Tlv {
            class,
            constructed,
            tag,
            value,
            len: end,
        })
    }

    /// Context-specific tag `n`?
    #[inline]
    pub fn is_context(&self, n: u32) -> bool {
        self.class == Class::Context && self.tag == n
    }

    /// Universal tag `n`?
    #[inline]
    pub fn is_universal(&self, n: u32) -> bool {
        self.class == Class::Universal && self.tag == n
    }

    /// The children of a constructed element.
    #[inline]
    pub fn children(&self) -> Tlvs<'a> {
        Tlvs::new(self.value)
    }

    /// The value as a two's-complement integer (up to 8 octets).
    pub fn int(&self) -> Option<i64> {
        int(self.value)
    }

    /// The value as an unsigned integer (up to 8 significant octets).
    pub fn uint(&self) -> Option<u64> {
        uint(self.value)
    }
}

/// Iterator over consecutive elements; stops (after yielding the error once)
/// at the first element that cannot be read.
#[derive(Clone, Copy, Debug)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Tlvs<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Tlvs {
            rest: b,
            failed: false,
        }
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, BerError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match Tlv::parse(self.rest) {
            Ok(t) => {
                self.rest = &self.rest[t.len..];
                Some(Ok(t))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Two's-complement big-endian integer of 1–8 octets.
pub fn int(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let mut x: i64 = if v[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in v {
        x = (x << 8) | b as i64;
    }
    Some(x)
}

/// Unsigned big-endian integer; a leading zero octet is allowed beyond 8 octets.
pub fn uint(v: &[u8]) -> Option<u64> {
    let v = if v.len() > 8 && v[0] == 0 { &v[1..] } else { v };
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    Some(v.iter().fold(0u64, |x, &b| (x << 8) | b as u64))
}

/// Writes an OBJECT IDENTIFIER value in dotted form (`1.3.6.1.2.1.1.1.0`).
pub fn oid_to_string(v: &[u8]) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::new();
    let mut acc: u64 = 0;
    let mut first = true;
    for &b in v {
        if acc > (u64::MAX >> 7) {
            return None;
        }
        acc = (acc << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if first {
                let (a, b) = match acc {
                    0..=39 => (0, acc),
                    40..=79 => (1, acc - 40),
                    _ => (2, acc - 80),
                };
                let _ = write!(out, "{a}.{b}");
                first = false;
            } else {
                let _ = write!(out, ".{acc}");
            }
            acc = 0;
        }
    }
    if first || v.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_indefinite() {
        let t = Tlv::parse(&[0x02, 0x01, 0x05]).unwrap();
        assert!(t.is_universal(2));
        assert_eq!(t.int(), Some(5));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 128]);
        assert_eq!(Tlv::parse(&long).unwrap().value.len(), 128);
        let ind = [0xa1, 0x80, 0x02, 0x01, 0xff, 0x00, 0x00, 0x05];
        let t = Tlv::parse(&ind).unwrap();
        assert_eq!(t.len, 7);
        assert!(t.is_context(1) && t.constructed);
        assert_eq!(t.children().next().unwrap().unwrap().int(), Some(-1));
    }

    #[test]
    fn multi_byte_tag() {
        let t = Tlv::parse(&[0xbf, 0x81, 0x00, 0x00]).unwrap();
        assert_eq!((t.class, t.tag, t.constructed), (Class::Context, 128, true));
    }

    #[test]
    fn errors() {
        assert_eq!(Tlv::parse(&[]), Err(BerError::Truncated));
        assert_eq!(Tlv::parse(&[0x02, 0x05, 1]), Err(BerError::Truncated));
        assert_eq!(
            Tlv::parse(&[0x02, 0x85, 1, 1, 1, 1, 1]),
            Err(BerError::BadLength)
        );
        assert_eq!(Tlv::parse(&[0x02, 0x80, 0, 0]), Err(BerError::BadLength));
        let mut deep = vec![];
        for _ in 0..40 {
            deep.extend([0x30, 0x80]);
        }
        assert_eq!(Tlv::parse(&deep), Err(BerError::TooDeep));
    }

    #[test]
    fn oid() {
        let v = [0x2b, 6, 1, 2, 1, 1, 1, 0];
        assert_eq!(oid_to_string(&v).unwrap(), "1.3.6.1.2.1.1.1.0");
        assert_eq!(oid_to_string(&[0x2b, 0x86]), None);
    }
}
