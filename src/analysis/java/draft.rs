//! A failure block under construction: where it ends for each tool's layout,
//! how its lines are read (a stack frame, the exception, more of the message),
//! and how what it found is classified.
//!
//! Invariants: a draft keeps at most `MAX_DRAFT_LINES` lines plus a tail of
//! `MAX_EXCERPT_LINES`, `MAX_MESSAGE_LINES` message lines and `MAX_FRAMES` frames,
//! however long the block; the frames of a `Caused by:` are not the test's.

use std::collections::VecDeque;

use super::frames::{exception, frame};
use super::tag::Tag;
use super::{MAX_DRAFT_LINES, MAX_EXCERPT_LINES, MAX_FRAMES, MAX_LINE, MAX_MESSAGE, MAX_MESSAGE_LINES};
use crate::analysis::{Failure, FailureKind, Frame, truncate};

/// How a failure block is laid out, which decides where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Maven,
    Gradle,
    Ant,
    Sbt,
    Platform,
    Compiler,
    Build,
}

/// A failure under construction.
pub(super) struct Draft {
    pub(super) style: Style,
    tag: Tag,
    pub(super) test: Option<String>,
    /// The test's class as printed, when the package may still be found in the frames.
    pub(super) class_hint: Option<String>,
    pub(super) kind: Option<FailureKind>,
    pub(super) file: Option<String>,
    pub(super) line: Option<u32>,
    error_type: Option<String>,
    pub(super) message: Vec<String>,
    message_open: bool,
    pub(super) frames: Vec<Frame>,
    in_cause: bool,
    /// The block's first `MAX_DRAFT_LINES` lines, cut to `MAX_LINE`, one after the
    /// other in one buffer (a block of a thousand frames makes no thousand
    /// allocations), and where each ends.
    head: String,
    ends: Vec<usize>,
    /// The last `MAX_EXCERPT_LINES` lines after those.
    tail: VecDeque<String>,
    /// Lines of the block read so far, the header included.
    pub(super) seen: usize,
}

impl Draft {
    /// A block that `header` (kept as its first line) starts.
    pub(super) fn new(style: Style, tag: Tag, test: Option<String>, header: &str) -> Self {
        let mut d = Self {
            style,
            tag,
            test,
            class_hint: None,
            kind: None,
            file: None,
            line: None,
            error_type: None,
            message: Vec::new(),
            message_open: true,
            frames: Vec::new(),
            in_cause: false,
            head: String::new(),
            ends: Vec::new(),
            tail: VecDeque::new(),
            seen: 0,
        };
        d.keep(header);
        d
    }

    /// Keeps one line for the excerpt, without reading it.
    pub(super) fn keep(&mut self, line: &str) {
        self.seen += 1;
        if self.ends.len() < MAX_DRAFT_LINES {
            push_truncated(&mut self.head, line, MAX_LINE);
            self.ends.push(self.head.len());
        } else {
            self.tail.push_back(truncate(line, MAX_LINE));
            if self.tail.len() > MAX_EXCERPT_LINES {
                self.tail.pop_front();
            }
        }
    }

    /// Whether a line that starts nothing new still belongs to this block.
    pub(super) fn continues(&self, tag: Tag, body: &str) -> bool {
        let blank = body.trim().is_empty();
        let traced = !self.frames.is_empty() || self.in_cause;
        match self.style {
            Style::Maven => {
                let t = body.trim();
                let next = t.starts_with("Running ") || t.starts_with("Results");
                tag == Tag::None && !(blank && traced) && !next
            }
            Style::Gradle => tag == Tag::None && (blank || body.starts_with(char::is_whitespace)),
            Style::Ant => tag == self.tag && !(blank && (traced || self.error_type.is_some())),
            Style::Sbt => tag == self.tag && (frame(body).is_some() || body.trim() == "..."),
            Style::Platform => !blank,
            Style::Compiler => {
                is_detail(body) || (tag == self.tag && self.seen < 3 && tag != Tag::MavenError && !blank)
            }
            Style::Build => body.trim_start().starts_with('>') || (!blank && self.seen < 2),
        }
    }

    /// Keeps one line of the block and reads it.
    pub(super) fn feed(&mut self, body: &str) {
        self.keep(body);
        self.read(body);
    }

    /// Reads one line of the block: a frame, the exception, or more of the message.
    pub(super) fn read(&mut self, body: &str) {
        let t = body.trim();
        match self.style {
            Style::Compiler => {
                if is_detail(body) {
                    self.message.push(t.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                return;
            }
            Style::Build => {
                let reason = t.trim_start_matches('>').trim();
                if !reason.is_empty() && self.message.len() < MAX_MESSAGE_LINES {
                    self.message.push(reason.to_string());
                }
                return;
            }
            _ => {}
        }
        // Without `at`, only the platform launcher's list prints frames.
        if let Some(f) = frame(body).filter(|f| f.at || self.style == Style::Platform) {
            self.message_open = false;
            if !self.in_cause && self.frames.len() < MAX_FRAMES {
                let (file, line) = match f.location.split_once(':') {
                    Some((file, line)) => (file.to_string(), line.parse().unwrap_or(0)),
                    None => (f.location.to_string(), 0),
                };
                let function = Some([f.class, ".", f.method].concat());
                self.frames.push(Frame { file, line, function, in_workspace: false });
            }
            return;
        }
        if t.starts_with("Caused by:") {
            self.in_cause = true;
            self.message_open = false;
            return;
        }
        if t == "[...]" || t == "..." || (t.starts_with("... ") && t.ends_with(" more")) {
            return;
        }
        let t = t.strip_prefix("=> ").unwrap_or(t);
        if self.error_type.is_none()
            && !self.in_cause
            && let Some(e) = exception(t)
        {
            self.error_type = Some(e.name.to_string());
            // The exception's own message beats the lines Ant prints before it.
            if let Some(m) = e.message.map(str::trim).filter(|m| !m.is_empty()) {
                self.message = vec![m.to_string()];
            }
            if let Some((file, line)) = e.at {
                let line = line.parse().unwrap_or(0);
                self.frames.push(Frame { file: file.to_string(), line, function: None, in_workspace: false });
            }
            self.message_open = true;
            return;
        }
        if self.message_open && self.message.len() < MAX_MESSAGE_LINES && (!t.is_empty() || !self.message.is_empty()) {
            self.message.push(t.to_string());
        }
    }

    /// The record: the test qualified with the package its frames name, frames
    /// outermost first, and an excerpt of the block's head and tail.
    pub(super) fn finish(mut self) -> Failure {
        if let (Some(test), Some(hint)) = (self.test.as_mut(), self.class_hint.as_deref()) {
            let printed_class = test.strip_prefix(hint).is_some_and(|r| r.starts_with('.'));
            if let Some(package) = package_of(hint, &self.frames).filter(|_| printed_class) {
                *test = format!("{package}.{test}");
            }
        }
        self.frames.reverse();
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        let head = starts.zip(self.ends.iter()).map(|(start, &end)| &self.head[start..end]);
        let lines: Vec<&str> = head.chain(self.tail.iter().map(String::as_str)).collect();
        let excerpt_lines: Vec<&str> = if lines.len() > MAX_EXCERPT_LINES {
            let head = lines.iter().take(10).copied();
            let tail = lines.iter().skip(lines.len() - (MAX_EXCERPT_LINES - 10)).copied();
            head.chain(std::iter::once("[…]")).chain(tail).collect()
        } else {
            lines
        };
        let excerpt = excerpt_lines.join("\n").trim_matches('\n').to_string();
        let message = self.message.join("\n");
        Failure {
            test: self.test,
            file: self.file,
            line: self.line,
            kind: self.kind.unwrap_or_else(|| classify(self.error_type.as_deref(), &message)),
            error_type: self.error_type,
            message: truncate(message.trim(), MAX_MESSAGE),
            excerpt,
            frames: self.frames,
        }
    }
}

/// Appends `text` cut as [`truncate`] cuts it, without a `String` of its own.
fn push_truncated(to: &mut String, text: &str, max: usize) {
    if text.len() <= max {
        to.push_str(text);
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    to.push_str(&text[..end]);
    to.push('…');
}

/// A compiler's detail line under an error (`  symbol:   method x()`).
fn is_detail(body: &str) -> bool {
    body.starts_with(char::is_whitespace)
        && ["symbol", "location", "required", "found", "reason", "where"]
            .iter()
            .any(|k| body.trim_start().starts_with(k))
}

/// The package of `class` (`Outer$Inner` or `Outer`) when a frame names it qualified.
fn package_of(class: &str, frames: &[Frame]) -> Option<String> {
    if class.contains('.') {
        return None;
    }
    let outer = class.split('$').next().unwrap_or(class);
    frames.iter().filter_map(|f| f.function.as_deref()).find_map(|function| {
        let (owner, _) = function.rsplit_once('.')?;
        let owner = owner.split('$').next().unwrap_or(owner);
        let package = owner.strip_suffix(outer)?.strip_suffix('.')?;
        (!package.is_empty()).then(|| package.to_string())
    })
}

/// Classifies a Java exception (or, without one, the message).
pub(super) fn classify(error_type: Option<&str>, message: &str) -> FailureKind {
    let Some(t) = error_type else {
        let lower = message.to_lowercase();
        return if lower.contains("timed out") || lower.contains("timeout") {
            FailureKind::Timeout
        } else {
            FailureKind::TestFailure
        };
    };
    let short = t.rsplit('.').next().unwrap_or(t);
    // `contains`: Truth's `AssertionErrorWithFacts` and `ComparisonFailureWithFacts` are assertions too.
    if ["AssertionError", "AssertionFailedError", "ComparisonFailure", "MultipleFailuresError"]
        .iter()
        .any(|k| short.contains(k))
        || t.starts_with("org.mockito.exceptions.verification.")
    {
        FailureKind::Assertion
    } else if matches!(short, "NoClassDefFoundError" | "ClassNotFoundException") {
        FailureKind::Import
    } else if short.contains("Timeout") || short.contains("TimedOut") {
        FailureKind::Timeout
    } else if matches!(short, "UnknownHostException" | "ConnectException" | "NoRouteToHostException") {
        FailureKind::Infrastructure
    } else {
        FailureKind::Runtime
    }
}

/// Classifies a build tool's own failure reason.
pub(super) fn build_kind(text: &str) -> FailureKind {
    let lower = text.to_lowercase();
    if lower.contains("compilation fail") || lower.contains("compilation error") {
        FailureKind::Syntax
    } else if lower.contains("test failures") || lower.contains("failing tests") {
        FailureKind::TestFailure
    } else if [
        "could not resolve",
        "could not transfer",
        "could not get",
        "could not download",
        "could not find artifact",
    ]
    .iter()
    .any(|k| lower.contains(k))
    {
        FailureKind::Infrastructure
    } else {
        FailureKind::Runtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_lines_as_truncate_does() {
        for (text, max) in [("héllo", 2), ("héllo", 3), ("abc", 3), ("abc", 2), ("", 0)] {
            let mut buffer = String::from("x");
            push_truncated(&mut buffer, text, max);
            assert_eq!(buffer, format!("x{}", truncate(text, max)));
        }
    }

    #[test]
    fn classifies_java_exceptions() {
        let kind = |t: &str| classify(Some(t), "");
        assert_eq!(kind("org.junit.ComparisonFailure"), FailureKind::Assertion);
        assert_eq!(kind("com.google.common.truth.AssertionErrorWithFacts"), FailureKind::Assertion);
        assert_eq!(kind("org.mockito.exceptions.verification.WantedButNotInvoked"), FailureKind::Assertion);
        assert_eq!(kind("java.lang.ClassNotFoundException"), FailureKind::Import);
        assert_eq!(kind("java.util.concurrent.TimeoutException"), FailureKind::Timeout);
        assert_eq!(kind("java.net.UnknownHostException"), FailureKind::Infrastructure);
        assert_eq!(kind("java.lang.IllegalStateException"), FailureKind::Runtime);
        assert_eq!(classify(None, "Condition not satisfied"), FailureKind::TestFailure);
    }
}
