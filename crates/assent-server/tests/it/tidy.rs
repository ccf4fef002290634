//! Enforces the dependency rules of DESIGN.md §3 so that they do not live in memory only.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn deps_of(krate: &str) -> Vec<String> {
    let text = fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_deps = l == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = l.split_once('=') {
            out.push(name.trim().trim_end_matches(".workspace").to_owned());
        }
    }
    out
}

fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rs_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

fn code_lines(p: &Path) -> Vec<String> {
    // Comments may mention anything; only code counts.
    fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").to_owned())
        .collect()
}

fn offenders(dir: &Path, needles: &[&str]) -> Vec<String> {
    rs_files(dir)
        .iter()
        .flat_map(|f| offenders_in(f, needles))
        .collect()
}

fn offenders_in(f: &Path, needles: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    {
        for (i, line) in code_lines(f).iter().enumerate() {
            for n in needles {
                if line.contains(n) {
                    bad.push(format!("{}:{}: {n}", f.display(), i + 1));
                }
            }
        }
    }
    bad
}

#[test]
fn crate_dependencies_follow_the_design() {
    let internal = |k: &str| {
        deps_of(k)
            .into_iter()
            .filter(|d| d.starts_with("assent-"))
            .collect::<Vec<_>>()
    };
    assert!(
        internal("assent-core").is_empty(),
        "core depends on nothing of ours"
    );
    assert!(internal("assent-proto").is_empty(), "proto is serde only");
    assert_eq!(internal("assent-store"), ["assent-core"]);
    assert_eq!(
        internal("assent-sdk"),
        ["assent-proto"],
        "the SDK depends on proto only"
    );
    let core = deps_of("assent-core");
    for io in ["tokio", "sqlx", "axum", "reqwest"] {
        assert!(
            !core.contains(&io.to_owned()),
            "assent-core must stay free of IO ({io})"
        );
    }
    assert!(
        !deps_of("assent-server").contains(&"sqlx".to_owned()),
        "SQL lives in assent-store only"
    );
}

#[test]
fn layers_inside_the_server_follow_the_design() {
    let src = root().join("crates/assent-server/src");
    let app = offenders(
        &src.join("app"),
        &[
            "axum",
            "socketioxide",
            "assent_proto",
            "crate::http",
            "crate::gateway",
            "crate::wire",
            "crate::webhooks",
        ],
    );
    assert!(
        app.is_empty(),
        "app must not know the edges:\n{}",
        app.join("\n")
    );
    let edges = ["http", "gateway", "jobs", "dashboard", "threads", "mcp"];
    for e in edges {
        let others: Vec<String> = edges
            .iter()
            .filter(|o| **o != e)
            .map(|o| format!("crate::{o}"))
            .collect();
        let needles: Vec<&str> = others.iter().map(String::as_str).collect();
        let dir = if src.join(e).is_dir() {
            src.join(e)
        } else {
            src.join(format!("{e}.rs"))
        };
        let bad = if dir.is_dir() {
            offenders(&dir, &needles)
        } else {
            offenders_in(&dir, &needles)
        };
        assert!(
            bad.is_empty(),
            "edges must not import each other:\n{}",
            bad.join("\n")
        );
    }
    // The hub carries events; the use cases that make them import it, not the other way.
    let hub = offenders(
        &src.join("app/hub"),
        &["streams::", "messages::", "reviews::"],
    );
    assert!(
        hub.is_empty(),
        "the hub imports no use case:\n{}",
        hub.join("\n")
    );
    let jobs = offenders(&src.join("jobs"), &["assent_proto", "axum"]);
    assert!(jobs.is_empty(), "{}", jobs.join("\n"));
    // The webhook client (signing, sending, the retry decision, the egress guard) is a
    // library the delivery job uses: it knows no use case and no edge.
    // So is the blob store client behind attachments.
    for lib in ["webhooks", "files", "plugins"] {
        let client = offenders(
            &src.join(lib),
            &[
                "crate::app",
                "crate::http",
                "crate::gateway",
                "crate::jobs",
                "crate::threads",
                "crate::dashboard",
                "crate::wire",
            ],
        );
        assert!(
            client.is_empty(),
            "the {lib} client imports nothing above it:\n{}",
            client.join("\n")
        );
    }
    let sql = offenders(&src, &["sqlx", "SELECT ", "INSERT INTO", "DELETE FROM"]);
    assert!(
        sql.is_empty(),
        "SQL lives in assent-store only:\n{}",
        sql.join("\n")
    );
}

/// Socket.IO names come from `assent_proto::events`; the log's event names (core's
/// `DomainEvent::name`, stored with each row) must be among them.
#[test]
fn every_logged_event_name_is_a_proto_event_name() {
    use assent_core::model::{AgentStatus, DeliveryStatus, Message};
    use assent_core::{ChannelId, DomainEvent, MessageId, StatusStep, UserId};
    let m: Message = serde_json::from_value(serde_json::json!({
        "id": "m1", "channel_id": "c1", "seq": 1, "sender_type": "agent", "sender_id": "c1",
        "text": "hi", "status": null, "review": null, "metadata": null, "client_id": null,
        "stream_id": null, "stream_state": null, "delivery_status": "sent",
        "iteration_group_id": null, "iteration": null, "created_at": 1, "updated_at": 1}))
    .unwrap();
    let (mid, ch) = (
        MessageId::from_trusted("m1".into()),
        ChannelId::from_trusted("c1".into()),
    );
    let all = [
        DomainEvent::MessageCreated {
            message: Box::new(m.clone()),
            agent_name: None,
        },
        DomainEvent::MessageDeleted {
            message_id: mid.clone(),
            channel_id: ch.clone(),
        },
        DomainEvent::MessageDelivery {
            message_id: mid.clone(),
            delivery_status: DeliveryStatus::Sent,
        },
        DomainEvent::MessageUpdated {
            message: Box::new(m.clone()),
            agent_name: None,
        },
        DomainEvent::MessageStatus {
            step: StatusStep {
                id: "s".into(),
                channel_id: ch.clone(),
                stream_id: "x".into(),
                index: 0,
                text: "t".into(),
                tool_hint: false,
                created_at: assent_core::Millis(0),
            },
        },
        DomainEvent::ThreadEvent {
            event_type: "tool_call_started".into(),
            fields: Default::default(),
        },
        DomainEvent::ChannelRead {
            user_id: UserId::from_trusted("u1".into()),
        },
        DomainEvent::ReviewResponded {
            message: Box::new(m),
        },
        DomainEvent::ReviewExpired {
            message_id: mid,
            review_type: "approval".into(),
        },
        DomainEvent::AgentStatus {
            agent_id: ch,
            status: AgentStatus::Active,
            status_message: None,
            status_since: None,
        },
    ];
    for e in &all {
        // A new variant fails to compile here until it is added to `all` above.
        match e {
            DomainEvent::MessageCreated { .. }
            | DomainEvent::MessageDeleted { .. }
            | DomainEvent::MessageDelivery { .. }
            | DomainEvent::MessageUpdated { .. }
            | DomainEvent::MessageStatus { .. }
            | DomainEvent::ThreadEvent { .. }
            | DomainEvent::ChannelRead { .. }
            | DomainEvent::ReviewResponded { .. }
            | DomainEvent::ReviewExpired { .. }
            | DomainEvent::AgentStatus { .. } => {}
        }
        assert!(
            assent_proto::events::EMITTED.contains(&e.name()),
            "{} is not in assent_proto::events",
            e.name()
        );
    }
}

/// The source stays readable: no function over 80 lines and no file over 600 lines in the
/// crates' `src` (unit-test modules, test files and the bench excluded).
#[test]
fn functions_and_files_stay_small() {
    const MAX_FN: usize = 80;
    const MAX_FILE: usize = 600;
    let mut bad = Vec::new();
    for krate in [
        "assent-core",
        "assent-proto",
        "assent-store",
        "assent-server",
        "assent-sdk",
    ] {
        for f in rs_files(&root().join("crates").join(krate).join("src")) {
            if f.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("tests.rs"))
            {
                continue;
            }
            let text = fs::read_to_string(&f).unwrap();
            let lines: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
                .collect();
            if lines.len() > MAX_FILE {
                bad.push(format!("{}: {} lines", f.display(), lines.len()));
            }
            for (name, start, len) in long_functions(&lines, MAX_FN) {
                bad.push(format!("{}:{start}: fn {name} is {len} lines", f.display()));
            }
        }
    }
    assert!(bad.is_empty(), "split these:\n{}", bad.join("\n"));
}

/// Functions longer than `max` lines: `(name, first line, length)`. A function runs from
/// its `fn` line to the line where its braces balance (comments and strings are rough, but
/// rustfmt's layout keeps this honest).
fn long_functions(lines: &[&str], max: usize) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let code = l.split("//").next().unwrap_or("");
        let Some(at) = code.find("fn ") else { continue };
        let before = code[..at].trim();
        let is_item = before.split_whitespace().all(|w| {
            [
                "pub",
                "pub(crate)",
                "pub(super)",
                "async",
                "const",
                "unsafe",
            ]
            .contains(&w)
        });
        if !is_item {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut opened) = (0i64, false);
        for (j, body) in lines.iter().enumerate().skip(i) {
            let c = body.split("//").next().unwrap_or("");
            if !opened && c.trim_end().ends_with(';') {
                break; // a declaration without a body
            }
            depth += c.matches('{').count() as i64 - c.matches('}').count() as i64;
            opened |= c.contains('{');
            if opened && depth <= 0 {
                if j - i + 1 > max {
                    out.push((name.clone(), i + 1, j - i + 1));
                }
                break;
            }
        }
    }
    out
}
