//! Threat-intelligence packages: indicator lists (IP addresses and networks,
//! domain names, URLs, SHA-256 file hashes) loaded from files, matched by the
//! malware engine, and replaceable at run time.
//!
//! The file format is documented in `docs/threat-intel.md`: one package per
//! file, a few `@key value` header lines, then one `type,value[,label]`
//! indicator per line. Errors name the file and the line.
//!
//! [`TiHandle`] is the shareable handle: the engine holds a snapshot
//! (`Arc<ThreatIntel>`) and picks up a new one when the handle's generation
//! changes (one relaxed atomic load per event that needs a lookup), so
//! packages are loaded, updated and removed with no restart.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use hashbrown::HashMap;

/// Longest accepted indicator value.
pub const MAX_VALUE: usize = 2048;
/// Most indicators in one package.
pub const MAX_INDICATORS: usize = 1_000_000;

/// What an indicator matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// One address or a network (`ip` / `cidr`).
    Ip,
    /// A domain and its subdomains.
    Domain,
    /// A URL (normalised: host lower-case, no scheme, default port or fragment).
    Url,
    /// SHA-256 of a file.
    Sha256,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ip => "ip",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Sha256 => "sha256",
        }
    }
}

/// One indicator of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    pub kind: Kind,
    /// Normalised value (`10.0.0.0/8`, `evil.example`, `evil.example/a?b`, hex hash).
    pub value: String,
    /// Malware family or label (`Havex`, `BlackEnergy`...), if given.
    pub label: Option<String>,
}

/// A named, versioned list of indicators.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub source: String,
    pub version: String,
    pub indicators: Vec<Indicator>,
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit<'a> {
    pub package: &'a str,
    pub kind: Kind,
    /// The indicator as written in the package (normalised).
    pub value: &'a str,
    pub label: Option<&'a str>,
}

/// A load error: the file, the line (1-based, 0 when not about one line) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.msg)
        } else {
            write!(f, "{}: {}", self.file.display(), self.msg)
        }
    }
}

impl std::error::Error for LoadError {}

/// (package index, indicator index) of a stored indicator.
type Ref = (u32, u32);

/// Every loaded package, indexed for lookups.
#[derive(Debug, Default)]
pub struct ThreatIntel {
    packages: Vec<Package>,
    /// Exact addresses.
    ips: HashMap<IpAddr, Ref>,
    /// Networks by prefix length: (is_v6, prefix) -> masked address -> ref.
    nets: Vec<((bool, u8), HashMap<u128, Ref>)>,
    domains: HashMap<Box<[u8]>, Ref>,
    urls: HashMap<Box<[u8]>, Ref>,
    hashes: HashMap<[u8; 32], Ref>,
}

fn ip_bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u32::from(a) as u128),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn mask(bits: u128, v6: bool, prefix: u8) -> u128 {
    let width = if v6 { 128 } else { 32 };
    if prefix == 0 {
        0
    } else {
        bits & (u128::MAX << (width - prefix as u32))
    }
}

/// Lower-cases a domain and drops a trailing dot and a leading `*.`.
pub fn normalize_domain(s: &str) -> String {
    let s = s.trim().trim_end_matches('.');
    let s = s.strip_prefix("*.").unwrap_or(s);
    s.to_ascii_lowercase()
}

/// Normalises a URL for matching: no scheme, host lower-case without a
/// default port (80/443) or trailing dot, no fragment; path and query kept
/// as written (a missing path is `/`).
pub fn normalize_url(s: &str) -> String {
    let s = s.trim();
    let s = s.split('#').next().unwrap_or(s);
    let rest = match s.find("://") {
        Some(i) => &s[i + 3..],
        None => s,
    };
    let (host, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host
        .strip_suffix(":80")
        .or_else(|| host.strip_suffix(":443"))
        .unwrap_or(host);
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    format!("{host}{path}")
}

/// Writes the normalised form of an HTTP request (Host header + URI) into
/// `out` (cleared first) without allocating once `out` has grown.
pub fn request_url(host: &[u8], uri: &[u8], out: &mut Vec<u8>) {
    out.clear();
    // Absolute-form URIs (proxies) carry their own host.
    let (host, uri) = match uri.windows(3).position(|w| w == b"://") {
        Some(i) if uri[..i].iter().all(|c| c.is_ascii_alphabetic()) => {
            let r = &uri[i + 3..];
            let e = r
                .iter()
                .position(|&c| c == b'/' || c == b'?')
                .unwrap_or(r.len());
            (&r[..e], &r[e..])
        }
        _ => (host, uri),
    };
    let host = host.strip_suffix(b":80").unwrap_or(host);
    let host = host.strip_suffix(b".").unwrap_or(host);
    out.extend(host.iter().map(|c| c.to_ascii_lowercase()));
    let uri = match uri.iter().position(|&c| c == b'#') {
        Some(i) => &uri[..i],
        None => uri,
    };
    if !uri.starts_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(uri);
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let h = (b[2 * i] as char).to_digit(16)?;
        let l = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (h * 16 + l) as u8;
    }
    Some(out)
}

/// Parses one indicator line body (`type,value[,label]`).
fn parse_indicator(line: &str) -> Result<Indicator, String> {
    let mut parts = line.splitn(3, ',');
    let kind = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let value = parts.next().map(str::trim).unwrap_or("");
    let label = parts
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    if value.is_empty() {
        return Err(format!("indicator of type '{kind}' has no value"));
    }
    if value.len() > MAX_VALUE {
        return Err(format!("value longer than {MAX_VALUE} bytes"));
    }
    let (kind, value) = match kind.as_str() {
        "ip" | "cidr" | "net" => {
            let (addr, prefix) = match value.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (value, None),
            };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("'{addr}' is not an IP address"))?;
            let width = if ip.is_ipv4() { 32 } else { 128 };
            let v = match prefix {
                None => ip.to_string(),
                Some(p) => {
                    let p: u8 = p
                        .parse()
                        .ok()
                        .filter(|&p| p <= width)
                        .ok_or_else(|| format!("bad prefix length '/{p}' for {ip}"))?;
                    if p == width {
                        ip.to_string()
                    } else {
                        format!("{ip}/{p}")
                    }
                }
            };
            (Kind::Ip, v)
        }
        "domain" => {
            let d = normalize_domain(value);
            let ok = !d.is_empty()
                && d.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
            if !ok {
                return Err(format!("'{value}' is not a domain name"));
            }
            (Kind::Domain, d)
        }
        "url" => (Kind::Url, normalize_url(value)),
        "sha256" => {
            if parse_hex32(value).is_none() {
                return Err(format!("'{value}' is not a SHA-256 (64 hex digits)"));
            }
            (Kind::Sha256, value.to_ascii_lowercase())
        }
        other => {
            return Err(format!(
                "unknown indicator type '{other}' (expected ip, cidr, domain, url or sha256)"
            ));
        }
    };
    Ok(Indicator { kind, value, label })
}

impl Package {
    /// Parses a package from its text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Package, LoadError> {
        let err = |line: usize, msg: String| LoadError {
            file: file.to_path_buf(),
            line,
            msg,
        };
        let mut p = Package::default();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(h) = line.strip_prefix('@') {
                let (k, v) = h.split_once(char::is_whitespace).unwrap_or((h, ""));
                let v = v.trim().to_string();
                match k {
                    "name" => p.name = v,
                    "source" => p.source = v,
                    "version" => p.version = v,
                    _ => return Err(err(n, format!("unknown header '@{k}'"))),
                }
                continue;
            }
            if p.indicators.len() >= MAX_INDICATORS {
                return Err(err(n, format!("more than {MAX_INDICATORS} indicators")));
            }
            p.indicators
                .push(parse_indicator(line).map_err(|m| err(n, m))?);
        }
        if p.name.is_empty() {
            p.name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        if p.name.is_empty() {
            return Err(err(0, "the package has no @name".into()));
        }
        Ok(p)
    }

    /// Reads and parses one package file.
    pub fn load_file(path: &Path) -> Result<Package, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            file: path.to_path_buf(),
            line: 0,
            msg: e.to_string(),
        })?;
        Package::parse(&text, path)
    }
}

/// Package files of a directory: `*.csv`, `*.ti` and `*.txt`, by name.
fn package_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let rd = std::fs::read_dir(dir).map_err(|e| LoadError {
        file: dir.to_path_buf(),
        line: 0,
        msg: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| matches!(x.to_str(), Some("csv" | "ti" | "txt")))
        })
        .collect();
    files.sort();
    Ok(files)
}

impl ThreatIntel {
    /// Builds the index over `packages` (a later package with the same name
    /// replaces an earlier one).
    pub fn new(packages: Vec<Package>) -> ThreatIntel {
        let mut ti = ThreatIntel::default();
        for p in packages {
            ti.put(p);
        }
        ti.reindex();
        ti
    }

    fn put(&mut self, p: Package) {
        match self.packages.iter_mut().find(|q| q.name == p.name) {
            Some(q) => *q = p,
            None => self.packages.push(p),
        }
    }

    fn reindex(&mut self) {
        self.ips.clear();
        self.nets.clear();
        self.domains.clear();
        self.urls.clear();
        self.hashes.clear();
        for (pi, p) in self.packages.iter().enumerate() {
            for (ii, ind) in p.indicators.iter().enumerate() {
                let r = (pi as u32, ii as u32);
                match ind.kind {
                    Kind::Ip => match ind.value.split_once('/') {
                        None => {
                            if let Ok(ip) = ind.value.parse() {
                                self.ips.entry(ip).or_insert(r);
                            }
                        }
                        Some((a, pl)) => {
                            let (Ok(ip), Ok(pl)) = (a.parse::<IpAddr>(), pl.parse::<u8>()) else {
                                continue;
                            };
                            let (v6, bits) = ip_bits(ip);
                            let key = (v6, pl);
                            let i = match self.nets.iter().position(|(k, _)| *k == key) {
                                Some(i) => i,
                                None => {
                                    self.nets.push((key, HashMap::new()));
                                    self.nets.len() - 1
                                }
                            };
                            self.nets[i].1.entry(mask(bits, v6, pl)).or_insert(r);
                        }
                    },
                    Kind::Domain => {
                        self.domains.entry(ind.value.as_bytes().into()).or_insert(r);
                    }
                    Kind::Url => {
                        self.urls.entry(ind.value.as_bytes().into()).or_insert(r);
                    }
                    Kind::Sha256 => {
                        if let Some(h) = parse_hex32(&ind.value) {
                            self.hashes.entry(h).or_insert(r);
                        }
                    }
                }
            }
        }
        // Longest prefixes first: the most specific network wins.
        self.nets.sort_by_key(|n| std::cmp::Reverse(n.0.1));
    }

    /// Every package file of `dir` (see [`package_files`]).
    pub fn load_dir(dir: &Path) -> Result<ThreatIntel, LoadError> {
        let mut ps = Vec::new();
        for f in package_files(dir)? {
            ps.push(Package::load_file(&f)?);
        }
        Ok(ThreatIntel::new(ps))
    }

    /// One package file.
    pub fn load_file(path: &Path) -> Result<ThreatIntel, LoadError> {
        Ok(ThreatIntel::new(vec![Package::load_file(path)?]))
    }

    /// Packages from files and directories (in order).
    pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<ThreatIntel, LoadError> {
        let mut ps = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if p.is_dir() {
                for f in package_files(p)? {
                    ps.push(Package::load_file(&f)?);
                }
            } else {
                ps.push(Package::load_file(p)?);
            }
        }
        Ok(ThreatIntel::new(ps))
    }

    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    pub fn is_empty(&self) -> bool {
        self.packages.iter().all(|p| p.indicators.is_empty())
    }

    /// Whether any IP, domain, URL or hash indicator is loaded.
    pub fn has_ips(&self) -> bool {
        !self.ips.is_empty() || !self.nets.is_empty()
    }
    pub fn has_domains(&self) -> bool {
        !self.domains.is_empty()
    }
    pub fn has_urls(&self) -> bool {
        !self.urls.is_empty()
    }
    pub fn has_hashes(&self) -> bool {
        !self.hashes.is_empty()
    }

    fn hit(&self, r: Ref) -> Hit<'_> {
        let p = &self.packages[r.0 as usize];
        let i = &p.indicators[r.1 as usize];
        Hit {
            package: &p.name,
            kind: i.kind,
            value: &i.value,
            label: i.label.as_deref(),
        }
    }

    /// An address, or the most specific network holding it.
    pub fn ip(&self, ip: IpAddr) -> Option<Hit<'_>> {
        if let Some(&r) = self.ips.get(&ip) {
            return Some(self.hit(r));
        }
        let (v6, bits) = ip_bits(ip);
        for ((nv6, pl), m) in &self.nets {
            if *nv6 == v6
                && let Some(&r) = m.get(&mask(bits, v6, *pl))
            {
                return Some(self.hit(r));
            }
        }
        None
    }

    /// A domain name (any case, with or without the trailing dot) or one of
    /// its parent domains. `name` is lower-cased in place by the caller or
    /// not: matching folds ASCII case through a stack buffer.
    pub fn domain(&self, name: &[u8]) -> Option<Hit<'_>> {
        if self.domains.is_empty() || name.is_empty() || name.len() > 255 {
            return None;
        }
        let mut buf = [0u8; 255];
        let name = name.strip_suffix(b".").unwrap_or(name);
        let n = name.len();
        for (o, c) in buf.iter_mut().zip(name) {
            *o = c.to_ascii_lowercase();
        }
        let name = &buf[..n];
        let mut at = 0;
        loop {
            if let Some(&r) = self.domains.get(&name[at..]) {
                return Some(self.hit(r));
            }
            match name[at..].iter().position(|&c| c == b'.') {
                Some(p) => at += p + 1,
                None => return None,
            }
        }
    }

    /// A normalised URL (see [`request_url`]).
    pub fn url(&self, url: &[u8]) -> Option<Hit<'_>> {
        self.urls.get(url).map(|&r| self.hit(r))
    }

    pub fn sha256(&self, h: &[u8; 32]) -> Option<Hit<'_>> {
        self.hashes.get(h).map(|&r| self.hit(r))
    }
}

/// The process-wide handle used by [`crate::builtin`]: `otwatch analyze --ti`
/// loads packages into it; anything holding a clone can update them later.
pub fn global() -> &'static TiHandle {
    static GLOBAL: std::sync::OnceLock<TiHandle> = std::sync::OnceLock::new();
    GLOBAL.get_or_init(TiHandle::default)
}

/// The shareable, replaceable threat intelligence: clone it into the engine
/// and into whatever reloads packages (a file watcher, an API...).
#[derive(Clone, Debug, Default)]
pub struct TiHandle {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    generation: AtomicU64,
    current: RwLock<Arc<ThreatIntel>>,
}

impl TiHandle {
    pub fn new(ti: ThreatIntel) -> TiHandle {
        let h = TiHandle::default();
        h.replace(ti);
        h
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<ThreatIntel> {
        match self.inner.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Changes whenever the indicators change.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    fn set(&self, ti: ThreatIntel) {
        let mut g = match self.inner.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Arc::new(ti);
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Replaces every package.
    pub fn replace(&self, ti: ThreatIntel) {
        self.set(ti);
    }

    /// Adds a package, or replaces the loaded one of the same name.
    pub fn update(&self, p: Package) {
        let cur = self.snapshot();
        let mut ps = cur.packages.clone();
        match ps.iter_mut().find(|q| q.name == p.name) {
            Some(q) => *q = p,
            None => ps.push(p),
        }
        self.set(ThreatIntel::new(ps));
    }

    /// Removes the package `name`; returns whether it was loaded.
    pub fn remove(&self, name: &str) -> bool {
        let cur = self.snapshot();
        let before = cur.packages.len();
        let ps: Vec<Package> = cur
            .packages
            .iter()
            .filter(|p| p.name != name)
            .cloned()
            .collect();
        let removed = ps.len() != before;
        if removed {
            self.set(ThreatIntel::new(ps));
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKG: &str = "\
# test package
@name feed-a
@source unit test
@version 3
ip,203.0.113.7,BlackEnergy
cidr,198.51.100.0/24
cidr,2001:db8:bad::/48,Havex
domain,Evil.Example.,DarkComet
url,HTTP://Bad.Example:80/drop/x.exe?a=1#frag
sha256,275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F,EICAR
";

    fn pkg() -> Package {
        Package::parse(PKG, Path::new("a.csv")).unwrap()
    }

    #[test]
    fn parses_headers_and_indicators() {
        let p = pkg();
        assert_eq!(
            (p.name.as_str(), p.source.as_str(), p.version.as_str()),
            ("feed-a", "unit test", "3")
        );
        assert_eq!(p.indicators.len(), 6);
        assert_eq!(p.indicators[3].value, "evil.example");
        assert_eq!(p.indicators[4].value, "bad.example/drop/x.exe?a=1");
        assert_eq!(p.indicators[0].label.as_deref(), Some("BlackEnergy"));
        assert_eq!(p.indicators[1].label, None);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = Package::parse("@name x\nip,1.2.3.4\nip,300.1.1.1\n", Path::new("/t/f.csv"))
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(
            e.to_string(),
            "/t/f.csv:3: '300.1.1.1' is not an IP address"
        );
        let e = Package::parse("@name x\n\nfoo,bar\n", Path::new("f.csv")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.msg.contains("unknown indicator type"));
        let e = Package::parse("cidr,10.0.0.0/33\n", Path::new("f.csv")).unwrap_err();
        assert_eq!(e.line, 1);
        let e = Package::parse("sha256,abcd\n", Path::new("f.csv")).unwrap_err();
        assert!(e.msg.contains("SHA-256"));
        let e = Package::parse("@color red\n", Path::new("f.csv")).unwrap_err();
        assert!(e.msg.contains("unknown header"));
    }

    #[test]
    fn lookups() {
        let ti = ThreatIntel::new(vec![pkg()]);
        let ip = |s: &str| ti.ip(s.parse().unwrap()).map(|h| h.value.to_string());
        assert_eq!(ip("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(ip("203.0.113.8"), None);
        assert_eq!(ip("198.51.100.200").as_deref(), Some("198.51.100.0/24"));
        assert_eq!(ip("198.51.101.1"), None);
        assert_eq!(
            ip("2001:db8:bad:1::5").as_deref(),
            Some("2001:db8:bad::/48")
        );
        assert_eq!(ip("2001:db8:bae::5"), None);
        assert_eq!(ti.domain(b"EVIL.example").unwrap().label, Some("DarkComet"));
        assert!(ti.domain(b"a.b.evil.example.").is_some());
        assert!(ti.domain(b"notevil.example").is_none());
        assert!(ti.domain(b"example").is_none());
        let mut u = Vec::new();
        request_url(b"BAD.example", b"/drop/x.exe?a=1", &mut u);
        assert!(ti.url(&u).is_some());
        request_url(b"proxy", b"http://bad.example:80/drop/x.exe?a=1", &mut u);
        assert!(ti.url(&u).is_some());
        request_url(b"bad.example", b"/drop/x.exe", &mut u);
        assert!(ti.url(&u).is_none());
        let h = parse_hex32("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f")
            .unwrap();
        assert_eq!(ti.sha256(&h).unwrap().label, Some("EICAR"));
    }

    #[test]
    fn handle_updates_and_removes() {
        let h = TiHandle::default();
        let g0 = h.generation();
        assert!(h.snapshot().is_empty());
        h.update(pkg());
        assert!(h.generation() > g0);
        assert!(h.snapshot().ip("203.0.113.7".parse().unwrap()).is_some());
        // A new version of the same package replaces the old one.
        let v2 = Package::parse("@name feed-a\nip,192.0.2.1\n", Path::new("a.csv")).unwrap();
        h.update(v2);
        let s = h.snapshot();
        assert_eq!(s.packages().len(), 1);
        assert!(s.ip("203.0.113.7".parse().unwrap()).is_none());
        assert!(s.ip("192.0.2.1".parse().unwrap()).is_some());
        assert!(h.remove("feed-a"));
        assert!(!h.remove("feed-a"));
        assert!(h.snapshot().is_empty());
    }

    #[test]
    fn loads_a_directory() {
        let dir = std::env::temp_dir().join(format!("otwatch-ti-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.csv"), PKG).unwrap();
        std::fs::write(dir.join("b.ti"), "@name b\ndomain,c2.example\n").unwrap();
        std::fs::write(dir.join("notes.md"), "not a package").unwrap();
        let ti = ThreatIntel::load_dir(&dir).unwrap();
        assert_eq!(ti.packages().len(), 2);
        assert!(ti.domain(b"x.c2.example").is_some());
        std::fs::write(dir.join("c.csv"), "@name c\nip,1.2.3\n").unwrap();
        let e = ThreatIntel::load_dir(&dir).unwrap_err();
        assert!(e.file.ends_with("c.csv") && e.line == 2, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
