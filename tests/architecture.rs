//! Architecture invariants from ARCHITECTURE.md, checked over the source tree.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn offenders(pred: impl Fn(&Path, &str) -> bool) -> Vec<String> {
    rust_files(&src())
        .into_iter()
        .filter(|p| pred(p, &std::fs::read_to_string(p).unwrap()))
        .map(|p| p.strip_prefix(src()).unwrap().display().to_string())
        .collect()
}

#[test]
fn only_slack_knows_slack_morphism_and_tungstenite() {
    let bad = offenders(|path, text| {
        !path.starts_with(src().join("slack"))
            && (text.contains("slack_morphism") || text.contains("tokio_tungstenite"))
    });
    assert!(bad.is_empty(), "outside src/slack: {bad:?}");
}

#[test]
fn handlers_never_touch_raw_json_or_spawn() {
    let handler_dirs = ["commands", "actions", "router.rs"];
    let bad = offenders(|path, text| {
        handler_dirs.iter().any(|d| path.starts_with(src().join(d)))
            && (text.contains("serde_json::Value") || text.contains("tokio::spawn"))
    });
    assert!(
        bad.is_empty(),
        "handlers with raw JSON or tokio::spawn: {bad:?}"
    );
}

#[test]
fn every_module_has_a_doc_line_and_stays_short() {
    let undocumented = offenders(|_, text| !text.trim_start().starts_with("//!"));
    assert!(undocumented.is_empty(), "no //! doc line: {undocumented:?}");
    let long = offenders(|_, text| text.lines().count() > 500);
    assert!(long.is_empty(), "over 500 lines: {long:?}");
}

#[test]
fn the_router_has_no_catch_all() {
    let router = std::fs::read_to_string(src().join("router.rs")).unwrap();
    assert!(
        !router.contains("_ =>"),
        "the router's match must stay exhaustive"
    );
}

/// The top-level modules of src/ that each module names with a `crate::…` path.
fn module_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut graph = std::collections::BTreeMap::<_, std::collections::BTreeSet<_>>::new();
    for path in rust_files(&src()) {
        let relative = path.strip_prefix(src()).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let imports = graph.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                imports.insert(name);
            }
        }
    }
    graph
}

/// Every module `from` reaches through imports, itself excluded unless it is on a circle.
fn reachable(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    from: &str,
) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(module) = todo.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn the_store_sits_below_every_feature() {
    // The circle store/ledger.rs → slack/socket/dispatch.rs → store is broken: the `EventLedger`
    // trait lives in the store, and the store reaches no module above it.
    let graph = module_imports();
    let above = [
        "slack", "router", "commands", "actions", "context", "alarms", "app",
    ];
    let reached = reachable(&graph, "store");
    let bad: Vec<_> = above.iter().filter(|m| reached.contains(**m)).collect();
    assert!(bad.is_empty(), "store reaches {bad:?} (imports: {graph:?})");
}

#[test]
fn handlers_see_alarms_only_through_the_alarm_cards_trait() {
    // The circle context → alarms (now notify) → actions → context is broken: handlers get
    // `Arc<dyn AlarmCards>` (defined in context.rs), which the card keeper implements.
    let graph = module_imports();
    let handler_layer = ["context", "router", "commands", "actions", "reply"];
    let bad: Vec<_> = handler_layer
        .iter()
        .filter(|m| {
            graph
                .get(**m)
                .is_some_and(|imports| imports.contains("alarms") || imports.contains("notify"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "these import crate::alarms or crate::notify: {bad:?}"
    );
}

#[test]
fn no_module_imports_itself_through_others() {
    // Every `crate::…` import between top-level modules points down: config ↔ alarms,
    // context ↔ commands, store ↔ slack and context ↔ alarms were circles once.
    let graph = module_imports();
    let circles: Vec<_> = graph
        .keys()
        .filter(|module| reachable(&graph, module).contains(*module))
        .collect();
    assert!(
        circles.is_empty(),
        "on an import circle: {circles:?} (imports: {graph:?})"
    );
}

#[test]
fn config_sits_below_every_feature() {
    // Config holds plain data; its secrets are `secrets::Secret`s, and `secrets` imports nothing.
    let graph = module_imports();
    let reached = reachable(&graph, "config");
    let allowed: std::collections::BTreeSet<String> = ["secrets".to_owned()].into();
    assert!(
        reached.is_subset(&allowed),
        "config must hold plain data and import no module but secrets, but reaches {reached:?}"
    );
    let below = reachable(&graph, "secrets");
    assert!(
        below.is_empty(),
        "secrets must import no other module, but reaches {below:?}"
    );
}

#[test]
fn alarms_is_pure_and_notify_does_the_io() {
    // src/alarms parses, routes and renders: no runtime, no network, no store, no clock.
    let io_markers = [
        "tokio",
        "async fn",
        "crate::notify",
        "crate::store",
        "crate::slack::messenger",
        "aws_sdk",
        "reqwest",
        "rusqlite",
        "std::fs",
        "::now()",
    ];
    let bad = offenders(|path, text| {
        path.starts_with(src().join("alarms")) && io_markers.iter().any(|m| text.contains(m))
    });
    assert!(bad.is_empty(), "I/O in the pure alarms module: {bad:?}");
    let graph = module_imports();
    assert!(
        !reachable(&graph, "alarms").contains("notify"),
        "alarms must not reach notify"
    );
}

#[test]
fn integrations_know_nothing_of_slack() {
    // src/integrations talks to outside systems (Bedrock, later Confluence and GitHub) in plain
    // data; handlers turn the answers into Slack messages.
    let slack_markers = ["crate::slack", "slack_morphism", "tokio_tungstenite"];
    let bad = offenders(|path, text| {
        path.starts_with(src().join("integrations"))
            && slack_markers.iter().any(|m| text.contains(m))
    });
    assert!(bad.is_empty(), "Slack in src/integrations: {bad:?}");
    let graph = module_imports();
    let above = [
        "slack", "router", "commands", "actions", "context", "alarms", "notify",
    ];
    let reached = reachable(&graph, "integrations");
    let bad: Vec<_> = above.iter().filter(|m| reached.contains(**m)).collect();
    assert!(
        bad.is_empty(),
        "integrations reach {bad:?}, which know Slack or the alarm pipeline (imports: {graph:?})"
    );
}
