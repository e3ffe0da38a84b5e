//! Pure parsing of SMB1 and SMB2/3 headers and the commands otwatch decodes.

use std::fmt;

use super::ntlm::{self, Ntlm, Str};
use crate::wire::{Cursor, le16_at};

pub const SMB1_HEADER: usize = 32;
pub const SMB2_HEADER: usize = 64;
pub const TRANSFORM_HEADER: usize = 52;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// NBSS message type not 0x00/0x81–0x85.
    BadNbssType(u8),
    /// The NBSS payload does not start with \xffSMB, \xfeSMB or \xfdSMB.
    BadProtocolId([u8; 4]),
    /// Header shorter than the fixed SMB header.
    ShortHeader(usize),
    /// SMB2 StructureSize not 64.
    BadStructureSize(u16),
    /// SMB2 NextCommand pointing outside the frame or not 8-aligned.
    BadNextCommand(u32),
    /// SMB1 WordCount/ByteCount beyond the frame.
    BadWordCount(u8),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadNbssType(_) => "bad_nbss_type",
            Error::BadProtocolId(_) => "bad_protocol_id",
            Error::ShortHeader(_) => "short_header",
            Error::BadStructureSize(_) => "bad_structure_size",
            Error::BadNextCommand(_) => "bad_next_command",
            Error::BadWordCount(_) => "bad_word_count",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadNbssType(t) => write!(f, "NetBIOS session message type 0x{t:02x} unknown"),
            Error::BadProtocolId(p) => write!(
                f,
                "protocol id {:02x}{:02x}{:02x}{:02x}, expected ff/fe/fd 'SMB'",
                p[0], p[1], p[2], p[3]
            ),
            Error::ShortHeader(n) => {
                write!(f, "SMB message of {n} bytes is shorter than its header")
            }
            Error::BadStructureSize(s) => write!(f, "SMB2 header StructureSize {s}, expected 64"),
            Error::BadNextCommand(n) => {
                write!(
                    f,
                    "SMB2 NextCommand {n} outside the frame or not 8-byte aligned"
                )
            }
            Error::BadWordCount(w) => write!(f, "SMB1 WordCount {w} exceeds the message"),
        }
    }
}

/// What a command carries (only the fields otwatch reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Body<'a> {
    #[default]
    None,
    /// SMB1: the dialect strings block (0x02 "name" NUL)*; SMB2: u16 LE dialects.
    Negotiate {
        dialects: &'a [u8],
    },
    /// SMB2 selected dialect, or SMB1 selected dialect index.
    NegotiateResponse {
        dialect: u16,
    },
    SessionSetup {
        ntlm: Option<Ntlm<'a>>,
        /// SMB1 without extended security: account and domain.
        user: Str<'a>,
        domain: Str<'a>,
        native_os: Str<'a>,
    },
    TreeConnect {
        path: Str<'a>,
    },
    Create {
        name: Str<'a>,
    },
    /// SMB1 NT_CREATE_ANDX / SMB2 CREATE response: the file handle.
    CreateResponse {
        fid: u64,
    },
    /// `fid`: SMB1 FID or SMB2 FileId (persistent ^ volatile), 0 on responses;
    /// `data`: the read response's data within the parsed bytes.
    Read {
        len: u32,
        offset: u64,
        fid: u64,
        data: &'a [u8],
    },
    /// `data`: the write request's data within the parsed bytes.
    Write {
        len: u32,
        offset: u64,
        fid: u64,
        data: &'a [u8],
    },
    /// SMB1 CLOSE / SMB2 CLOSE request.
    Close {
        fid: u64,
    },
    Ioctl {
        ctl_code: u32,
    },
    Trans2 {
        subcommand: u16,
    },
    /// SMB1 TRANSACTION request: the pipe / mailslot name and, when the
    /// request has setup words, the first two (named pipes: the
    /// subcommand and the FID).
    Trans {
        name: Str<'a>,
        setup: Option<(u16, u16)>,
    },
    /// SMB1 NT_TRANSACT request: the function (subcommand) and the data
    /// counts (total announced, carried in this request).
    NtTrans {
        function: u16,
        total_data: u32,
        data_count: u32,
    },
}

/// One SMB command (an SMB2 header, or an SMB1 header / AndX chained command).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Command<'a> {
    /// 1 or 2 (SMB2 and SMB3 share the header).
    pub version: u8,
    pub command: u16,
    /// NT status (SMB1 with NT status flag, SMB2).
    pub status: u32,
    pub flags: u32,
    pub response: bool,
    pub tree_id: u32,
    /// SMB1 UID or SMB2 SessionId.
    pub session_id: u64,
    /// SMB1 MID or SMB2 MessageId.
    pub message_id: u64,
    pub process_id: u32,
    /// SMB2 credits requested/granted.
    pub credits: u16,
    /// SMB1: this command came from an AndX chain (not the header command).
    pub chained: bool,
    pub body: Body<'a>,
}

/// Reads a NUL-terminated string at `off` (UTF-16 aligned relative to `base`).
fn cstr(b: &[u8], off: usize, utf16: bool) -> (Str<'_>, usize) {
    let Some(rest) = b.get(off..) else {
        return (Str::default(), off);
    };
    if utf16 {
        let mut i = 0;
        while i + 1 < rest.len() && (rest[i] != 0 || rest[i + 1] != 0) {
            i += 2;
        }
        let end = (i + 2).min(rest.len());
        (
            Str {
                bytes: &rest[..i.min(rest.len())],
                utf16: true,
            },
            off + end,
        )
    } else {
        let i = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        (
            Str {
                bytes: &rest[..i],
                utf16: false,
            },
            off + (i + 1).min(rest.len()),
        )
    }
}

/// SMB1: the header plus every AndX-chained command, reported through `f`.
pub fn parse_smb1<'a>(pdu: &'a [u8], mut f: impl FnMut(Command<'a>)) -> Result<(), Error> {
    if pdu.len() < SMB1_HEADER + 1 {
        return Err(Error::ShortHeader(pdu.len()));
    }
    let cmd = pdu[4];
    let status = u32::from_le_bytes([pdu[5], pdu[6], pdu[7], pdu[8]]);
    let flags = pdu[9];
    let flags2 = le16_at(pdu, 10).unwrap_or(0);
    let unicode = flags2 & 0x8000 != 0;
    let response = flags & 0x80 != 0;
    let pid_high = le16_at(pdu, 12).unwrap_or(0) as u32;
    let tid = le16_at(pdu, 24).unwrap_or(0) as u32;
    let pid = le16_at(pdu, 26).unwrap_or(0) as u32 | pid_high << 16;
    let uid = le16_at(pdu, 28).unwrap_or(0) as u64;
    let mid = le16_at(pdu, 30).unwrap_or(0) as u64;
    let base = Command {
        version: 1,
        command: cmd as u16,
        status,
        flags: flags as u32 | (flags2 as u32) << 8,
        response,
        tree_id: tid,
        session_id: uid,
        message_id: mid,
        process_id: pid,
        ..Default::default()
    };
    let mut at = SMB1_HEADER;
    let mut cur = cmd;
    let mut chained = false;
    for _ in 0..8 {
        let wc = *pdu.get(at).ok_or(Error::ShortHeader(pdu.len()))?;
        let words = pdu
            .get(at + 1..at + 1 + 2 * wc as usize)
            .ok_or(Error::BadWordCount(wc))?;
        let bc_at = at + 1 + 2 * wc as usize;
        let (bytes_off, bytes) = match le16_at(pdu, bc_at) {
            Some(bc) => {
                let s = bc_at + 2;
                (
                    s,
                    pdu.get(s..(s + bc as usize).min(pdu.len()))
                        .unwrap_or_default(),
                )
            }
            None => (bc_at, &[][..]),
        };
        let body = smb1_body(cur, response, unicode, words, pdu, bytes_off, bytes);
        f(Command {
            command: cur as u16,
            chained,
            body,
            ..base
        });
        // AndX chain: commands with AndXCommand/AndXOffset as their first words.
        let andx = matches!(cur, 0x24 | 0x2d | 0x2e | 0x2f | 0x73 | 0x74 | 0x75 | 0xa2);
        if !andx || wc < 2 {
            break;
        }
        let next = words[0];
        let off = le16_at(words, 2).unwrap_or(0) as usize;
        if next == 0xff || off <= at || off >= pdu.len() {
            break;
        }
        cur = next;
        at = off;
        chained = true;
    }
    Ok(())
}

/// `len` bytes at `off` of `b`, cut to what `b` holds.
fn slice(b: &[u8], off: usize, len: usize) -> &[u8] {
    b.get(off..off.saturating_add(len).min(b.len()))
        .unwrap_or_default()
}

/// An SMB2 FileId (persistent, volatile) folded into one handle.
fn file_id(b: &[u8], at: usize) -> u64 {
    let p = b.get(at..at + 8).map_or(0, le64);
    let v = b.get(at + 8..at + 16).map_or(0, le64);
    p ^ v.rotate_left(32)
}

fn align2(off: usize) -> usize {
    off + (off & 1)
}

fn smb1_body<'a>(
    cmd: u8,
    response: bool,
    unicode: bool,
    w: &'a [u8],
    pdu: &'a [u8],
    bytes_off: usize,
    bytes: &'a [u8],
) -> Body<'a> {
    let w16 = |o: usize| le16_at(w, o).unwrap_or(0);
    let w32 = |o: usize| {
        Cursor::new(w.get(o..).unwrap_or_default())
            .le32()
            .unwrap_or(0)
    };
    let us = |off: usize| cstr(pdu, if unicode { align2(off) } else { off }, unicode);
    match (cmd, response) {
        (0x72, false) => Body::Negotiate { dialects: bytes },
        (0x72, true) if w.len() >= 2 => Body::NegotiateResponse { dialect: w16(0) },
        (0x73, false) if w.len() == 24 => {
            let l = w16(14) as usize;
            Body::SessionSetup {
                ntlm: bytes.get(..l).and_then(ntlm::find),
                user: Str::default(),
                domain: Str::default(),
                native_os: Str::default(),
            }
        }
        (0x73, false) if w.len() == 26 => {
            let (pl, ul) = (w16(14) as usize, w16(16) as usize);
            let off = bytes_off + pl + ul;
            let (user, off) = us(off);
            let (domain, off) = us(off);
            let (native_os, _) = us(off);
            Body::SessionSetup {
                ntlm: None,
                user,
                domain,
                native_os,
            }
        }
        (0x73, true) if w.len() == 8 => {
            let l = w16(6) as usize;
            Body::SessionSetup {
                ntlm: bytes.get(..l).and_then(ntlm::find),
                user: Str::default(),
                domain: Str::default(),
                native_os: Str::default(),
            }
        }
        (0x75, false) if w.len() >= 8 => {
            let (path, _) = us(bytes_off + w16(6) as usize);
            Body::TreeConnect { path }
        }
        (0xa2, false) if w.len() >= 48 => {
            let (name, _) = us(bytes_off);
            Body::Create { name }
        }
        (0xa2, true) if w.len() >= 7 => Body::CreateResponse {
            fid: le16_at(w, 5).unwrap_or(0) as u64,
        },
        (0x04, false) if w.len() >= 2 => Body::Close { fid: w16(0) as u64 },
        (0x2e, false) if w.len() >= 12 => Body::Read {
            len: w16(10) as u32,
            offset: w32(6) as u64
                | if w.len() >= 24 {
                    (w32(20) as u64) << 32
                } else {
                    0
                },
            fid: w16(4) as u64,
            data: &[],
        },
        (0x2e, true) if w.len() >= 12 => {
            let len = w16(10) as u32
                | if w.len() >= 16 {
                    (w16(14) as u32) << 16
                } else {
                    0
                };
            Body::Read {
                len,
                offset: 0,
                fid: 0,
                data: slice(pdu, w16(12) as usize, len as usize),
            }
        }
        (0x2f, false) if w.len() >= 24 => {
            let len = w16(20) as u32 | (w16(18) as u32) << 16;
            Body::Write {
                len,
                offset: w32(6) as u64
                    | if w.len() >= 28 {
                        (w32(24) as u64) << 32
                    } else {
                        0
                    },
                fid: w16(4) as u64,
                data: slice(pdu, w16(22) as usize, len as usize),
            }
        }
        (0x2f, true) if w.len() >= 6 => Body::Write {
            len: w16(4) as u32,
            offset: 0,
            fid: 0,
            data: &[],
        },
        (0x32, false) if w.len() >= 30 && w.get(26).is_some_and(|&c| c >= 1) => Body::Trans2 {
            subcommand: w16(28),
        },
        (0x25, false) if w.len() >= 28 => {
            let (name, _) = us(bytes_off);
            // SetupCount (byte 26), then the setup words from byte 28.
            let setup = (w[26] >= 2 && w.len() >= 32).then(|| (w16(28), w16(30)));
            Body::Trans { name, setup }
        }
        (0xa0, false) if w.len() >= 38 => Body::NtTrans {
            function: w16(36),
            total_data: w32(7),
            data_count: w32(27),
        },
        _ => Body::None,
    }
}

/// SMB2: one header (of a compound) at the start of `pdu`; `pdu` runs to the
/// end of the frame so that body offsets (relative to the header) resolve.
/// Returns the command and the offset of the next compounded header.
pub fn parse_smb2(pdu: &[u8]) -> Result<(Command<'_>, Option<usize>), Error> {
    if pdu.len() < SMB2_HEADER {
        return Err(Error::ShortHeader(pdu.len()));
    }
    let mut c = Cursor::new(&pdu[4..]);
    let ss = c.le16().unwrap_or(0);
    if ss != 64 {
        return Err(Error::BadStructureSize(ss));
    }
    let _charge = c.le16();
    let status = c.le32().unwrap_or(0);
    let command = c.le16().unwrap_or(0);
    let credits = c.le16().unwrap_or(0);
    let flags = c.le32().unwrap_or(0);
    let next = c.le32().unwrap_or(0);
    let mid = Cursor::new(&pdu[24..]).take(8).map_or(0, le64);
    let (pid, tid) = if flags & 2 == 0 {
        (
            u32::from_le_bytes([pdu[32], pdu[33], pdu[34], pdu[35]]),
            u32::from_le_bytes([pdu[36], pdu[37], pdu[38], pdu[39]]),
        )
    } else {
        (0, 0)
    };
    let sid = le64(&pdu[40..48]);
    let response = flags & 1 != 0;
    let next_at = if next == 0 {
        None
    } else if !(next as usize).is_multiple_of(8)
        || next as usize >= pdu.len()
        || (next as usize) < SMB2_HEADER
    {
        return Err(Error::BadNextCommand(next));
    } else {
        Some(next as usize)
    };
    let body = smb2_body(command, response, pdu);
    Ok((
        Command {
            version: 2,
            command,
            status,
            flags,
            response,
            tree_id: tid,
            session_id: sid,
            message_id: mid,
            process_id: pid,
            credits,
            chained: false,
            body,
        },
        next_at,
    ))
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(a)
}

fn smb2_body(cmd: u16, response: bool, pdu: &[u8]) -> Body<'_> {
    let b = &pdu[SMB2_HEADER..];
    let u16a = |o: usize| le16_at(b, o).unwrap_or(0);
    let u32a = |o: usize| {
        Cursor::new(b.get(o..).unwrap_or_default())
            .le32()
            .unwrap_or(0)
    };
    let u64a = |o: usize| b.get(o..o + 8).map_or(0, le64);
    let buf = |off: usize, len: usize| -> &[u8] {
        pdu.get(off..off.saturating_add(len).min(pdu.len()))
            .unwrap_or_default()
    };
    let s16 = |off: usize, len: usize| Str {
        bytes: buf(off, len),
        utf16: true,
    };
    match (cmd, response) {
        (0, false) => {
            let n = u16a(2) as usize;
            Body::Negotiate {
                dialects: b.get(36..(36 + 2 * n).min(b.len())).unwrap_or_default(),
            }
        }
        (0, true) => Body::NegotiateResponse { dialect: u16a(4) },
        (1, false) => Body::SessionSetup {
            ntlm: ntlm::find(buf(u16a(12) as usize, u16a(14) as usize)),
            user: Str::default(),
            domain: Str::default(),
            native_os: Str::default(),
        },
        (1, true) => Body::SessionSetup {
            ntlm: ntlm::find(buf(u16a(4) as usize, u16a(6) as usize)),
            user: Str::default(),
            domain: Str::default(),
            native_os: Str::default(),
        },
        (3, false) => Body::TreeConnect {
            path: s16(u16a(4) as usize, u16a(6) as usize),
        },
        (5, false) => Body::Create {
            name: s16(u16a(44) as usize, u16a(46) as usize),
        },
        (5, true) if b.len() >= 80 => Body::CreateResponse {
            fid: file_id(b, 64),
        },
        (6, false) if b.len() >= 24 => Body::Close { fid: file_id(b, 8) },
        (8, false) => Body::Read {
            len: u32a(4),
            offset: u64a(8),
            fid: file_id(b, 16),
            data: &[],
        },
        (8, true) => Body::Read {
            len: u32a(4),
            offset: 0,
            fid: 0,
            data: buf(b.get(2).copied().unwrap_or(0) as usize, u32a(4) as usize),
        },
        (9, false) => Body::Write {
            len: u32a(4),
            offset: u64a(8),
            fid: file_id(b, 16),
            data: buf(u16a(2) as usize, u32a(4) as usize),
        },
        (9, true) => Body::Write {
            len: u32a(4),
            offset: 0,
            fid: 0,
            data: &[],
        },
        (11, _) if b.len() >= 8 => Body::Ioctl { ctl_code: u32a(4) },
        _ => Body::None,
    }
}

pub fn smb1_command_name(c: u8) -> &'static str {
    match c {
        0x04 => "close",
        0x06 => "delete",
        0x24 => "locking_andx",
        0x25 => "trans",
        0x2b => "echo",
        0x2d => "open_andx",
        0x2e => "read_andx",
        0x2f => "write_andx",
        0x32 => "trans2",
        0x34 => "find_close2",
        0x70 => "tree_connect",
        0x71 => "tree_disconnect",
        0x72 => "negotiate",
        0x73 => "session_setup_andx",
        0x74 => "logoff_andx",
        0x75 => "tree_connect_andx",
        0xa0 => "nt_trans",
        0xa2 => "nt_create_andx",
        0xa4 => "nt_cancel",
        _ => "other",
    }
}

pub fn smb2_command_name(c: u16) -> &'static str {
    const N: [&str; 19] = [
        "negotiate",
        "session_setup",
        "logoff",
        "tree_connect",
        "tree_disconnect",
        "create",
        "close",
        "flush",
        "read",
        "write",
        "lock",
        "ioctl",
        "cancel",
        "echo",
        "query_directory",
        "change_notify",
        "query_info",
        "set_info",
        "oplock_break",
    ];
    N.get(c as usize).copied().unwrap_or("other")
}

pub fn trans2_name(s: u16) -> &'static str {
    match s {
        0x00 => "OPEN2",
        0x01 => "FIND_FIRST2",
        0x02 => "FIND_NEXT2",
        0x03 => "QUERY_FS_INFORMATION",
        0x04 => "SET_FS_INFORMATION",
        0x05 => "QUERY_PATH_INFORMATION",
        0x06 => "SET_PATH_INFORMATION",
        0x07 => "QUERY_FILE_INFORMATION",
        0x08 => "SET_FILE_INFORMATION",
        0x0d => "CREATE_DIRECTORY",
        0x0e => "SESSION_SETUP",
        0x10 => "GET_DFS_REFERRAL",
        _ => "other",
    }
}

pub fn fsctl_name(c: u32) -> &'static str {
    match c {
        0x0006_0194 => "FSCTL_DFS_GET_REFERRALS",
        0x0011_400c => "FSCTL_PIPE_PEEK",
        0x0011_0018 => "FSCTL_PIPE_WAIT",
        0x0011_c017 => "FSCTL_PIPE_TRANSCEIVE",
        0x0014_4064 => "FSCTL_SRV_ENUMERATE_SNAPSHOTS",
        0x0014_0078 => "FSCTL_SRV_REQUEST_RESUME_KEY",
        0x0014_01d4 => "FSCTL_LMR_REQUEST_RESILIENCY",
        0x0014_01fc => "FSCTL_QUERY_NETWORK_INTERFACE_INFO",
        0x0014_0204 => "FSCTL_VALIDATE_NEGOTIATE_INFO",
        0x0009_00a4 => "FSCTL_SET_REPARSE_POINT",
        0x0014_80f2 => "FSCTL_SRV_COPYCHUNK_WRITE",
        0x0014_40f2 => "FSCTL_SRV_COPYCHUNK",
        0x0011_0003 => "FSCTL_PIPE_TRANSCEIVE_LEGACY",
        _ => "other",
    }
}

pub fn status_name(s: u32) -> Option<&'static str> {
    Some(match s {
        0 => "STATUS_SUCCESS",
        0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
        0xc000_0064 => "STATUS_NO_SUCH_USER",
        0xc000_006a => "STATUS_WRONG_PASSWORD",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xc000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xc000_000d => "STATUS_INVALID_PARAMETER",
        0xc000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0x0000_0103 => "STATUS_PENDING",
        0xc000_0002 => "STATUS_NOT_IMPLEMENTED",
        0xc000_0011 => "STATUS_END_OF_FILE",
        0xc000_00bb => "STATUS_NOT_SUPPORTED",
        0xc000_0043 => "STATUS_SHARING_VIOLATION",
        0xc000_0203 => "STATUS_USER_SESSION_DELETED",
        0xc000_0120 => "STATUS_CANCELLED",
        _ => return None,
    })
}
