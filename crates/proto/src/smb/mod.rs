//! SMB 1/2/3 over the NetBIOS session service (TCP 139) and direct TCP (445).
//!
//! - `wire`: SMB1 headers with their AndX chains, SMB2 headers (compounds) and
//!   the commands otwatch decodes (negotiate, session setup, tree connect,
//!   create, read/write, ioctl, trans/trans2).
//! - `ntlm`: NTLMSSP, found raw or inside GSS-API/SPNEGO.
//! - this file: the per-flow [`Session`]: NBSS framing (4-byte header), large
//!   frames (reads/writes) are parsed on their first [`PREFIX`] bytes and the
//!   rest is skipped without buffering, 0xFD transform (encrypted) frames are
//!   counted, the negotiated dialect is kept per flow (SMB3 when ≥ 0x0300).

mod json;
pub mod ntlm;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Body, Command, Error};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 445), (Transport::Tcp, 139)];

/// Bytes of a frame parsed at most (headers and command fields live there);
/// the rest of a larger frame (read/write data) is skipped.
pub const PREFIX: usize = 16 * 1024;
/// Largest NBSS frame accepted (SMB2 allows 8 MiB reads/writes plus headers).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Strict content check: an NBSS session message holding an SMB1/SMB2 header.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Tcp
        && data.len() >= 8 + 32
        && data[0] == 0
        && matches!(&data[4..8], [0xff | 0xfe, b'S', b'M', b'B'])
        && frame_len(data).is_some_and(|n| (32..=MAX_FRAME).contains(&n))
}

fn frame_len(b: &[u8]) -> Option<usize> {
    Some(u32::from_be_bytes([0, *b.get(1)?, *b.get(2)?, *b.get(3)?]) as usize)
}

/// A dissected SMB command.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub cmd: Command<'a>,
    /// The dialect negotiated on the flow so far (0 when unknown).
    pub flow_dialect: u16,
    /// The frame was longer than [`PREFIX`]: fields beyond were not seen.
    pub truncated: bool,
}

impl Message<'_> {
    /// 1, 2 or 3 (SMB2 header on a flow that negotiated a 3.x dialect).
    pub fn version(&self) -> u8 {
        match (self.cmd.version, self.flow_dialect) {
            (1, _) => 1,
            (_, d) if d >= 0x0300 && d != 0x02ff => 3,
            _ => 2,
        }
    }
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        match self.cmd.version {
            1 => self.cmd.command,
            _ => 0x100 + self.cmd.command,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let Body::SessionSetup { ntlm: Some(n), .. } = self.cmd.body else {
            if let Body::SessionSetup {
                user,
                domain,
                native_os,
                ..
            } = self.cmd.body
                && !user.is_empty()
            {
                let mut id = Identity::new(Subject::Sender, "smb session setup");
                id.user = Some(user.to_string_lossy().into());
                id.domain = domain.opt().map(|d| d.to_string_lossy().into());
                id.os = native_os.opt().map(|d| d.to_string_lossy().into());
                return Some(id);
            }
            return None;
        };
        let s = |x: ntlm::Str<'_>| x.opt().map(|v| v.to_string_lossy().into());
        match n.msg_type {
            3 => {
                let mut id = Identity::new(Subject::Sender, "ntlmssp authenticate");
                id.hostname = s(n.workstation);
                id.domain = s(n.domain);
                id.user = s(n.user);
                id.os = n.version.and_then(ntlm::os_name).map(Into::into);
                Some(id)
            }
            2 => {
                let mut id = Identity::new(Subject::Sender, "ntlmssp challenge");
                id.hostname = ntlm::av(n.target_info, ntlm::AV_NB_COMPUTER)
                    .or_else(|| ntlm::av(n.target_info, ntlm::AV_DNS_COMPUTER))
                    .and_then(s);
                id.domain = ntlm::av(n.target_info, ntlm::AV_NB_DOMAIN)
                    .or(n.target_name.opt())
                    .and_then(s);
                id.os = n.version.and_then(ntlm::os_name).map(Into::into);
                Some(id)
            }
            _ => None,
        }
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    /// Per direction: bytes of the current frame still to skip.
    skip: [usize; 2],
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    dialect: u16,
    /// Encrypted (0xFD transform) frames seen.
    pub encrypted_frames: u64,
    /// NetBIOS session service control messages (request, response, keepalive).
    pub nbss_control: u64,
    files: Files,
}

/// Read requests remembered until their response (its data has no handle).
const MAX_READS: usize = 16;
/// Create requests remembered until their response, and open handles whose
/// name is known.
const MAX_NAMES: usize = 32;
/// Longest file name kept.
const MAX_NAME: usize = 512;

/// File tracking for `File` events: names by handle, reads by message id,
/// and the data of a read/write frame beyond [`PREFIX`].
#[derive(Debug, Default)]
struct Files {
    /// (message id, offset of the read, handle).
    reads: [(u64, u64, u64); MAX_READS],
    next_read: usize,
    /// (message id, name) of create requests.
    creates: Vec<(u64, Vec<u8>)>,
    /// (handle, name) of opened files.
    names: Vec<(u64, Vec<u8>)>,
    /// Per direction: data of the frame being skipped.
    cont: [Option<Cont>; 2],
}

/// Data of a large read/write frame that lies beyond the parsed prefix.
#[derive(Clone, Copy, Debug)]
struct Cont {
    fid: u64,
    /// Frame positions (counted from the NBSS header) of the data still to
    /// report; `skip_total` is the frame's size (the initial skip).
    lo: usize,
    hi: usize,
    skip_total: usize,
    /// File offset of the byte at `lo`.
    offset: u64,
}

fn remember<T>(v: &mut Vec<(u64, T)>, k: u64, x: T) {
    if let Some(e) = v.iter_mut().find(|e| e.0 == k) {
        e.1 = x;
        return;
    }
    if v.len() == MAX_NAMES {
        v.remove(0);
    }
    v.push((k, x));
}

impl Files {
    /// File events for one command; `frame` is the parsed prefix of a frame
    /// of `len` bytes (NBSS header excluded).
    fn on_command(
        &mut self,
        d: usize,
        c: &Command<'_>,
        frame: &[u8],
        len: usize,
        cx: &mut Ctx<'_>,
    ) {
        match c.body {
            Body::Create { name } if !c.response => {
                let mut n: Vec<u8> = name.to_string_lossy().into_bytes();
                n.truncate(MAX_NAME);
                remember(&mut self.creates, c.message_id, n);
            }
            Body::CreateResponse { fid } if c.status == 0 => {
                if let Some(i) = self.creates.iter().position(|e| e.0 == c.message_id) {
                    let (_, n) = self.creates.swap_remove(i);
                    remember(&mut self.names, fid, n);
                }
            }
            Body::Close { fid } if !c.response => {
                let name = self.names.iter().position(|e| e.0 == fid);
                let n = name.map(|i| self.names.swap_remove(i).1);
                cx.file(Proto::Smb, fid, n.as_deref(), 0, &[], true);
            }
            Body::Read { fid, offset, .. } if !c.response => {
                self.reads[self.next_read] = (c.message_id, offset, fid);
                self.next_read = (self.next_read + 1) % MAX_READS;
            }
            Body::Read { len: dl, data, .. } if c.response && c.status == 0 => {
                let Some(r) = self
                    .reads
                    .iter_mut()
                    .find(|r| r.0 == c.message_id && r.2 != 0)
                else {
                    return;
                };
                let (_, offset, fid) = *r;
                *r = (0, 0, 0);
                self.data(d, fid, offset, dl, data, frame, len, cx);
            }
            Body::Write {
                len: dl,
                offset,
                fid,
                data,
            } if !c.response => self.data(d, fid, offset, dl, data, frame, len, cx),
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn data(
        &mut self,
        d: usize,
        fid: u64,
        offset: u64,
        dl: u32,
        data: &[u8],
        frame: &[u8],
        len: usize,
        cx: &mut Ctx<'_>,
    ) {
        if data.is_empty() && dl == 0 {
            return;
        }
        let name = self.names.iter().find(|e| e.0 == fid).map(|e| &e.1[..]);
        if !data.is_empty() {
            cx.file(Proto::Smb, fid, name, offset, data, false);
        }
        // Where the data starts in the frame: from the slice position, or
        // (nothing of it parsed) at the end of the prefix.
        let start = if data.is_empty() {
            frame.len()
        } else {
            data.as_ptr() as usize - frame.as_ptr() as usize
        };
        let end = (start + dl as usize).min(len);
        let seen = start + data.len();
        if end > seen && seen >= frame.len() {
            self.cont[d] = Some(Cont {
                fid,
                lo: 4 + seen,
                hi: 4 + end,
                skip_total: 4 + len,
                offset: offset + data.len() as u64,
            });
        }
    }

    /// `skipped` bytes of the current frame were skipped; `left` remain.
    fn skipped(&mut self, d: usize, bytes: &[u8], left: usize, cx: &mut Ctx<'_>) {
        let Some(c) = self.cont[d].as_mut() else {
            return;
        };
        let pos = c.skip_total - left - bytes.len();
        let lo = c.lo.max(pos);
        let hi = c.hi.min(pos + bytes.len());
        if lo < hi {
            let piece = &bytes[lo - pos..hi - pos];
            let (fid, at) = (c.fid, c.offset + (lo - c.lo) as u64);
            let name = self.names.iter().find(|e| e.0 == fid).map(|e| &e.1[..]);
            cx.file(Proto::Smb, fid, name, at, piece, false);
        }
        if left == 0 || pos + bytes.len() >= c.hi {
            self.cont[d] = None;
        }
    }
}

fn plausible(b: &[u8]) -> bool {
    b.len() >= 8
        && b[0] == 0
        && matches!(&b[4..8], [0xfd..=0xff, b'S', b'M', b'B'])
        && frame_len(b).is_some_and(|n| (32..=MAX_FRAME).contains(&n))
}

fn at_boundary(b: &[u8]) -> bool {
    plausible(b)
        || b.len() >= 4 && matches!(b[0], 0x81..=0x85) && frame_len(b).is_some_and(|n| n < 1024)
}

fn find_frame(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(7)).find(|&i| b[i + 5] == b'S' && b[i] == 0 && plausible(&b[i..]))
}

impl Session {
    fn frame(&mut self, d: usize, frame: &[u8], len: usize, cx: &mut Ctx<'_>) {
        let truncated = frame.len() < len;
        let kind_of = |r: bool| {
            if r {
                MsgKind::Response
            } else {
                MsgKind::Request
            }
        };
        match frame.get(..4) {
            Some([0xff, b'S', b'M', b'B']) => {
                let mut msgs: [Option<Command<'_>>; 8] = [None; 8];
                let mut n = 0;
                let r = wire::parse_smb1(frame, |c| {
                    if n < msgs.len() {
                        msgs[n] = Some(c);
                        n += 1;
                    }
                });
                for c in msgs.iter().flatten() {
                    cx.message(
                        kind_of(c.response),
                        crate::Message::Smb(Message {
                            cmd: *c,
                            flow_dialect: self.dialect,
                            truncated,
                        }),
                    );
                    self.files.on_command(d, c, frame, len, cx);
                }
                if let Err(e) = r {
                    let fc = frame.get(4).map(|&c| c as u16);
                    cx.malformed(Proto::Smb, e.code(), &e, fc, &frame[..frame.len().min(128)]);
                }
            }
            Some([0xfe, b'S', b'M', b'B']) => {
                let mut at = 0;
                for _ in 0..64 {
                    let Some(pdu) = frame.get(at..) else { break };
                    match wire::parse_smb2(pdu) {
                        Ok((c, next)) => {
                            if let Body::NegotiateResponse { dialect } = c.body
                                && c.status == 0
                            {
                                self.dialect = dialect;
                            }
                            cx.message(
                                kind_of(c.response),
                                crate::Message::Smb(Message {
                                    cmd: c,
                                    flow_dialect: self.dialect,
                                    truncated,
                                }),
                            );
                            if next.is_none() && at == 0 {
                                self.files.on_command(d, &c, frame, len, cx);
                            } else {
                                // Compounded: positions relative to this PDU.
                                let l = len.saturating_sub(at);
                                self.files.on_command(d, &c, pdu, l, cx);
                                self.files.cont[d] = None;
                            }
                            match next {
                                Some(k) => at += k,
                                None => break,
                            }
                        }
                        Err(Error::ShortHeader(_)) if truncated && at > 0 => break,
                        Err(e) => {
                            let fc = crate::wire::le16_at(pdu, 12).map(|c| 0x100 + c);
                            cx.malformed(Proto::Smb, e.code(), &e, fc, &pdu[..pdu.len().min(128)]);
                            break;
                        }
                    }
                }
            }
            Some([0xfd, b'S', b'M', b'B']) | Some([0xfc, b'S', b'M', b'B']) => {
                self.encrypted_frames += 1;
            }
            _ => {
                let mut id = [0u8; 4];
                let k = frame.len().min(4);
                id[..k].copy_from_slice(&frame[..k]);
                let e = if frame.len() < 4 {
                    Error::ShortHeader(frame.len())
                } else {
                    Error::BadProtocolId(id)
                };
                if !self.reported[d] {
                    cx.malformed(
                        Proto::Smb,
                        e.code(),
                        &e,
                        None,
                        &frame[..frame.len().min(128)],
                    );
                }
            }
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !at_boundary(data) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        let mut off = 0;
        loop {
            if self.skip[d] > 0 {
                let k = self.skip[d].min(data.len() - off);
                self.skip[d] -= k;
                if self.files.cont[d].is_some() {
                    self.files.skipped(d, &data[off..off + k], self.skip[d], cx);
                }
                off += k;
                if self.skip[d] > 0 {
                    break;
                }
            }
            let rest = &data[off..];
            if rest.len() < 4 {
                break;
            }
            if self.resync[d] && !plausible(rest) {
                if rest.len() < 8 {
                    break;
                }
                match find_frame(&rest[1..]) {
                    Some(k) => off += 1 + k,
                    None => {
                        off = data.len() - 7;
                        break;
                    }
                }
                continue;
            }
            let t = rest[0];
            let Some(len) = frame_len(rest) else { break };
            if !matches!(t, 0x00 | 0x81..=0x85) || len > MAX_FRAME {
                if !self.reported[d] {
                    let e = Error::BadNbssType(t);
                    cx.malformed(Proto::Smb, e.code(), &e, None, &rest[..rest.len().min(64)]);
                    self.reported[d] = true;
                }
                self.resync[d] = true;
                off += 1;
                continue;
            }
            self.resync[d] = false;
            if t != 0 {
                // Session request/response/keepalive (port 139): small, skipped.
                self.nbss_control += 1;
                self.skip[d] = 4 + (len & 0x1ffff);
                continue;
            }
            let want = len.min(PREFIX);
            if rest.len() < 4 + want {
                break;
            }
            self.files.cont[d] = None;
            self.frame(d, &rest[4..4 + want], len, cx);
            self.reported[d] = false;
            self.skip[d] = 4 + len;
        }
        off
    }

    fn on_gap(&mut self, len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        // Lost file bytes: the rest of the frame is not reported.
        self.files.cont[d] = None;
        if self.skip[d] > len as usize {
            self.skip[d] -= len as usize;
            return;
        }
        self.skip[d] = 0;
        self.resync[d] = true;
        self.reported[d] = true;
    }
}

#[cfg(test)]
mod tests;
