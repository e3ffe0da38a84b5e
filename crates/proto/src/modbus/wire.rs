//! Modbus application protocol: pure, zero-copy parsing of one ADU.
//!
//! References: *MODBUS Application Protocol Specification V1.1b3* and
//! *MODBUS Messaging on TCP/IP Implementation Guide V1.0b* (MBAP header).
//! Field values are kept as numbers, never rejected for being unknown: an IDS
//! must see what is on the wire, including codes no standard assigns.

use crate::wire::Cursor;

/// Length of the MBAP header (transaction, protocol, length, unit id).
pub const MBAP_LEN: usize = 7;
/// Largest PDU the specification allows (function code plus 252 data bytes).
pub const MAX_PDU_LEN: usize = 253;

/// Public function codes.
pub mod fc {
    pub const READ_COILS: u8 = 1;
    pub const READ_DISCRETE_INPUTS: u8 = 2;
    pub const READ_HOLDING_REGISTERS: u8 = 3;
    pub const READ_INPUT_REGISTERS: u8 = 4;
    pub const WRITE_SINGLE_COIL: u8 = 5;
    pub const WRITE_SINGLE_REGISTER: u8 = 6;
    pub const READ_EXCEPTION_STATUS: u8 = 7;
    pub const DIAGNOSTICS: u8 = 8;
    pub const GET_COMM_EVENT_COUNTER: u8 = 11;
    pub const GET_COMM_EVENT_LOG: u8 = 12;
    pub const WRITE_MULTIPLE_COILS: u8 = 15;
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 16;
    pub const REPORT_SERVER_ID: u8 = 17;
    pub const READ_FILE_RECORD: u8 = 20;
    pub const WRITE_FILE_RECORD: u8 = 21;
    pub const MASK_WRITE_REGISTER: u8 = 22;
    pub const READ_WRITE_MULTIPLE_REGISTERS: u8 = 23;
    pub const READ_FIFO_QUEUE: u8 = 24;
    pub const ENCAPSULATED_INTERFACE: u8 = 43;
    /// MEI type of "Read Device Identification" within function 43.
    pub const MEI_READ_DEVICE_ID: u8 = 14;
    /// MEI type of "CANopen General Reference" within function 43.
    pub const MEI_CANOPEN: u8 = 13;
}

/// Name of a function code, for reports.
pub fn function_name(code: u8) -> &'static str {
    match code {
        1 => "read_coils",
        2 => "read_discrete_inputs",
        3 => "read_holding_registers",
        4 => "read_input_registers",
        5 => "write_single_coil",
        6 => "write_single_register",
        7 => "read_exception_status",
        8 => "diagnostics",
        11 => "get_comm_event_counter",
        12 => "get_comm_event_log",
        15 => "write_multiple_coils",
        16 => "write_multiple_registers",
        17 => "report_server_id",
        20 => "read_file_record",
        21 => "write_file_record",
        22 => "mask_write_register",
        23 => "read_write_multiple_registers",
        24 => "read_fifo_queue",
        43 => "encapsulated_interface_transport",
        65..=72 | 100..=110 => "user_defined",
        90 => "umas",
        _ => "unassigned",
    }
}

/// Which side of the exchange a PDU comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Client (master) to server (slave).
    Request,
    /// Server to client.
    Response,
}

/// MBAP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mbap {
    pub transaction_id: u16,
    pub protocol_id: u16,
    /// Byte count of unit id plus PDU.
    pub length: u16,
    pub unit_id: u8,
}

impl Mbap {
    /// Total ADU length (header plus PDU) announced by the header.
    pub fn adu_len(&self) -> usize {
        6 + self.length as usize
    }
}

/// Why an ADU was rejected. `code()` is the stable name used in events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Protocol identifier other than 0 (Modbus).
    BadProtocolId(u16),
    /// MBAP length outside 2..=254.
    BadLength(u16),
    /// Function code 0 is never valid.
    FunctionCodeZero,
    /// The PDU is shorter or longer than its function requires.
    WrongPduLength {
        function: u8,
        expected: u16,
        actual: u16,
    },
    /// A byte count field disagrees with the data that follows or the quantity.
    ByteCountMismatch {
        function: u8,
        byte_count: u16,
        expected: u16,
    },
    /// A read/write quantity outside the range the specification allows.
    QuantityOutOfRange {
        function: u8,
        quantity: u16,
        max: u16,
    },
    /// Write Single Coil with a value other than 0x0000 or 0xFF00.
    BadCoilValue(u16),
    /// Exception code 0 (reserved) in an exception response to this function.
    BadExceptionCode(u8),
    /// A sub-structure (file record, device id object) runs past the PDU.
    Truncated { function: u8 },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadProtocolId(_) => "bad_protocol_id",
            Error::BadLength(_) => "bad_length",
            Error::FunctionCodeZero => "function_code_zero",
            Error::WrongPduLength { .. } => "wrong_pdu_length",
            Error::ByteCountMismatch { .. } => "byte_count_mismatch",
            Error::QuantityOutOfRange { .. } => "quantity_out_of_range",
            Error::BadCoilValue(_) => "bad_coil_value",
            Error::BadExceptionCode(_) => "bad_exception_code",
            Error::Truncated { .. } => "truncated",
        }
    }

    /// The function code the error concerns, when known.
    pub fn function(&self) -> Option<u8> {
        match *self {
            Error::WrongPduLength { function, .. }
            | Error::ByteCountMismatch { function, .. }
            | Error::QuantityOutOfRange { function, .. }
            | Error::Truncated { function } => Some(function),
            Error::BadCoilValue(_) => Some(fc::WRITE_SINGLE_COIL),
            Error::BadExceptionCode(function) => Some(function),
            Error::FunctionCodeZero => Some(0),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Error::BadProtocolId(p) => write!(f, "MBAP protocol identifier is {p}, Modbus uses 0"),
            Error::BadLength(l) => write!(f, "MBAP length is {l}, valid lengths are 2 to 254"),
            Error::FunctionCodeZero => write!(f, "function code 0 is not a valid Modbus function"),
            Error::WrongPduLength {
                function,
                expected,
                actual,
            } => write!(
                f,
                "function {function} PDU is {actual} bytes, expected {expected}"
            ),
            Error::ByteCountMismatch {
                function,
                byte_count,
                expected,
            } => write!(
                f,
                "function {function} byte count is {byte_count}, expected {expected}"
            ),
            Error::QuantityOutOfRange {
                function,
                quantity,
                max,
            } => write!(
                f,
                "function {function} quantity is {quantity}, allowed range is 1 to {max}"
            ),
            Error::BadCoilValue(v) => write!(
                f,
                "write single coil value is 0x{v:04x}, only 0x0000 and 0xff00 are valid"
            ),
            Error::BadExceptionCode(function) => write!(
                f,
                "exception response to function {function} carries the reserved exception code 0"
            ),
            Error::Truncated { function } => {
                write!(f, "function {function} data runs past the end of the PDU")
            }
        }
    }
}

/// The function-specific part of a PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Functions 1–4 request, 24 request (address only, quantity 0).
    Read { address: u16, quantity: u16 },
    /// Functions 1–4, 17, 23 response, 12/20/21 raw responses: byte count and data.
    Data { byte_count: u8, data: &'a [u8] },
    /// Functions 5 and 6, request and echo response.
    WriteSingle { address: u16, value: u16 },
    /// Functions 15 and 16 request.
    WriteMultiple {
        address: u16,
        quantity: u16,
        byte_count: u8,
        data: &'a [u8],
    },
    /// Functions 15 and 16 response.
    WriteMultipleAck { address: u16, quantity: u16 },
    /// Function 22, request and echo response.
    MaskWrite {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// Function 23 request.
    ReadWrite {
        read_address: u16,
        read_quantity: u16,
        write_address: u16,
        write_quantity: u16,
        byte_count: u8,
        data: &'a [u8],
    },
    /// Function 24 response.
    Fifo { fifo_count: u16, data: &'a [u8] },
    /// Function 8, request and response.
    Diagnostics { sub_function: u16, data: &'a [u8] },
    /// Function 7 response.
    ExceptionStatus { status: u8 },
    /// Function 11 response.
    CommEventCounter { status: u16, event_count: u16 },
    /// Function 12 response.
    CommEventLog {
        status: u16,
        event_count: u16,
        message_count: u16,
        events: &'a [u8],
    },
    /// Functions 20 and 21: the sub-requests or sub-responses, raw.
    FileRecord { byte_count: u8, records: &'a [u8] },
    /// Function 43/14 request.
    DeviceIdRequest { read_code: u8, object_id: u8 },
    /// Function 43/14 response; `objects` iterates with [`DeviceIdObjects`].
    DeviceId {
        read_code: u8,
        conformity: u8,
        more_follows: bool,
        next_object_id: u8,
        object_count: u8,
        objects: &'a [u8],
    },
    /// Function 43 with another MEI type.
    Mei { mei_type: u8, data: &'a [u8] },
    /// Requests with no data (functions 7, 11, 12, 17).
    Empty,
    /// Exception response.
    Exception,
    /// User-defined, reserved or unassigned function: data kept raw.
    Raw { data: &'a [u8] },
    /// A PDU whose function code was readable but whose body is invalid for it
    /// (a malformed event with the reason accompanies it).
    Invalid { data: &'a [u8] },
}

/// One Modbus ADU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub mbap: Mbap,
    /// Function code without the exception bit.
    pub function_code: u8,
    /// Present on exception responses (function code with bit 7 set).
    pub exception_code: Option<u8>,
    /// MEI type for function 43.
    pub mei_type: Option<u8>,
    pub body: Body<'a>,
}

/// Reads the MBAP header; `None` if fewer than 7 bytes are available.
#[inline]
pub fn parse_mbap(b: &[u8]) -> Option<Mbap> {
    let mut c = Cursor::new(b);
    Some(Mbap {
        transaction_id: c.be16()?,
        protocol_id: c.be16()?,
        length: c.be16()?,
        unit_id: c.u8()?,
    })
}

/// Checks the MBAP header fields that frame the stream.
#[inline]
pub fn check_mbap(h: &Mbap) -> Result<(), Error> {
    if h.protocol_id != 0 {
        return Err(Error::BadProtocolId(h.protocol_id));
    }
    if !(2..=254).contains(&h.length) {
        return Err(Error::BadLength(h.length));
    }
    Ok(())
}

/// Parses one complete ADU (`adu` holds exactly `mbap.adu_len()` bytes).
pub fn parse_adu(adu: &[u8], side: Side) -> Result<Pdu<'_>, Error> {
    let mbap = parse_mbap(adu).ok_or(Error::BadLength(0))?;
    check_mbap(&mbap)?;
    let pdu = adu
        .get(MBAP_LEN..mbap.adu_len())
        .ok_or(Error::BadLength(mbap.length))?;
    parse_pdu(mbap, pdu, side)
}

/// The message view of a PDU that failed to parse: function code, exception
/// code and MEI type as far as readable, the body kept raw.
pub fn invalid_pdu(mbap: Mbap, pdu: &[u8]) -> Option<Pdu<'_>> {
    let raw_fc = *pdu.first()?;
    let data = &pdu[1..];
    let exception = raw_fc & 0x80 != 0;
    Some(Pdu {
        mbap,
        function_code: raw_fc & 0x7f,
        exception_code: if exception {
            data.first().copied()
        } else {
            None
        },
        mei_type: if raw_fc == fc::ENCAPSULATED_INTERFACE {
            data.first().copied()
        } else {
            None
        },
        body: Body::Invalid { data },
    })
}

/// Parses a PDU (function code and data) that followed `mbap`.
pub fn parse_pdu(mbap: Mbap, pdu: &[u8], side: Side) -> Result<Pdu<'_>, Error> {
    let raw_fc = *pdu.first().ok_or(Error::BadLength(mbap.length))?;
    let data = &pdu[1..];
    if raw_fc == 0 {
        return Err(Error::FunctionCodeZero);
    }
    if raw_fc & 0x80 != 0 {
        let function_code = raw_fc & 0x7f;
        if data.len() != 1 {
            return Err(Error::WrongPduLength {
                function: function_code,
                expected: 2,
                actual: pdu.len() as u16,
            });
        }
        if data[0] == 0 {
            return Err(Error::BadExceptionCode(function_code));
        }
        return Ok(Pdu {
            mbap,
            function_code,
            exception_code: Some(data[0]),
            mei_type: None,
            body: Body::Exception,
        });
    }
    let mei_type = (raw_fc == fc::ENCAPSULATED_INTERFACE)
        .then(|| data.first().copied())
        .flatten();
    let body = match side {
        Side::Request => parse_request(raw_fc, data)?,
        Side::Response => parse_response(raw_fc, data)?,
    };
    Ok(Pdu {
        mbap,
        function_code: raw_fc,
        exception_code: None,
        mei_type,
        body,
    })
}

fn exact(function: u8, data: &[u8], len: usize) -> Result<(), Error> {
    if data.len() == len {
        Ok(())
    } else {
        Err(Error::WrongPduLength {
            function,
            expected: (len + 1) as u16,
            actual: (data.len() + 1) as u16,
        })
    }
}

fn at_least(function: u8, data: &[u8], len: usize) -> Result<(), Error> {
    if data.len() >= len {
        Ok(())
    } else {
        Err(Error::WrongPduLength {
            function,
            expected: (len + 1) as u16,
            actual: (data.len() + 1) as u16,
        })
    }
}

fn be16(d: &[u8], off: usize) -> u16 {
    // Callers check lengths first; default to 0 rather than panic regardless.
    crate::wire::be16_at(d, off).unwrap_or(0)
}

fn quantity(function: u8, q: u16, max: u16) -> Result<(), Error> {
    if (1..=max).contains(&q) {
        Ok(())
    } else {
        Err(Error::QuantityOutOfRange {
            function,
            quantity: q,
            max,
        })
    }
}

/// Byte count followed by exactly that many bytes.
fn counted(function: u8, d: &[u8]) -> Result<(u8, &[u8]), Error> {
    at_least(function, d, 1)?;
    let n = d[0];
    if d.len() - 1 != n as usize {
        return Err(Error::ByteCountMismatch {
            function,
            byte_count: n as u16,
            expected: (d.len() - 1) as u16,
        });
    }
    Ok((n, &d[1..]))
}

fn parse_request(f: u8, d: &[u8]) -> Result<Body<'_>, Error> {
    Ok(match f {
        fc::READ_COILS | fc::READ_DISCRETE_INPUTS => {
            exact(f, d, 4)?;
            let q = be16(d, 2);
            quantity(f, q, 2000)?;
            Body::Read {
                address: be16(d, 0),
                quantity: q,
            }
        }
        fc::READ_HOLDING_REGISTERS | fc::READ_INPUT_REGISTERS => {
            exact(f, d, 4)?;
            let q = be16(d, 2);
            quantity(f, q, 125)?;
            Body::Read {
                address: be16(d, 0),
                quantity: q,
            }
        }
        fc::WRITE_SINGLE_COIL | fc::WRITE_SINGLE_REGISTER => write_single(f, d)?,
        fc::READ_EXCEPTION_STATUS
        | fc::GET_COMM_EVENT_COUNTER
        | fc::GET_COMM_EVENT_LOG
        | fc::REPORT_SERVER_ID => {
            exact(f, d, 0)?;
            Body::Empty
        }
        fc::DIAGNOSTICS => diagnostics(f, d)?,
        fc::WRITE_MULTIPLE_COILS | fc::WRITE_MULTIPLE_REGISTERS => {
            at_least(f, d, 5)?;
            let q = be16(d, 2);
            let (max, expected) = if f == fc::WRITE_MULTIPLE_COILS {
                (1968, q.div_ceil(8))
            } else {
                (123, q.saturating_mul(2))
            };
            quantity(f, q, max)?;
            let (n, data) = counted(f, &d[4..])?;
            if n as u16 != expected {
                return Err(Error::ByteCountMismatch {
                    function: f,
                    byte_count: n as u16,
                    expected,
                });
            }
            Body::WriteMultiple {
                address: be16(d, 0),
                quantity: q,
                byte_count: n,
                data,
            }
        }
        fc::READ_FILE_RECORD | fc::WRITE_FILE_RECORD => {
            let (n, records) = counted(f, d)?;
            // Read sub-requests are 7 bytes each; write sub-requests are 7 plus data.
            if f == fc::READ_FILE_RECORD && (n == 0 || n % 7 != 0) {
                return Err(Error::ByteCountMismatch {
                    function: f,
                    byte_count: n as u16,
                    expected: (n as u16 / 7).max(1) * 7,
                });
            }
            Body::FileRecord {
                byte_count: n,
                records,
            }
        }
        fc::MASK_WRITE_REGISTER => mask_write(f, d)?,
        fc::READ_WRITE_MULTIPLE_REGISTERS => {
            at_least(f, d, 9)?;
            let rq = be16(d, 2);
            let wq = be16(d, 6);
            quantity(f, rq, 125)?;
            quantity(f, wq, 121)?;
            let (n, data) = counted(f, &d[8..])?;
            if n as u16 != wq * 2 {
                return Err(Error::ByteCountMismatch {
                    function: f,
                    byte_count: n as u16,
                    expected: wq * 2,
                });
            }
            Body::ReadWrite {
                read_address: be16(d, 0),
                read_quantity: rq,
                write_address: be16(d, 4),
                write_quantity: wq,
                byte_count: n,
                data,
            }
        }
        fc::READ_FIFO_QUEUE => {
            exact(f, d, 2)?;
            Body::Read {
                address: be16(d, 0),
                quantity: 0,
            }
        }
        fc::ENCAPSULATED_INTERFACE => {
            at_least(f, d, 1)?;
            if d[0] == fc::MEI_READ_DEVICE_ID {
                exact(f, d, 3)?;
                Body::DeviceIdRequest {
                    read_code: d[1],
                    object_id: d[2],
                }
            } else {
                Body::Mei {
                    mei_type: d[0],
                    data: &d[1..],
                }
            }
        }
        _ => Body::Raw { data: d },
    })
}

fn parse_response(f: u8, d: &[u8]) -> Result<Body<'_>, Error> {
    Ok(match f {
        fc::READ_COILS
        | fc::READ_DISCRETE_INPUTS
        | fc::READ_HOLDING_REGISTERS
        | fc::READ_INPUT_REGISTERS
        | fc::READ_WRITE_MULTIPLE_REGISTERS
        | fc::REPORT_SERVER_ID => {
            let (n, data) = counted(f, d)?;
            let registers = matches!(
                f,
                fc::READ_HOLDING_REGISTERS
                    | fc::READ_INPUT_REGISTERS
                    | fc::READ_WRITE_MULTIPLE_REGISTERS
            );
            if registers && n % 2 != 0 {
                return Err(Error::ByteCountMismatch {
                    function: f,
                    byte_count: n as u16,
                    expected: n as u16 + 1,
                });
            }
            Body::Data {
                byte_count: n,
                data,
            }
        }
        fc::WRITE_SINGLE_COIL | fc::WRITE_SINGLE_REGISTER => write_single(f, d)?,
        fc::READ_EXCEPTION_STATUS => {
            exact(f, d, 1)?;
            Body::ExceptionStatus { status: d[0] }
        }
        fc::DIAGNOSTICS => diagnostics(f, d)?,
        fc::GET_COMM_EVENT_COUNTER => {
            exact(f, d, 4)?;
            Body::CommEventCounter {
                status: be16(d, 0),
                event_count: be16(d, 2),
            }
        }
        fc::GET_COMM_EVENT_LOG => {
            let (n, rest) = counted(f, d)?;
            if n < 6 {
                return Err(Error::ByteCountMismatch {
                    function: f,
                    byte_count: n as u16,
                    expected: 6,
                });
            }
            Body::CommEventLog {
                status: be16(rest, 0),
                event_count: be16(rest, 2),
                message_count: be16(rest, 4),
                events: &rest[6..],
            }
        }
        fc::WRITE_MULTIPLE_COILS | fc::WRITE_MULTIPLE_REGISTERS => {
            exact(f, d, 4)?;
            Body::WriteMultipleAck {
                address: be16(d, 0),
                quantity: be16(d, 2),
            }
        }
        fc::READ_FILE_RECORD | fc::WRITE_FILE_RECORD => {
            let (n, records) = counted(f, d)?;
            Body::FileRecord {
                byte_count: n,
                records,
            }
        }
        fc::MASK_WRITE_REGISTER => mask_write(f, d)?,
        fc::READ_FIFO_QUEUE => {
            at_least(f, d, 4)?;
            let byte_count = be16(d, 0);
            let fifo_count = be16(d, 2);
            if byte_count as usize != d.len() - 2 || fifo_count.saturating_mul(2) + 2 != byte_count
            {
                return Err(Error::ByteCountMismatch {
                    function: f,
                    byte_count,
                    expected: (d.len() - 2) as u16,
                });
            }
            Body::Fifo {
                fifo_count,
                data: &d[4..],
            }
        }
        fc::ENCAPSULATED_INTERFACE => {
            at_least(f, d, 1)?;
            if d[0] == fc::MEI_READ_DEVICE_ID {
                at_least(f, d, 6)?;
                let objects = &d[6..];
                let count = d[5];
                // Every announced object must fit in the PDU.
                let mut it = DeviceIdObjects::new(objects);
                for _ in 0..count {
                    match it.next() {
                        Some(_) => {}
                        None => return Err(Error::Truncated { function: f }),
                    }
                }
                Body::DeviceId {
                    read_code: d[1],
                    conformity: d[2],
                    more_follows: d[3] == 0xff,
                    next_object_id: d[4],
                    object_count: count,
                    objects,
                }
            } else {
                Body::Mei {
                    mei_type: d[0],
                    data: &d[1..],
                }
            }
        }
        _ => Body::Raw { data: d },
    })
}

fn write_single(f: u8, d: &[u8]) -> Result<Body<'_>, Error> {
    exact(f, d, 4)?;
    let value = be16(d, 2);
    if f == fc::WRITE_SINGLE_COIL && value != 0 && value != 0xff00 {
        return Err(Error::BadCoilValue(value));
    }
    Ok(Body::WriteSingle {
        address: be16(d, 0),
        value,
    })
}

fn diagnostics(f: u8, d: &[u8]) -> Result<Body<'_>, Error> {
    at_least(f, d, 2)?;
    Ok(Body::Diagnostics {
        sub_function: be16(d, 0),
        data: &d[2..],
    })
}

fn mask_write(f: u8, d: &[u8]) -> Result<Body<'_>, Error> {
    exact(f, d, 6)?;
    Ok(Body::MaskWrite {
        address: be16(d, 0),
        and_mask: be16(d, 2),
        or_mask: be16(d, 4),
    })
}

/// One object of a Read Device Identification response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdObject<'a> {
    /// 0 vendor name, 1 product code, 2 major/minor revision, 3 vendor URL,
    /// 4 product name, 5 model name, 6 user application name, 0x80+ private.
    pub id: u8,
    pub value: &'a [u8],
}

/// Iterator over the objects of a 43/14 response; stops at the first truncated object.
#[derive(Clone, Debug)]
pub struct DeviceIdObjects<'a> {
    c: Cursor<'a>,
}

impl<'a> DeviceIdObjects<'a> {
    pub fn new(objects: &'a [u8]) -> Self {
        DeviceIdObjects {
            c: Cursor::new(objects),
        }
    }
}

impl<'a> Iterator for DeviceIdObjects<'a> {
    type Item = DeviceIdObject<'a>;
    fn next(&mut self) -> Option<DeviceIdObject<'a>> {
        let id = self.c.u8()?;
        let len = self.c.u8()?;
        let value = self.c.take(len as usize)?;
        Some(DeviceIdObject { id, value })
    }
}

/// Name of a Read Device Identification object id.
pub fn device_id_object_name(id: u8) -> &'static str {
    match id {
        0 => "vendor_name",
        1 => "product_code",
        2 => "major_minor_revision",
        3 => "vendor_url",
        4 => "product_name",
        5 => "model_name",
        6 => "user_application_name",
        0x80.. => "private",
        _ => "reserved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tid.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
        v.push(unit);
        v.extend_from_slice(pdu);
        v
    }

    #[test]
    fn read_holding_registers_request_and_response() {
        let req = adu(7, 1, &[3, 0x00, 0x6b, 0x00, 0x03]);
        let p = parse_adu(&req, Side::Request).unwrap();
        assert_eq!(p.mbap.transaction_id, 7);
        assert_eq!(p.function_code, 3);
        assert_eq!(
            p.body,
            Body::Read {
                address: 0x6b,
                quantity: 3
            }
        );
        let resp = adu(7, 1, &[3, 6, 0x02, 0x2b, 0x00, 0x00, 0x00, 0x64]);
        let p = parse_adu(&resp, Side::Response).unwrap();
        assert!(matches!(p.body, Body::Data { byte_count: 6, .. }));
    }

    #[test]
    fn exception_response() {
        let resp = adu(1, 1, &[0x83, 0x02]);
        let p = parse_adu(&resp, Side::Response).unwrap();
        assert_eq!(p.function_code, 3);
        assert_eq!(p.exception_code, Some(2));
        assert_eq!(p.body, Body::Exception);
        assert_eq!(
            parse_adu(&adu(1, 1, &[0x83, 0x00]), Side::Response),
            Err(Error::BadExceptionCode(3))
        );
    }

    #[test]
    fn mbap_validation() {
        let mut bad = adu(1, 1, &[3, 0, 0, 0, 1]);
        bad[2] = 0x12;
        assert_eq!(
            parse_adu(&bad, Side::Request),
            Err(Error::BadProtocolId(0x1200))
        );
        assert_eq!(
            check_mbap(&parse_mbap(&[0, 1, 0, 0, 1, 0, 1]).unwrap()),
            Err(Error::BadLength(256))
        );
        assert_eq!(
            parse_adu(&adu(1, 1, &[0]), Side::Request),
            Err(Error::FunctionCodeZero)
        );
    }

    #[test]
    fn write_functions() {
        let a = adu(1, 1, &[5, 0, 0xac, 0xff, 0]);
        let p = parse_adu(&a, Side::Request).unwrap();
        assert_eq!(
            p.body,
            Body::WriteSingle {
                address: 0xac,
                value: 0xff00
            }
        );
        assert_eq!(
            parse_adu(&adu(1, 1, &[5, 0, 0xac, 0x12, 0x34]), Side::Request),
            Err(Error::BadCoilValue(0x1234))
        );
        let req = adu(1, 1, &[16, 0, 1, 0, 2, 4, 0, 10, 1, 2]);
        let p = parse_adu(&req, Side::Request).unwrap();
        assert!(matches!(
            p.body,
            Body::WriteMultiple {
                address: 1,
                quantity: 2,
                byte_count: 4,
                ..
            }
        ));
        // Byte count disagrees with the quantity.
        let req = adu(1, 1, &[16, 0, 1, 0, 3, 4, 0, 10, 1, 2]);
        assert!(matches!(
            parse_adu(&req, Side::Request),
            Err(Error::ByteCountMismatch { .. })
        ));
        let coils = adu(1, 1, &[15, 0, 0x13, 0, 10, 2, 0xcd, 0x01]);
        assert!(parse_adu(&coils, Side::Request).is_ok());
        let ack = adu(1, 1, &[15, 0, 0x13, 0, 10]);
        assert_eq!(
            parse_adu(&ack, Side::Response).unwrap().body,
            Body::WriteMultipleAck {
                address: 0x13,
                quantity: 10
            }
        );
    }

    #[test]
    fn quantity_limits() {
        assert!(matches!(
            parse_adu(&adu(1, 1, &[3, 0, 0, 0, 126]), Side::Request),
            Err(Error::QuantityOutOfRange { max: 125, .. })
        ));
        assert!(matches!(
            parse_adu(&adu(1, 1, &[1, 0, 0, 0, 0]), Side::Request),
            Err(Error::QuantityOutOfRange { .. })
        ));
    }

    #[test]
    fn other_functions() {
        let cases: &[(&[u8], Side)] = &[
            (&[7], Side::Request),
            (&[7, 0x6d], Side::Response),
            (&[8, 0, 0, 0xa5, 0x37], Side::Request),
            (&[11], Side::Request),
            (&[11, 0xff, 0xff, 0x01, 0x08], Side::Response),
            (&[12], Side::Request),
            (&[12, 8, 0, 0, 1, 8, 1, 0x21, 0x20, 0], Side::Response),
            (&[17], Side::Request),
            (&[17, 2, 0x01, 0xff], Side::Response),
            (&[20, 7, 6, 0, 4, 0, 1, 0, 2], Side::Request),
            (&[21, 9, 6, 0, 4, 0, 7, 0, 1, 0x06, 0xaf], Side::Request),
            (&[22, 0, 4, 0, 0xf2, 0, 0x25], Side::Request),
            (&[22, 0, 4, 0, 0xf2, 0, 0x25], Side::Response),
            (
                &[23, 0, 3, 0, 6, 0, 0x0e, 0, 3, 6, 0, 0xff, 0, 0xff, 0, 0xff],
                Side::Request,
            ),
            (&[23, 2, 0, 0xfe], Side::Response),
            (&[24, 4, 0xde], Side::Request),
            (&[24, 0, 6, 0, 2, 1, 0xb8, 0x12, 0x84], Side::Response),
            (&[43, 14, 1, 0], Side::Request),
            (&[43, 13, 1, 2, 3], Side::Request),
            (&[90, 0, 1, 2], Side::Request),
        ];
        for (pdu, side) in cases {
            let a = adu(9, 1, pdu);
            let r = parse_adu(&a, *side);
            assert!(r.is_ok(), "pdu {pdu:?} {side:?}: {r:?}");
            assert_eq!(r.unwrap().function_code, pdu[0]);
        }
    }

    #[test]
    fn device_identification() {
        let pdu = [
            43, 14, 1, 1, 0, 0, 3, 0, 4, b'A', b'c', b'm', b'e', 1, 2, b'P', b'1', 2, 3, b'1',
            b'.', b'2',
        ];
        let a = adu(1, 1, &pdu);
        let p = parse_adu(&a, Side::Response).unwrap();
        assert_eq!(p.mei_type, Some(14));
        let Body::DeviceId {
            objects,
            object_count,
            ..
        } = p.body
        else {
            panic!("not a device id body: {:?}", p.body)
        };
        assert_eq!(object_count, 3);
        let objs: Vec<_> = DeviceIdObjects::new(objects).collect();
        assert_eq!(objs[0].value, b"Acme");
        assert_eq!(objs[2].id, 2);
        assert_eq!(objs[2].value, b"1.2");
        // Announce 4 objects where 3 are present.
        let mut bad = pdu;
        bad[6] = 4;
        assert_eq!(
            parse_adu(&adu(1, 1, &bad), Side::Response),
            Err(Error::Truncated { function: 43 })
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_adu(&data, Side::Request);
            let _ = parse_adu(&data, Side::Response);
        }
    }
}
