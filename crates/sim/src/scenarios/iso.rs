//! Scenarios of this protocol family (filled in with the dissectors).

use super::Group;

pub(crate) const SCENARIOS: Group = &[];
