//! Publishing a validated fix: git (branch, commit, push).

pub mod git;
