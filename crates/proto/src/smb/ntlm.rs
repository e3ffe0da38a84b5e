//! NTLMSSP messages (NEGOTIATE, CHALLENGE, AUTHENTICATE), found directly or
//! inside a GSS-API/SPNEGO token.

use crate::ber::Tlv;
use crate::wire::{Cursor, le16_at};

/// A string on the wire: UTF-16LE or 8-bit (OEM/ASCII).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Str<'a> {
    pub bytes: &'a [u8],
    pub utf16: bool,
}

impl<'a> Str<'a> {
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Decodes the string (allocates; JSON and identity only).
    pub fn to_string_lossy(&self) -> String {
        if self.utf16 {
            let u: Vec<u16> = self
                .bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&c| c != 0)
                .collect();
            String::from_utf16_lossy(&u)
        } else {
            let end = self
                .bytes
                .iter()
                .position(|&c| c == 0)
                .unwrap_or(self.bytes.len());
            String::from_utf8_lossy(&self.bytes[..end]).into_owned()
        }
    }

    pub fn opt(self) -> Option<Self> {
        (!self.bytes.is_empty()).then_some(self)
    }
}

/// A parsed NTLMSSP message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ntlm<'a> {
    /// 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE.
    pub msg_type: u32,
    pub flags: u32,
    pub domain: Str<'a>,
    pub user: Str<'a>,
    pub workstation: Str<'a>,
    /// CHALLENGE: target name.
    pub target_name: Str<'a>,
    /// CHALLENGE: AV pairs.
    pub target_info: &'a [u8],
    /// The 8-byte VERSION field, if present.
    pub version: Option<&'a [u8]>,
}

const NTLMSSP: &[u8] = b"NTLMSSP\0";
const UNICODE: u32 = 0x0000_0001;
const VERSION_FLAG: u32 = 0x0200_0000;

fn secbuf(msg: &[u8], at: usize) -> Option<&[u8]> {
    let len = le16_at(msg, at)? as usize;
    let mut c = Cursor::new(msg.get(at + 4..)?);
    let off = c.le32()? as usize;
    if len == 0 {
        return Some(&[]);
    }
    msg.get(off..off.checked_add(len)?)
}

/// Parses an NTLMSSP message starting at `b`.
pub fn parse(b: &[u8]) -> Option<Ntlm<'_>> {
    if !b.starts_with(NTLMSSP) {
        return None;
    }
    let mut c = Cursor::new(b.get(8..)?);
    let t = c.le32()?;
    let mut n = Ntlm {
        msg_type: t,
        ..Default::default()
    };
    match t {
        1 => {
            n.flags = Cursor::new(b.get(12..)?).le32()?;
            n.domain = Str {
                bytes: secbuf(b, 16).unwrap_or_default(),
                utf16: false,
            };
            n.workstation = Str {
                bytes: secbuf(b, 24).unwrap_or_default(),
                utf16: false,
            };
            if n.flags & VERSION_FLAG != 0 {
                n.version = b.get(32..40);
            }
        }
        2 => {
            n.flags = Cursor::new(b.get(20..)?).le32()?;
            let u = n.flags & UNICODE != 0;
            n.target_name = Str {
                bytes: secbuf(b, 12).unwrap_or_default(),
                utf16: u,
            };
            n.target_info = secbuf(b, 40).unwrap_or_default();
            if n.flags & VERSION_FLAG != 0 {
                n.version = b.get(48..56);
            }
        }
        3 => {
            n.flags = Cursor::new(b.get(60..)?).le32()?;
            let u = n.flags & UNICODE != 0;
            n.domain = Str {
                bytes: secbuf(b, 28)?,
                utf16: u,
            };
            n.user = Str {
                bytes: secbuf(b, 36)?,
                utf16: u,
            };
            n.workstation = Str {
                bytes: secbuf(b, 44)?,
                utf16: u,
            };
            if n.flags & VERSION_FLAG != 0 {
                n.version = b.get(64..72);
            }
        }
        _ => return None,
    }
    Some(n)
}

/// Finds the NTLMSSP token in a security blob: raw, or inside GSS-API/SPNEGO
/// (walking the BER to an OCTET STRING holding it).
pub fn find(blob: &[u8]) -> Option<Ntlm<'_>> {
    if blob.starts_with(NTLMSSP) {
        return parse(blob);
    }
    walk(blob, 0)
}

fn walk(b: &[u8], depth: usize) -> Option<Ntlm<'_>> {
    if depth > 8 {
        return None;
    }
    let mut rest = b;
    while !rest.is_empty() {
        let t = Tlv::parse(rest).ok()?;
        if t.constructed {
            if let Some(n) = walk(t.value, depth + 1) {
                return Some(n);
            }
        } else if t.value.starts_with(NTLMSSP) {
            return parse(t.value);
        }
        rest = &rest[t.len..];
    }
    None
}

/// AV pair ids of a CHALLENGE target info.
pub const AV_NB_COMPUTER: u16 = 1;
pub const AV_NB_DOMAIN: u16 = 2;
pub const AV_DNS_COMPUTER: u16 = 3;
pub const AV_DNS_DOMAIN: u16 = 4;

/// The value of AV pair `id` (UTF-16LE).
pub fn av(info: &[u8], id: u16) -> Option<Str<'_>> {
    let mut c = Cursor::new(info);
    loop {
        let t = c.le16()?;
        let l = c.le16()? as usize;
        let v = c.take(l)?;
        if t == 0 {
            return None;
        }
        if t == id {
            return Some(Str {
                bytes: v,
                utf16: true,
            });
        }
    }
}

/// "major.minor.build" of a VERSION field.
pub fn version_string(v: &[u8]) -> Option<String> {
    let b = le16_at(v, 2)?;
    Some(format!("{}.{}.{}", v.first()?, v.get(1)?, b))
}

/// A Windows name for a VERSION (best effort).
pub fn os_name(v: &[u8]) -> Option<String> {
    let (maj, min, build) = (*v.first()?, *v.get(1)?, le16_at(v, 2)?);
    let name = match (maj, min) {
        (5, 0) => "Windows 2000",
        (5, 1) => "Windows XP",
        (5, 2) => "Windows Server 2003",
        (6, 0) => "Windows Vista/Server 2008",
        (6, 1) => "Windows 7/Server 2008 R2",
        (6, 2) => "Windows 8/Server 2012",
        (6, 3) => "Windows 8.1/Server 2012 R2",
        (10, 0) if build >= 22000 => "Windows 11/Server 2022",
        (10, 0) => "Windows 10/Server 2016+",
        _ => "Windows",
    };
    Some(format!("{name} (build {build})"))
}
