//! TLS client/server fingerprints: JA3, JA3S (MD5) and JA4 (FoxIO, SHA-256
//! truncated). Computed only when a consumer asks (JSON, identity): they
//! allocate.

use std::fmt::Write;

use md5::{Digest, Md5};
use sha2::Sha256;

use super::wire::{ClientHello, ServerHello, alpn_names, extensions, is_grease};

fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

fn join<I: Iterator<Item = T>, T: std::fmt::Display>(it: I, sep: &str) -> String {
    let mut s = String::new();
    for (i, v) in it.enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        let _ = write!(s, "{v}");
    }
    s
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// The JA3 string: `version,ciphers,extensions,groups,formats`, GREASE removed.
pub fn ja3_string(h: &ClientHello<'_>) -> String {
    let ciphers = join(u16s(h.ciphers).filter(|v| !is_grease(*v)), "-");
    let exts = join(
        extensions(h.extensions)
            .map(|(t, _)| t)
            .filter(|v| !is_grease(*v)),
        "-",
    );
    let groups = join(
        u16s(h.groups.unwrap_or_default()).filter(|v| !is_grease(*v)),
        "-",
    );
    let formats = join(h.point_formats.unwrap_or_default().iter(), "-");
    format!("{},{ciphers},{exts},{groups},{formats}", h.legacy_version)
}

pub fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

pub fn ja3(h: &ClientHello<'_>) -> String {
    md5_hex(&ja3_string(h))
}

/// The JA3S string: `version,cipher,extensions`.
pub fn ja3s_string(h: &ServerHello<'_>) -> String {
    let exts = join(extensions(h.extensions).map(|(t, _)| t), "-");
    format!("{},{},{exts}", h.legacy_version, h.cipher)
}

pub fn ja3s(h: &ServerHello<'_>) -> String {
    md5_hex(&ja3s_string(h))
}

fn sha12(s: &str) -> String {
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 | 0x0200 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// JA4 (FoxIO) of a ClientHello over TCP.
pub fn ja4(h: &ClientHello<'_>) -> String {
    let ciphers: Vec<u16> = u16s(h.ciphers).filter(|v| !is_grease(*v)).collect();
    let exts: Vec<u16> = extensions(h.extensions)
        .map(|(t, _)| t)
        .filter(|v| !is_grease(*v))
        .collect();
    let sni = if h.sni.is_some() { 'd' } else { 'i' };
    let alpn = match h.alpn.and_then(|a| alpn_names(a).next()) {
        Some(a) if !a.is_empty() => {
            let (f, l) = (a[0], a[a.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", f as char, l as char)
            } else {
                let hx = hex(a);
                let b = hx.as_bytes();
                format!("{}{}", b[0] as char, b[b.len() - 1] as char)
            }
        }
        _ => "00".to_string(),
    };
    let a = format!(
        "t{}{sni}{:02}{:02}{alpn}",
        version_code(h.max_version()),
        ciphers.len().min(99),
        exts.len().min(99)
    );
    let mut sc = ciphers.clone();
    sc.sort_unstable();
    let b = if sc.is_empty() {
        "000000000000".to_string()
    } else {
        sha12(&join(sc.iter().map(|v| format!("{v:04x}")), ","))
    };
    let mut se: Vec<u16> = exts.into_iter().filter(|&t| t != 0 && t != 16).collect();
    se.sort_unstable();
    let c = if se.is_empty() {
        "000000000000".to_string()
    } else {
        let mut s = join(se.iter().map(|v| format!("{v:04x}")), ",");
        let sigs: Vec<u16> = u16s(h.sig_algs.unwrap_or_default()).collect();
        if !sigs.is_empty() {
            s.push('_');
            s.push_str(&join(sigs.iter().map(|v| format!("{v:04x}")), ","));
        }
        sha12(&s)
    };
    format!("{a}_{b}_{c}")
}
