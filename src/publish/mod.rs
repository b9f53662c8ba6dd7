//! Publishing a validated fix: git (branch, commit, push) and the pull request.

pub mod git;
pub mod pull;
