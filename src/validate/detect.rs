//! What to run: the project's test command, found from its files when
//! `TEST_COMMAND` does not say; the command that runs only the failing tests;
//! the dependency installs a fresh container needs; and the image that fits.
//!
//! Nothing here runs anything. Test ids come from logs, which are untrusted:
//! they only ever become separate arguments (or single-quoted words), never
//! shell text.

use std::path::Path;

use super::TestCommand;
use crate::analysis::Failure;

/// A project's test setup as read from its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The language (`python`, `go`, `java`, `rust`, `javascript`).
    pub language: &'static str,
    /// The whole suite.
    pub command: TestCommand,
    /// What a fresh container runs once before the tests (needs the network).
    pub install: Vec<TestCommand>,
    /// An image with the toolchain, for when `VALIDATION_IMAGE` is unset.
    pub image: &'static str,
}

/// The image used when nothing about the project says otherwise.
pub const DEFAULT_IMAGE: &str = "python:3.12-slim";

fn sh(line: &str) -> TestCommand {
    TestCommand::Shell(line.to_string())
}

fn argv(words: &[&str]) -> TestCommand {
    TestCommand::Argv(words.iter().map(|w| w.to_string()).collect())
}

/// Reads the project at `root`. `hint` is the framework the failing run's log
/// showed (`pytest`, `go test`, `maven`, `jest`, ...), which breaks ties in a
/// repository with more than one language.
pub fn project(root: &Path, hint: Option<&str>) -> Option<Project> {
    let has = |name: &str| root.join(name).exists();
    let rust = || Project {
        language: "rust",
        command: argv(&["cargo", "test"]),
        install: vec![argv(&["cargo", "fetch"])],
        image: "rust:1-slim-bookworm",
    };
    let go = || Project {
        language: "go",
        command: argv(&["go", "test", "./..."]),
        install: vec![argv(&["go", "mod", "download"])],
        image: "golang:1.22-bookworm",
    };
    let maven = || Project {
        language: "java",
        command: argv(&["mvn", "-B", "-q", "test"]),
        install: vec![argv(&["mvn", "-B", "-q", "test-compile", "dependency:resolve"])],
        image: "maven:3-eclipse-temurin-17",
    };
    let gradle = || {
        let tool = if has("gradlew") { "./gradlew" } else { "gradle" };
        Project {
            language: "java",
            command: argv(&[tool, "--no-daemon", "test"]),
            install: vec![argv(&[tool, "--no-daemon", "testClasses"])],
            image: "gradle:8-jdk17",
        }
    };
    let node = || {
        let (tool, install) = if has("pnpm-lock.yaml") {
            ("pnpm", "pnpm install --frozen-lockfile")
        } else if has("yarn.lock") {
            ("yarn", "yarn install --frozen-lockfile")
        } else if has("package-lock.json") {
            ("npm", "npm ci")
        } else {
            ("npm", "npm install")
        };
        Project {
            language: "javascript",
            command: argv(&[tool, "test"]),
            install: vec![sh(install)],
            image: "node:20-slim",
        }
    };
    let present = |key: &str| match key {
        "cargo" => has("Cargo.toml"),
        "go" => has("go.mod"),
        "maven" => has("pom.xml"),
        "gradle" => has("build.gradle") || has("build.gradle.kts"),
        "py" => is_python(root),
        _ => has("package.json"),
    };
    let hinted = hint.map(|h| match h {
        "cargo test" => "cargo",
        "go test" => "go",
        "maven" | "surefire" | "junit" | "ant" => "maven",
        "gradle" => "gradle",
        "pytest" | "unittest" | "python" => "py",
        _ => "js",
    });
    let key = hinted
        .filter(|k| present(k))
        .or_else(|| ["cargo", "go", "maven", "gradle", "py", "js"].into_iter().find(|k| present(k)))?;
    Some(match key {
        "cargo" => rust(),
        "go" => go(),
        "maven" => maven(),
        "gradle" => gradle(),
        "py" => python(root),
        _ => node(),
    })
}

fn is_python(root: &Path) -> bool {
    ["pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini", "conftest.py", "requirements.txt"]
        .iter()
        .any(|f| root.join(f).exists())
        || python_test_files(root, 3)
}

fn python_test_files(dir: &Path, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().to_string();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            depth > 0 && !name.starts_with('.') && name != "node_modules" && python_test_files(&e.path(), depth - 1)
        } else {
            name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
        }
    })
}

fn python(root: &Path) -> Project {
    let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap_or_default();
    let pyproject = read("pyproject.toml");
    let mut install = Vec::new();
    let mut requirements: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("requirements") && n.ends_with(".txt"))
        .collect();
    requirements.sort();
    for file in &requirements {
        install.push(argv(&["python3", "-m", "pip", "install", "-q", "-r", file]));
    }
    let installable =
        root.join("setup.py").exists() || pyproject.contains("[build-system]") || pyproject.contains("[project]");
    if installable {
        install.push(argv(&["python3", "-m", "pip", "install", "-q", "-e", "."]));
    }
    let uses_pytest = ["pytest.ini", "conftest.py"].iter().any(|f| root.join(f).exists())
        || pyproject.contains("[tool.pytest")
        || read("setup.cfg").contains("[tool:pytest]")
        || requirements.iter().any(|f| read(f).contains("pytest"))
        || python_test_files(root, 3);
    let command = if uses_pytest {
        install.push(sh("python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q pytest"));
        argv(&["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    } else {
        argv(&["python3", "-m", "unittest", "discover", "-v"])
    };
    Project { language: "python", command, install, image: DEFAULT_IMAGE }
}

/// Most failing tests one scoped command names; past this, the suite is run whole.
const MAX_SCOPED: usize = 20;

/// The command that runs only `failures`' tests, for the framework the log
/// showed. `full` is the suite's command, whose runner a scoped pytest reuses.
/// `None` when the tests cannot be named for that framework.
pub fn scoped(framework: Option<&str>, failures: &[Failure], full: &TestCommand) -> Option<TestCommand> {
    let mut tests: Vec<&str> = Vec::new();
    for f in failures {
        if let Some(t) = f.test.as_deref().map(str::trim).filter(|t| !t.is_empty())
            && !tests.contains(&t)
        {
            tests.push(t);
        }
    }
    if tests.is_empty() || tests.len() > MAX_SCOPED {
        return None;
    }
    match framework? {
        "pytest" => {
            let ids: Vec<&str> = tests.iter().copied().filter(|t| t.contains("::") && !t.starts_with('-')).collect();
            if ids.len() != tests.len() {
                return None;
            }
            let mut words = pytest_runner(full);
            words.extend(["-q", "-p", "no:cacheprovider"].map(String::from));
            words.extend(ids.iter().map(|s| s.to_string()));
            Some(TestCommand::Argv(words))
        }
        "go test" => {
            let names: Vec<&str> = tests.iter().map(|t| t.split('/').next().unwrap_or(t)).collect();
            if !names.iter().all(|n| is_identifier(n)) {
                return None;
            }
            let mut dirs: Vec<String> = failures
                .iter()
                .filter_map(|f| f.file.as_deref())
                .filter(|f| f.ends_with("_test.go") && !f.starts_with('/') && !f.contains(".."))
                .map(|f| match f.rsplit_once('/') {
                    Some((dir, _)) => format!("./{dir}"),
                    None => ".".to_string(),
                })
                .collect();
            dirs.sort();
            dirs.dedup();
            if dirs.is_empty() {
                dirs.push("./...".into());
            }
            let mut names = names;
            names.dedup();
            let pattern = format!("^({})$", names.join("|"));
            let mut words: Vec<String> = ["go", "test", "-count=1", "-run"].map(String::from).to_vec();
            words.push(pattern);
            words.extend(dirs);
            Some(TestCommand::Argv(words))
        }
        "maven" | "gradle" => {
            let selectors: Vec<String> = tests.iter().filter_map(|t| java_selector(t)).collect();
            if selectors.len() != tests.len() {
                return None;
            }
            if framework == Some("maven") {
                let mut words: Vec<String> = ["mvn", "-B", "-q"].map(String::from).to_vec();
                words.push(format!("-Dtest={}", selectors.join(",")));
                words.extend(["-Dsurefire.failIfNoSpecifiedTests=false", "test"].map(String::from));
                Some(TestCommand::Argv(words))
            } else {
                let tool = match full {
                    TestCommand::Argv(a) if a.first().is_some_and(|w| w.ends_with("gradlew")) => a[0].clone(),
                    _ => "gradle".to_string(),
                };
                let mut words = vec![tool, "--no-daemon".into(), "test".into()];
                for s in selectors {
                    words.push("--tests".into());
                    words.push(s.replace('#', "."));
                }
                Some(TestCommand::Argv(words))
            }
        }
        "cargo test" => {
            if !tests.iter().all(|t| t.split("::").all(is_identifier)) {
                return None;
            }
            let mut words: Vec<String> = ["cargo", "test", "--"].map(String::from).to_vec();
            words.extend(tests.iter().map(|t| t.to_string()));
            Some(TestCommand::Argv(words))
        }
        "jest" | "vitest" => {
            let names: Vec<String> = tests
                .iter()
                .map(|t| t.split([' ']).filter(|w| !matches!(*w, "›" | ">")).collect::<Vec<_>>().join(" "))
                .collect();
            if names.iter().any(|n| n.is_empty() || n.chars().any(char::is_control)) {
                return None;
            }
            let pattern = format!("^(?:{})$", names.iter().map(|n| regex::escape(n)).collect::<Vec<_>>().join("|"));
            let mut words = simple_words(full);
            match words.first().map(String::as_str) {
                Some("npm") => words.extend(["--".to_string(), "-t".into()]),
                Some("yarn" | "pnpm") => words.push("-t".into()),
                _ if words.iter().any(|w| w.ends_with("jest") || w.ends_with("vitest")) => words.push("-t".into()),
                _ => words = vec!["npx".into(), framework?.to_string(), "-t".into()],
            }
            words.push(pattern);
            Some(TestCommand::Argv(words))
        }
        _ => None,
    }
}

/// The words of a command, or none for a shell line with more than plain words in it.
fn simple_words(full: &TestCommand) -> Vec<String> {
    match full {
        TestCommand::Argv(a) => a.clone(),
        TestCommand::Shell(line) if !line.contains(['&', ';', '|', '$', '`', '(', '\'', '"', '<', '>']) => {
            line.split_whitespace().map(String::from).collect()
        }
        TestCommand::Shell(_) => Vec::new(),
    }
}

/// The words that start pytest in the suite's command (`pytest`, `python -m pytest`,
/// `.venv/bin/pytest`), or `python3 -m pytest` when the command does not show them.
fn pytest_runner(full: &TestCommand) -> Vec<String> {
    let words = simple_words(full);
    match words.iter().position(|w| w == "pytest" || w.ends_with("/pytest")) {
        Some(i) if words[..i].iter().all(|w| !w.contains('=')) => words[..=i].to_vec(),
        _ => ["python3", "-m", "pytest"].map(String::from).to_vec(),
    }
}

/// `com.acme.CalcTest.testAdd` → `CalcTest#testAdd`; `CalcTest` → `CalcTest`.
fn java_selector(test: &str) -> Option<String> {
    let test = test.split(['(', ' ', '[']).next()?.trim_end_matches("()");
    let parts: Vec<&str> = test.split(['.', '#']).collect();
    if !parts.iter().all(|p| is_identifier(p)) {
        return None;
    }
    let upper = |s: &str| s.chars().next().is_some_and(char::is_uppercase);
    match parts.as_slice() {
        [.., class, method] if upper(class) && !upper(method) => Some(format!("{class}#{method}")),
        [.., class] if upper(class) => Some(class.to_string()),
        _ => None,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(test: &str, file: Option<&str>) -> Failure {
        Failure {
            test: Some(test.into()),
            file: file.map(String::from),
            line: None,
            kind: crate::analysis::FailureKind::TestFailure,
            error_type: None,
            message: String::new(),
            excerpt: String::new(),
            frames: Vec::new(),
        }
    }

    fn words(c: &TestCommand) -> String {
        c.display()
    }

    #[test]
    fn projects_are_told_apart_by_their_files_and_the_log_breaks_ties() {
        let ws = tempfile::tempdir().unwrap();
        let p = ws.path();
        assert_eq!(project(p, None), None, "an empty folder has no test command");
        std::fs::create_dir_all(p.join("tests")).unwrap();
        std::fs::write(p.join("tests/test_calc.py"), "def test_x(): pass\n").unwrap();
        let py = project(p, None).unwrap();
        assert_eq!(words(&py.command), "python3 -m pytest -q -p no:cacheprovider");
        assert_eq!(py.image, "python:3.12-slim");
        std::fs::write(p.join("requirements-dev.txt"), "pytest\n").unwrap();
        std::fs::write(p.join("requirements.txt"), "requests\n").unwrap();
        let install: Vec<String> = project(p, None).unwrap().install.iter().map(words).collect();
        assert_eq!(install[0], "python3 -m pip install -q -r requirements-dev.txt");
        assert_eq!(install[1], "python3 -m pip install -q -r requirements.txt");
        std::fs::write(p.join("package.json"), "{}").unwrap();
        std::fs::write(p.join("yarn.lock"), "").unwrap();
        assert_eq!(project(p, None).unwrap().language, "python", "python outranks a package.json");
        let js = project(p, Some("jest")).unwrap();
        assert_eq!((words(&js.command).as_str(), js.image), ("yarn test", "node:20-slim"));
        std::fs::write(p.join("go.mod"), "module m\n").unwrap();
        assert_eq!(words(&project(p, None).unwrap().command), "go test ./...");
        assert_eq!(project(p, Some("pytest")).unwrap().language, "python");
        std::fs::write(p.join("pom.xml"), "<project/>").unwrap();
        assert_eq!(words(&project(p, Some("maven")).unwrap().command), "mvn -B -q test");
    }

    #[test]
    fn unittest_projects_without_pytest_markers_run_unittest() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("setup.py"), "").unwrap();
        let py = project(ws.path(), None).unwrap();
        assert_eq!(words(&py.command), "python3 -m unittest discover -v");
        assert_eq!(words(&py.install[0]), "python3 -m pip install -q -e .");
    }

    #[test]
    fn scoped_commands_name_the_failing_tests_per_framework() {
        let full = TestCommand::Argv(vec!["pytest".into(), "-x".into()]);
        let f = [failure("tests/test_a.py::test_x", None), failure("tests/test_a.py::test_x", None)];
        assert_eq!(
            words(&scoped(Some("pytest"), &f, &full).unwrap()),
            "pytest -q -p no:cacheprovider tests/test_a.py::test_x"
        );
        let shell = TestCommand::Shell("cd app && pytest".into());
        assert!(words(&scoped(Some("pytest"), &f, &shell).unwrap()).starts_with("python3 -m pytest "));
        let go =
            [failure("TestAdd/negative", Some("calc/calc_test.go")), failure("TestSub", Some("calc/calc_test.go"))];
        assert_eq!(
            words(&scoped(Some("go test"), &go, &full).unwrap()),
            "go test -count=1 -run '^(TestAdd|TestSub)$' ./calc"
        );
        let java = [failure("com.acme.CalcTest.testAdd", None)];
        assert_eq!(
            words(&scoped(Some("maven"), &java, &full).unwrap()),
            "mvn -B -q -Dtest=CalcTest#testAdd -Dsurefire.failIfNoSpecifiedTests=false test"
        );
        assert_eq!(
            words(&scoped(Some("gradle"), &java, &TestCommand::Argv(vec!["./gradlew".into()])).unwrap()),
            "./gradlew --no-daemon test --tests CalcTest.testAdd"
        );
        let jest = [failure("pricing › with tax › adds 1.5%", None), failure("cart › empties", None)];
        let npm = TestCommand::Argv(vec!["npm".into(), "test".into()]);
        assert_eq!(
            words(&scoped(Some("jest"), &jest, &npm).unwrap()),
            r"npm test -- -t '^(?:pricing with tax adds 1\.5%|cart empties)$'"
        );
        let custom = TestCommand::Shell("make check".into());
        assert!(words(&scoped(Some("vitest"), &jest, &custom).unwrap()).starts_with("npx vitest -t "));
        let rust = [failure("tests::adds", None)];
        assert_eq!(words(&scoped(Some("cargo test"), &rust, &full).unwrap()), "cargo test -- tests::adds");
    }

    #[test]
    fn hostile_or_unnamed_tests_are_not_scoped() {
        let full = TestCommand::Argv(vec!["pytest".into()]);
        assert_eq!(scoped(Some("pytest"), &[failure("--rootdir=/", None)], &full), None);
        assert_eq!(scoped(Some("go test"), &[failure("TestX; rm -rf /", None)], &full), None);
        assert_eq!(scoped(Some("cargo test"), &[failure("a b", None)], &full), None);
        let mut unnamed = failure("", None);
        unnamed.test = None;
        assert_eq!(scoped(Some("pytest"), &[unnamed], &full), None, "no test id");
        assert_eq!(scoped(None, &[failure("t.py::x", None)], &full), None, "no framework");
        let many: Vec<Failure> = (0..30).map(|i| failure(&format!("t.py::x{i}"), None)).collect();
        assert_eq!(scoped(Some("pytest"), &many, &full), None, "too many: the suite is run whole");
    }
}
