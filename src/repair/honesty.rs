//! Honest patches: a repair fixes the code under test, it does not make the
//! tests stop looking.
//!
//! Refused by default (each with the reason recorded and told to the model):
//! - a new skip or expected-failure marker anywhere (`pytest.mark.skip`/`xfail`,
//!   `unittest.skip`, `@Disabled`/`@Ignore`, `t.Skip()`, `it.skip`/`xit`,
//!   `#[ignore]`, `continue-on-error`, `allow_failure`, ...);
//! - any edit of a test file, unless the analysis shows the failure is the test
//!   file's own fault (it does not parse, or it raised an error in its own code
//!   rather than asserting on the code under test);
//! - even then, fewer tests or fewer assertions in that file.
//!
//! `ALLOW_TEST_EDITS=true` lifts all of it. Invariant: the check reads only the
//! patch and the analysis; it runs before validation, so a refused patch never
//! reaches the tests.

use crate::analysis::{Analysis, Failure, FailureKind, is_test_path};

use super::patch::{FileChange, Patch};

/// Why a patch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused {path:?}: {reason}")]
pub struct Refusal {
    /// The file that broke the rule.
    pub path: String,
    /// The rule, in words.
    pub reason: String,
}

/// Markers that skip a test or expect it to fail, in every language self-heal reads.
const SKIP_MARKERS: &[&str] = &[
    "pytest.mark.skip",
    "pytest.mark.xfail",
    "pytest.skip(",
    "pytest.xfail(",
    "unittest.skip",
    "unittest.expectedFailure",
    ".skipTest(",
    "@Disabled",
    "@Ignore",
    "Assumptions.assume",
    "Assume.assume",
    "t.Skip(",
    "t.Skipf(",
    "t.SkipNow(",
    "it.skip(",
    "test.skip(",
    "describe.skip(",
    "it.todo(",
    "xit(",
    "xdescribe(",
    "xtest(",
    "#[ignore",
];

/// Markers that skip in any file of their language: `pytest.skip()` in a source
/// module skips every test that imports it.
const LANGUAGE_SKIP_MARKERS: &[(&str, &[&str])] = &[
    (
        ".py",
        &[
            "pytest.mark.skip",
            "pytest.mark.xfail",
            "pytest.skip(",
            "pytest.xfail(",
            "pytest.importorskip(",
            "unittest.skip",
            ".skipTest(",
        ],
    ),
    (".go", &["t.Skip(", "t.Skipf(", "t.SkipNow("]),
    (".java", &["@Disabled", "@Ignore", "Assumptions.assume", "Assume.assume"]),
];

/// Test-runner configuration: what decides which tests run and how their
/// failures count (a plugin in `conftest.py` can turn failures into passes).
/// These are test files for the rules here.
fn is_runner_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "conftest.py"
            | "pytest.ini"
            | "setup.cfg"
            | "tox.ini"
            | "pyproject.toml"
            | ".mocharc.json"
            | ".mocharc.yml"
            | ".mocharc.js"
            | "karma.conf.js"
    ) || ["jest.config.", "vitest.config.", "jest.setup.", "vitest.setup."].iter().any(|p| name.starts_with(p))
}

/// An assertion made always true: `assert True or ...`, `assert x or True`.
fn always_true(line: &str) -> bool {
    let t = line.trim_start();
    let Some(rest) = t.strip_prefix("assert ").or_else(|| t.strip_prefix("assert(")) else { return false };
    let rest = rest.trim();
    let head = rest.split([',', '#']).next().unwrap_or(rest).trim().trim_end_matches(')');
    ["True", "1", "not False", "not None"].iter().any(|v| head == *v || head.starts_with(&format!("{v} or ")))
        || head.ends_with(" or True")
        || head.contains(" or True ")
}

/// Markers that let a CI job fail without failing the build, in CI files.
const CI_MARKERS: &[&str] = &["continue-on-error", "allow_failure"];

/// What starts a test, per language.
const TEST_DEFINITIONS: &[&str] = &["def test", "@Test", "func Test", "it(", "test(", "#[test]"];

/// What checks something in a test, per language.
const ASSERTIONS: &[&str] = &[
    "assert",
    "expect(",
    "self.fail(",
    "pytest.raises",
    "t.Error",
    "t.Fatal",
    "require.",
    "should.",
    ".should",
    "fail(",
];

/// Checks a patch against the rules above. `Ok` when it may be validated.
pub fn review(patch: &Patch, analysis: &Analysis, allow_test_edits: bool) -> Result<(), Refusal> {
    if allow_test_edits {
        return Ok(());
    }
    let blamed = blamed_tests(analysis);
    for change in &patch.files {
        let before = change.before.as_deref().unwrap_or("");
        // Skip markers mean something in tests (and Rust's inline test modules);
        // elsewhere `it.skip(1)` is ordinary code. CI switches only in CI files.
        let ci_file = change.path.ends_with(".yml") || change.path.ends_with(".yaml");
        let test_file = is_test_path(&change.path) || is_runner_config(&change.path);
        let rust = change.path.ends_with(".rs");
        let language = LANGUAGE_SKIP_MARKERS
            .iter()
            .filter(|(ext, _)| change.path.ends_with(ext))
            .flat_map(|(_, markers)| markers.iter());
        let markers = SKIP_MARKERS
            .iter()
            .filter(|m| test_file || (rust && **m == "#[ignore"))
            .chain(language)
            .chain(CI_MARKERS.iter().filter(|_| ci_file));
        if let Some(marker) = markers.into_iter().find(|m| count_marker(&change.after, m) > count_marker(before, m)) {
            return Err(refuse(change, format!("it adds `{marker}`: a skipped or expected-to-fail test is not a fix")));
        }
        if !test_file {
            continue;
        }
        let trivially_true = |text: &str| text.lines().filter(|l| always_true(l)).count();
        if trivially_true(&change.after) > trivially_true(before) {
            return Err(refuse(change, "it makes an assertion always true".to_string()));
        }
        if !blamed.iter().any(|b| b == &change.path) {
            return Err(refuse(
                change,
                "it edits a test file, but the failure is in the code under test: fix the code, not the test \
                 (ALLOW_TEST_EDITS=true allows test edits)"
                    .to_string(),
            ));
        }
        let fewer = |words: &[&str], count: fn(&str, &str) -> usize| -> bool {
            let total = |text: &str| words.iter().map(|w| count(text, w)).sum::<usize>();
            total(&change.after) < total(before)
        };
        // `def test` starts `def test_total`: a prefix of the name, not the whole of it.
        if fewer(TEST_DEFINITIONS, |text, word| count_names(text, word, false)) {
            return Err(refuse(change, "it deletes a test".to_string()));
        }
        if fewer(ASSERTIONS, count) {
            return Err(refuse(change, "it removes assertions from a test".to_string()));
        }
    }
    Ok(())
}

/// Test files whose failure is their own fault: the error is located in the
/// test file (it does not parse, or its own code raised) and no frame of the
/// code under test is involved.
pub fn blamed_tests(analysis: &Analysis) -> Vec<String> {
    analysis.failures.iter().filter_map(own_fault).collect()
}

fn own_fault(f: &Failure) -> Option<String> {
    let file = f.file.as_deref().filter(|p| is_test_path(p))?;
    match f.kind {
        FailureKind::Syntax | FailureKind::Import => {}
        // An error raised by the test's own code (a misspelt name in the test), not an assertion.
        FailureKind::Runtime => {
            let innermost = f.frames.iter().rev().find(|fr| fr.in_workspace)?;
            if innermost.file != file {
                return None;
            }
        }
        _ => return None,
    }
    Some(file.to_string())
}

fn refuse(change: &FileChange, reason: String) -> Refusal {
    Refusal { path: change.path.clone(), reason }
}

/// Occurrences of `word` in code (comments included: a commented-out assertion is a removed one).
fn count(text: &str, word: &str) -> usize {
    text.matches(word).count()
}

/// Occurrences of a marker as a whole name: one that starts with a letter must
/// start a name (`xit(` is not in `sys.exit(`), one that ends with a letter must
/// end it (`@Ignore` is not `@IgnoredOnParcel`).
fn count_marker(text: &str, word: &str) -> usize {
    count_names(text, word, true)
}

/// Occurrences of `word` where it starts a name; with `whole`, also where it ends one.
fn count_names(text: &str, word: &str, whole: bool) -> usize {
    let name_char = |c: char| c.is_alphanumeric() || c == '_';
    let starts_name = word.starts_with(|c: char| c.is_ascii_alphabetic());
    let ends_name = whole && word.ends_with(name_char);
    text.match_indices(word)
        .filter(|(at, _)| !starts_name || !text[..*at].ends_with(|c: char| name_char(c) || c == '.'))
        .filter(|(at, _)| !ends_name || !text[at + word.len()..].starts_with(name_char))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{PathMapper, analyze};

    fn patch(path: &str, before: &str, after: &str) -> Patch {
        Patch { files: vec![FileChange { path: path.into(), before: Some(before.into()), after: after.into() }] }
    }

    fn assertion_failure() -> Analysis {
        let log = "\
______________________________ test_total ______________________________

    def test_total():
>       assert total([1, 2]) == 3
E       assert 4 == 3

tests/test_cart.py:5: AssertionError
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - assert 4 == 3
";
        analyze(log, &PathMapper::default(), Some("python"))
    }

    #[test]
    fn source_fixes_pass() {
        let p = patch("cart.py", "return a + b + 1\n", "return a + b\n");
        assert_eq!(review(&p, &assertion_failure(), false), Ok(()));
    }

    #[test]
    fn skip_markers_are_refused_anywhere() {
        let cases = [
            ("tests/test_cart.py", "def test_total():\n", "@pytest.mark.skip\ndef test_total():\n"),
            ("tests/test_cart.py", "def test_total():\n", "@pytest.mark.xfail(reason='x')\ndef test_total():\n"),
            ("calc_test.go", "func TestAdd(t *testing.T) {\n", "func TestAdd(t *testing.T) {\n\tt.Skip()\n"),
            ("src/test/java/CalcTest.java", "@Test\nvoid adds() {}\n", "@Disabled\n@Test\nvoid adds() {}\n"),
            ("cart.test.js", "it('adds', () => {});\n", "it.skip('adds', () => {});\n"),
            ("ci/build.yml", "steps:\n", "steps:\n  continue-on-error: true\n"),
            (".gitlab-ci.yml", "test:\n", "test:\n  allow_failure: true\n"),
            ("src/lib.rs", "#[test]\nfn adds() {}\n", "#[test]\n#[ignore]\nfn adds() {}\n"),
        ];
        for (path, before, after) in cases {
            let refused = review(&patch(path, before, after), &assertion_failure(), false);
            assert!(refused.as_ref().is_err_and(|r| r.reason.contains("skipped")), "{path}: {refused:?}");
            assert_eq!(review(&patch(path, before, after), &assertion_failure(), true), Ok(()), "{path}");
        }
        // Words that merely contain a marker are not one.
        let exits = patch("src/cli.py", "def main():\n    run()\n", "def main():\n    sys.exit(run())\n");
        assert_eq!(review(&exits, &assertion_failure(), false), Ok(()));
        let yaml_only = patch("src/jobs.py", "x = 1\n", "allow_failure = True\n");
        assert_eq!(review(&yaml_only, &assertion_failure(), false), Ok(()));
        let iterator = patch("src/lines.rs", "let a = it.next();\n", "let a = it.skip(1).next();\n");
        assert_eq!(review(&iterator, &assertion_failure(), false), Ok(()));
        let parcel = patch("src/test/java/a/UserTest.java", "class U {}\n", "class U { @IgnoredOnParcel int x; }\n");
        assert!(count_marker(&parcel.files[0].after, "@Ignore") == 0);
        let inline = patch("src/lib.rs", "#[test]\nfn adds() {}\n", "#[test]\n#[ignore]\nfn adds() {}\n");
        assert!(review(&inline, &assertion_failure(), false).is_err());
        // A marker that was already there and stays is not new.
        let kept = "@pytest.mark.skip\ndef test_a(): pass\n";
        assert_eq!(review(&patch("src/x.py", kept, &format!("{kept}# note\n")), &assertion_failure(), false), Ok(()));
    }

    #[test]
    fn test_files_are_not_edited_when_the_code_under_test_fails() {
        let p = patch("tests/test_cart.py", "    assert total([1, 2]) == 3\n", "    assert total([1, 2]) == 4\n");
        let refused = review(&p, &assertion_failure(), false).unwrap_err();
        assert_eq!(refused.path, "tests/test_cart.py");
        assert!(refused.reason.contains("ALLOW_TEST_EDITS"), "{}", refused.reason);
        assert_eq!(review(&p, &assertion_failure(), true), Ok(()));
    }

    #[test]
    fn a_broken_test_may_be_mended_but_not_emptied() {
        let log = "\
==================================== ERRORS ====================================
____________________ ERROR collecting tests/test_cart.py _____________________
tests/test_cart.py:4: in <module>
    def test_total()
E     File \"tests/test_cart.py\", line 4
E       def test_total()
E                       ^
E   SyntaxError: expected ':'
=========================== short test summary info ============================
ERROR tests/test_cart.py
";
        let a = analyze(log, &PathMapper::default(), Some("python"));
        assert_eq!(blamed_tests(&a), ["tests/test_cart.py"], "{:#?}", a.failures);
        let before = "def test_total()\n    assert total([1, 2]) == 3\n";
        let mended = patch("tests/test_cart.py", before, "def test_total():\n    assert total([1, 2]) == 3\n");
        assert_eq!(review(&mended, &a, false), Ok(()));
        let emptied = patch("tests/test_cart.py", before, "def test_total():\n    pass\n");
        assert!(review(&emptied, &a, false).unwrap_err().reason.contains("assertions"));
        let unittest = patch(
            "tests/test_cart.py",
            "def test_total()\n    self.assertEqual(total([1, 2]), 3)\n",
            "def test_total():\n    pass\n",
        );
        assert!(review(&unittest, &a, false).unwrap_err().reason.contains("assertions"));
        let deleted = patch("tests/test_cart.py", before, "\n");
        assert!(review(&deleted, &a, false).unwrap_err().reason.contains("deletes a test"));
    }

    #[test]
    fn a_name_error_raised_in_the_test_itself_blames_the_test() {
        let log = "\
___________________________________ test_total ___________________________________

    def test_total():
>       assert totl([1, 2]) == 3
E       NameError: name 'totl' is not defined

tests/test_cart.py:5: NameError
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - NameError: name 'totl' is not defined
";
        let a = analyze(log, &PathMapper::default(), Some("python"));
        assert_eq!(blamed_tests(&a), ["tests/test_cart.py"], "{:#?}", a.failures);
        // The same error raised inside the code under test blames the code.
        let deeper = "\
___________________________________ test_total ___________________________________

    def test_total():
>       assert total([1, 2]) == 3

tests/test_cart.py:5: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def total(items):
>       return summ(items)
E       NameError: name 'summ' is not defined

cart.py:2: NameError
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - NameError: name 'summ' is not defined
";
        let a = analyze(deeper, &PathMapper::default(), Some("python"));
        assert!(blamed_tests(&a).is_empty(), "{:#?}", a.failures);
    }

    #[test]
    fn the_second_reviews_bypasses_are_refused() {
        let analysis = assertion_failure();
        // pytest.skip() in a source module skips the tests that import it.
        let source = patch(
            "grades.py",
            "def f():\n    return 1\n",
            "import pytest\npytest.skip('x', allow_module_level=True)\ndef f():\n    return 1\n",
        );
        assert!(review(&source, &analysis, false).unwrap_err().reason.contains("pytest.skip("));
        // Runner configuration is a test file: a conftest plugin or an ini change is refused.
        for file in ["conftest.py", "tests/conftest.py", "pytest.ini", "setup.cfg", "pyproject.toml", "jest.config.js"]
        {
            let config = patch(file, "", "x = 1\n");
            assert!(review(&config, &analysis, false).is_err(), "{file}");
        }
        for line in ["    assert True or total() == 3", "assert x == 1 or True", "assert 1, 'ok'", "assert(True)"] {
            assert!(always_true(line), "{line}");
        }
        for line in ["    assert total() == 3", "assert truth_value", "assert Trueish()", "assert not x"] {
            assert!(!always_true(line), "{line}");
        }
        // `it.skip(1)` in ordinary JavaScript code is still code.
        let js = patch("src/list.js", "a\n", "a\nit.skip(1)\n");
        assert!(review(&js, &analysis, false).is_ok());
    }
}
