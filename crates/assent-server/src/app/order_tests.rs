//! Delivery order through the fan-out, the hub and the connection workers, with the bus
//! misbehaving on purpose: committed events reach the fan-out shuffled in bursts, repeated,
//! or not at all (the sequencer must then read them from the log), while subscribers join
//! with `lastSeq` and replay the log as live events keep coming. Every connection must emit
//! exactly the log's events it should see, in `seq` order, once.

use super::hub::{Ephemeral, OwnerFeed, SharedEvent, Sink, SinkError, SubscribeOutcome, View};
use super::{AgentInput, AgentMessageInput, App, AppSettings, UserMessageInput};
use crate::clock::SystemClock;
use crate::metrics::Metrics;
use assent_core::model::{Principal, PrincipalKind};
use assent_core::{Audience, ChannelId, LoggedEvent};
use assent_store::{CommittedEvent, Store, StoreOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Records what a connection put on the wire: `(channel, seq)` per event, resets as `-1`.
/// With `full_every = n`, every `n`th write finds the transport full and records nothing,
/// so deliveries also take the worker's waiting path, not only the hub's in-place one.
#[derive(Default)]
struct Recorder {
    got: Mutex<Vec<(String, i64)>>,
    full_every: usize,
    writes: AtomicUsize,
}

impl Recorder {
    fn seqs(&self, channel: &ChannelId) -> Vec<i64> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|(c, _)| c == channel.as_str())
            .map(|(_, s)| *s)
            .collect()
    }
}

impl Sink for Recorder {
    fn deliver(&self, ev: &SharedEvent, _view: View) -> Result<(), SinkError> {
        let n = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        if self.full_every > 0 && n.is_multiple_of(self.full_every) {
            return Err(SinkError::Full);
        }
        let e = &ev.logged;
        self.got
            .lock()
            .unwrap()
            .push((e.channel_id.to_string(), e.seq));
        Ok(())
    }
    fn sync_reset(&self, channel: &ChannelId, _: i64, _: i64) -> Result<(), SinkError> {
        self.got.lock().unwrap().push((channel.to_string(), -1));
        Ok(())
    }
    fn deliver_ephemeral(&self, _: &Ephemeral, _: View) -> Result<(), SinkError> {
        Ok(())
    }
    fn close(&self, _: super::hub::CloseReason) {
        self.got.lock().unwrap().push(("closed".into(), -1));
    }
}

fn settings() -> AppSettings {
    AppSettings {
        session_ttl_secs: 3600,
        agent_offline_after_secs: 60,
        event_retention: 100_000,
        review_limits: assent_core::review::ReviewLimits {
            default_secs: 3600,
            max_secs: 86_400,
        },
        review_wait_max_ms: 1_000,
        draft_idle_secs: 60,
        max_sockets_per_credential: 0,
        files: super::FileSettings {
            blobs: crate::files::Blobs::memory(),
            max_upload_bytes: 1 << 20,
            unsent_ttl_secs: 3600,
        },
        plugins: Default::default(),
    }
}

/// A deterministic scramble of one round: bursts of 7 reversed, every 5th event twice, every
/// 11th never (the log must supply it), so arrivals are late, early, repeated and missing.
/// A round's last event always arrives: a loss is noticed when a later event shows the hole.
fn scramble(round: Vec<CommittedEvent>) -> Vec<CommittedEvent> {
    let last = round.last().map_or(0, |e| e.event.seq);
    let mut out = Vec::new();
    for burst in round.chunks(7) {
        for ev in burst.iter().rev() {
            let n = ev.event.seq;
            if n % 11 == 0 && n != last {
                continue;
            }
            out.push(ev.clone());
            if n % 5 == 0 {
                out.push(ev.clone());
            }
        }
    }
    out
}

async fn subscribe(app: &Arc<App>, conn: &super::hub::Connection, channel: &ChannelId) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    assert!(conn.subscribe(channel.to_string(), Some(0), move |o| {
        let _ = tx.send(matches!(o, SubscribeOutcome::Subscribed { .. }));
    }));
    // The replay runs in the worker while the caller goes on feeding live events.
    let _ = app;
    tokio::spawn(async move { assert!(rx.await.unwrap(), "subscription refused") });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_emit_each_channel_in_seq_order_whatever_the_bus_does() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let (store, mut bus) = Store::open(&url, StoreOptions::default()).await.unwrap();
    let app = App::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(Metrics::default()),
        settings(),
    );
    app.bootstrap_owner("o@example.com", Some("owner-password-1"))
        .await
        .unwrap();
    let user = store
        .user_by_email("o@example.com")
        .await
        .unwrap()
        .unwrap()
        .user;
    let (agent, _) = app
        .create_agent(
            &user.id,
            AgentInput {
                name: Some("bot".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let channel = ChannelId::from_trusted(agent.id.to_string());
    let agent_p = Principal {
        user_id: user.id.clone(),
        kind: PrincipalKind::ApiKey { key_id: "k".into() },
    };
    let human_p = Principal {
        user_id: user.id.clone(),
        kind: PrincipalKind::Session {
            session_id: "s".into(),
        },
    };
    let (feed, feed_rx) = mpsc::unbounded_channel();
    let fanout = tokio::spawn(super::fanout::run(app.clone(), feed_rx));
    let connect = |p: &Principal, full_every: usize| {
        let rec = Arc::new(Recorder {
            full_every,
            ..Default::default()
        });
        let conn = app.connect(p.clone(), rec.clone(), OwnerFeed::Yes).unwrap();
        (conn, rec)
    };
    // A dashboard that never subscribes has no replay: it sees the owner feed from the moment
    // it connects, so it connects before the first event can reach the fan-out.
    let (_dash_owner, dash_owner_rec) = connect(&human_p, 0);
    // The first event of a channel the fan-out sees is where that channel's order starts:
    // it arrives in order, with whatever creating the agent committed.
    app.mark_read(&user.id, channel.as_str()).await.unwrap();
    while let Ok(ev) = bus.try_recv() {
        feed.send(ev).unwrap();
    }

    // From the start: an agent and a dashboard subscribed, replaying from 0 (the dashboard's
    // transport is full every 5th write).
    let (agent_live, agent_live_rec) = connect(&agent_p, 0);
    let (dash_live, dash_live_rec) = connect(&human_p, 5);
    subscribe(&app, &agent_live, &channel).await;
    subscribe(&app, &dash_live, &channel).await;
    let mut late = Vec::new();

    for round in 0..12 {
        // Late joiners replay from 0 while the rounds after them are fed live.
        if round % 4 == 2 {
            for (p, full_every) in [(&agent_p, 3), (&human_p, 0)] {
                let (c, rec) = connect(p, full_every);
                subscribe(&app, &c, &channel).await;
                late.push((c, rec, p.is_agent()));
            }
        }
        for i in 0..40 {
            let text = Some(format!("r{round} m{i}"));
            match i % 4 {
                0 | 1 => {
                    let input = AgentMessageInput {
                        channel_id: Some(channel.to_string()),
                        text,
                        ..Default::default()
                    };
                    app.post_agent_message(&agent_p, input).await.unwrap();
                }
                2 => {
                    let input = UserMessageInput {
                        channel_id: Some(channel.to_string()),
                        text,
                        ..Default::default()
                    };
                    app.post_user_message(&user.id, input).await.unwrap();
                }
                _ => app.mark_read(&user.id, channel.as_str()).await.unwrap(),
            }
        }
        let mut committed = Vec::new();
        while let Ok(ev) = bus.try_recv() {
            committed.push(ev);
        }
        for ev in scramble(committed) {
            feed.send(ev).unwrap();
        }
        tokio::task::yield_now().await;
    }

    // The whole log, as it should have been seen.
    let (head, _) = store.log_bounds(&channel).await.unwrap();
    let log: Vec<LoggedEvent> = store
        .events_between(&channel, 0, head, 100_000)
        .await
        .unwrap();
    assert_eq!(log.len() as i64, head, "the log is gap-free");
    let all: Vec<i64> = log.iter().map(|e| e.seq).collect();
    let agent_view: Vec<i64> = log
        .iter()
        .filter(|e| e.event.audience() != Audience::OwnerDashboards)
        .map(|e| e.seq)
        .collect();
    let owner_view: Vec<i64> = log
        .iter()
        .filter(|e| e.event.audience() != Audience::Channel)
        .map(|e| e.seq)
        .collect();

    let wait_for = |rec: Arc<Recorder>, want: Vec<i64>, what: &'static str| {
        let channel = channel.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let got = rec.seqs(&channel);
                if got.len() >= want.len() || tokio::time::Instant::now() > deadline {
                    assert_eq!(got, want, "{what}: emitted order");
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(agent_live_rec, agent_view.clone(), "live agent").await;
    wait_for(dash_live_rec, all.clone(), "live dashboard").await;
    wait_for(dash_owner_rec, owner_view, "unsubscribed dashboard").await;
    for (_, rec, is_agent) in &late {
        let want = if *is_agent { &agent_view } else { &all };
        wait_for(rec.clone(), want.clone(), "late joiner").await;
    }
    assert!(
        app.metrics.event_gaps_filled.load(Ordering::Relaxed) > 0,
        "events the bus lost were read from the log"
    );
    drop(feed);
    fanout.await.unwrap();
}
