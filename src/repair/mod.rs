//! Repair: localisation and context, prompt templates, the model client, edit
//! formats, the rule tier, the path policy and the patch type.

pub mod compose;
pub mod context;
pub mod edits;
pub mod files;
pub mod honesty;
pub mod model;
pub mod patch;
pub mod policy;
pub mod prompts;
pub mod rules;
