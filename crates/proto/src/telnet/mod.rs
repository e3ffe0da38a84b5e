//! Telnet dissector: option negotiation (IAC DO/DONT/WILL/WONT, terminal type
//! subnegotiation) and the cleartext login dialogue: login and password
//! prompts from the server, the user name the client types (never the
//! password), login failure strings and the shell prompt that follows a
//! successful login. Other data is not reported.

mod json;

use otwatch_core::{Direction, MsgKind, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 23)];

pub const IAC: u8 = 255;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
/// Longest subnegotiation waited for.
pub const MAX_SB: usize = 256;
/// Text kept of the server's current line / the client's typed user name.
pub const MAX_TEXT: usize = 128;

/// Strict content check: the first payload is only IAC negotiation commands
/// (servers start with IAC DO/WILL ...), at least two of them.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Tcp || data.len() < 6 || !data.len().is_multiple_of(3) {
        return false;
    }
    data.chunks_exact(3)
        .all(|c| c[0] == IAC && (251..=254).contains(&c[1]) && c[2] <= 50)
}

/// A dissected Telnet event.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// Option negotiation: the IAC command bytes of one segment.
    Negotiation {
        data: &'a [u8],
    },
    LoginPrompt {
        prompt: &'a [u8],
    },
    PasswordPrompt {
        prompt: &'a [u8],
    },
    UserSent {
        user: &'a [u8],
    },
    LoginFailed {
        line: &'a [u8],
        user: Option<&'a [u8]>,
    },
    LoginSuccess {
        prompt: &'a [u8],
        user: Option<&'a [u8]>,
    },
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        match self {
            Message::Negotiation { .. } => 1,
            Message::LoginPrompt { .. } => 2,
            Message::PasswordPrompt { .. } => 3,
            Message::UserSent { .. } => 4,
            Message::LoginFailed { .. } => 5,
            Message::LoginSuccess { .. } => 6,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        match *self {
            Message::LoginSuccess { user: Some(u), .. } => {
                let mut id = Identity::new(Subject::Sender, "telnet login");
                id.user = text(u);
                Some(id)
            }
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Expect {
    #[default]
    Nothing,
    User,
    Password,
}

/// Per-flow state.
#[derive(Debug)]
pub struct Session {
    line: [u8; MAX_TEXT],
    line_len: usize,
    /// The current server line was already reported as a prompt.
    line_reported: bool,
    user: [u8; MAX_TEXT],
    user_len: usize,
    /// Client input being collected for the current prompt.
    expect: Expect,
    typed: usize,
    /// A password was sent: waiting for the outcome.
    pub password_sent: bool,
    /// Per direction: inside IAC SB ... IAC SE (skip) when resynchronising.
    skip_sb: [bool; 2],
}

impl Default for Session {
    fn default() -> Self {
        Session {
            line: [0; MAX_TEXT],
            line_len: 0,
            line_reported: false,
            user: [0; MAX_TEXT],
            user_len: 0,
            expect: Expect::Nothing,
            typed: 0,
            password_sent: false,
            skip_sb: [false; 2],
        }
    }
}

const FAILURES: &[&[u8]] = &[
    b"login incorrect",
    b"login invalid",
    b"authentication failed",
    b"access denied",
    b"login failed",
    b"bad password",
];

fn contains_ci(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn trim_end(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | 0] = b {
        b = rest;
    }
    b
}

fn ends_ci(h: &[u8], n: &[u8]) -> bool {
    h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n)
}

impl Session {
    fn user(&self) -> Option<&[u8]> {
        (self.user_len > 0).then(|| &self.user[..self.user_len])
    }

    /// Server text byte (IAC-stripped).
    fn server_byte(&mut self, c: u8, cx: &mut Ctx<'_>) {
        if c == b'\n' || c == b'\r' {
            if self.line_len > 0 {
                self.server_line_end(cx);
            }
            self.line_len = 0;
            self.line_reported = false;
            return;
        }
        if self.line_len < MAX_TEXT {
            self.line[self.line_len] = c;
            self.line_len += 1;
        }
    }

    fn server_line_end(&mut self, cx: &mut Ctx<'_>) {
        let l = &self.line[..self.line_len];
        if FAILURES.iter().any(|f| contains_ci(l, f)) {
            self.password_sent = false;
            self.expect = Expect::Nothing;
            cx.message(
                MsgKind::Response,
                crate::Message::Telnet(Message::LoginFailed {
                    line: &self.line[..self.line_len],
                    user: self.user(),
                }),
            );
        }
    }

    /// At the end of a server segment: the partial line may be a prompt.
    fn server_prompt(&mut self, cx: &mut Ctx<'_>) {
        if self.line_reported || self.line_len == 0 {
            return;
        }
        let l = trim_end(&self.line[..self.line_len]);
        let msg = if ends_ci(l, b"login:") || ends_ci(l, b"username:") || ends_ci(l, b"user name:")
        {
            self.expect = Expect::User;
            self.typed = 0;
            self.user_len = 0;
            Message::LoginPrompt { prompt: l }
        } else if ends_ci(l, b"password:") {
            self.expect = Expect::Password;
            Message::PasswordPrompt { prompt: l }
        } else if self.password_sent && matches!(l.last(), Some(b'$' | b'#' | b'>' | b'%')) {
            self.password_sent = false;
            Message::LoginSuccess {
                prompt: l,
                user: (self.user_len > 0).then(|| &self.user[..self.user_len]),
            }
        } else {
            return;
        };
        self.line_reported = true;
        cx.message(MsgKind::Response, crate::Message::Telnet(msg));
    }

    fn client_byte(&mut self, c: u8, cx: &mut Ctx<'_>) {
        match self.expect {
            Expect::Nothing => {}
            Expect::User => {
                if c == b'\r' || c == b'\n' {
                    if self.typed > 0 {
                        self.user_len = self.typed;
                        self.expect = Expect::Nothing;
                        cx.message(
                            MsgKind::Request,
                            crate::Message::Telnet(Message::UserSent {
                                user: &self.user[..self.user_len],
                            }),
                        );
                    }
                } else if c == 8 || c == 127 {
                    self.typed = self.typed.saturating_sub(1);
                } else if self.typed < MAX_TEXT && c >= 0x20 {
                    self.user[self.typed] = c;
                    self.typed += 1;
                }
            }
            Expect::Password => {
                if c == b'\r' || c == b'\n' {
                    self.password_sent = true;
                    self.expect = Expect::Nothing;
                }
            }
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let server = cx.dir == Direction::ToClient;
        let kind = if server {
            MsgKind::Response
        } else {
            MsgKind::Request
        };
        let mut i = 0;
        let (mut neg_start, mut neg_end) = (usize::MAX, 0);
        if server && self.line_reported {
            // A prompt ended the previous segment: new text starts afresh.
            self.line_len = 0;
            self.line_reported = false;
        }
        while i < data.len() {
            let c = data[i];
            if self.skip_sb[d] {
                // Inside a subnegotiation longer than we buffer: skip to IAC SE.
                match data[i..].windows(2).position(|w| w == [IAC, SE]) {
                    Some(p) => {
                        i += p + 2;
                        self.skip_sb[d] = false;
                    }
                    None => {
                        i = data.len() - (data.last() == Some(&IAC)) as usize;
                        break;
                    }
                }
                continue;
            }
            if c != IAC {
                if server {
                    self.server_byte(c, cx);
                } else {
                    self.client_byte(c, cx);
                }
                i += 1;
                continue;
            }
            let Some(&cmd) = data.get(i + 1) else { break };
            let n = match cmd {
                IAC => {
                    // Escaped 0xff data byte.
                    i += 2;
                    continue;
                }
                251..=254 => {
                    if i + 3 > data.len() {
                        break;
                    }
                    3
                }
                SB => match data[i + 2..].windows(2).position(|w| w == [IAC, SE]) {
                    Some(p) => p + 4,
                    None if data.len() - i > MAX_SB => {
                        self.skip_sb[d] = true;
                        i += 2;
                        continue;
                    }
                    None => break,
                },
                _ => 2,
            };
            if cmd >= SB {
                neg_start = neg_start.min(i);
                neg_end = i + n;
            }
            i += n;
        }
        if server {
            self.server_prompt(cx);
        }
        if neg_start != usize::MAX {
            cx.message(
                kind,
                crate::Message::Telnet(Message::Negotiation {
                    data: &data[neg_start..neg_end],
                }),
            );
        }
        i
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.skip_sb[cx.dir.idx()] = false;
        if cx.dir == Direction::ToClient {
            self.line_len = 0;
            self.line_reported = true;
        } else {
            self.expect = Expect::Nothing;
        }
    }
}

#[cfg(test)]
mod tests;
