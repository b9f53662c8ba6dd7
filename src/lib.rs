//! self-heal: repairs failing CI. It reads the failing run's output, finds the
//! failing test and the code at fault, asks a rule or a language model for a
//! patch, proves the patch by running the tests in isolation, retries with what
//! it learned, and applies (or offers) the fix.
//!
//! Stages, in the order data flows: [`config`] → [`analysis`] → [`repair`] →
//! [`approval`] → [`validate`] → [`report`], orchestrated by [`pipeline`].
//! [`check`] is the pre-flight check and [`demo`] the self-contained demonstration.

pub mod action;
pub mod analysis;
pub mod approval;
pub mod check;
pub mod config;
pub mod demo;
pub mod exit;
pub mod github;
pub mod logs;
pub mod pipeline;
pub mod publish;
pub mod repair;
pub mod report;
pub mod secrets;
pub mod validate;
