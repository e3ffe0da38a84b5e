//! Schneider Electric UMAS (Unity/EcoStruxure engineering protocol), carried in
//! Modbus function 90 (0x5A).
//!
//! UMAS has no framing of its own: the Modbus session (`crate::modbus`) frames
//! the MBAP ADU, matches the response to its request by transaction id and
//! reports every function-90 PDU as a [`Message`] built here.
//!
//! Layout (public reverse-engineering notes: Liras "The Unity (UMAS) protocol",
//! Kaspersky ICS-CERT "The secrets of Schneider Electric's UMAS protocol"):
//! request `5A | session/pairing key | UMAS function | data`, response
//! `5A | session | status (0xFE OK, 0xFD error) | data`.

mod json;
pub mod wire;

use crate::ident::{Identity, Subject};
use crate::modbus::{Body, Pdu};
use crate::protocols::ProtoMessage;
pub use wire::{Error, ReadId, STATUS_ERROR, STATUS_OK, function_name};

/// Modbus function code that carries UMAS.
pub const MODBUS_FUNCTION: u8 = 90;

/// A UMAS message as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// MBAP transaction id.
    pub transaction_id: u16,
    /// MBAP unit id.
    pub unit_id: u8,
    /// Sent by the server (a response)?
    pub response: bool,
    /// Session / pairing key (the byte after the Modbus function code).
    pub session: Option<u8>,
    /// Request: the UMAS function code; response: the status byte.
    pub code: Option<u8>,
    /// On a response: the UMAS function of the request it answers.
    pub request_function: Option<u8>,
    /// Modbus exception code (function 0xDA responses).
    pub exception_code: Option<u8>,
    /// Bytes after the function / status byte.
    pub data: &'a [u8],
    /// On a matched response: time since the request, in ns.
    pub latency_ns: Option<i64>,
}

impl<'a> Message<'a> {
    /// The UMAS view of a Modbus function-90 PDU. `request_function` is the
    /// UMAS function of the matched request (responses only).
    pub fn from_modbus(
        pdu: &Pdu<'a>,
        response: bool,
        request_function: Option<u8>,
        latency_ns: Option<i64>,
    ) -> Message<'a> {
        let data: &'a [u8] = match pdu.body {
            Body::Raw { data } | Body::Invalid { data } => data,
            _ => &[],
        };
        let exception = pdu.exception_code.is_some();
        Message {
            transaction_id: pdu.mbap.transaction_id,
            unit_id: pdu.mbap.unit_id,
            response,
            session: if exception {
                None
            } else {
                data.first().copied()
            },
            code: if exception {
                None
            } else {
                data.get(1).copied()
            },
            request_function,
            exception_code: pdu.exception_code,
            data: if exception {
                &[]
            } else {
                data.get(2..).unwrap_or(&[])
            },
            latency_ns,
        }
    }

    /// The UMAS function this message is about: the request's own code, or
    /// for a response the matched request's code (the status byte when
    /// unmatched, 0 when absent).
    pub fn function(&self) -> u8 {
        if self.response {
            self.request_function.or(self.code).unwrap_or(0)
        } else {
            self.code.unwrap_or(0)
        }
    }

    /// `ok` / `error` / `exception` on responses.
    pub fn status(&self) -> Option<&'static str> {
        if !self.response {
            return None;
        }
        if self.exception_code.is_some() {
            return Some("exception");
        }
        match self.code {
            Some(STATUS_OK) => Some("ok"),
            Some(STATUS_ERROR) => Some("error"),
            Some(_) => Some("unknown"),
            None => None,
        }
    }

    /// The READ_ID (0x02) answer, when this is one.
    pub fn read_id(&self) -> Option<ReadId<'a>> {
        if self.response
            && self.request_function == Some(wire::fc::READ_ID)
            && self.code == Some(STATUS_OK)
        {
            wire::parse_read_id(self.data).ok()
        } else {
            None
        }
    }

    /// Structural check of a request's data for the functions with a fixed
    /// layout; used by the Modbus session to report malformed UMAS requests.
    pub fn check(&self) -> Result<(), Error> {
        if self.exception_code.is_some() {
            return Ok(());
        }
        if self.session.is_none() || self.code.is_none() {
            return Err(Error::Short {
                len: self.data.len() + self.session.is_some() as usize,
            });
        }
        if self.response {
            if let (Some(wire::fc::READ_ID), Some(STATUS_OK)) = (self.request_function, self.code) {
                wire::parse_read_id(self.data)?;
            }
            Ok(())
        } else {
            wire::check_request(self.function(), self.data)
        }
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.function() as u16
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let r = self.read_id()?;
        let mut id = Identity::new(Subject::Sender, "umas READ_ID");
        id.vendor = Some("Schneider Electric".into());
        id.model = r.name.and_then(crate::ident::text);
        id.firmware = Some(format!("{:x}.{:02x}", r.version >> 8, r.version & 0xff).into());
        id.hardware = Some(format!("0x{:08x}", r.hardware_id).into());
        Some(id)
    }
}

#[cfg(test)]
mod tests;
