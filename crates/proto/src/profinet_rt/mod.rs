//! Profinet RT/IRT frames (EtherType 0x8892, every frame id except DCP).
//!
//! Stateless: one frame at a time. The frame id decides the class
//! (IEC 61158-6-10 frame id ranges, as Wireshark's `pn_rt` uses them):
//!
//! | frame id            | class          | function_code |
//! |---------------------|----------------|---------------|
//! | 0x0100–0x7FFF       | RT_CLASS_3     | 1 |
//! | 0x8000–0xBFFF       | RT_CLASS_2     | 2 |
//! | 0xC000–0xFBFF       | RT_CLASS_1     | 3 |
//! | (UDP, not at L2)    | RT_CLASS_UDP   | 4 |
//! | 0xFC01              | alarm high     | 5 |
//! | 0xFE01              | alarm low      | 6 |
//! | 0x0000–0x00FF, 0xFF00–0xFF7F | PTCP (sync, announce, follow-up, delay) | 7 |
//! | anything else (reserved, 0xFF80–0xFF8F fragments...) | other | 8 |
//!
//! Cyclic frames (classes 1–3) end with the APDU status: cycle counter
//! (u16), data status and transfer status (one byte each).

mod json;

use otwatch_core::{MsgKind, Proto};

use crate::dissector::Ctx;
use crate::protocols::ProtoMessage;

/// Frame class (the function code).
pub fn class_of(frame_id: u16) -> u8 {
    match frame_id {
        0x0100..=0x7fff => 1,
        0x8000..=0xbfff => 2,
        0xc000..=0xfbff => 3,
        0xfc01 => 5,
        0xfe01 => 6,
        0x0000..=0x00ff | 0xff00..=0xff7f => 7,
        _ => 8,
    }
}

/// Name of a class code.
pub fn class_name(c: u8) -> &'static str {
    match c {
        1 => "RT_CLASS_3",
        2 => "RT_CLASS_2",
        3 => "RT_CLASS_1",
        4 => "RT_CLASS_UDP",
        5 => "alarm_high",
        6 => "alarm_low",
        7 => "ptcp",
        _ => "other",
    }
}

/// A frame shorter than its frame id (or a cyclic frame without its status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    pub frame_id: Option<u16>,
    pub len: usize,
}

impl Error {
    pub fn code(&self) -> &'static str {
        "short_frame"
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.frame_id {
            Some(id) => write!(
                f,
                "cyclic frame 0x{id:04x} of {} bytes has no room for its 4-byte APDU status",
                self.len
            ),
            None => write!(f, "frame of {} bytes has no frame id", self.len),
        }
    }
}

/// A dissected RT frame.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub frame_id: u16,
    pub class: u8,
    /// APDU status of cyclic frames: (cycle counter, data status, transfer status).
    pub status: Option<(u16, u8, u8)>,
    /// The frame's data (cyclic I/O data, alarm or PTCP PDU), status excluded.
    pub data: &'a [u8],
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.class as u16
    }
}

/// Parses one frame (starting at the frame id).
pub fn parse(b: &[u8]) -> Result<Message<'_>, Error> {
    let (Some(&hi), Some(&lo)) = (b.first(), b.get(1)) else {
        return Err(Error {
            frame_id: None,
            len: b.len(),
        });
    };
    let frame_id = u16::from_be_bytes([hi, lo]);
    let class = class_of(frame_id);
    let body = &b[2..];
    if (1..=3).contains(&class) {
        if body.len() < 4 {
            return Err(Error {
                frame_id: Some(frame_id),
                len: b.len(),
            });
        }
        let (data, st) = body.split_at(body.len() - 4);
        return Ok(Message {
            frame_id,
            class,
            status: Some((u16::from_be_bytes([st[0], st[1]]), st[2], st[3])),
            data,
        });
    }
    Ok(Message {
        frame_id,
        class,
        status: None,
        data: body,
    })
}

/// Dissects one frame (the payload after the EtherType).
pub fn on_frame(data: &[u8], cx: &mut Ctx<'_>) {
    match parse(data) {
        Ok(m) => cx.message(MsgKind::Other, crate::Message::ProfinetRt(m)),
        Err(e) => cx.malformed(
            Proto::ProfinetRt,
            e.code(),
            &e,
            e.frame_id.map(|f| class_of(f) as u16),
            data,
        ),
    }
}

#[cfg(test)]
mod tests;
