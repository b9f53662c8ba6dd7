//! The rule tier on real Go and Java projects: the real binary, the real
//! compilers, no model configured.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{fix_without_model, write_tree};

/// Whether `tool --version`-style `probe` runs; in CI its absence fails the test instead of skipping it.
fn tool_or_skip(test: &str, tool: &str, probe: &[&str]) -> bool {
    let runs = Command::new(tool)
        .args(probe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if runs {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{test}: `{tool}` is required in CI");
    eprintln!("SKIP {test}: `{tool}` is not installed");
    false
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

const GO_CALC: &str = "package calc

import (
\t\"fmt\"
\t\"os\"
)

// Describe names a sum.
func Describe(a, b int) string {
\treturn fmt.Sprintf(\"%d+%d\", a, b)
}
";

const GO_STATS: &str = "package calc

func sum(xs []int) (int, int) {
\tt := 0
\tfor _, x := range xs {
\t\tt += x
\t}
\treturn t, len(xs)
}

// Mean is the average of xs.
func Mean(xs []int) int {
\ttotal, count := sum(xs)
\tn := len(xs)
\treturn total / len(xs)
}
";

const GO_TEST: &str = "package calc

import \"testing\"

func TestDescribe(t *testing.T) {
\tif got := Describe(2, 3); got != \"2+3\" {
\t\tt.Fatalf(\"Describe(2, 3) = %q\", got)
\t}
}

func TestMean(t *testing.T) {
\tif got := Mean([]int{2, 4, 6}); got != 4 {
\t\tt.Fatalf(\"Mean = %d\", got)
\t}
}
";

#[tokio::test(flavor = "multi_thread")]
async fn the_rule_tier_removes_an_unused_go_import_and_variable() {
    let name = "the_rule_tier_removes_an_unused_go_import_and_variable";
    if !tool_or_skip(name, "go", &["version"]) {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    let go_home = tempfile::tempdir().unwrap();
    let (cache, path) = (go_home.path().join("cache"), go_home.path().join("path"));
    let (cache, path) = (cache.display().to_string(), path.display().to_string());
    // Build cache and module folder in a temporary place; no module is fetched.
    let env = [("GOCACHE", cache.as_str()), ("GOPATH", path.as_str()), ("GOPROXY", "off")];
    write_tree(
        ws.path(),
        &[
            ("go.mod", "module calc\n\ngo 1.19\n"),
            ("calc.go", GO_CALC),
            ("stats.go", GO_STATS),
            ("calc_test.go", GO_TEST),
        ],
    );

    let r = fix_without_model(ws.path(), &["go", "test", "./..."], &env).await;
    assert_eq!(r["attempt_log"][0]["rule"], "go_unused", "{:#}", r["attempt_log"]);
    assert_eq!(r["files_changed"], serde_json::json!(["calc.go", "stats.go"]));
    let diagnosis = r["diagnosis"].as_str().unwrap();
    assert!(diagnosis.contains("\"os\" is imported but not used (calc.go:5)"), "{diagnosis}");

    // The unused import's line is gone, the rest of the block stays; the unused
    // variables became blanks that keep their right-hand sides.
    assert_eq!(read(ws.path(), "calc.go"), GO_CALC.replace("\t\"os\"\n", ""));
    assert_eq!(
        read(ws.path(), "stats.go"),
        GO_STATS.replace("total, count := sum(xs)", "total, _ := sum(xs)").replace("n := len(xs)", "_ = len(xs)")
    );
    assert_eq!(read(ws.path(), "calc_test.go"), GO_TEST, "the test file is left alone");

    let check = Command::new("go")
        .args(["test", "./..."])
        .current_dir(ws.path())
        .envs(env)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(check.status.success(), "go test after the fix:\n{}", String::from_utf8_lossy(&check.stdout));
}

const ITEM: &str = "package app.model;

public record Item(String name, int price) {
    public static Item of(String name, int price) {
        return new Item(name, price);
    }
}
";

const CART: &str = "package app;

import java.util.ArrayList;
import java.util.List;

public class Cart {
    private final List<Item> items = new ArrayList<>();

    public void add(Item item) {
        items.add(item);
    }

    public int total() {
        return items.stream().mapToInt(Item::price).sum();
    }
}
";

const CART_CHECK: &str = "package app;

import app.model.Item;

public class CartCheck {
    public static void main(String[] args) {
        Cart cart = new Cart();
        cart.add(Item.of(\"pen\", 2));
        cart.add(new Item(\"ink\", 5));
        if (cart.total() != 7) {
            throw new AssertionError(\"total is \" + cart.total());
        }
    }
}
";

const JAVAC_AND_RUN: &str = "rm -rf out && javac -d out $(find src -name \"*.java\") && java -cp out app.CartCheck";

#[tokio::test(flavor = "multi_thread")]
async fn the_rule_tier_imports_a_java_class_from_another_package() {
    let name = "the_rule_tier_imports_a_java_class_from_another_package";
    if !tool_or_skip(name, "javac", &["-version"]) || !tool_or_skip(name, "java", &["-version"]) {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    write_tree(
        ws.path(),
        &[
            ("src/main/java/app/model/Item.java", ITEM),
            ("src/main/java/app/Cart.java", CART),
            ("src/test/java/app/CartCheck.java", CART_CHECK),
            // A stale build copy in another package must not make the class look ambiguous.
            ("build/src/app/legacy/Item.java", &ITEM.replace("package app.model;", "package app.legacy;")),
        ],
    );

    let r = fix_without_model(ws.path(), &["sh", "-c", JAVAC_AND_RUN], &[]).await;
    assert_eq!(r["attempt_log"][0]["rule"], "java_missing_import", "{:#}", r["attempt_log"]);
    assert_eq!(r["files_changed"], serde_json::json!(["src/main/java/app/Cart.java"]));
    assert_eq!(
        read(ws.path(), "src/main/java/app/Cart.java"),
        CART.replace("import java.util.List;\n", "import java.util.List;\nimport app.model.Item;\n"),
        "one import, after the existing ones"
    );

    let check =
        Command::new("sh").args(["-c", JAVAC_AND_RUN]).current_dir(ws.path()).stdin(Stdio::null()).output().unwrap();
    assert!(check.status.success(), "javac and the check after the fix:\n{}", String::from_utf8_lossy(&check.stderr));
}
