//! The recorder: the packet ring, the captures being collected and the
//! directory of finished pcap files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use hashbrown::HashMap;
use otwatch_capture::{LinkType, Packet};
use otwatch_core::{FlowId, Timestamp};

use crate::pcap::{self, FILE_HEADER};
use crate::ring::PacketRing;
use crate::{EvidenceConfig, EvidenceError};

/// A pcap file written for an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub alert_id: String,
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    pub packets: u64,
}

/// What finishing captures and keeping the directory cap did.
#[derive(Debug, Default)]
pub struct Report {
    /// Files written (`pcap_available` becomes true).
    pub written: Vec<Written>,
    /// Alerts whose file was removed by the directory cap (`pcap_available`
    /// becomes false).
    pub removed: Vec<String>,
    /// Captures that found no packet: no file is written.
    pub empty: Vec<String>,
    /// Captures whose file could not be written, or files that could not be
    /// removed, with the reason.
    pub failed: Vec<(String, EvidenceError)>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
            && self.removed.is_empty()
            && self.empty.is_empty()
            && self.failed.is_empty()
    }

    fn append(&mut self, mut o: Report) {
        self.written.append(&mut o.written);
        self.removed.append(&mut o.removed);
        self.empty.append(&mut o.empty);
        self.failed.append(&mut o.failed);
    }
}

/// Recorder counters (for Prometheus).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvidenceStats {
    /// Packets and bytes in the ring now.
    pub ring_packets: u64,
    pub ring_bytes: u64,
    /// Packets overwritten in the ring by newer ones.
    pub ring_overwritten: u64,
    /// Flows indexed in the ring now.
    pub ring_flows: u64,
    /// Packets of a new flow that found the flow index full.
    pub index_full: u64,
    /// Captures collecting now.
    pub pending: u64,
    pub requested: u64,
    /// Files written, and their bytes.
    pub written: u64,
    pub written_bytes: u64,
    /// Captures finished before their window ended (too many pending).
    pub finished_early: u64,
    /// Captures that found no packet (no file).
    pub empty: u64,
    /// Files removed by the directory cap.
    pub evicted: u64,
    /// Files removed because their alert was deleted.
    pub removed: u64,
    /// Packets left out of a capture: another link type than the capture's.
    pub skipped_link: u64,
    /// Packets left out of a capture: its packet or byte cap was reached.
    pub skipped_cap: u64,
    /// Files that could not be written or removed.
    pub io_errors: u64,
    /// Files in the directory and their total size.
    pub dir_files: u64,
    pub dir_bytes: u64,
}

/// One capture being collected.
struct Capture {
    alert_id: String,
    flows: Vec<FlowId>,
    ips: (Option<IpAddr>, Option<IpAddr>),
    until: Timestamp,
    link: Option<LinkType>,
    /// Records (headers and bytes), without the file header.
    buf: Vec<u8>,
    packets: u64,
    max_packets: u64,
    max_bytes: u64,
    full: bool,
}

/// Whether `(src, dst)` is the pair asked for (either direction), or
/// involves the one address given.
fn ips_match(want: (Option<IpAddr>, Option<IpAddr>), pair: (IpAddr, IpAddr)) -> bool {
    match want {
        (Some(a), Some(b)) => pair == (a, b) || pair == (b, a),
        (Some(a), None) | (None, Some(a)) => pair.0 == a || pair.1 == a,
        (None, None) => false,
    }
}

/// Without the buffered records (up to megabytes).
impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("alert_id", &self.alert_id)
            .field("flows", &self.flows)
            .field("ips", &self.ips)
            .field("until", &self.until)
            .field("packets", &self.packets)
            .field("bytes", &(FILE_HEADER + self.buf.len()))
            .field("full", &self.full)
            .finish()
    }
}

impl Capture {
    /// Adds one packet unless the link type differs or a cap is reached.
    fn offer(
        &mut self,
        ts: Timestamp,
        link: LinkType,
        data: &[u8],
        orig_len: u32,
        st: &mut EvidenceStats,
    ) {
        if self.full {
            st.skipped_cap += 1;
            return;
        }
        match self.link {
            Some(l) if l != link => {
                st.skipped_link += 1;
                return;
            }
            Some(_) => {}
            None => self.link = Some(link),
        }
        let size = pcap::record_size(data.len());
        if self.packets + 1 > self.max_packets
            || (FILE_HEADER + self.buf.len()) as u64 + size > self.max_bytes
        {
            self.full = true;
            st.skipped_cap += 1;
            return;
        }
        pcap::push_record(&mut self.buf, ts, data, orig_len);
        self.packets += 1;
    }
}

/// The files in the directory, oldest first.
#[derive(Debug, Default)]
struct Files {
    /// Age (insertion order) -> (alert id, bytes).
    by_age: BTreeMap<u64, (String, u64)>,
    age_of: HashMap<String, u64>,
    total: u64,
    next_age: u64,
}

impl Files {
    fn add(&mut self, id: String, bytes: u64) {
        self.forget(&id);
        let age = self.next_age;
        self.next_age += 1;
        self.age_of.insert(id.clone(), age);
        self.by_age.insert(age, (id, bytes));
        self.total += bytes;
    }

    /// Drops an entry; returns whether there was one.
    fn forget(&mut self, id: &str) -> bool {
        let Some(age) = self.age_of.remove(id) else {
            return false;
        };
        if let Some((_, b)) = self.by_age.remove(&age) {
            self.total -= b;
        }
        true
    }

    fn oldest(&self) -> Option<&str> {
        self.by_age.values().next().map(|(id, _)| id.as_str())
    }
}

/// Checks that an alert id can name a file: 1 to 128 ASCII letters,
/// digits, `-`, `_` or `.`, not starting with a dot.
pub fn check_alert_id(id: &str) -> Result<(), EvidenceError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(EvidenceError::BadAlertId(id.chars().take(160).collect()))
    }
}

/// Keeps recent packets and turns alert requests into pcap files.
///
/// The caller runs, per packet: [`Recorder::on_packet`] with the flow the
/// pipeline assigned, then [`Recorder::request`] for every new alert of that
/// packet, and now and then [`Recorder::poll`] with the capture time;
/// [`Recorder::finish_all`] at shutdown.
#[derive(Debug)]
pub struct Recorder {
    cfg: EvidenceConfig,
    dir: PathBuf,
    ring: PacketRing,
    /// Oldest request first.
    pending: Vec<Capture>,
    files: Files,
    /// Results produced outside `poll` (early finishes, the start-up scan).
    outbox: Report,
    stats: EvidenceStats,
    scratch: Vec<u64>,
}

impl Recorder {
    /// A recorder writing into `dir` (created if missing). Files already
    /// there count against the directory cap, oldest (by modification time)
    /// first; if they exceed it, the oldest are removed and reported by the
    /// next [`Recorder::poll`]. Temporary files of an interrupted write are
    /// deleted.
    pub fn new(dir: impl Into<PathBuf>, cfg: EvidenceConfig) -> Result<Recorder, EvidenceError> {
        cfg.validate()?;
        let dir = dir.into();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EvidenceError::Io { path, source }
        };
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut found = Vec::new();
        for e in fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = e.path();
            if name.starts_with('.') && name.ends_with(".pcap.tmp") {
                fs::remove_file(&path).map_err(io(&path))?;
                continue;
            }
            let Some(id) = name.strip_suffix(".pcap") else {
                continue;
            };
            if check_alert_id(id).is_err() {
                continue;
            }
            let meta = e.metadata().map_err(io(&path))?;
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().ok();
            found.push((mtime, id.to_string(), meta.len()));
        }
        found.sort();
        let mut r = Recorder {
            ring: PacketRing::new(cfg.ring_bytes, cfg.ring_packets, cfg.max_flows),
            pending: Vec::with_capacity(cfg.max_pending),
            files: Files::default(),
            outbox: Report::default(),
            stats: EvidenceStats::default(),
            scratch: Vec::new(),
            dir,
            cfg,
        };
        for (_, id, bytes) in found {
            r.files.add(id, bytes);
        }
        let mut rep = Report::default();
        r.enforce_cap(None, &mut rep);
        r.outbox.append(rep);
        Ok(r)
    }

    pub fn config(&self) -> &EvidenceConfig {
        &self.cfg
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ring(&self) -> &PacketRing {
        &self.ring
    }

    /// The file of an alert's capture.
    pub fn file_path(&self, alert_id: &str) -> PathBuf {
        self.dir.join(format!("{alert_id}.pcap"))
    }

    fn tmp_path(&self, alert_id: &str) -> PathBuf {
        self.dir.join(format!(".{alert_id}.pcap.tmp"))
    }

    /// The stored file of an alert, if there is one.
    pub fn stored(&self, alert_id: &str) -> Option<PathBuf> {
        self.files
            .age_of
            .contains_key(alert_id)
            .then(|| self.file_path(alert_id))
    }

    /// Alert ids with a stored file, oldest first (to reconcile
    /// `pcap_available` after a restart).
    pub fn stored_ids(&self) -> impl Iterator<Item = &str> {
        self.files.by_age.values().map(|(id, _)| id.as_str())
    }

    /// Whether a capture for the alert is still collecting.
    pub fn is_pending(&self, alert_id: &str) -> bool {
        self.pending.iter().any(|c| c.alert_id == alert_id)
    }

    pub fn stats(&self) -> EvidenceStats {
        let r = self.ring.stats();
        EvidenceStats {
            ring_packets: r.packets,
            ring_bytes: r.bytes,
            ring_overwritten: r.overwritten,
            ring_flows: self.ring.flows() as u64,
            index_full: r.index_full,
            pending: self.pending.len() as u64,
            dir_files: self.files.by_age.len() as u64,
            dir_bytes: self.files.total,
            ..self.stats
        }
    }

    /// Buffers one packet and adds it to every capture that wants it.
    #[inline]
    pub fn on_packet(&mut self, pkt: &Packet<'_>, flow: Option<FlowId>) {
        self.ring
            .push(pkt.ts, pkt.link, pkt.data, pkt.orig_len, flow);
        if self.pending.is_empty() {
            return;
        }
        // The IP pair is decoded only if a capture without a flow needs it.
        let mut pair: Option<Option<(IpAddr, IpAddr)>> = None;
        for c in &mut self.pending {
            if pkt.ts > c.until {
                continue;
            }
            let wanted = if c.flows.is_empty() {
                let p = *pair.get_or_insert_with(|| pcap::ip_pair(pkt.link, pkt.data));
                p.is_some_and(|p| ips_match(c.ips, p))
            } else {
                flow.is_some_and(|f| c.flows.contains(&f))
            };
            if wanted {
                c.offer(pkt.ts, pkt.link, pkt.data, pkt.orig_len, &mut self.stats);
            }
        }
    }

    /// Starts the capture of an alert detected at `ts`: the buffered packets
    /// of `flows` from `ts - pre` (or, with no flow, the packets between the
    /// two addresses, or to and from the one address given), then every
    /// later packet of them until capture time passes `ts + post`. A request
    /// for an alert already collecting adds the flows and extends the
    /// window. `FlowId(0)` (the transient flow of link-layer frames) counts
    /// as no flow. The buffered packets may use at most three quarters of the
    /// capture's caps, so that packets after the detection fit too.
    pub fn request(
        &mut self,
        alert_id: &str,
        flows: &[FlowId],
        ips: (Option<IpAddr>, Option<IpAddr>),
        ts: Timestamp,
    ) -> Result<(), EvidenceError> {
        check_alert_id(alert_id)?;
        // Flow 0 is the transient flow of link-layer frames (GOOSE, LLDP...),
        // never one the flow table assigns: such frames are not chained.
        let real = |f: &&FlowId| f.0 != 0;
        if !flows.iter().any(|f| real(&f)) && ips.0.is_none() && ips.1.is_none() {
            return Err(EvidenceError::NothingToCapture(alert_id.to_string()));
        }
        self.stats.requested += 1;
        let until = ts.add_nanos(self.cfg.post_ns());
        if let Some(c) = self.pending.iter_mut().find(|c| c.alert_id == alert_id) {
            for f in flows.iter().filter(real) {
                if !c.flows.contains(f) {
                    c.flows.push(*f);
                }
            }
            if until > c.until {
                c.until = until;
            }
            return Ok(());
        }
        if self.pending.len() >= self.cfg.max_pending {
            let c = self.pending.remove(0);
            self.stats.finished_early += 1;
            let mut rep = Report::default();
            self.finish(c, &mut rep);
            self.outbox.append(rep);
        }
        let mut c = Capture {
            alert_id: alert_id.to_string(),
            flows: flows.iter().filter(real).copied().collect(),
            ips,
            until,
            link: None,
            buf: Vec::with_capacity((self.cfg.capture_bytes as usize).min(64 * 1024)),
            packets: 0,
            max_packets: self.cfg.capture_packets as u64,
            max_bytes: self.cfg.capture_bytes,
            full: false,
        };
        self.backfill(&mut c, ts.add_nanos(-self.cfg.pre_ns()), until);
        self.pending.push(c);
        Ok(())
    }

    /// Adds the buffered packets of a new capture between `from` and
    /// `until` (a late request may find packets past its window).
    fn backfill(&mut self, c: &mut Capture, from: Timestamp, until: Timestamp) {
        let mut seqs = std::mem::take(&mut self.scratch);
        seqs.clear();
        if c.flows.is_empty() {
            for r in self.ring.iter_newest_first() {
                if r.ts < from {
                    break;
                }
                let data = self.ring.data(r);
                if pcap::ip_pair(r.link, data).is_some_and(|p| ips_match(c.ips, p)) {
                    seqs.push(r.seq);
                }
            }
        } else {
            for f in &c.flows {
                self.ring.flow_packets(*f, from, &mut seqs);
            }
            seqs.sort_unstable_by(|a, b| b.cmp(a));
            seqs.dedup();
        }
        seqs.retain(|&s| self.ring.get(s).is_some_and(|r| r.ts <= until));
        // Newest first: the capture's link type is the newest packet's (the
        // detection's); keep as many as fit in three quarters of the caps.
        let link = seqs.first().and_then(|&s| self.ring.get(s)).map(|r| r.link);
        let before = seqs.len();
        seqs.retain(|&s| self.ring.get(s).is_some_and(|r| Some(r.link) == link));
        self.stats.skipped_link += (before - seqs.len()) as u64;
        let max_packets = (c.max_packets * 3 / 4).max(1);
        let max_bytes = c.max_bytes * 3 / 4;
        let (mut n, mut bytes, mut cut) = (0u64, FILE_HEADER as u64, 0);
        for &s in &seqs {
            let Some(r) = self.ring.get(s) else { break };
            let size = pcap::record_size(r.len_kept());
            if n + 1 > max_packets || bytes + size > max_bytes {
                break;
            }
            n += 1;
            bytes += size;
            cut += 1;
        }
        self.stats.skipped_cap += (seqs.len() - cut) as u64;
        c.link = link;
        for &s in seqs[..cut].iter().rev() {
            if let Some(&r) = self.ring.get(s) {
                c.offer(
                    r.ts,
                    r.link,
                    self.ring.data(&r),
                    r.orig_len,
                    &mut self.stats,
                );
            }
        }
        self.scratch = seqs;
    }

    /// Finishes the captures whose window has passed at capture time `now`
    /// (or whose caps are reached), writes their files and keeps the
    /// directory under its cap.
    pub fn poll(&mut self, now: Timestamp) -> Report {
        let mut rep = std::mem::take(&mut self.outbox);
        let mut i = 0;
        while i < self.pending.len() {
            let c = &self.pending[i];
            if now > c.until || c.full {
                let c = self.pending.remove(i);
                self.finish(c, &mut rep);
            } else {
                i += 1;
            }
        }
        rep
    }

    /// Finishes every capture now (shutdown, end of input).
    pub fn finish_all(&mut self) -> Report {
        let mut rep = std::mem::take(&mut self.outbox);
        for c in std::mem::take(&mut self.pending) {
            self.finish(c, &mut rep);
        }
        rep
    }

    /// Forgets an alert's capture (the alert was deleted): a pending
    /// capture is dropped and the file removed. Returns whether there was
    /// a file.
    pub fn remove(&mut self, alert_id: &str) -> Result<bool, EvidenceError> {
        check_alert_id(alert_id)?;
        self.pending.retain(|c| c.alert_id != alert_id);
        if !self.files.forget(alert_id) {
            return Ok(false);
        }
        let path = self.file_path(alert_id);
        self.stats.removed += 1;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(source) => {
                self.stats.io_errors += 1;
                Err(EvidenceError::Io { path, source })
            }
        }
    }

    fn finish(&mut self, c: Capture, rep: &mut Report) {
        let Some(link) = c.link.filter(|_| c.packets > 0) else {
            self.stats.empty += 1;
            rep.empty.push(c.alert_id);
            return;
        };
        match self.write(&c, link) {
            Ok(bytes) => {
                self.stats.written += 1;
                self.stats.written_bytes += bytes;
                self.files.add(c.alert_id.clone(), bytes);
                rep.written.push(Written {
                    path: self.file_path(&c.alert_id),
                    alert_id: c.alert_id.clone(),
                    bytes,
                    packets: c.packets,
                });
                self.enforce_cap(Some(&c.alert_id), rep);
            }
            Err(e) => {
                self.stats.io_errors += 1;
                rep.failed.push((c.alert_id, e));
            }
        }
    }

    /// Writes the file through a temporary name and a rename, so a reader
    /// never sees half a file.
    fn write(&self, c: &Capture, link: LinkType) -> Result<u64, EvidenceError> {
        let tmp = self.tmp_path(&c.alert_id);
        let path = self.file_path(&c.alert_id);
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| EvidenceError::Io { path: p, source }
        };
        let res = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&pcap::file_header(link))?;
            f.write_all(&c.buf)?;
            f.sync_all()
        })();
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io(&path)(e)
        })?;
        Ok((FILE_HEADER + c.buf.len()) as u64)
    }

    /// Removes the oldest files while the directory is over its cap (never
    /// `keep`, the file just written).
    fn enforce_cap(&mut self, keep: Option<&str>, rep: &mut Report) {
        while self.files.total > self.cfg.dir_bytes {
            let Some(id) = self.files.oldest().map(str::to_string) else {
                break;
            };
            if Some(id.as_str()) == keep && self.files.by_age.len() == 1 {
                break;
            }
            self.files.forget(&id);
            let path = self.file_path(&id);
            self.stats.evicted += 1;
            match fs::remove_file(&path) {
                Ok(()) => rep.removed.push(id),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => rep.removed.push(id),
                Err(source) => {
                    self.stats.io_errors += 1;
                    rep.removed.push(id.clone());
                    rep.failed.push((id, EvidenceError::Io { path, source }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
