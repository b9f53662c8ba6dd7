//! Integration tests: the real binary against real sample projects, real pytest
//! runs and a stand-in OpenAI-compatible server on 127.0.0.1.

mod cli;
mod fix;
mod samples;
mod support;
