//! Profinet DCP (EtherType 0x8892, frame ids 0xFEFC–0xFEFF).
//!
//! Stateless: one frame at a time (see [`crate::l2`]). Identify responses and
//! hellos describe their sender; set requests describe the device they
//! configure (the receiver).

mod json;
pub mod wire;

use std::net::IpAddr;

use otwatch_core::{MsgKind, Proto};

use crate::dissector::Ctx;
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Frame};

/// A dissected DCP frame.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub frame: Frame<'a>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.frame.service_id as u16 * 256 + self.frame.service_type as u16
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let f = &self.frame;
        let (subject, source) = match (f.service_id, f.service_type) {
            (5, 1) => (Subject::Sender, "profinet_dcp identify"),
            (6, _) => (Subject::Sender, "profinet_dcp hello"),
            (3, 1) => (Subject::Sender, "profinet_dcp get"),
            (4, 0) => (Subject::Receiver, "profinet_dcp set"),
            _ => return None,
        };
        let x = &f.facts;
        if x.name_of_station.is_none()
            && x.type_of_station.is_none()
            && x.vendor_id.is_none()
            && x.ip.is_none()
        {
            return None;
        }
        let mut id = Identity::new(subject, source);
        id.hostname = x.name_of_station.and_then(text);
        id.model = x.type_of_station.and_then(text);
        id.vendor_id = x.vendor_id.map(u32::from);
        id.product_code = x.device_id.map(|d| format!("0x{d:04x}").into());
        id.ip = x.ip.filter(|a| !a.is_unspecified()).map(IpAddr::V4);
        id.device_class = x.role.map(|r| role_name(r).into());
        Some(id)
    }
}

fn role_name(r: u8) -> &'static str {
    if r & 2 != 0 {
        "profinet io controller"
    } else if r & 1 != 0 {
        "profinet io device"
    } else if r & 8 != 0 {
        "profinet io supervisor"
    } else {
        "profinet"
    }
}

/// Dissects one frame (the payload after the EtherType, from the frame id).
///
/// The link layer hands every frame id from 0xFEFC up to DCP; PTCP frames
/// (0xFF00–0xFF7F) and other reserved ids above 0xFEFF are RT frames and go
/// to [`crate::profinet_rt`].
pub fn on_frame(data: &[u8], cx: &mut Ctx<'_>) {
    if let Some(id) = crate::wire::be16_at(data, 0)
        && !(wire::HELLO..=wire::IDENTIFY_RESP).contains(&id)
    {
        crate::profinet_rt::on_frame(data, cx);
        return;
    }
    match wire::parse(data) {
        Ok(frame) => {
            let kind = if frame.service_type == 0 {
                MsgKind::Request
            } else {
                MsgKind::Response
            };
            cx.message(kind, crate::Message::ProfinetDcp(Message { frame }));
        }
        Err(e) => {
            let fc = match (data.get(2), data.get(3)) {
                (Some(&s), Some(&t)) => Some(s as u16 * 256 + t as u16),
                _ => None,
            };
            cx.malformed(
                Proto::ProfinetDcp,
                e.code(),
                &e,
                fc,
                &data[..data.len().min(256)],
            );
        }
    }
}

#[cfg(test)]
mod tests;
