//! FTP control channel dissector: commands with their arguments (never the
//! password), replies (multi-line replies grouped into one message), and the
//! login outcome per flow (230 / 530 after USER/PASS) with the user name.

mod json;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use otwatch_core::{Direction, MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 21)];

/// Longest line accepted; a longer one is malformed and skipped.
pub const MAX_LINE: usize = 4096;
/// Longest user name kept for the login outcome.
pub const MAX_USER: usize = 64;

/// The command table: `function_code` of a request is the index + 1 of its
/// command here (0 for a command not in the table).
pub const COMMANDS: &[&str] = &[
    "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "QUIT", "REIN", "PORT", "PASV", "TYPE", "STRU",
    "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR", "DELE", "RMD",
    "MKD", "PWD", "LIST", "NLST", "SITE", "SYST", "STAT", "HELP", "NOOP", "FEAT", "OPTS", "AUTH",
    "PBSZ", "PROT", "EPRT", "EPSV", "MDTM", "SIZE", "MLSD", "MLST", "XPWD", "XCWD", "XMKD", "XRMD",
    "CCC", "LANG", "CLNT", "HOST",
];

/// Function code of a command verb (case-insensitive).
pub fn command_code(verb: &[u8]) -> u16 {
    COMMANDS
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(verb))
        .map_or(0, |i| i as u16 + 1)
}

/// Strict content check: a 220 greeting line from the server side is the only
/// reliable signature; the first payload of a flow is usually that greeting.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Tcp
        && (data.starts_with(b"220 ") || data.starts_with(b"220-"))
        && data.len() < 1024
        && data.ends_with(b"\r\n")
        && data.windows(3).any(|w| w.eq_ignore_ascii_case(b"ftp"))
}

/// Data connections announced but not yet handed to the pipeline, per
/// control flow.
pub const MAX_EXPECT: usize = 4;
/// Longest file name kept for a transfer.
pub const MAX_NAME: usize = 512;

/// The name of a transfer, set by the control channel when it sees RETR /
/// STOR / STOU / APPE (often after the data connection was opened).
pub type TransferName = Arc<OnceLock<Box<[u8]>>>;

/// A data connection announced on the control channel (227/229 reply to
/// PASV/EPSV, or a PORT/EPRT command): the flow to `ip:port` carries the
/// next transfer.
#[derive(Clone, Debug)]
pub struct Expect {
    pub ts: Timestamp,
    pub ip: IpAddr,
    pub port: u16,
    /// File id of the transfer: control flow id << 16 | transfer number.
    pub file_id: u64,
    pub name: TransferName,
}

/// The data side of a transfer (a flow the control channel announced):
/// every byte is reported as a `File` event.
#[derive(Debug)]
struct Data {
    file_id: u64,
    name: TransferName,
    offset: u64,
    dir: Option<Direction>,
}

/// `h1,h2,h3,h4,p1,p2` (PORT argument, or inside a 227 reply).
fn host_port(b: &[u8]) -> Option<(IpAddr, u16)> {
    let start = b.iter().position(u8::is_ascii_digit)?;
    let mut n = [0u16; 6];
    let mut k = 0;
    let mut cur: Option<u16> = None;
    for &c in &b[start..] {
        match c {
            b'0'..=b'9' => {
                let v = cur.unwrap_or(0) * 10 + (c - b'0') as u16;
                if v > 255 {
                    return None;
                }
                cur = Some(v);
            }
            b',' if cur.is_some() && k < 5 => {
                n[k] = cur.take()?;
                k += 1;
            }
            _ => break,
        }
    }
    n[k] = cur?;
    if k != 5 {
        return None;
    }
    let ip = IpAddr::from([n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8]);
    Some((ip, n[4] << 8 | n[5]))
}

/// `|af|addr|port|` (EPRT argument) or `(|||port|)` (229 reply): the
/// address when given, and the port.
fn ext_host_port(b: &[u8]) -> Option<(Option<IpAddr>, u16)> {
    let start = b.iter().position(|&c| c == b'|')?;
    let mut parts = b[start + 1..].split(|&c| c == b'|');
    let _af = parts.next()?;
    let addr = parts.next()?;
    let port = parts.next()?;
    let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
    let ip = if addr.is_empty() {
        None
    } else {
        Some(std::str::from_utf8(addr).ok()?.parse().ok()?)
    };
    Some((ip, port))
}

/// Login outcome carried by a 230/530 reply following USER/PASS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    Success,
    Failure,
}

/// A dissected FTP message.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    Command {
        verb: &'a [u8],
        /// The argument; `None` for PASS (never reported).
        arg: Option<&'a [u8]>,
    },
    Reply {
        code: u16,
        /// Text of the reply's last line.
        text: &'a [u8],
        /// The reply had several lines.
        multiline: bool,
        login: Option<Login>,
        user: Option<&'a [u8]>,
    },
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        match self {
            Message::Command { verb, .. } => command_code(verb),
            Message::Reply { code, .. } => *code,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        match *self {
            Message::Reply {
                code: 220, text: t, ..
            } => {
                let mut id = Identity::new(Subject::Sender, "ftp banner");
                id.model = text(t);
                Some(id)
            }
            Message::Reply {
                login: Some(Login::Success),
                user: Some(u),
                ..
            } => {
                let mut id = Identity::new(Subject::Receiver, "ftp login");
                id.user = text(u);
                Some(id)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    LineTooLong(usize),
    BadCommand,
    BadReply,
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::LineTooLong(_) => "line_too_long",
            Error::BadCommand => "bad_command",
            Error::BadReply => "bad_reply",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::LineTooLong(n) => {
                write!(f, "line longer than {MAX_LINE} bytes ({n} without end)")
            }
            Error::BadCommand => write!(f, "command verb is not 3-4 letters"),
            Error::BadReply => write!(f, "reply line does not start with a 3-digit code 100..=599"),
        }
    }
}

/// Per-flow state.
#[derive(Debug)]
pub struct Session {
    user: [u8; MAX_USER],
    user_len: usize,
    /// USER (and maybe PASS) sent, waiting for the outcome.
    login_pending: bool,
    /// Multi-line reply in progress: its code.
    multiline: u16,
    /// Per direction: skipping the rest of an over-long line.
    skipping: [bool; 2],
    started: [bool; 2],
    /// Logins that succeeded / failed on the flow.
    pub logins: [u32; 2],
    /// Announced data connections for the pipeline to take.
    expects: Vec<Expect>,
    /// The latest announced transfer still waiting for its name.
    naming: Option<TransferName>,
    transfers: u64,
    /// Set on a data-connection session.
    data: Option<Data>,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            user: [0; MAX_USER],
            user_len: 0,
            login_pending: false,
            multiline: 0,
            skipping: [false; 2],
            started: [false; 2],
            logins: [0; 2],
            expects: Vec::new(),
            naming: None,
            transfers: 0,
            data: None,
        }
    }
}

fn reply_code(l: &[u8]) -> Option<u16> {
    let d = l.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) || !matches!(l.get(3), None | Some(b' ' | b'-')) {
        return None;
    }
    let c = d.iter().fold(0u16, |a, &c| a * 10 + (c - b'0') as u16);
    (100..=599).contains(&c).then_some(c)
}

impl Session {
    /// The session of a data connection announced by `e`.
    pub fn data(e: &Expect) -> Session {
        Session {
            data: Some(Data {
                file_id: e.file_id,
                name: e.name.clone(),
                offset: 0,
                dir: None,
            }),
            ..Session::default()
        }
    }

    /// Takes the data connections announced since the last call.
    pub fn take_expects(&mut self) -> std::vec::Drain<'_, Expect> {
        self.expects.drain(..)
    }

    /// Whether a data connection was announced since the last call.
    #[inline]
    pub fn has_expects(&self) -> bool {
        !self.expects.is_empty()
    }

    fn expect(&mut self, ip: IpAddr, port: u16, cx: &Ctx<'_>) {
        if self.expects.len() >= MAX_EXPECT || port == 0 {
            return;
        }
        self.transfers += 1;
        let name: TransferName = Arc::default();
        self.naming = Some(name.clone());
        self.expects.push(Expect {
            ts: cx.ts,
            ip,
            port,
            file_id: cx.flow.id.0 << 16 | (self.transfers & 0xffff),
            name,
        });
    }

    fn command(&mut self, line: &[u8], cx: &mut Ctx<'_>) {
        let sp = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
        let verb = &line[..sp];
        let arg = line.get(sp + 1..).filter(|a| !a.is_empty());
        let code = command_code(verb);
        let msg = match code {
            1 => {
                let u = arg.unwrap_or_default();
                let n = u.len().min(MAX_USER);
                self.user[..n].copy_from_slice(&u[..n]);
                self.user_len = n;
                self.login_pending = true;
                Message::Command { verb, arg }
            }
            2 => Message::Command { verb, arg: None },
            _ => Message::Command { verb, arg },
        };
        match (code, arg) {
            // PORT / EPRT: the server connects to the client's address.
            (9, Some(a)) => {
                if let Some((ip, port)) = host_port(a) {
                    self.expect(ip, port, cx);
                }
            }
            (39, Some(a)) => {
                if let Some((ip, port)) = ext_host_port(a) {
                    self.expect(ip.unwrap_or(cx.flow.client.ip), port, cx);
                }
            }
            // RETR, STOR, STOU, APPE name the announced transfer.
            (14..=17, a) => {
                if let Some(n) = self.naming.take() {
                    let a = a.unwrap_or_default();
                    let _ = n.set(a[..a.len().min(MAX_NAME)].into());
                }
            }
            _ => {}
        }
        cx.message(MsgKind::Request, crate::Message::Ftp(msg));
        if !(3..=4).contains(&verb.len()) || !verb.iter().all(u8::is_ascii_alphabetic) {
            let e = Error::BadCommand;
            cx.malformed(
                Proto::Ftp,
                e.code(),
                &e,
                Some(code),
                &line[..line.len().min(64)],
            );
        }
    }

    fn reply(&mut self, line: &[u8], cx: &mut Ctx<'_>) {
        let code = reply_code(line);
        if self.multiline != 0 {
            // Continuation lines until "code SP".
            if code == Some(self.multiline) && line.get(3) == Some(&b' ') {
                let c = self.multiline;
                self.multiline = 0;
                self.report_reply(c, line.get(4..).unwrap_or_default(), true, cx);
            }
            return;
        }
        let Some(c) = code else {
            if !line.is_empty() {
                let e = Error::BadReply;
                cx.malformed(Proto::Ftp, e.code(), &e, None, &line[..line.len().min(64)]);
            }
            return;
        };
        if line.get(3) == Some(&b'-') {
            self.multiline = c;
            return;
        }
        self.report_reply(c, line.get(4..).unwrap_or_default(), false, cx);
    }

    fn report_reply(&mut self, code: u16, t: &[u8], multiline: bool, cx: &mut Ctx<'_>) {
        let login = match code {
            230 if self.login_pending => Some(Login::Success),
            530 if self.login_pending => Some(Login::Failure),
            _ => None,
        };
        if let Some(l) = login {
            self.login_pending = false;
            self.logins[(l == Login::Failure) as usize] += 1;
        }
        match code {
            227 => {
                if let Some((ip, port)) = host_port(t) {
                    self.expect(ip, port, cx);
                }
            }
            229 => {
                if let Some((ip, port)) = ext_host_port(t) {
                    self.expect(ip.unwrap_or(cx.flow.server.ip), port, cx);
                }
            }
            _ => {}
        }
        let user = (self.user_len > 0).then(|| &self.user[..self.user_len]);
        cx.message(
            MsgKind::Response,
            crate::Message::Ftp(Message::Reply {
                code,
                text: t,
                multiline,
                login,
                user,
            }),
        );
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        if let Some(t) = &mut self.data {
            t.dir.get_or_insert(cx.dir);
            let name = t.name.get().map(|n| &n[..]);
            cx.file(Proto::Ftp, t.file_id, name, t.offset, data, false);
            t.offset += data.len() as u64;
            return data.len();
        }
        let d = cx.dir.idx();
        let client = cx.dir == Direction::ToServer;
        if !self.started[d] {
            self.started[d] = true;
            // Mid-stream: skip the partial first line.
            if !cx.flow.handshake_seen() {
                self.skipping[d] = true;
            }
        }
        let mut off = 0;
        while off < data.len() {
            let rest = &data[off..];
            let Some(nl) = rest.iter().position(|&c| c == b'\n') else {
                if self.skipping[d] {
                    return data.len();
                }
                if rest.len() > MAX_LINE {
                    let e = Error::LineTooLong(rest.len());
                    let fc = if client { None } else { reply_code(rest) };
                    cx.malformed(Proto::Ftp, e.code(), &e, fc, &rest[..64]);
                    self.skipping[d] = true;
                    return data.len();
                }
                break;
            };
            off += nl + 1;
            if self.skipping[d] {
                self.skipping[d] = false;
                continue;
            }
            let line = &rest[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > MAX_LINE {
                let e = Error::LineTooLong(line.len());
                cx.malformed(Proto::Ftp, e.code(), &e, None, &line[..64]);
                continue;
            }
            if client {
                if !line.is_empty() {
                    self.command(line, cx);
                }
            } else {
                self.reply(line, cx);
            }
        }
        off
    }

    fn on_end(&mut self, cx: &mut Ctx<'_>) {
        if let Some(t) = &self.data
            && let Some(dir) = t.dir
        {
            let name = t.name.get().map(|n| &n[..]);
            let saved = cx.dir;
            cx.dir = dir;
            cx.file(Proto::Ftp, t.file_id, name, t.offset, &[], true);
            cx.dir = saved;
        }
    }

    fn on_gap(&mut self, len: u32, cx: &mut Ctx<'_>) {
        if let Some(t) = &mut self.data {
            // The hole stays visible in the offsets.
            t.offset += len as u64;
            return;
        }
        let d = cx.dir.idx();
        self.skipping[d] = true;
        if cx.dir == Direction::ToClient {
            self.multiline = 0;
        }
    }
}

#[cfg(test)]
mod tests;
