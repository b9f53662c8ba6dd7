//! Secret masking for every sink: results files, console output, prompts.
//!
//! Two layers: the literal values of the secret settings self-heal holds, and
//! the shapes of well-known credentials (GitHub tokens, OpenAI-style keys, AWS
//! access keys, `Authorization`/`Bearer` values, private-key blocks), so a
//! secret printed by a failing test is hidden too.

use std::sync::LazyLock;

use regex::Regex;

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}\b",
        r"\bgithub_pat_[A-Za-z0-9_]{20,}\b",
        r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}\b",
        r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        r"(?i)\b(?:authorization\s*[:=]\s*(?:bearer|token|basic)?|bearer)\s+[A-Za-z0-9._~+/=-]{8,}",
        r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\z)",
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
                out = re.replace_all(&out, "***").into_owned();
            }
        }
        out
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
    fn ordinary_text_is_unchanged() {
        let m = Masker::new(vec![]);
        let text = "def task_runner(): return 'sk' + 'ip'  # bearer of news";
        assert_eq!(m.mask(text), text);
    }
}
