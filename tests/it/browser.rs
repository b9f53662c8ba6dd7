//! The approval page in the real Chromium (headless, through chromedriver):
//! the diff is shown, Approve writes the file, Reject does not, patches are
//! decided one by one, and a cross-site form POST cannot approve. Screenshots
//! are kept under the target folder's `tmp/artifacts/`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::Value;

use crate::approval::{Running, two_pending_patches};
use crate::support::*;
use crate::webdriver::{Browser, artifacts};

#[tokio::test(flavor = "multi_thread")]
async fn approve_ui_in_chromium_approves_one_patch_and_rejects_the_other() {
    let test = "approve_ui_in_chromium_approves_one_patch_and_rejects_the_other";
    let Some(browser) = Browser::start(test).await else { return };
    let Some((a, b, results, ids)) = two_pending_patches(test).await else { return };
    let results_arg = results.display().to_string();
    let mut ui = Running::start(
        &["approve-ui", "--results-dir", &results_arg, "--port", "0", "--timeout", "120"],
        &[],
        a.ws.path(),
    );
    let url = ui.url().await;

    browser.goto(&url).await;
    let first = format!("#patch-{}", ids[0]);
    let diff = browser.text(&format!("{first} .diff")).await;
    assert!(diff.contains("timesheet.py"), "no file name in the diff:\n{diff}");
    assert!(diff.contains("-    return round(totl, 2)") && diff.contains("+    return round(total, 2)"), "{diff}");
    assert!(browser.text(&format!("{first} .diagnosis")).await.contains("totl"));
    assert!(browser.text(&format!("{first} table.plan")).await.contains("local"));
    assert!(browser.source().await.contains("<span class=\"l add\">"), "the added line is not marked");
    browser.screenshot(&artifacts().join("approval-approve-ui.png")).await;

    browser.click(&format!("#approve-{}", ids[0])).await;
    let notice = browser.wait_text("#notice").await;
    assert!(
        notice.contains(&format!("Patch {} approved", ids[0])) && notice.contains("1 patch(es) still waiting"),
        "{notice}"
    );
    assert!(browser.element(&format!("#approve-{}", ids[0])).await.is_none(), "a decided patch still has buttons");
    assert!(ui.running(), "approve-ui stopped while a patch was still pending");

    browser.type_into(&format!("#patch-{} input[name=reason]", ids[1]), "wrong fix for this branch").await;
    browser.click(&format!("#reject-{}", ids[1])).await;
    assert!(browser.wait_text("#notice").await.contains("0 patch(es) still waiting"));
    browser.screenshot(&artifacts().join("approval-after-decisions.png")).await;
    let shown = Arc::clone(&ui.stderr);
    let (code, _) = ui.finish().await;
    assert_eq!(code, 0, "{}", shown.lock().unwrap());
    assert!(
        shown.lock().unwrap().contains(&format!("{} approved: write it with `self-heal apply {}`", ids[0], ids[0]))
    );
    browser.close().await;

    // Approved: written by apply. Rejected: untouched, and apply refuses it.
    assert!(a.file("timesheet.py").contains("round(totl, 2)"), "approving wrote the file before apply");
    let out = self_heal(&["apply", ids[0].as_str(), "--results-dir", &results_arg], &[], a.ws.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(a.file("timesheet.py").contains("    return round(total, 2)"));
    let out = self_heal(&["apply", ids[1].as_str(), "--results-dir", &results_arg], &[], b.ws.path()).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(b.unchanged());
    let rejected: Value = serde_json::from_str(&file(&results, &format!("pending/{}.json", ids[1]))).unwrap();
    assert_eq!(rejected["decision"]["reason"], "rejected on the approval page: wrong fix for this branch");
    assert!(rejected["decision"]["by"].as_str().unwrap().contains("Chrome"), "{}", rejected["decision"]["by"]);
}

/// A page on another origin that submits a decision form to the approval server as soon as it loads.
async fn attacker(target: &str, id: &str) -> String {
    let html = format!(
        "<!doctype html><html><body><form id=\"f\" method=\"post\" action=\"{target}/decide\">\
         <input name=\"id\" value=\"{id}\"><input name=\"decision\" value=\"approve\"></form>\
         <script>document.getElementById('f').submit()</script></body></html>"
    );
    let app = Router::new().route("/", get(move || async move { Html(html) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repair_waits_for_the_page_and_a_cross_site_post_cannot_approve_it() {
    let test = "a_repair_waits_for_the_page_and_a_cross_site_post_cannot_approve_it";
    let Some(browser) = Browser::start(test).await else { return };
    let Some(c) = Case::new(test, "7", vec![]).await else { return };
    let wsp = c.ws.path().display().to_string();
    let env = [
        ("REQUIRE_APPROVAL", "true"),
        ("WEB_APPROVAL_ENABLED", "true"),
        ("WEB_APPROVAL_PORT", "0"),
        ("WEB_APPROVAL_TIMEOUT", "120"),
    ];
    let mut fix = Running::start(&fix_args(&wsp, &[]), &env, c.ws.path());
    let url = fix.url().await;
    let origin = url.split("/?").next().unwrap().to_string();

    browser.goto(&url).await;
    let source = browser.source().await;
    let id = source.split("id=\"patch-").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();

    // Another site's page posts an approval (it cannot know the token): refused, still pending.
    browser.goto(&attacker(&origin, &id).await).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(browser.wait_text("#message").await.contains("Refused"), "{}", browser.source().await);
    assert!(fix.running(), "a cross-site POST ended the wait");
    assert!(c.unchanged(), "a cross-site POST wrote the patch");

    browser.goto(&url).await;
    let diff = browser.text(&format!("#patch-{id} .diff")).await;
    assert!(diff.contains("+    return round(total, 2)"), "{diff}");
    browser.screenshot(&artifacts().join("approval-fix.png")).await;
    browser.click(&format!("#approve-{id}")).await;
    let (code, stdout) = fix.finish().await;
    browser.close().await;
    assert_eq!(code, 0, "{stdout}");
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((r["status"].as_str(), r["applied"].as_bool()), (Some("repaired"), Some(true)), "{r:#}");
    assert_eq!(r["approval"]["channel"], "web");
    assert!(c.file("timesheet.py").contains("    return round(total, 2)"));
    let log = std::fs::read_to_string(c.ws.path().join("results/approval_audit.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains("\"action\":\"approved\"") && log.contains("\"channel\":\"web\""), "{log}");
}
