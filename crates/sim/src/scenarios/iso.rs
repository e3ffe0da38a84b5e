//! IEC 61850 scenarios: MMS over the ISO stack (TPKT/COTP, session,
//! presentation, ACSE), GOOSE and Sampled Values.

mod l2;
mod mms;
mod wire;

use super::{Entry, Group};
use crate::{Scenario, Truth};

pub(crate) const SCENARIOS: Group = &[
    entry("mms_normal", mms::NORMAL, mms::normal),
    entry("mms_abnormal", mms::ABNORMAL, mms::abnormal),
    entry("goose_normal", l2::GOOSE_NORMAL, l2::goose_normal),
    entry("goose_abnormal", l2::GOOSE_ABNORMAL, l2::goose_abnormal),
    entry("sv_stream", l2::SV_STREAM, l2::sv_stream),
    entry("sv_abnormal", l2::SV_ABNORMAL, l2::sv_abnormal),
];

const fn entry(
    name: &'static str,
    description: &'static str,
    build: fn(&mut crate::builder::Cap),
) -> Entry {
    (Scenario { name, description }, build)
}

/// A message of kind `other` (GOOSE, SV, MMS unconfirmed and reject PDUs).
fn other(proto: &'static str, function_code: u16) -> Truth {
    Truth {
        proto,
        function_code,
        kind: "other",
        malformed: false,
    }
}
