//! Repair benchmark: prints what a whole repair sends to the model, against the
//! size of the file that holds the bug.
//!
//! A 1,200-line Python module gets a one-line bug; the real pipeline repairs it
//! with real pytest and a scripted in-process model that first proposes a wrong
//! patch, then the right one (so the figures include a retry with its lesson).
//! Every prompt (system and user message) is measured as sent.
//!
//! Run with `cargo bench --bench repair` (needs python3 with pytest).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use self_heal::config::{RawSettings, Settings};
use self_heal::pipeline::{FixRequest, run};
use self_heal::repair::model::{BoxFuture, ChatReply, ChatRequest, Model, ModelError, Usage};
use self_heal::repair::prompts::Prompts;
use self_heal::report::Results;
use self_heal::secrets::Masker;
use self_heal::validate::{Session, TestCommand};

/// Replies from a script, keeping every request.
struct Scripted {
    replies: Mutex<Vec<String>>,
    seen: Mutex<Vec<ChatRequest>>,
}

impl Model for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatReply, ModelError>> {
        Box::pin(async move {
            self.seen.lock().expect("lock").push(request.clone());
            let content = self.replies.lock().expect("lock").remove(0);
            let usage = Usage {
                prompt: (request.system.len() + request.user.len()).div_ceil(4) as u64,
                completion: content.len().div_ceil(4) as u64,
                cached: 0,
            };
            Ok(ChatReply { content, usage, finish_reason: Some("stop".into()) })
        })
    }
}

/// A 1,200-line module of ordinary code: classes with methods and docstrings.
fn big_module() -> String {
    let mut src = String::from(
        "\"\"\"Inventory rules for a warehouse.\"\"\"\n\nimport math\nfrom dataclasses import dataclass\n\n\n",
    );
    src.push_str(
        "def reorder_quantity(on_hand, daily_use, lead_days, safety=0):\n    \"\"\"Units to order so stock lasts the lead time plus the safety stock.\"\"\"\n    needed = daily_use * lead_days + safety\n    return max(0, needed - on_hand)\n\n\n",
    );
    let mut i = 0;
    while src.lines().count() < 1_190 {
        let _ = write!(
            src,
            "@dataclass\nclass Bin{i}:\n    \"\"\"Storage bin {i} with its capacity and stock.\"\"\"\n\n    capacity: int\n    stock: int = 0\n\n    def free(self):\n        \"\"\"Units that still fit.\"\"\"\n        return max(0, self.capacity - self.stock)\n\n    def fill(self, units):\n        \"\"\"Adds units, refusing more than fit.\"\"\"\n        if units > self.free():\n            raise ValueError(f\"bin {i} holds only {{self.free()}} more\")\n        self.stock += units\n        return self.stock\n\n    def ratio(self):\n        return math.floor(100 * self.stock / self.capacity) if self.capacity else 0\n\n\n"
        );
        i += 1;
    }
    src
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn block(search: &str, replace: &str) -> String {
    format!("inventory.py\n```python\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```\n")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ws = tempfile::tempdir().expect("tempdir");
    let good = big_module();
    let correct = "    return max(0, needed - on_hand)";
    let bug = "    return max(0, needed + on_hand)";
    write(ws.path(), "inventory.py", &good.replace(correct, bug));
    write(ws.path(), "pytest.ini", "[pytest]\n");
    write(
        ws.path(),
        "tests/test_inventory.py",
        "from inventory import Bin0, reorder_quantity\n\n\ndef test_reorder_covers_the_lead_time():\n    assert reorder_quantity(on_hand=10, daily_use=5, lead_days=4) == 10\n\n\ndef test_nothing_to_order_when_stocked():\n    assert reorder_quantity(on_hand=100, daily_use=5, lead_days=4) == 0\n\n\ndef test_bin_fill():\n    assert Bin0(capacity=10).fill(4) == 4\n",
    );
    let file = std::fs::read_to_string(ws.path().join("inventory.py")).expect("read");

    let raw = RawSettings::from_pairs([("FLAKY_RERUNS", "0"), ("DIAGNOSIS_CALL", "separate"), ("CANDIDATES", "1")]);
    let settings = Settings::from_raw(&raw).expect("settings");
    let workspace = ws.path().canonicalize().expect("canonical");
    let req = FixRequest {
        workspace: workspace.clone(),
        settings: &settings,
        prompts: Prompts::builtin(),
        interactive: false,
        source: String::new(),
    };
    let model = Scripted {
        replies: Mutex::new(vec![
            "Root cause: reorder_quantity adds the stock on hand instead of subtracting it.".into(),
            block(bug, "    return max(0, needed + on_hand - 2 * on_hand + 1)"),
            block(bug, correct),
        ]),
        seen: Mutex::new(Vec::new()),
    };
    let command = TestCommand::Argv(
        ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"].iter().map(|s| s.to_string()).collect(),
    );
    let mut validator = Session::local(&workspace, &["results".into()], command, Duration::from_secs(120), vec![])
        .expect("validation copy");
    let masker = Masker::new(vec![]);
    let results = Results::new(workspace.join("results"), masker.clone());
    let result = run(&req, Some(&model), &mut validator, &results, &masker).await.expect("run");

    println!("== prompts of a whole repair against the file that holds the bug");
    println!(
        "file: inventory.py, {} lines, {} bytes (one-line bug at line {})",
        file.lines().count(),
        file.len(),
        file.lines().position(|l| l == bug).map_or(0, |i| i + 1)
    );
    println!(
        "repair: status {}, {} attempt(s), {} model call(s)",
        result.status.as_str(),
        result.attempts,
        result.llm_calls
    );
    let seen = model.seen.lock().expect("lock");
    let mut total = 0;
    for (i, (request, call)) in seen.iter().zip(&result.calls).enumerate() {
        let bytes = request.system.len() + request.user.len();
        total += bytes;
        println!(
            "  prompt {} ({:<9}): {:>6} bytes, about {:>5} tokens; buggy line shown: {}; whole file shown: {}",
            i + 1,
            call.purpose,
            bytes,
            bytes.div_ceil(4),
            request.user.contains(bug),
            request.user.contains(&file[..file.len() / 2])
        );
        if std::env::var_os("BENCH_SHOW_PROMPTS").is_some() {
            println!("{}\n{}", request.system, request.user);
        }
    }
    println!(
        "all prompts together: {total} bytes = {:.1}% of the file ({} bytes); goal: under 50%",
        100.0 * total as f64 / file.len() as f64,
        file.len()
    );
    println!("tokens reported: prompt {}, completion {}", result.tokens.prompt, result.tokens.completion);
    if total * 2 >= file.len() || result.status.as_str() != "repaired" {
        println!("GOAL NOT MET");
        std::process::exit(1);
    }
}
