//! Exit codes, documented here and in the README, and nowhere else.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | repaired, or nothing to fix (also: `check` passed, `analyze` read the log) |
//! | 1 | not repaired (no validated fix, the fix was rejected, or it could not be written) |
//! | 2 | bad usage or configuration (unknown flag, invalid setting, no model when one is needed, test command not found, a failed `check`) |

use crate::pipeline::{RunResult, Status};

/// Repaired, or nothing to fix.
pub const OK: u8 = 0;
/// Not repaired.
pub const NOT_REPAIRED: u8 = 1;
/// Bad usage or configuration.
pub const USAGE: u8 = 2;

/// The exit code of a repair run.
pub fn for_run(result: &RunResult) -> u8 {
    match result.status {
        Status::Repaired | Status::NothingToFix => OK,
        _ if result.setup_error => USAGE,
        Status::NotRepaired | Status::Rejected => NOT_REPAIRED,
    }
}
