//! Exit codes, documented here and in the README, and nowhere else.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | repaired, or nothing to fix: the tests pass, or passed on a re-run (`flaky`) (also: `check` passed, `analyze` read the log) |
//! | 1 | not repaired (no validated fix, the fix was rejected or could not be written, or the failure is the infrastructure's) |
//! | 2 | bad usage or configuration (unknown flag, invalid setting, no model when one is needed, test command not found, a failed `check`) |
//! | 130 | interrupted (Ctrl-C, SIGTERM): the run stopped, its validation container was removed, nothing was written |

use crate::pipeline::{RunResult, Status};

/// Repaired, or nothing to fix.
pub const OK: u8 = 0;
/// Not repaired.
pub const NOT_REPAIRED: u8 = 1;
/// Bad usage or configuration.
pub const USAGE: u8 = 2;
/// Interrupted by SIGINT or SIGTERM.
pub const INTERRUPTED: u8 = 130;

/// The exit code of a repair run.
pub fn for_run(result: &RunResult) -> u8 {
    match result.status {
        Status::Repaired | Status::NothingToFix | Status::Flaky => OK,
        _ if result.setup_error => USAGE,
        Status::NotRepaired | Status::Rejected | Status::Infrastructure => NOT_REPAIRED,
    }
}
