//! The approval page's HTML: every patch with the failed run, the diagnosis,
//! the diff (file names, added and removed lines, syntax colouring by the
//! file's language), the validation plan, and Approve / Reject forms that POST
//! the session token.
//!
//! Invariants: every piece of text from a log, the model or a file is HTML-escaped
//! before it is placed in the page; the page has no script (the server's CSP
//! forbids any), so the forms are the only way to act.

use std::fmt::Write as _;

use super::{PatchStatus, PendingPatch};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}\
header{background:#1f2328;color:#fff;padding:12px 24px}header h1{font-size:18px;margin:0}\
main{max-width:1100px;margin:0 auto;padding:16px 24px}\
section.patch{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:16px 0;padding:16px}\
h2{font-size:17px;margin:0 0 8px}h3{font-size:14px;margin:14px 0 6px;text-transform:uppercase;color:#59636e}\
.status{display:inline-block;border-radius:12px;padding:1px 10px;font-size:13px;font-weight:600}\
.status.pending{background:#fff8c5}.status.approved,.status.applied{background:#dafbe1}.status.rejected{background:#ffebe9}\
pre{margin:0;font:13px/1.4 ui-monospace,monospace}\
.diff{border:1px solid #d0d7de;border-radius:6px;overflow-x:auto}\
.diff .file{background:#eaeef2;font-weight:600;padding:6px 10px;border-bottom:1px solid #d0d7de}\
.diff .l{display:block;padding:0 10px;white-space:pre}.diff .add{background:#dafbe1}.diff .del{background:#ffebe9}\
.diff .hunk{background:#ddf4ff;color:#0550ae}.kw{color:#cf222e;font-weight:600}.str{color:#0a3069}\
.com{color:#6e7781;font-style:italic}.num{color:#0550ae}\
ul.failures{margin:0;padding-left:20px}ul.failures li{font-family:ui-monospace,monospace;font-size:13px}\
table.plan td{padding:2px 12px 2px 0;vertical-align:top}\
form{display:inline-block;margin:12px 12px 0 0}button{font-size:15px;padding:6px 18px;border-radius:6px;border:1px solid;cursor:pointer}\
button.approve{background:#1f883d;color:#fff;border-color:#1a7f37}button.reject{background:#fff;color:#cf222e;border-color:#cf222e}\
input[name=reason]{font-size:14px;padding:5px;width:260px}.notice{background:#ddf4ff;border:1px solid #54aeff;border-radius:6px;padding:8px 12px}";

/// The page listing `patches`, with forms for the pending ones.
pub fn index(patches: &[PendingPatch], token: &str, notice: Option<&str>) -> String {
    let pending = patches.iter().filter(|p| p.status == PatchStatus::Pending).count();
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>self-heal: {pending} patch(es) to review</title>\
         <style>{STYLE}</style></head><body><header><h1>self-heal: patch approval</h1></header><main>"
    );
    if let Some(n) = notice {
        let _ = write!(out, "<p class=\"notice\" id=\"notice\">{}</p>", escape(n));
    }
    if patches.is_empty() {
        out.push_str("<p id=\"empty\">No patches to review.</p>");
    } else {
        let _ = write!(out, "<p id=\"summary\">{pending} of {} patch(es) waiting for a decision.</p>", patches.len());
    }
    for p in patches {
        patch_section(&mut out, p, token);
    }
    out.push_str("</main></body></html>");
    out
}

fn patch_section(out: &mut String, p: &PendingPatch, token: &str) {
    let id = escape(&p.id);
    let status = p.status.as_str();
    let _ = write!(
        out,
        "<section class=\"patch\" id=\"patch-{id}\" data-status=\"{status}\"><h2>{} <span class=\"status {status}\">{status}</span></h2>\
         <p>Patch <code>{id}</code> for <code>{}</code>, made {}</p>",
        escape(&p.source),
        escape(&p.workspace),
        escape(&p.created_at)
    );
    out.push_str("<h3>What failed</h3><ul class=\"failures\">");
    for f in &p.failures {
        let _ = write!(out, "<li>{}</li>", escape(f));
    }
    let _ =
        write!(out, "</ul><h3>Diagnosis</h3><p class=\"diagnosis\">{}</p>", escape(&p.diagnosis).replace('\n', "<br>"));
    let _ = write!(out, "<h3>Changes ({} file(s))</h3>", p.files.len());
    diff_html(out, &p.diff);
    plan_html(out, p);
    if let Some(d) = &p.decision {
        let _ = write!(
            out,
            "<p class=\"decision\">{} by {} ({}) at {}{}</p>",
            escape(&d.decision),
            escape(&d.by),
            escape(&d.channel),
            escape(&d.at),
            d.reason.as_deref().map(|r| format!(": {}", escape(r))).unwrap_or_default()
        );
    }
    if p.status == PatchStatus::Pending {
        let hidden = format!(
            "<input type=\"hidden\" name=\"token\" value=\"{}\"><input type=\"hidden\" name=\"id\" value=\"{id}\">",
            escape(token)
        );
        let _ = write!(
            out,
            "<div class=\"actions\"><form method=\"post\" action=\"/decide\">{hidden}<input type=\"hidden\" name=\"decision\" value=\"approve\">\
             <button class=\"approve\" id=\"approve-{id}\" type=\"submit\">Approve</button></form>\
             <form method=\"post\" action=\"/decide\">{hidden}<input type=\"hidden\" name=\"decision\" value=\"reject\">\
             <input name=\"reason\" placeholder=\"reason (optional)\" maxlength=\"500\">\
             <button class=\"reject\" id=\"reject-{id}\" type=\"submit\">Reject</button></form></div>"
        );
    }
    out.push_str("</section>");
}

fn plan_html(out: &mut String, p: &PendingPatch) {
    let v = &p.validation;
    out.push_str("<h3>Validation</h3><table class=\"plan\">");
    let backend = match &v.image {
        Some(image) => format!("{} ({})", v.backend, image),
        None => v.backend.clone(),
    };
    let mut row = |name: &str, value: &str| {
        let _ = write!(out, "<tr><td>{name}</td><td><code>{}</code></td></tr>", escape(value));
    };
    row("where", &backend);
    if let Some(s) = &v.scoped {
        row("failing tests first", s);
    }
    row("whole suite", &v.command);
    row("unpatched", v.before.as_deref().unwrap_or("-"));
    row("patched", v.after.as_deref().unwrap_or("-"));
    row(
        "on approval",
        "each file is written only if it still holds what the patch was validated against; nothing else is touched",
    );
    out.push_str("</table>");
}

/// The diff as HTML: one block per file with its name, lines marked added,
/// removed, hunk or context, and the code coloured by the file's language.
pub fn diff_html(out: &mut String, diff: &str) {
    out.push_str("<div class=\"diff\">");
    let mut lang = Lang::Other;
    let mut open = false;
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        // A file header is a `--- ` line followed by a `+++ ` line; alone, either is a changed line.
        if line.starts_with("--- ") && lines.peek().is_some_and(|next| next.starts_with("+++ ")) {
            let name = lines.next().unwrap_or_default().trim_start_matches("+++ ");
            let name = name.strip_prefix("b/").unwrap_or(name);
            lang = Lang::of(name);
            if open {
                out.push_str("</pre>");
            }
            let _ = write!(out, "<div class=\"file\">{}</div><pre>", escape(name));
            open = true;
            continue;
        }
        if !open {
            out.push_str("<pre>");
            open = true;
        }
        let (class, sign, code) = match line.as_bytes().first() {
            Some(b'+') => ("add", "+", &line[1..]),
            Some(b'-') => ("del", "-", &line[1..]),
            Some(b'@') => {
                let _ = write!(out, "<span class=\"l hunk\">{}</span>", escape(line));
                continue;
            }
            Some(b' ') => ("ctx", " ", &line[1..]),
            _ => ("ctx", "", line),
        };
        let _ = write!(out, "<span class=\"l {class}\">{sign}{}</span>", highlight(code, lang));
    }
    if open {
        out.push_str("</pre>");
    }
    out.push_str("</div>");
}

/// The languages the colouring knows, by file extension.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Brace(&'static [&'static str]),
    Other,
}

const PYTHON: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "False", "finally", "for", "from", "if", "import", "in", "is", "lambda", "None", "not", "or", "pass", "raise",
    "return", "True", "try", "while", "with", "yield",
];
const GO: &[&str] = &[
    "break",
    "case",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "for",
    "func",
    "go",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "struct",
    "switch",
    "type",
    "var",
    "nil",
    "true",
    "false",
];
const JAVA: &[&str] = &[
    "class",
    "else",
    "extends",
    "final",
    "for",
    "if",
    "implements",
    "import",
    "interface",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "throw",
    "throws",
    "try",
    "catch",
    "void",
    "while",
    "null",
    "true",
    "false",
];
const JS: &[&str] = &[
    "async",
    "await",
    "class",
    "const",
    "else",
    "export",
    "for",
    "from",
    "function",
    "if",
    "import",
    "let",
    "new",
    "return",
    "throw",
    "try",
    "catch",
    "var",
    "while",
    "null",
    "undefined",
    "true",
    "false",
];
const RUST: &[&str] = &[
    "as", "async", "await", "const", "else", "enum", "fn", "for", "if", "impl", "let", "loop", "match", "mod", "mut",
    "pub", "return", "self", "struct", "trait", "use", "where", "while", "true", "false",
];

impl Lang {
    fn of(path: &str) -> Self {
        match path.rsplit('.').next().unwrap_or("") {
            "py" => Lang::Python,
            "go" => Lang::Brace(GO),
            "java" | "kt" | "scala" | "groovy" => Lang::Brace(JAVA),
            "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" => Lang::Brace(JS),
            "rs" => Lang::Brace(RUST),
            _ => Lang::Other,
        }
    }
}

/// One line of code as escaped HTML with keywords, strings, comments and numbers marked.
fn highlight(code: &str, lang: Lang) -> String {
    let (keywords, comment): (&[&str], &str) = match lang {
        Lang::Python => (PYTHON, "#"),
        Lang::Brace(k) => (k, "//"),
        Lang::Other => return escape(code),
    };
    let mut out = String::new();
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with(comment) {
            let _ = write!(out, "<span class=\"com\">{}</span>", escape(rest));
            break;
        }
        let len = if c == '"' || c == '\'' || c == '`' {
            let end = string_end(rest, c);
            let _ = write!(out, "<span class=\"str\">{}</span>", escape(&rest[..end]));
            end
        } else if c.is_alphabetic() || c == '_' {
            let end = rest.find(|ch: char| !(ch.is_alphanumeric() || ch == '_')).unwrap_or(rest.len());
            let word = &rest[..end];
            if keywords.contains(&word) {
                let _ = write!(out, "<span class=\"kw\">{word}</span>");
            } else {
                out.push_str(&escape(word));
            }
            end
        } else if c.is_ascii_digit() {
            let end =
                rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_')).unwrap_or(rest.len());
            let _ = write!(out, "<span class=\"num\">{}</span>", escape(&rest[..end]));
            end
        } else {
            out.push_str(&escape(&rest[..c.len_utf8()]));
            c.len_utf8()
        };
        rest = &rest[len..];
    }
    out
}

/// The byte length of the string literal at the start of `text` (to its closing
/// quote, or the end of the line), honouring backslash escapes.
fn string_end(text: &str, quote: char) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == quote && !escaped => return i + c.len_utf8(),
            _ => escaped = false,
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut p = crate::approval::store::tests::sample("r-1");
        p.diagnosis = "<script>alert(1)</script>".into();
        p.failures = vec!["<img src=x onerror=alert(1)>".into()];
        p.diff = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+print(\"</span><script>x</script>\")\n".into();
        p.source = "run \"><b>".into();
        let html = index(&[p], "tok\"en", None);
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("\"><b>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("value=\"tok&quot;en\""));
    }

    #[test]
    fn the_diff_shows_file_names_lines_and_colours() {
        let mut out = String::new();
        diff_html(
            &mut out,
            "--- a/cart.py\n+++ b/cart.py\n@@ -1,2 +1,2 @@\n def total(prices):\n-    return summ(prices)  # sum\n+    return sum(prices)\n",
        );
        assert!(out.contains("<div class=\"file\">cart.py</div>"), "{out}");
        assert!(out.contains("<span class=\"l del\">-    <span class=\"kw\">return</span> summ(prices)  <span class=\"com\"># sum</span></span>"), "{out}");
        assert!(
            out.contains("<span class=\"l add\">+    <span class=\"kw\">return</span> sum(prices)</span>"),
            "{out}"
        );
        assert!(out.contains("<span class=\"l hunk\">@@ -1,2 +1,2 @@</span>"));
        assert!(out.contains("<span class=\"l ctx\"> <span class=\"kw\">def</span> total(prices):</span>"));
    }

    #[test]
    fn strings_keep_their_escapes_and_go_is_coloured() {
        assert_eq!(
            highlight(r#"x := "a\"b" // c"#, Lang::Brace(GO)),
            "x := <span class=\"str\">&quot;a\\&quot;b&quot;</span> <span class=\"com\">// c</span>"
        );
        assert_eq!(
            highlight("return 42", Lang::Brace(GO)),
            "<span class=\"kw\">return</span> <span class=\"num\">42</span>"
        );
    }

    #[test]
    fn only_pending_patches_have_buttons() {
        let mut p = crate::approval::store::tests::sample("r-1");
        let html = index(std::slice::from_ref(&p), "t", None);
        assert!(html.contains("id=\"approve-r-1\"") && html.contains("id=\"reject-r-1\""));
        p.decide(&crate::approval::Decision::Approved, "web", "ana");
        let html = index(&[p], "t", Some("approved r-1"));
        assert!(!html.contains("id=\"approve-r-1\"") && html.contains("approved by ana (web)"), "{html}");
    }
}
