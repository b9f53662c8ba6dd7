//! Integration tests: the real binary against real sample projects, real pytest
//! runs and a stand-in OpenAI-compatible server on 127.0.0.1.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod action;
mod approval;
mod browser;
mod canary;
mod cli;
mod corpus;
mod docker;
mod faults;
mod fix;
mod github;
mod guards;
mod hostile;
mod pulls;
mod rules;
mod samples;
mod support;
mod triage;
mod webdriver;
