//! Java rule: a class the compiler cannot find, which the workspace declares in
//! another package, gets its import.
//!
//! Read: javac's `File.java:5: error: cannot find symbol` and maven-compiler's
//! `[ERROR] /abs/File.java:[5,12] cannot find symbol`, whose detail line the
//! parser keeps in the message as `symbol: class Item` (or `symbol: variable
//! Item` where the class is used as `Item.of(...)` or `Item::price`; only a
//! capitalised name is taken for a class then).
//!
//! Repair: `import x.y.Item;` after the failing file's last import, else after its
//! `package` line. Proposed only when exactly one qualified name declares the
//! class (a file `Item.java` outside build folders whose top-level type is `Item`
//! and whose `package` is `x.y`), the failing file is in another package and does
//! not import it already: anything else is not a missing import.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::{RuleFix, files_named, is_java, resolve};
use crate::analysis::{Failure, re};
use crate::repair::edits::{Edit, Hunk};

static SYMBOL: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^symbol:\s+(class|variable)\s+([A-Z]\w*)\s*$"));
static PACKAGE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*package\s+([\w.]+)\s*;"));
static IMPORT: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*import\s+(?:static\s+)?([\w.]+(?:\.\*)?)\s*;"));

/// One fix that adds every missing import the failures point to.
pub(super) fn propose(failures: &[&Failure], ws: &Path) -> Option<RuleFix> {
    // Per failing file, the imports it needs and the first line that needs each.
    let mut wanted: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let mut declared: HashMap<String, Option<String>> = HashMap::new();
    for f in failures.iter().filter(|f| is_java(f)) {
        if f.message.lines().next().map(str::trim) != Some("cannot find symbol") {
            continue;
        }
        let (Some(c), Some(printed)) = (SYMBOL.captures(&f.message), f.file.as_deref()) else { continue };
        let class = c[2].to_string();
        let Some(file) = resolve(ws, printed) else { continue };
        let qualified = declared.entry(class.clone()).or_insert_with(|| declaring(ws, &class)).clone();
        if let Some(q) = qualified {
            wanted.entry(file).or_default().entry(q).or_insert(f.line.unwrap_or(0));
        }
    }
    let (mut edits, mut notes) = (Vec::new(), Vec::new());
    for (file, imports) in wanted {
        let Ok(text) = std::fs::read_to_string(ws.join(&file)) else { continue };
        let own = PACKAGE.captures(&text).map(|c| c[1].to_string()).unwrap_or_default();
        let present: Vec<String> = text.lines().filter_map(|l| IMPORT.captures(l)).map(|c| c[1].to_string()).collect();
        let mut added = Vec::new();
        for (q, line) in imports {
            let package = q.rsplit_once('.').map_or("", |(p, _)| p);
            let star = format!("{package}.*");
            if package == own || present.iter().any(|p| *p == q || *p == star) {
                continue;
            }
            let simple = q.rsplit('.').next().unwrap_or(&q);
            notes.push(format!(
                "{file}:{line} uses `{simple}` without importing it; the workspace declares it as `{q}`"
            ));
            added.push(format!("import {q};"));
        }
        if let Some(edit) = insert_imports(&file, &text, added) {
            edits.push(edit);
        }
    }
    if edits.is_empty() {
        return None;
    }
    Some(RuleFix {
        rule: "java_missing_import",
        explanation: format!("{}: the import is added.", notes.join("; ")),
        edits,
    })
}

/// The qualified name of the one class `name` the workspace declares, if there is exactly one.
fn declaring(ws: &Path, name: &str) -> Option<String> {
    let pattern = format!(
        r"(?m)^(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:(?:public|protected|private|abstract|final|sealed|non-sealed|strictfp|static)\s+)*(?:class|interface|enum|record|@interface)\s+{}\b",
        regex::escape(name)
    );
    let declares = Regex::new(&pattern).ok()?;
    let mut found: Vec<String> = Vec::new();
    for path in files_named(ws, &format!("{name}.java")) {
        let Ok(text) = std::fs::read_to_string(ws.join(&path)) else { continue };
        // A class in the default package cannot be imported.
        if let (true, Some(c)) = (declares.is_match(&text), PACKAGE.captures(&text)) {
            let q = format!("{}.{name}", &c[1]);
            if !found.contains(&q) {
                found.push(q);
            }
        }
    }
    match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// An edit that puts `imports` after the file's last import, else after its
/// `package` line, else at its top.
fn insert_imports(file: &str, text: &str, imports: Vec<String>) -> Option<Edit> {
    if imports.is_empty() {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let last_import = lines.iter().rposition(|l| IMPORT.is_match(l));
    let package = lines.iter().position(|l| PACKAGE.is_match(l));
    let hunk = match (last_import, package) {
        (Some(at), _) => {
            let new = std::iter::once(lines[at].to_string()).chain(imports).collect();
            Hunk { old_start: at + 1, old: vec![lines[at].to_string()], new }
        }
        (None, Some(at)) => {
            let head = [lines[at].to_string(), String::new()];
            Hunk { old_start: at + 1, old: vec![lines[at].to_string()], new: head.into_iter().chain(imports).collect() }
        }
        (None, None) => {
            Hunk { old_start: 0, old: Vec::new(), new: imports.into_iter().chain([String::new()]).collect() }
        }
    };
    Some(Edit::Diff { path: file.to_string(), hunks: vec![hunk] })
}

#[cfg(test)]
mod tests {
    use super::super::tests::failure;
    use super::*;
    use crate::analysis::FailureKind;
    use crate::repair::edits::apply;

    const ITEM: &str =
        "package app.model;\n\n@Deprecated\npublic final class Item {\n    public static class Inner {}\n}\n";
    const CART: &str = "package app;\n\nimport java.util.ArrayList;\nimport java.util.List;\n\npublic class Cart {\n    private final List<Item> items = new ArrayList<>();\n}\n";

    fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
        let ws = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = ws.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        ws
    }

    fn missing(file: &str, line: u32, symbol: &str) -> Failure {
        let message = format!("cannot find symbol\nsymbol: {symbol}\nlocation: class Cart");
        failure(file, line, FailureKind::Syntax, "", &message)
    }

    /// The rule's fix for these failures, and the failing file after it.
    fn fix(ws: &tempfile::TempDir, failures: &[Failure]) -> Option<(RuleFix, String)> {
        let refs: Vec<&Failure> = failures.iter().collect();
        let fix = propose(&refs, ws.path())?;
        let after = apply(&fix.edits, |p| std::fs::read_to_string(ws.path().join(p)).ok()).unwrap();
        Some((fix, after[0].1.clone()))
    }

    const CART_PATH: &str = "src/main/java/app/Cart.java";
    const ITEM_PATH: &str = "src/main/java/app/model/Item.java";

    #[test]
    fn the_import_goes_after_the_existing_ones() {
        let ws = workspace(&[(CART_PATH, CART), (ITEM_PATH, ITEM), ("target/classes/app/x/Item.java", ITEM)]);
        // javac's two reports of the same class, and Maven's absolute-path record mapped to the same file.
        let failures = [
            missing(CART_PATH, 7, "class Item"),
            missing(CART_PATH, 9, "variable Item"),
            missing("./Cart.java", 7, "class Item"),
        ];
        let (f, after) = fix(&ws, &failures).unwrap();
        assert_eq!(f.rule, "java_missing_import");
        assert_eq!(
            after,
            CART.replace("import java.util.List;\n", "import java.util.List;\nimport app.model.Item;\n"),
            "one import, after the last one"
        );
        assert!(f.explanation.contains("`app.model.Item`"), "{}", f.explanation);
    }

    #[test]
    fn without_imports_it_goes_after_the_package_line() {
        let cart = "package app;\n\npublic class Cart {\n    Item item;\n}\n";
        let ws = workspace(&[(CART_PATH, cart), (ITEM_PATH, ITEM)]);
        let (_, after) = fix(&ws, &[missing(CART_PATH, 4, "class Item")]).unwrap();
        assert_eq!(after, "package app;\n\nimport app.model.Item;\n\npublic class Cart {\n    Item item;\n}\n");
    }

    #[test]
    fn two_declaring_packages_are_no_answer() {
        let other = ITEM.replace("package app.model;", "package app.legacy;");
        let ws = workspace(&[(CART_PATH, CART), (ITEM_PATH, ITEM), ("src/main/java/app/legacy/Item.java", &other)]);
        assert!(fix(&ws, &[missing(CART_PATH, 7, "class Item")]).is_none());
    }

    #[test]
    fn same_package_or_already_imported_is_not_a_missing_import() {
        let same = ITEM.replace("package app.model;", "package app;");
        let ws = workspace(&[(CART_PATH, CART), ("src/main/java/app/Item.java", &same)]);
        assert!(fix(&ws, &[missing(CART_PATH, 7, "class Item")]).is_none());
        let imported = CART.replace("import java.util.List;", "import app.model.*;");
        let ws = workspace(&[(CART_PATH, &imported), (ITEM_PATH, ITEM)]);
        assert!(fix(&ws, &[missing(CART_PATH, 7, "class Item")]).is_none());
    }

    #[test]
    fn only_a_declared_class_symbol_is_taken() {
        let ws = workspace(&[(CART_PATH, CART), (ITEM_PATH, ITEM), ("src/main/java/app/model/Inner.java", ITEM)]);
        assert!(fix(&ws, &[missing(CART_PATH, 7, "variable item")]).is_none(), "a lower-case variable");
        assert!(fix(&ws, &[missing(CART_PATH, 7, "method Item()")]).is_none());
        assert!(fix(&ws, &[missing(CART_PATH, 7, "class Inner")]).is_none(), "Inner.java declares Item, not Inner");
        let mut other = missing(CART_PATH, 7, "class Item");
        other.message = other.message.replace("cannot find symbol", "incompatible types");
        assert!(fix(&ws, &[other]).is_none());
    }
}
