//! Edit formats: reads the edits out of a model reply and applies them to file text.
//!
//! Preferred: search/replace blocks (several files allowed). Also accepted: a
//! unified diff (in a ```diff block or bare) and a whole-file replacement in a
//! fenced block whose path is named. Application is tolerant of whitespace and
//! indentation drift but never guesses between two equally good places.
//!
//! Invariants: a reply is untrusted text; nothing here touches the disk. A reply
//! that does not parse or does not apply is an [`EditError`], never a panic.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

/// One edit proposed by a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Replace `search` with `replace` in `path` (empty `search` creates the file).
    SearchReplace {
        /// File, as the reply names it.
        path: String,
        /// Text to find.
        search: String,
        /// Text to put instead.
        replace: String,
    },
    /// Hunks of a unified diff for one file.
    Diff {
        /// File, as the diff names it.
        path: String,
        /// The hunks, in order.
        hunks: Vec<Hunk>,
    },
    /// The complete new contents of one file.
    WholeFile {
        /// File, as the reply names it.
        path: String,
        /// New contents.
        content: String,
    },
}

impl Edit {
    /// The path the edit names.
    pub fn path(&self) -> &str {
        match self {
            Edit::SearchReplace { path, .. } | Edit::Diff { path, .. } | Edit::WholeFile { path, .. } => path,
        }
    }
}

/// Whether the edit can only apply to a file that exists (it replaces text in it).
pub fn needs_existing_file(edit: &Edit) -> bool {
    match edit {
        Edit::SearchReplace { search, .. } => !search.trim().is_empty(),
        // Hunks that only insert (`@@ -0,0 +1,2 @@`) create a file.
        Edit::Diff { hunks, .. } => hunks.iter().any(|h| !h.old.is_empty()),
        Edit::WholeFile { .. } => false,
    }
}

/// Why `edit` does not apply to `text` (the file's contents, `None` when it does
/// not exist), precisely enough for the next prompt: the missing path and the
/// files that exist, or the first SEARCH line not in the file and the nearest one that is.
pub fn explain(edit: &Edit, text: Option<&str>, known: &[String]) -> String {
    let path = edit.path();
    let Some(text) = text else {
        let shown = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        return format!("The file {path} does not exist; the files shown to you are: {shown}.");
    };
    let wanted: Vec<&str> = match edit {
        Edit::SearchReplace { search, .. } => search.lines().collect(),
        Edit::Diff { hunks, .. } => hunks.iter().flat_map(|h| h.old.iter().map(String::as_str)).collect(),
        Edit::WholeFile { .. } => return String::new(),
    };
    let file_lines: Vec<&str> = text.lines().collect();
    let missing = wanted
        .iter()
        .filter(|l| !l.trim().is_empty() && !elision(l))
        .find(|l| !file_lines.iter().any(|f| f.trim() == l.trim()));
    let Some(missing) = missing else {
        return format!(
            "Every SEARCH line is in {path}, but not together in that order, or they match more than one place; copy one run of consecutive lines exactly."
        );
    };
    let nearest = file_lines
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.trim().is_empty())
        .map(|(i, f)| (similar::TextDiff::from_chars(f.trim(), missing.trim()).ratio(), i, f))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match nearest {
        Some((_, i, f)) => format!(
            "This SEARCH line is not in {path}: `{}`. The nearest line in the file is line {}: `{}`.",
            missing.trim(),
            i + 1,
            f.trim()
        ),
        None => format!("This SEARCH line is not in {path}: `{}`; the file is empty.", missing.trim()),
    }
}

/// One hunk of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// 1-based old start from the `@@` header, a hint only (models miscount).
    pub old_start: usize,
    /// Lines that must be present (context and removals).
    pub old: Vec<String>,
    /// Lines that replace them (context and additions).
    pub new: Vec<String>,
}

/// Why a reply could not become a patch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No edit in any accepted format.
    #[error(
        "the reply holds no edit in a format self-heal reads (search/replace blocks, a unified diff, or a whole file with its path)"
    )]
    NoEdits,
    /// A block was opened and not closed.
    #[error("malformed edit block: {0}")]
    Malformed(String),
    /// The text to replace is not in the file.
    #[error("the text to replace was not found in {path}")]
    NotFound {
        /// The file.
        path: String,
    },
    /// The text to replace is in the file more than once.
    #[error("the text to replace matches {count} places in {path}; refusing to guess")]
    Ambiguous {
        /// The file.
        path: String,
        /// How many places.
        count: usize,
    },
    /// The edit names a file that does not exist (and does not create it).
    #[error("{path} does not exist")]
    MissingFile {
        /// The file.
        path: String,
    },
    /// A whole-file block that looks like a fragment.
    #[error("the whole-file block for {path} looks truncated ({reason}); refusing to rewrite the file")]
    Truncated {
        /// The file.
        path: String,
        /// Why it looks truncated.
        reason: String,
    },
    /// A diff that deletes a file.
    #[error("deleting {path} is not allowed")]
    Deletion {
        /// The file.
        path: String,
    },
    /// The reply copied the format example instead of writing an edit.
    #[error("the reply copies the example of the answer format ({0}) instead of the real lines of the file")]
    EchoedExample(String),
    /// Elided lines (`...`) in a SEARCH part that its REPLACE part does not mirror.
    #[error(
        "the SEARCH part of the edit for {path} leaves lines out (`...`) and its REPLACE part does not leave out the same places; refusing to drop the lines in between"
    )]
    UnmatchedElision {
        /// The file.
        path: String,
    },
}

/// The text earlier prompts put where the lines to replace go, in their format
/// example (small models still write it, and the example of any prompt may).
/// It is no code of any language, so a reply that copies it is recognised.
pub const PLACEHOLDER_SEARCH: &str = "(copy here, exactly, the current lines of";
/// The text earlier prompts put where the new lines go, in their format example.
pub const PLACEHOLDER_REPLACE: &str = "(the corrected lines";
/// The text earlier prompts put where a whole file's contents go; small models still write it.
pub const PLACEHOLDER_WHOLE: &str = "(every line of the corrected";

/// Whether a reply copies a format example: the placeholders above, or the
/// `path/to/...` example of earlier templates (and of many tutorials).
fn echoed(edits: &[Edit]) -> Option<String> {
    for edit in edits {
        let texts: Vec<&str> = match edit {
            Edit::SearchReplace { search, replace, .. } => vec![search, replace],
            Edit::WholeFile { content, .. } => vec![content],
            Edit::Diff { .. } => vec![],
        };
        if let Some(p) = [PLACEHOLDER_SEARCH, PLACEHOLDER_REPLACE, PLACEHOLDER_WHOLE]
            .iter()
            .find(|p| texts.iter().any(|t| t.contains(**p)))
        {
            return Some(format!("it holds the placeholder {p:?}"));
        }
        if edit.path().starts_with("path/to/") {
            return Some(format!("it names the example path {}", edit.path()));
        }
    }
    None
}

static SEARCH_START: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*<{5,9} ?SEARCH\s*$"));
static MARKED_START: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*<{5,9} ?(\S+)\s*$"));

/// Extensions of source files: a path written where a marker or a comment is
/// (`<<<<<<< calc.py`, `# calc.py`) must have one, so a git conflict marker
/// (`<<<<<<< origin/main`) or a comment (`# v2.0`, `# example.com`) is no path.
const SOURCE_EXTENSIONS: [&str; 24] = [
    "py", "pyi", "js", "mjs", "cjs", "jsx", "ts", "tsx", "go", "java", "kt", "rs", "rb", "php", "c", "h", "cc", "cpp",
    "cs", "swift", "scala", "toml", "yaml", "yml",
];

/// `path_in`, for a path written where a marker or comment is: only with a source extension.
fn source_path_in(text: &str) -> Option<String> {
    path_in(text).filter(|p| p.rsplit_once('.').is_some_and(|(_, ext)| SOURCE_EXTENSIONS.contains(&ext)))
}
static DIVIDER: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*={5,9}\s*$"));
/// `>>>>>>> REPLACE`, or `>>>>>>> calc.py` as some models close a block.
static REPLACE_END: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*>{5,9} ?(?:REPLACE|[\w./@+-]+\.\w+)\s*$"));
static HUNK: LazyLock<Regex> = LazyLock::new(|| re(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@"));
static FENCE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(`{3,}|~{3,})\s*(.*)$"));
static PATHLIKE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[\w.@+-]+(?:/[\w.@+-]+)*\.[A-Za-z0-9]+$|^[\w.@+-]+(?:/[\w.@+-]+)+$|^\.[\w-][\w.-]*$"));

use crate::analysis::re;

/// Reads every edit out of a reply, in the most specific format it uses.
/// A reply that copies the format example is an [`EditError::EchoedExample`].
pub fn parse_reply(reply: &str) -> Result<Vec<Edit>, EditError> {
    let edits = parse_any(reply)?;
    match echoed(&edits) {
        Some(why) => Err(EditError::EchoedExample(why)),
        None => Ok(edits),
    }
}

fn parse_any(reply: &str) -> Result<Vec<Edit>, EditError> {
    let lines: Vec<&str> = reply.lines().collect();
    let blocks = parse_search_replace(&lines)?;
    if !blocks.is_empty() {
        return Ok(blocks);
    }
    let diffs = parse_unified_diff(&lines)?;
    if !diffs.is_empty() {
        return Ok(diffs);
    }
    // Whole files; a block that copies the format's placeholder is set aside so a
    // real answer beside it is still read.
    let (echoes, whole): (Vec<Edit>, Vec<Edit>) =
        parse_whole_files(&lines).into_iter().partition(|e| echoed(std::slice::from_ref(e)).is_some());
    if !whole.is_empty() {
        return Ok(whole);
    }
    let unnamed = parse_unnamed(&lines);
    if !unnamed.is_empty() {
        return Ok(unnamed);
    }
    if !echoes.is_empty() {
        return Ok(echoes);
    }
    Err(EditError::NoEdits)
}

/// The path of an edit whose reply named no file ("Replace: ``` old ``` with:
/// ``` new ```", or one bare code block): it can only go to the one suspect file
/// it fits (see the attempt's retargeting), never anywhere else.
pub const UNNAMED: &str = "";

/// Fenced blocks that name no file, with what they hold: a pair of blocks is the
/// old and the new text ("Replace ... with ..."), a single block a whole file.
/// Any other count is ambiguous and yields nothing.
fn parse_unnamed(lines: &[&str]) -> Vec<Edit> {
    // Each block with the prose before it (since the block before), lower-cased.
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut echoes: Vec<String> = Vec::new();
    let mut prose = String::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(c) = FENCE.captures(lines[i]) else {
            if prose.len() < 2_000 {
                prose.push_str(&lines[i].to_lowercase());
                prose.push(' ');
            }
            i += 1;
            continue;
        };
        let fence = c[1].to_string();
        let lang = c[2].split_whitespace().next().unwrap_or("").to_string();
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && lines[end].trim() != fence {
            end += 1;
        }
        let mut body = &lines[start..end.min(lines.len())];
        if c[2].trim().is_empty() && body.first().is_some_and(|l| is_language(l)) {
            body = &body[1..];
        }
        let named = path_in_fence_info(&c[2]).is_some()
            || (0..i).rev().map(|b| lines[b].trim()).find(|l| !l.is_empty()).and_then(path_in).is_some();
        let placeholder = body
            .iter()
            .any(|l| [PLACEHOLDER_SEARCH, PLACEHOLDER_REPLACE, PLACEHOLDER_WHOLE].iter().any(|p| l.contains(p)));
        if !named && lang != "diff" && lang != "patch" && body.iter().any(|l| !l.trim().is_empty()) {
            if placeholder {
                echoes.push(join_lines(body));
            } else {
                blocks.push((std::mem::take(&mut prose), join_lines(body)));
            }
        }
        prose.clear();
        i = end + 1;
    }
    // A pair is old and new text only when the prose says so ("Replace: ... with: ...").
    const OLD: [&str; 7] = ["replace", "change", "current", "before", "old", "original", "instead of"];
    const NEW: [&str; 7] = ["with", " to", "by", "new", "after", "fixed", "corrected"];
    let says = |prose: &str, words: &[&str]| words.iter().any(|w| prose.contains(w));
    match blocks.len() {
        // Only the format's placeholder: returned so that it is reported as an echo.
        0 => echoes.into_iter().take(1).map(|content| Edit::WholeFile { path: UNNAMED.to_string(), content }).collect(),
        1 => vec![Edit::WholeFile { path: UNNAMED.to_string(), content: blocks.remove(0).1 }],
        n if n % 2 == 0 && blocks.chunks(2).all(|p| says(&p[0].0, &OLD) && says(&p[1].0, &NEW)) => blocks
            .chunks(2)
            .filter(|pair| pair[0].1 != pair[1].1)
            .map(|pair| Edit::SearchReplace {
                path: UNNAMED.to_string(),
                search: pair[0].1.clone(),
                replace: pair[1].1.clone(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Cleans a line that may name a file: `**calc.py**`, `` `src/x.py` ``, `File: x.py`, `# x.py`.
fn path_in(line: &str) -> Option<String> {
    let mut s = line.trim().trim_matches(|c| c == '*' || c == '`' || c == '#' || c == '"' || c == '\'').trim();
    for label in ["File:", "file:", "Path:", "path:", "Filename:", "filename:"] {
        if let Some(rest) = s.strip_prefix(label) {
            s = rest.trim().trim_matches(|c| c == '*' || c == '`');
        }
    }
    let s = s.trim_end_matches(':').trim();
    PATHLIKE.is_match(s).then(|| s.to_string())
}

/// A path named in a fence's info string: ```` ```python:src/x.py ````, ```` ```src/x.py ````, `title="x.py"`.
fn path_in_fence_info(info: &str) -> Option<String> {
    info.split(|c: char| c.is_whitespace() || c == ':' || c == '=' || c == '"')
        .filter(|t| t.contains('.') || t.contains('/'))
        .find_map(path_in)
}

fn parse_search_replace(lines: &[&str]) -> Result<Vec<Edit>, EditError> {
    let mut edits = Vec::new();
    let mut last_path: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        // `<<<<<<< SEARCH`, or `<<<<<<< calc.py` (the path in place of the word).
        let marked = MARKED_START.captures(lines[i]).and_then(|c| source_path_in(&c[1]));
        if !SEARCH_START.is_match(lines[i]) && marked.is_none() {
            i += 1;
            continue;
        }
        // The path: the nearest line above that names a file, looking through a fence line.
        let mut path = marked;
        let above = if path.is_some() { 0..0 } else { i.saturating_sub(4)..i };
        for back in above.rev() {
            let line = lines[back].trim();
            if line.is_empty() {
                continue;
            }
            if let Some(c) = FENCE.captures(line) {
                if let Some(p) = path_in_fence_info(&c[2]) {
                    path = Some(p);
                    break;
                }
                continue;
            }
            path = path_in(line);
            break;
        }
        // A block that names no file goes to the one suspect its SEARCH text fits.
        let path = path.or_else(|| last_path.clone()).unwrap_or_else(|| UNNAMED.to_string());
        let mut search = Vec::new();
        let mut replace = Vec::new();
        let mut j = i + 1;
        while j < lines.len() && !DIVIDER.is_match(lines[j]) {
            search.push(lines[j]);
            j += 1;
        }
        if j >= lines.len() {
            return Err(EditError::Malformed(format!("search block for {path} has no ======= divider")));
        }
        j += 1;
        while j < lines.len() && !REPLACE_END.is_match(lines[j]) {
            replace.push(lines[j]);
            j += 1;
        }
        if j >= lines.len() {
            return Err(EditError::Malformed(format!(
                "search/replace block for {path} is not closed with >>>>>>> REPLACE"
            )));
        }
        if path == UNNAMED && search.iter().all(|l| l.trim().is_empty()) {
            return Err(EditError::Malformed(format!(
                "search/replace block at line {} creates a file but does not name it",
                i + 1
            )));
        }
        edits.push(Edit::SearchReplace {
            path: path.clone(),
            search: join_lines(&search),
            replace: join_lines(&replace),
        });
        last_path = Some(path);
        i = j + 1;
    }
    Ok(edits)
}

fn join_lines(lines: &[&str]) -> String {
    if lines.is_empty() { String::new() } else { format!("{}\n", lines.join("\n")) }
}

fn diff_path(header: &str) -> String {
    let name = header.split('\t').next().unwrap_or(header).trim();
    let name = name.strip_prefix("a/").or_else(|| name.strip_prefix("b/")).unwrap_or(name);
    name.to_string()
}

fn parse_unified_diff(lines: &[&str]) -> Result<Vec<Edit>, EditError> {
    let mut edits: Vec<Edit> = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let (Some(old), Some(new)) = (lines[i].strip_prefix("--- "), lines[i + 1].strip_prefix("+++ ")) else {
            i += 1;
            continue;
        };
        let new_path = diff_path(new);
        if new_path == "/dev/null" {
            return Err(EditError::Deletion { path: diff_path(old) });
        }
        i += 2;
        let mut hunks = Vec::new();
        while i < lines.len() {
            let Some(c) = HUNK.captures(lines[i]) else { break };
            let old_start = c[1].parse().unwrap_or(1);
            let mut hunk = Hunk { old_start, old: Vec::new(), new: Vec::new() };
            i += 1;
            while i < lines.len() {
                let line = lines[i];
                if line.starts_with("@@")
                    || (line.starts_with("--- ") && lines.get(i + 1).is_some_and(|l| l.starts_with("+++ ")))
                {
                    break;
                }
                if let Some(rest) = line.strip_prefix('+') {
                    hunk.new.push(rest.to_string());
                } else if let Some(rest) = line.strip_prefix('-') {
                    hunk.old.push(rest.to_string());
                } else if let Some(rest) = line.strip_prefix(' ') {
                    hunk.old.push(rest.to_string());
                    hunk.new.push(rest.to_string());
                } else if line.is_empty() {
                    // Many models drop the space of a blank context line.
                    hunk.old.push(String::new());
                    hunk.new.push(String::new());
                } else if line.starts_with('\\') {
                    // "\ No newline at end of file"
                } else {
                    break;
                }
                i += 1;
            }
            // Trailing blank "context" picked up before a fence or prose is not part of the hunk.
            while hunk.old.last().is_some_and(String::is_empty) && hunk.new.last().is_some_and(String::is_empty) {
                hunk.old.pop();
                hunk.new.pop();
            }
            hunks.push(hunk);
        }
        if hunks.is_empty() {
            return Err(EditError::Malformed(format!("diff for {new_path} has no @@ hunk")));
        }
        edits.push(Edit::Diff { path: new_path, hunks });
    }
    Ok(edits)
}

/// A line that is only a fence's language, as some models write it after a bare fence.
fn is_language(line: &str) -> bool {
    const LANGUAGES: [&str; 14] = [
        "python",
        "py",
        "javascript",
        "js",
        "typescript",
        "ts",
        "go",
        "golang",
        "java",
        "rust",
        "ruby",
        "c",
        "cpp",
        "text",
    ];
    LANGUAGES.contains(&line.trim())
}

fn parse_whole_files(lines: &[&str]) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(c) = FENCE.captures(lines[i]) else {
            i += 1;
            continue;
        };
        let fence = c[1].to_string();
        let info = c[2].trim().to_string();
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && lines[end].trim() != fence {
            end += 1;
        }
        let lang = info.split_whitespace().next().unwrap_or("");
        let mut path = path_in_fence_info(&info)
            .or_else(|| (0..i).rev().map(|b| lines[b].trim()).find(|l| !l.is_empty()).and_then(path_in));
        // "```python / calc.py / ```python / ... / ```": the path inside the first
        // fence, then a second opening fence that the one closing fence ends.
        let mut start = start;
        // "``` / python / ...": the language on the block's first line.
        if info.is_empty() && lines.get(start).is_some_and(|l| is_language(l)) && start < end {
            start += 1;
        }
        // "```python / # calc.py / ...": the path as the block's first line, a comment.
        if path.is_none()
            && let Some(first) = lines.get(start).filter(|_| start < end)
            && let Some(p) = ["# ", "// "].iter().find_map(|c| first.trim().strip_prefix(c)).and_then(source_path_in)
        {
            path = Some(p);
            start += 1;
        }
        if path.is_none()
            && let (Some(first), Some(second)) = (lines.get(start), lines.get(start + 1))
            && let (Some(p), Some(_)) = (path_in(first), FENCE.captures(second).filter(|c| !c[2].trim().is_empty()))
        {
            path = Some(p);
            start += 2;
        }
        if let (Some(path), false) = (path, lang == "diff" || lang == "patch") {
            edits.push(Edit::WholeFile { path, content: join_lines(&lines[start..end.min(lines.len())]) });
        }
        i = end + 1;
    }
    edits
}

/// Applies edits to file contents. `read` gives a file's current text (`None` when
/// it does not exist). Returns the new text of every file touched, in first-touched order.
pub fn apply(edits: &[Edit], read: impl Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, EditError> {
    let mut order: Vec<String> = Vec::new();
    let mut current: BTreeMap<String, Option<String>> = BTreeMap::new();
    for edit in edits {
        let path = edit.path().to_string();
        if !current.contains_key(&path) {
            current.insert(path.clone(), read(&path));
            order.push(path.clone());
        }
        let text = current.get(&path).cloned().flatten();
        let updated = match edit {
            Edit::SearchReplace { search, replace, .. } => {
                apply_search_replace(&path, text.as_deref(), search, replace)?
            }
            Edit::Diff { hunks, .. } => {
                let mut text = text.ok_or_else(|| EditError::MissingFile { path: path.clone() })?;
                for hunk in hunks {
                    text = apply_hunk(&path, &text, hunk)?;
                }
                text
            }
            Edit::WholeFile { content, .. } => {
                // A "whole file" that is one of the file's definitions and little of
                // the rest, with no placeholder, replaces that definition.
                let fragment = text
                    .as_deref()
                    .filter(|t| lazy_marker(Some(t), content).is_none())
                    .and_then(|t| replace_definition(t, content));
                match fragment {
                    Some(updated) => updated,
                    None => {
                        check_whole_file(&path, text.as_deref(), content)?;
                        content.clone()
                    }
                }
            }
        };
        current.insert(path, Some(updated));
    }
    Ok(order.into_iter().filter_map(|p| current.remove(&p).flatten().map(|t| (p, t))).collect())
}

/// The "rest of the file unchanged" marker a truncated answer holds (and the file does not).
fn lazy_marker(before: Option<&str>, after: &str) -> Option<&'static str> {
    const LAZY: [&str; 5] = ["... rest of", "# ...", "// ...", "(rest of file", "existing code"];
    LAZY.into_iter().find(|m| after.contains(*m) && !before.is_some_and(|b| b.contains(*m)))
}

/// `text` with the definition that `snippet` rewrites replaced by it: the
/// snippet's first line opens a definition (`def`, `class`, `function`, `func`,
/// `fn`, or a line ending in `{` or `:`) found exactly once in the file, and the
/// definition runs over the lines indented deeper than that line (plus its
/// closing brace). The snippet is re-indented to the file's indentation.
fn replace_definition(text: &str, snippet: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut new: Vec<&str> = snippet.lines().skip_while(|l| l.trim().is_empty()).collect();
    while new.last().is_some_and(|l| l.trim().is_empty()) {
        new.pop();
    }
    let head = new.first()?.trim();
    let opens = opens_definition(head) || head.ends_with('{') || head.ends_with(':');
    let at: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].trim() == head).collect();
    let [start] = at.as_slice() else { return None };
    if !opens || new.len() < 2 {
        return None;
    }
    let (start, depth) = (*start, indent_of(lines[*start]).len());
    let mut end = start + 1;
    while end < lines.len() && (lines[end].trim().is_empty() || indent_of(lines[end]).len() > depth) {
        end += 1;
    }
    if end < lines.len() && indent_of(lines[end]).len() == depth && lines[end].trim_start().starts_with(['}', ')', ']'])
    {
        end += 1;
    }
    while end > start + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    // A rewrite of one definition is about its size: much longer is not one,
    // much shorter (a class given with some of its methods) would drop code.
    let region = end - start;
    if new.len() > 2 * region + 10 || (region > 10 && new.len() * 2 < region) {
        return None;
    }
    // One definition: nothing after its first line at its depth or shallower
    // (but a closing bracket), and every definition nested in it kept.
    let top = indent_of(new[0]).len();
    if new[1..]
        .iter()
        .any(|l| !l.trim().is_empty() && indent_of(l).len() <= top && !l.trim_start().starts_with(['}', ')', ']']))
    {
        return None;
    }
    let nested = |l: &&str| {
        let t = l.trim_start();
        ["def ", "async def ", "function ", "func ", "fn "]
            .iter()
            .find_map(|k| t.strip_prefix(k))
            .map(|rest| rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("").to_string())
    };
    let inner: Vec<String> = lines[start + 1..end].iter().filter_map(nested).filter(|n| !n.is_empty()).collect();
    let kept: Vec<String> = new[1..].iter().filter_map(nested).collect();
    if inner.iter().any(|n| !kept.contains(n)) {
        return None;
    }
    // A snippet that also holds most of the rest of the file is the whole file.
    let rest: Vec<&str> =
        lines[..start].iter().chain(&lines[end..]).map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
    let kept = rest.iter().filter(|l| new.iter().any(|n| n.trim() == **l)).count();
    if rest.is_empty() || kept * 2 >= rest.len() {
        return None;
    }
    let owned: Vec<String> = new.iter().map(|l| (*l).to_string()).collect();
    let replacement = reindent(lines[start], new[0], &owned);
    let mut out: Vec<&str> = lines[..start].to_vec();
    out.extend(replacement.iter().map(String::as_str));
    out.extend_from_slice(&lines[end..]);
    Some(rejoin(&out, text))
}

fn check_whole_file(path: &str, before: Option<&str>, after: &str) -> Result<(), EditError> {
    if let Some(marker) = lazy_marker(before, after) {
        return Err(EditError::Truncated {
            path: path.to_string(),
            reason: format!("it contains the placeholder {marker:?}"),
        });
    }
    if let Some(before) = before {
        let (old, new) = (before.lines().count(), after.lines().count());
        if old > 40 && new * 2 < old {
            return Err(EditError::Truncated {
                path: path.to_string(),
                reason: format!("{new} lines for a file of {old}"),
            });
        }
    }
    Ok(())
}

fn apply_search_replace(path: &str, text: Option<&str>, search: &str, replace: &str) -> Result<String, EditError> {
    let Some(text) = text else {
        // A new file: only from an empty SEARCH.
        return if search.trim().is_empty() {
            Ok(replace.to_string())
        } else {
            Err(EditError::MissingFile { path: path.to_string() })
        };
    };
    if search.trim().is_empty() {
        return if text.trim().is_empty() {
            Ok(replace.to_string())
        } else {
            Err(EditError::Ambiguous { path: path.to_string(), count: 0 })
        };
    }
    let old_owned: Vec<String> = search.lines().map(str::to_string).collect();
    let new: Vec<String> =
        restore_dropped_headers(&old_owned, &replace.lines().map(str::to_string).collect::<Vec<_>>());
    let restored = join_lines(&new.iter().map(String::as_str).collect::<Vec<_>>());
    let replace = if new.len() == replace.lines().count() { replace } else { restored.as_str() };
    let count = text.matches(search).count();
    if count == 1 {
        return Ok(text.replacen(search, replace, 1));
    }
    if count > 1 {
        return Err(EditError::Ambiguous { path: path.to_string(), count });
    }
    let old: Vec<&str> = search.lines().collect();
    match replace_lines(path, text, &old, &new, None) {
        Err(EditError::NotFound { .. }) if old.iter().any(|l| elision(l)) => replace_elided(path, text, &old, &new),
        // The same text twice, differing from the file in a line or two: the model
        // wrote the fixed lines in both halves. They are the new text of those lines.
        Err(EditError::NotFound { .. }) if search.trim() == replace.trim() => replace_drifted(path, text, &new, 0),
        // Lines copied from a pytest traceback: its `>` marker, `^^^` carets, `E`
        // lines and `file.py:12: Error` location are no part of the code.
        Err(EditError::NotFound { .. }) if old.iter().any(|l| traceback_decoration(l).is_some()) => {
            let (search, replace) = (undecorate(search), undecorate(replace));
            if search.trim().is_empty() {
                return Err(EditError::NotFound { path: path.to_string() });
            }
            apply_search_replace(path, Some(text), &search, &replace)
        }
        other => other,
    }
}

/// What a line copied from a pytest traceback becomes in code: `Some("")` for
/// a line to drop (carets, `E   ...`, `file.py:12: Error`), `Some(code)` for a
/// `>` line (the source line, at its own indentation), `None` for plain code.
fn traceback_decoration(line: &str) -> Option<String> {
    static LOCATION: LazyLock<Regex> = LazyLock::new(|| re(r"^[\w./-]+\.py:\d+: \w+"));
    // pytest prints source four columns in, the failing line with `>` in the first.
    if let Some(code) = line.strip_prefix(">   ") {
        return Some(code.to_string()).filter(|c| !c.is_empty());
    }
    let t = line.trim();
    let carets = !t.is_empty() && t.chars().all(|c| matches!(c, '^' | '~'));
    let error = line.starts_with("E   ") || line == "E";
    (carets || error || LOCATION.is_match(line)).then(String::new)
}

/// Text with pytest's traceback decoration removed (see [`traceback_decoration`]).
fn undecorate(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        match traceback_decoration(line) {
            Some(code) if code.is_empty() => {}
            Some(code) => {
                out.push_str(&code);
                out.push('\n');
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    // The blank line pytest leaves before its location line goes with it.
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// A line that stands for lines left out: `...`, `…`, `# ...`, `// ...`, and the
/// `# … (lines elided; …)` marks of self-heal's own prompts.
fn elision(line: &str) -> bool {
    let t = line.trim();
    match t.strip_prefix('#').or_else(|| t.strip_prefix("//")) {
        // A comment that starts with an ellipsis: `# ...`, `// ... rest unchanged`.
        Some(comment) => {
            let c = comment.trim_start();
            c.starts_with("...") || c.starts_with('…')
        }
        // A bare ellipsis line; `...args` (a JavaScript spread) is code.
        None => t == "..." || t == "…",
    }
}

/// Splits lines at elision marks into the runs between them (empty runs dropped).
fn pieces<T: AsRef<str>>(lines: &[T]) -> Vec<Vec<&str>> {
    let mut out = vec![Vec::new()];
    for l in lines {
        if elision(l.as_ref()) {
            out.push(Vec::new());
        } else if let Some(last) = out.last_mut() {
            last.push(l.as_ref());
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// A SEARCH with elided lines, as aider reads it: the runs between the marks are
/// replaced one by one by the matching runs of REPLACE, each found on its own
/// (ambiguity refused); a REPLACE that does not leave out the same places is refused.
fn replace_elided(path: &str, text: &str, old: &[&str], new: &[String]) -> Result<String, EditError> {
    let (old_pieces, new_pieces) = (pieces(old), pieces(new));
    if old_pieces.len() != new_pieces.len() || old_pieces.len() < 2 {
        return Err(EditError::UnmatchedElision { path: path.to_string() });
    }
    // The pieces in their order: the first where it alone matches, each next one
    // at its nearest match after the one before (white space around lines aside).
    let lines: Vec<&str> = text.lines().collect();
    let matches_at = |piece: &[&str], s: usize| {
        s + piece.len() <= lines.len() && piece.iter().enumerate().all(|(k, l)| lines[s + k].trim() == l.trim())
    };
    let mut starts = Vec::with_capacity(old_pieces.len());
    let mut from = 0;
    for (n, piece) in old_pieces.iter().enumerate() {
        let mut found = (from..lines.len()).filter(|&s| matches_at(piece, s));
        let start = found.next().ok_or_else(|| EditError::NotFound { path: path.to_string() })?;
        if n == 0 && found.next().is_some() {
            return Err(EditError::Ambiguous { path: path.to_string(), count: 2 });
        }
        starts.push(start);
        from = start + piece.len();
    }
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    for ((o, n), &start) in old_pieces.iter().zip(&new_pieces).zip(&starts).rev() {
        let owned: Vec<String> = n.iter().map(|l| (*l).to_string()).collect();
        out.splice(start..start + o.len(), reindent(lines[start], o[0], &owned));
    }
    let refs: Vec<&str> = out.iter().map(String::as_str).collect();
    Ok(rejoin(&refs, text))
}

/// Whether a line opens a definition (`def`, `class`, `function`, `func`, `fn`).
fn opens_definition(line: &str) -> bool {
    let t = line.trim_start();
    ["def ", "async def ", "class ", "function ", "async function ", "func ", "fn ", "pub fn "]
        .iter()
        .any(|k| t.starts_with(k))
}

/// `new` with the definition header a small model left out of its replacement
/// put back: where a run of old lines that starts with a `def` (its header,
/// docstring, ...) is replaced by fewer, deeper-indented lines that do not
/// repeat the header, the model wrote only the changed body lines, and the
/// header lines before them are kept. Deleting a header while keeping its
/// body is never a valid change, so nothing a model meant is lost.
fn restore_dropped_headers(old: &[String], new: &[String]) -> Vec<String> {
    use similar::{Algorithm, DiffOp, capture_diff_slices};
    let ops = capture_diff_slices(Algorithm::Myers, old, new);
    let mut out: Vec<String> = Vec::with_capacity(new.len());
    let mut i = 0;
    while i < ops.len() {
        let (removed, added) = match (ops[i], ops.get(i + 1)) {
            (DiffOp::Replace { old_index, old_len, new_index, new_len }, _) => {
                (old_index..old_index + old_len, new_index..new_index + new_len)
            }
            (DiffOp::Delete { old_index, old_len, .. }, Some(DiffOp::Insert { new_index, new_len, .. })) => {
                i += 1;
                (old_index..old_index + old_len, *new_index..*new_index + *new_len)
            }
            (op, _) => {
                if let DiffOp::Equal { new_index, len, .. } | DiffOp::Insert { new_index, new_len: len, .. } = op {
                    out.extend_from_slice(&new[new_index..new_index + len]);
                }
                i += 1;
                continue;
            }
        };
        let (r, n) = (&old[removed], &new[added]);
        let dropped = n.len() < r.len()
            && !n.is_empty()
            && opens_definition(&r[0])
            && !n.iter().any(|l| l.trim() == r[0].trim())
            && indent_of(&n[0]).len() > indent_of(&r[0]).len();
        if dropped {
            out.extend_from_slice(&r[..r.len() - n.len()]);
        }
        out.extend_from_slice(n);
        i += 1;
    }
    out
}

fn apply_hunk(path: &str, text: &str, hunk: &Hunk) -> Result<String, EditError> {
    let restored = Hunk { new: restore_dropped_headers(&hunk.old, &hunk.new), ..hunk.clone() };
    let hunk = &restored;
    if hunk.old.is_empty() {
        // Pure insertion: at the stated line.
        let mut lines: Vec<&str> = text.lines().collect();
        let at = hunk.old_start.min(lines.len());
        for (k, l) in hunk.new.iter().enumerate() {
            lines.insert(at + k, l);
        }
        return Ok(rejoin(&lines, text));
    }
    let old: Vec<&str> = hunk.old.iter().map(String::as_str).collect();
    let applied = replace_lines(path, text, &old, &hunk.new, Some(hunk.old_start));
    if hunk.old == hunk.new {
        // A hunk of context lines only: small models put the fix in a context line
        // instead of a -/+ pair. Read it as the new text of the lines it nearly matches.
        return match applied {
            Ok(same) if same == text => Err(EditError::NotFound { path: path.to_string() }),
            Err(EditError::NotFound { .. }) => replace_drifted(path, text, &hunk.new, hunk.old_start),
            other => other,
        };
    }
    applied
}

/// Puts `new` over the one run of as many lines in `text` that it matches but
/// for a few lines (at most a third, at least one line the same), the diff's
/// line number breaking ties; anything less certain is refused.
fn replace_drifted(path: &str, text: &str, new: &[String], hint: usize) -> Result<String, EditError> {
    let lines: Vec<&str> = text.lines().collect();
    let n = new.len();
    let not_found = || EditError::NotFound { path: path.to_string() };
    if n < 2 || n > lines.len() {
        return Err(not_found());
    }
    let allowed = (n / 3).max(1);
    let mut best: Vec<(usize, usize)> = Vec::new(); // (differing lines, start)
    for start in 0..=lines.len() - n {
        let differ = new.iter().enumerate().filter(|(k, l)| lines[start + k].trim() != l.trim()).count();
        if differ == 0 || differ > allowed || n - differ < 2 {
            continue;
        }
        best.push((differ, start));
    }
    best.sort_by_key(|&(d, s)| (d, (s + 1).abs_diff(hint)));
    let Some(&(d, start)) = best.first() else { return Err(not_found()) };
    if best.get(1).is_some_and(|&(d2, s2)| d2 == d && (s2 + 1).abs_diff(hint) == (start + 1).abs_diff(hint)) {
        return Err(EditError::Ambiguous { path: path.to_string(), count: best.iter().filter(|b| b.0 == d).count() });
    }
    if best.iter().filter(|b| b.0 == d).count() > 1 && hint == 0 {
        return Err(EditError::Ambiguous { path: path.to_string(), count: 2 });
    }
    let replacement = reindent(lines[start], &new[0], new);
    let mut out: Vec<&str> = lines[..start].to_vec();
    out.extend(replacement.iter().map(String::as_str));
    out.extend_from_slice(&lines[start + n..]);
    Ok(rejoin(&out, text))
}

/// Finds `old` as a run of lines (exact, then ignoring trailing, then all
/// surrounding white space) and puts `new` in its place, re-indented by the drift.
fn replace_lines(
    path: &str,
    text: &str,
    old: &[&str],
    new: &[String],
    hint: Option<usize>,
) -> Result<String, EditError> {
    let lines: Vec<&str> = text.lines().collect();
    if old.is_empty() || old.len() > lines.len() {
        return Err(EditError::NotFound { path: path.to_string() });
    }
    let comparisons: [fn(&str, &str) -> bool; 3] =
        [|a, b| a == b, |a, b| a.trim_end() == b.trim_end(), |a, b| a.trim() == b.trim()];
    for (level, same) in comparisons.iter().enumerate() {
        let starts: Vec<usize> = (0..=lines.len() - old.len())
            .filter(|&s| old.iter().enumerate().all(|(k, o)| same(lines[s + k], o)))
            .collect();
        let start = match (starts.len(), hint) {
            (0, _) => continue,
            (1, _) => starts[0],
            (n, None) => return Err(EditError::Ambiguous { path: path.to_string(), count: n }),
            (_, Some(h)) => {
                // A diff's line number breaks the tie, when one place is strictly closest.
                let mut by_distance: Vec<(usize, usize)> = starts.iter().map(|&s| ((s + 1).abs_diff(h), s)).collect();
                by_distance.sort();
                if by_distance[0].0 == by_distance[1].0 {
                    return Err(EditError::Ambiguous { path: path.to_string(), count: starts.len() });
                }
                by_distance[0].1
            }
        };
        let replacement: Vec<String> = if level == 2 { reindent(lines[start], old[0], new) } else { new.to_vec() };
        let mut out: Vec<&str> = lines[..start].to_vec();
        out.extend(replacement.iter().map(String::as_str));
        out.extend_from_slice(&lines[start + old.len()..]);
        return Ok(rejoin(&out, text));
    }
    Err(EditError::NotFound { path: path.to_string() })
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Shifts `new` by the indentation difference between the file and the search text.
fn reindent(file_line: &str, search_line: &str, new: &[String]) -> Vec<String> {
    let (have, wrote) = (indent_of(file_line), indent_of(search_line));
    new.iter()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else if let Some(rest) = l.strip_prefix(wrote) {
                format!("{have}{rest}")
            } else {
                format!("{have}{}", l.trim_start())
            }
        })
        .collect()
}

/// Joins lines keeping the original's trailing newline convention.
fn rejoin(lines: &[&str], original: &str) -> String {
    let mut out = lines.join("\n");
    if original.ends_with('\n') || original.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALC: &str = "def add(a, b):\n    return a * b\n\n\ndef sub(a, b):\n    return a - b\n";

    fn one(path: &str, text: &str) -> impl Fn(&str) -> Option<String> {
        let (path, text) = (path.to_string(), text.to_string());
        move |p: &str| (p == path).then(|| text.clone())
    }

    #[test]
    fn search_replace_exact() {
        let reply = "The bug is the operator.\n\ncalc.py\n```python\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n```\n";
        let edits = parse_reply(reply).unwrap();
        assert_eq!(
            edits,
            vec![Edit::SearchReplace {
                path: "calc.py".into(),
                search: "    return a * b\n".into(),
                replace: "    return a + b\n".into()
            }]
        );
        let out = apply(&edits, one("calc.py", CALC)).unwrap();
        assert_eq!(out[0].1, CALC.replace("a * b", "a + b"));
    }

    #[test]
    fn search_replace_tolerates_indent_drift() {
        let reply = "**calc.py**\n<<<<<<< SEARCH\nreturn a * b\n=======\nreturn a + b\n>>>>>>> REPLACE\n";
        let out = apply(&parse_reply(reply).unwrap(), one("calc.py", CALC)).unwrap();
        assert!(out[0].1.contains("\n    return a + b\n"), "{}", out[0].1);
    }

    #[test]
    fn search_replace_ambiguous_and_missing() {
        let text = "x = 1\nx = 1\n";
        let reply = "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n";
        assert!(matches!(
            apply(&parse_reply(reply).unwrap(), one("a.py", text)),
            Err(EditError::Ambiguous { count: 2, .. })
        ));
        let reply = "a.py\n<<<<<<< SEARCH\ny = 1\n=======\nx = 2\n>>>>>>> REPLACE\n";
        assert!(matches!(apply(&parse_reply(reply).unwrap(), one("a.py", text)), Err(EditError::NotFound { .. })));
        let reply = "b.py\n<<<<<<< SEARCH\ny = 1\n=======\nx = 2\n>>>>>>> REPLACE\n";
        assert!(matches!(apply(&parse_reply(reply).unwrap(), one("a.py", text)), Err(EditError::MissingFile { .. })));
    }

    #[test]
    fn unclosed_block_is_malformed() {
        let reply = "a.py\n<<<<<<< SEARCH\nx\n=======\ny\n";
        assert!(matches!(parse_reply(reply), Err(EditError::Malformed(_))));
        let reply = "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
        assert_eq!(parse_reply(reply).unwrap()[0].path(), UNNAMED, "no path named: placed by its SEARCH text");
        let reply = "<<<<<<< SEARCH\n=======\nnew file\n>>>>>>> REPLACE\n";
        assert!(matches!(parse_reply(reply), Err(EditError::Malformed(_))), "a new file must be named");
    }

    #[test]
    fn several_blocks_and_files() {
        let reply = "calc.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a - b  # ok\n>>>>>>> REPLACE\n\nnotes.txt\n<<<<<<< SEARCH\n=======\nnew file\n>>>>>>> REPLACE\n";
        let edits = parse_reply(reply).unwrap();
        assert_eq!(edits.len(), 3);
        let out = apply(&edits, one("calc.py", CALC)).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[0].1.contains("a + b") && out[0].1.contains("# ok"));
        assert_eq!(out[1], ("notes.txt".to_string(), "new file\n".to_string()));
    }

    #[test]
    fn unified_diff_with_wrong_counts_and_offset() {
        let reply = "```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -40,7 +40,7 @@\n def add(a, b):\n-    return a * b\n+    return a + b\n```\n";
        let edits = parse_reply(reply).unwrap();
        let out = apply(&edits, one("calc.py", CALC)).unwrap();
        assert_eq!(out[0].1, CALC.replace("a * b", "a + b"));
    }

    #[test]
    fn diff_deleting_a_file_is_refused() {
        let reply = "--- a/tests/test_calc.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        assert!(matches!(parse_reply(reply), Err(EditError::Deletion { .. })));
    }

    #[test]
    fn whole_file_needs_a_path_and_full_content() {
        let reply = "Here is the fixed file:\n\n`calc.py`\n```python\ndef add(a, b):\n    return a + b\n```\n";
        let edits = parse_reply(reply).unwrap();
        assert_eq!(
            edits,
            vec![Edit::WholeFile { path: "calc.py".into(), content: "def add(a, b):\n    return a + b\n".into() }]
        );
        // With no path it is unnamed: the attempt places it on the one suspect it resembles.
        let no_path = "Fixed:\n```python\ndef add(a, b):\n    return a + b\n```\n";
        assert_eq!(
            parse_reply(no_path).unwrap(),
            vec![Edit::WholeFile { path: UNNAMED.into(), content: "def add(a, b):\n    return a + b\n".into() }]
        );
        let long: String = (0..100).map(|i| format!("x{i} = {i}\n")).collect();
        let lazy = "big.py\n```python\nx0 = 1\n# ... rest of the file unchanged\n```\n";
        assert!(matches!(apply(&parse_reply(lazy).unwrap(), one("big.py", &long)), Err(EditError::Truncated { .. })));
        let short = "big.py\n```python\nx0 = 1\n```\n";
        assert!(matches!(apply(&parse_reply(short).unwrap(), one("big.py", &long)), Err(EditError::Truncated { .. })));
    }

    #[test]
    fn fence_info_path() {
        let reply = "```python:src/calc.py\nprint(1)\n```\n";
        assert_eq!(parse_reply(reply).unwrap()[0].path(), "src/calc.py");
    }

    #[test]
    fn an_echoed_format_example_is_recognised() {
        let old = "path/to/file.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n";
        assert!(matches!(parse_reply(old), Err(EditError::EchoedExample(_))));
        let new = format!(
            "calc.py\n<<<<<<< SEARCH\n{PLACEHOLDER_SEARCH} calc.py)\n=======\n{PLACEHOLDER_REPLACE})\n>>>>>>> REPLACE\n"
        );
        assert!(matches!(parse_reply(&new), Err(EditError::EchoedExample(_))));
        let whole = format!("calc.py\n```python\n{PLACEHOLDER_WHOLE} calc.py)\n```\n");
        assert!(matches!(parse_reply(&whole), Err(EditError::EchoedExample(_))));
    }

    #[test]
    fn elided_lines_in_search_are_matched_piecewise() {
        let text = "def f(x):\n    a = 1\n    b = 2\n    c = 3\n    return a * x\n";
        let reply = "calc.py\n<<<<<<< SEARCH\ndef f(x):\n    ...\n    return a * x\n=======\ndef f(x):\n    ...\n    return a + x\n>>>>>>> REPLACE\n";
        let out = apply(&parse_reply(reply).unwrap(), one("calc.py", text)).unwrap();
        assert_eq!(out[0].1, text.replace("a * x", "a + x"));
        // Our own prompt's elision mark, copied by the model.
        let reply = "calc.py\n<<<<<<< SEARCH\ndef f(x):\n# … (lines elided; next line is 5)\n    return a * x\n=======\ndef f(x):\n# … (lines elided; next line is 5)\n    return a + x\n>>>>>>> REPLACE\n";
        let out = apply(&parse_reply(reply).unwrap(), one("calc.py", text)).unwrap();
        assert_eq!(out[0].1, text.replace("a * x", "a + x"));
        // REPLACE that drops the elided lines: refused, never deleting them.
        let reply = "calc.py\n<<<<<<< SEARCH\ndef f(x):\n    ...\n    return a * x\n=======\ndef f(x):\n    return a + x\n>>>>>>> REPLACE\n";
        assert!(matches!(
            apply(&parse_reply(reply).unwrap(), one("calc.py", text)),
            Err(EditError::UnmatchedElision { .. })
        ));
        // A piece that is in the file twice is ambiguous.
        let twice = "x = 1\ny = 2\nx = 1\nz = 3\n";
        let reply = "a.py\n<<<<<<< SEARCH\nx = 1\n...\nz = 3\n=======\nx = 1\n...\nz = 4\n>>>>>>> REPLACE\n";
        assert!(matches!(apply(&parse_reply(reply).unwrap(), one("a.py", twice)), Err(EditError::Ambiguous { .. })));
    }

    #[test]
    fn a_context_only_hunk_is_read_as_the_new_lines() {
        // What the small model writes: no -/+ lines, the fix inside the context.
        let text = "def letter(score):\n    for t, l in BOUNDS:\n        if score > t:\n            return l\n    return 'F'\n";
        let reply = "```diff\n--- a/grades.py\n+++ b/grades.py\n@@ -1,5 +1,5 @@\n def letter(score):\n     for t, l in BOUNDS:\n         if score >= t:\n             return l\n```\n";
        let out = apply(&parse_reply(reply).unwrap(), one("grades.py", text)).unwrap();
        assert_eq!(out[0].1, text.replace("score > t", "score >= t"));
        // Context that matches the file exactly changes nothing: not a fix.
        let same = "```diff\n--- a/grades.py\n+++ b/grades.py\n@@ -1,3 +1,3 @@\n def letter(score):\n     for t, l in BOUNDS:\n         if score > t:\n```\n";
        assert!(matches!(apply(&parse_reply(same).unwrap(), one("grades.py", text)), Err(EditError::NotFound { .. })));
        // Too different from every place: refused.
        let far = "```diff\n--- a/grades.py\n+++ b/grades.py\n@@ -1,3 +1,3 @@\n def other():\n     pass\n     return 1\n```\n";
        assert!(matches!(apply(&parse_reply(far).unwrap(), one("grades.py", text)), Err(EditError::NotFound { .. })));
        // Two places equally near: refused.
        let two = "a = 1\nb = 2\nc = 3\n\na = 1\nb = 2\nc = 3\n";
        let amb = "```diff\n--- a/x.py\n+++ b/x.py\n@@ -0,0 +0,0 @@\n a = 1\n b = 2\n c = 4\n```\n";
        assert!(matches!(apply(&parse_reply(amb).unwrap(), one("x.py", two)), Err(EditError::Ambiguous { .. })));
    }

    #[test]
    fn prose_only_has_no_edits() {
        assert_eq!(parse_reply("I think the bug is in add()."), Err(EditError::NoEdits));
        assert_eq!(parse_reply(""), Err(EditError::NoEdits));
    }

    #[test]
    fn the_shapes_a_small_model_writes_without_the_format_are_read() {
        // "Replace: ``` old ``` with: ``` new ```" (Qwen2.5-Coder-1.5B, temperature 0).
        let pair = "Cause: x.\n\nReplace:\n```\ndef f(age):\n    return age > 18\n```\n\nwith:\n```\ndef f(age):\n    return age >= 18\n```\n";
        assert_eq!(
            parse_reply(pair).unwrap(),
            vec![Edit::SearchReplace {
                path: UNNAMED.into(),
                search: "def f(age):\n    return age > 18\n".into(),
                replace: "def f(age):\n    return age >= 18\n".into()
            }]
        );
        // The path inside the first fence, then a second opening fence.
        let nested = "Fix:\n```python\naccess.py\n```python\nA = 1\n\n\ndef f():\n    return A\n```\n";
        assert_eq!(
            parse_reply(nested).unwrap(),
            vec![Edit::WholeFile { path: "access.py".into(), content: "A = 1\n\n\ndef f():\n    return A\n".into() }]
        );
        // A bare whole file followed by the whole-file placeholder copied under a near-miss name.
        let echo_after =
            "Fix:\n```python\nA = 2\n```\nAccess.py\n```python\n(every line of the corrected access.py)\n```\n";
        assert_eq!(
            parse_reply(echo_after).unwrap(),
            vec![Edit::WholeFile { path: UNNAMED.into(), content: "A = 2\n".into() }]
        );
        // The path as a comment on the block's first line.
        let commented = "Fix:\n```python\n# calc.py\ndef add(a, b):\n    return a + b\n```\n";
        assert_eq!(
            parse_reply(commented).unwrap(),
            vec![Edit::WholeFile { path: "calc.py".into(), content: "def add(a, b):\n    return a + b\n".into() }]
        );
        // The language on the first line of a bare fence, then the path as a comment.
        let spelled = "Fix:\n```\npython\n# calc.py\ndef add(a, b):\n    return a + b\n```\n";
        assert_eq!(
            parse_reply(spelled).unwrap(),
            vec![Edit::WholeFile { path: "calc.py".into(), content: "def add(a, b):\n    return a + b\n".into() }]
        );
        // The path in place of the SEARCH word.
        let marked = "Fix:\n```\n<<<<<<< calc.py\n    return a * b\n=======\n    return a + b\n>>>>>>> calc.py\n```\n";
        assert_eq!(parse_reply(marked).unwrap()[0].path(), "calc.py");
        // A block with no path is unnamed; the format's placeholders in it are an echo.
        let bare_block =
            "Replace:\n```\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n```\n";
        assert_eq!(parse_reply(bare_block).unwrap()[0].path(), UNNAMED);
        let bare_echo = "Replace:\n```\n<<<<<<< SEARCH\n(copy here, exactly, the current lines of grades.py)\n=======\n(the corrected lines)\n>>>>>>> REPLACE\n```\n";
        assert!(matches!(parse_reply(bare_echo), Err(EditError::EchoedExample(_))));
        // The placeholder alone, named or not, is still an echo.
        let bare = "Fix:\n```python\n(every line of the corrected grades.py)\n```\n";
        assert!(matches!(parse_reply(bare), Err(EditError::EchoedExample(_))));
        let echo = "access.py\n```python\n(every line of the corrected access.py)\n```\n";
        assert!(matches!(parse_reply(echo), Err(EditError::EchoedExample(_))));
        // Two bare blocks the prose does not call old and new text: no edit.
        let unrelated = "The bug:\n```\nreturn a * b\n```\nRun:\n```\npytest -q\n```\n";
        assert_eq!(parse_reply(unrelated), Err(EditError::NoEdits));
        // Three bare blocks: which is old and which new is a guess, so nothing.
        let three = "```\nx = 1\n```\n```\nx = 2\n```\n```\nx = 3\n```\n";
        assert_eq!(parse_reply(three), Err(EditError::NoEdits));
    }

    #[test]
    fn a_whole_file_answer_that_is_one_function_replaces_that_function() {
        let mut file = String::from(
            "\"\"\"Grades.\"\"\"\n\nBOUNDS = [(90, 'A')]\n\n\ndef letter(score):\n    for t, l in BOUNDS:\n        if score > t:\n            return l\n\n    return 'F'\n\n\n",
        );
        for i in 0..40 {
            file.push_str(&format!("def helper_{i}(x):\n    return x + {i}\n\n\n"));
        }
        let reply = "Fix:\ngrades.py\n```python\ndef letter(score):\n    for t, l in BOUNDS:\n        if score >= t:\n            return l\n\n    return 'F'\n```\n";
        let out = apply(&parse_reply(reply).unwrap(), one("grades.py", &file)).unwrap();
        assert_eq!(out[0].1, file.replace("score > t", "score >= t"));
        // A method written at the left margin goes back to its indentation; a brace language keeps its closing brace.
        let js = "class Cart {\n  total(items) {\n    let s = 0;\n    for (const i of items) {\n      s -= i;\n    }\n    return s;\n  }\n\n  count() {\n    return 0;\n  }\n}\n";
        let snippet = "total(items) {\n  let s = 0;\n  for (const i of items) {\n    s += i;\n  }\n  return s;\n}\n";
        assert_eq!(replace_definition(js, snippet).unwrap(), js.replace("s -= i", "s += i"));
        // A class given with a few of its methods is no rewrite of the class.
        let class: String = std::iter::once("class Shop:\n".to_string())
            .chain((0..8).map(|i| format!("    def m{i}(self):\n        return {i}\n\n")))
            .collect();
        let file = format!("\"\"\"Shop.\"\"\"\n\n{class}");
        assert_eq!(replace_definition(&file, "class Shop:\n    def m0(self):\n        return 9\n"), None);
        // A small class given with one of its methods, or a snippet of two definitions: no splice.
        let small = "\"\"\"Doc.\"\"\"\n\n\nclass A:\n    def one(self):\n        return 1\n\n    def two(self):\n        return 2\n\n\nX = 1\n";
        assert_eq!(replace_definition(small, "class A:\n    def one(self):\n        return 9\n"), None);
        let two = "\"\"\"Doc.\"\"\"\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 2\n\n\nX = 1\n";
        assert_eq!(replace_definition(two, "def f():\n    return 1\n\n\ndef g():\n    return 3\n"), None);
        // Not a definition, or one the file has twice: no guess.
        assert_eq!(replace_definition(&file, "x = 1\ny = 2\n"), None);
        let twice = "def f():\n    return 1\n\n\nclass A:\n    def f():\n        return 2\n";
        assert_eq!(replace_definition(twice, "def f():\n    return 3\n"), None);
        // A placeholder is still a truncation, not a function.
        let lazy = "grades.py\n```python\ndef letter(score):\n    # ... rest of the function\n```\n";
        assert!(matches!(
            apply(&parse_reply(lazy).unwrap(), one("grades.py", &file)),
            Err(EditError::Truncated { .. })
        ));
    }

    #[test]
    fn lines_copied_from_a_traceback_or_fixed_in_both_halves_still_apply() {
        let file = "def avg(r):\n    if r is None:\n        return 0.0\n    return round(sum(r) / len(r), 1)\n";
        // pytest's decoration around the failing line (Qwen2.5-Coder-1.5B copied it into both halves).
        let reply = "survey.py\n<<<<<<< SEARCH\n    if r is None:\n        return 0.0\n>       return round(sum(r) / len(r), 1)\n                     ^^^^^^^^^^^^^^\nE       ZeroDivisionError: division by zero\n\nsurvey.py:4: ZeroDivisionError\n=======\n    if not r:\n        return 0.0\n>       return round(sum(r) / len(r), 1)\n                     ^^^^^^^^^^^^^^\nE       ZeroDivisionError: division by zero\n\nsurvey.py:4: ZeroDivisionError\n>>>>>>> REPLACE\n";
        let out = apply(&parse_reply(reply).unwrap(), one("survey.py", file)).unwrap();
        assert_eq!(out[0].1, file.replace("if r is None:", "if not r:"));
        // The fixed lines in both halves: read as the new text of the lines they match.
        let both = "survey.py\n<<<<<<< SEARCH\ndef avg(r):\n    if not r:\n        return 0.0\n=======\ndef avg(r):\n    if not r:\n        return 0.0\n>>>>>>> REPLACE\n";
        let out = apply(&parse_reply(both).unwrap(), one("survey.py", file)).unwrap();
        assert_eq!(out[0].1, file.replace("if r is None:", "if not r:"));
        // Identical halves that match nowhere closely enough are still not found.
        let far = "survey.py\n<<<<<<< SEARCH\nx = 1\ny = 2\n=======\nx = 1\ny = 2\n>>>>>>> REPLACE\n";
        assert!(apply(&parse_reply(far).unwrap(), one("survey.py", file)).is_err());
    }

    #[test]
    fn a_first_function_alone_is_that_function_and_a_whole_file_is_the_file() {
        let file = "def sum_to(n):\n    total = 0\n    for i in range(1, n):\n        total += i\n    return total\n\n\ndef squares(n):\n    return [i * i for i in range(n)]\n";
        let alone = "series.py\n```python\ndef sum_to(n):\n    return n * (n + 1) // 2\n```\n";
        let out = apply(&parse_reply(alone).unwrap(), one("series.py", file)).unwrap();
        assert_eq!(
            out[0].1,
            "def sum_to(n):\n    return n * (n + 1) // 2\n\n\ndef squares(n):\n    return [i * i for i in range(n)]\n"
        );
        let whole = format!("series.py\n```python\n{}```\n", file.replace("range(1, n)", "range(1, n + 1)"));
        let out = apply(&parse_reply(&whole).unwrap(), one("series.py", file)).unwrap();
        assert_eq!(out[0].1, file.replace("range(1, n)", "range(1, n + 1)"));
    }

    #[test]
    fn a_replacement_that_leaves_out_the_definition_header_keeps_it() {
        let file = "class Inventory:\n    def add(self, sku, q):\n        \"\"\"Receive q units.\"\"\"\n        assert q < 0, \"positive\"\n        return q\n";
        let fixed = file.replace("q < 0", "q > 0");
        // Search/replace: three lines found, one written back (Qwen2.5-Coder-1.5B).
        let reply = "Fix:\n```\n<<<<<<< inventory.py\n    def add(self, sku, q):\n        \"\"\"Receive q units.\"\"\"\n        assert q < 0, \"positive\"\n=======\n        assert q > 0, \"positive\"\n>>>>>>> REPLACE\n```\n";
        assert_eq!(apply(&parse_reply(reply).unwrap(), one("inventory.py", file)).unwrap()[0].1, fixed);
        // The same shape as a diff: the header and docstring removed, one line added.
        let diff = "--- a/inventory.py\n+++ b/inventory.py\n@@ -1,5 +1,3 @@\n class Inventory:\n-    def add(self, sku, q):\n-        \"\"\"Receive q units.\"\"\"\n-        assert q < 0, \"positive\"\n+        assert q > 0, \"positive\"\n         return q\n";
        assert_eq!(apply(&parse_reply(diff).unwrap(), one("inventory.py", file)).unwrap()[0].1, fixed);
        // Deleting a whole definition, or replacing it by one at its own depth, is left as written.
        let old: Vec<String> = ["def f():", "    return 1"].map(String::from).to_vec();
        assert_eq!(restore_dropped_headers(&old, &[]), Vec::<String>::new());
        let flat: Vec<String> = vec!["f = lambda: 1".into()];
        assert_eq!(restore_dropped_headers(&old, &flat), flat);
    }
}
