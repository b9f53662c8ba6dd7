//! Secret masking for every sink: results files, console output, prompts.
//!
//! Two layers: the literal values of the secret settings self-heal holds, and
//! the shapes of well-known credentials (GitHub tokens, OpenAI-style keys, AWS
//! access keys, `Authorization`/`Bearer` values, private-key blocks), so a
//! secret printed by a failing test is hidden too.

use std::sync::LazyLock;

use regex::Regex;

/// Where a credential may start: the start of the text, a character that cannot
/// be part of a name, or a JSON/string escape (`\n`, `\r`, `\t`), so that a
/// secret on its own line is found in serialised JSON too, where `\b` would see
/// the `n` of `\n` glued to it. The pattern's group 1 is kept in the replacement.
const START: &str = r"(^|[^A-Za-z0-9_]|\\[nrt])";

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        format!(r"{START}(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{{20,}}\b"),
        format!(r"{START}github_pat_[A-Za-z0-9_]{{20,}}\b"),
        format!(r"{START}sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{{16,}}\b"),
        format!(r"{START}(?:AKIA|ASIA)[A-Z0-9]{{16}}\b"),
        format!(r"{START}(?i:(?:authorization\s*[:=]\s*(?:bearer|token|basic)?|bearer)\s+[A-Za-z0-9._~+/=-]{{8,}})"),
        r"()(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\z)".to_string(),
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// Replaces secrets in text with `***`.
#[derive(Clone, Default)]
pub struct Masker {
    literals: Vec<String>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} literals)", self.literals.len())
    }
}

impl Masker {
    /// A masker for these literal secret values (values shorter than 4 characters are ignored:
    /// masking every `a` would only destroy the text).
    pub fn new(literals: Vec<String>) -> Self {
        let mut literals: Vec<String> = literals.into_iter().filter(|s| s.len() >= 4).collect();
        // Longest first, so a secret that contains another is masked whole.
        literals.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { literals }
    }

    /// Whether the text holds one of the literal secret values.
    pub fn has_literal(&self, text: &str) -> bool {
        self.literals.iter().any(|lit| text.contains(lit.as_str()))
    }

    /// The text with every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for lit in &self.literals {
            if out.contains(lit.as_str()) {
                out = out.replace(lit.as_str(), "***");
            }
        }
        for re in PATTERNS.iter() {
            if re.is_match(&out) {
                out = re.replace_all(&out, "${1}***").into_owned();
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
                let is_end = line.contains("-----END") && line.contains("PRIVATE KEY-----");
                let masked = if in_key {
                    in_key = !is_end;
                    "***".to_string()
                } else {
                    in_key = line.contains("-----BEGIN") && line.contains("PRIVATE KEY-----") && !is_end;
                    self.mask(line)
                };
                out.write_all(masked.as_bytes())?;
                out.write_all(newline.as_bytes())?;
            }
            out.flush()?;
        }
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
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
        assert_eq!(PATTERNS.len(), 6, "a pattern failed to compile and would mask nothing");
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
}
