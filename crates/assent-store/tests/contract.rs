//! The store contract: every test runs on SQLite and on PostgreSQL (a fresh database per
//! test on `ASSENT_TEST_PG_URL`, default postgres://postgres@127.0.0.1:5432/test). Set
//! `ASSENT_SKIP_PG=1` to skip PostgreSQL where none is available; CI never does.

use assent_core::attachment::{Attachment, AttachmentId};
use assent_core::model::{AgentStatus, DeliveryStatus, Role, SenderType};
use assent_core::{ChannelId, DomainEvent, MessageId, Millis, UserId};
use assent_store::{
    AgentPatch, AttemptOutcome, AttemptRecord, CommittedEvent, FileFilter, MessageQuery, NewAgent,
    NewMessage, NewUser, OutboxSettings, Store, StoreError, StoreOptions,
};
use sqlx::Connection;
use std::future::Future;
use tokio::sync::mpsc::UnboundedReceiver;

const NOW: Millis = Millis(1_750_000_000_000);

/// The outbox renders a body naming the event and its seq (the server renders Placet's).
fn outbox() -> Option<OutboxSettings> {
    Some(OutboxSettings {
        render: std::sync::Arc::new(|e| Some(format!("{}#{}", e.event.name(), e.seq))),
        max_attempts: 3,
    })
}

struct Db {
    store: Store,
    bus: UnboundedReceiver<CommittedEvent>,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let opts = StoreOptions {
        outbox: outbox(),
        ..StoreOptions::default()
    };
    let (store, bus) = Store::open(&url, opts).await.unwrap();
    Db {
        store,
        bus,
        cleanup: None,
        _dir: Some(dir),
    }
}

// The test database comes from the environment, like CI's.
#[allow(clippy::disallowed_methods)]
async fn postgres() -> Option<Db> {
    if std::env::var("ASSENT_SKIP_PG").is_ok_and(|v| v == "1") {
        return None;
    }
    let admin = std::env::var("ASSENT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("assent_contract_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable (set ASSENT_SKIP_PG=1 to skip)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    let url = format!("{base}/{name}");
    sqlx::any::install_default_drivers();
    let (store, bus) = Store::open(
        &url,
        StoreOptions {
            writers: 3,
            outbox: outbox(),
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    Some(Db {
        store,
        bus,
        cleanup: Some((admin, name)),
        _dir: None,
    })
}

impl Db {
    async fn finish(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.cleanup {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    fn drain(&mut self) -> Vec<CommittedEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.bus.try_recv() {
            out.push(e);
        }
        out
    }
}

async fn both<F, Fut>(f: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = Db>,
{
    f(sqlite().await).await.finish().await;
    if let Some(db) = postgres().await {
        f(db).await.finish().await;
    }
}

async fn user(store: &Store, email: &str) -> UserId {
    store
        .create_user(
            NewUser {
                email: email.into(),
                display_name: "U".into(),
                password_hash: "h".into(),
                role: Role::Member,
                must_change_password: false,
            },
            NOW,
        )
        .await
        .unwrap()
        .id
}

async fn agent(store: &Store, owner: &UserId) -> ChannelId {
    store
        .create_agent(
            owner,
            NewAgent {
                name: "bot".into(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .id
}

fn msg(channel: &ChannelId, text: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        channel_id: channel.clone(),
        sender_type: SenderType::Agent,
        sender_id: channel.to_string(),
        text: Some(text.into()),
        status: None,
        review: None,
        metadata: None,
        client_id: client_id.map(str::to_owned),
        stream_id: None,
        stream_state: None,
        iteration_of: None,
        attachment_ids: Vec::new(),
        files: Vec::new(),
    }
}

#[tokio::test]
async fn users_sessions_tickets_and_keys() {
    both(|db| async move {
        let s = &db.store;
        let u = user(s, "a@example.com").await;
        let dup = s
            .create_user(
                NewUser {
                    email: "a@example.com".into(),
                    display_name: "B".into(),
                    password_hash: "h".into(),
                    role: Role::Owner,
                    must_change_password: true,
                },
                NOW,
            )
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict("email"))));
        assert_eq!(s.user_count().await.unwrap(), 1);
        assert_eq!(
            s.user_by_email("a@example.com")
                .await
                .unwrap()
                .unwrap()
                .user
                .id,
            u
        );
        let updated = s
            .update_user(&u, Some("Ann".into()), Some(Role::Owner))
            .await
            .unwrap();
        assert_eq!(
            (updated.display_name.as_str(), updated.role),
            ("Ann", Role::Owner)
        );
        assert!(matches!(
            s.update_user(&UserId::from_trusted("x".into()), None, None)
                .await,
            Err(StoreError::NotFound)
        ));

        let (sid, evicted) = s
            .create_session(&u, "hash1".into(), NOW, NOW.plus_secs(60), 2)
            .await
            .unwrap();
        assert!(evicted.is_empty());
        // Past `keep` sessions, the oldest go.
        let (s2, _) = s
            .create_session(&u, "hash-b".into(), NOW.plus_secs(1), NOW.plus_secs(60), 2)
            .await
            .unwrap();
        let (_, evicted) = s
            .create_session(&u, "hash-c".into(), NOW.plus_secs(2), NOW.plus_secs(60), 2)
            .await
            .unwrap();
        assert_eq!(evicted, vec![sid.clone()], "the oldest beyond 2");
        let (_, evicted) = s
            .create_session(&u, "hash-d".into(), NOW.plus_secs(3), NOW.plus_secs(60), 2)
            .await
            .unwrap();
        assert_eq!(evicted, vec![s2.clone()]);
        assert!(s.session_by_token("hash-b", NOW).await.unwrap().is_none());
        let (sid, _) = s
            .create_session(&u, "hash1".into(), NOW.plus_secs(4), NOW.plus_secs(60), 100)
            .await
            .unwrap();
        assert_eq!(
            s.session_by_token("hash1", NOW).await.unwrap().unwrap().0,
            sid
        );
        assert!(
            s.session_by_token("hash1", NOW.plus_secs(61))
                .await
                .unwrap()
                .is_none(),
            "expired"
        );
        let sid2 = s
            .rotate_session(&sid, "hash2".into(), NOW, NOW.plus_secs(60))
            .await
            .unwrap();
        assert!(s.session_by_token("hash1", NOW).await.unwrap().is_none());
        assert!(s.session_alive(&sid2, NOW).await.unwrap());
        assert!(matches!(
            s.rotate_session(&sid, "hash3".into(), NOW, NOW).await,
            Err(StoreError::NotFound)
        ));

        s.create_ticket("t1".into(), &u, "session", sid2.clone(), NOW.plus_secs(30))
            .await
            .unwrap();
        let (a, b) = tokio::join!(s.consume_ticket("t1", NOW), s.consume_ticket("t1", NOW));
        assert_eq!(
            [a.unwrap().is_some(), b.unwrap().is_some()]
                .iter()
                .filter(|x| **x)
                .count(),
            1,
            "single use, even concurrently"
        );
        s.create_ticket("t2".into(), &u, "session", sid2.clone(), NOW.plus_secs(30))
            .await
            .unwrap();
        assert!(
            s.consume_ticket("t2", NOW.plus_secs(31))
                .await
                .unwrap()
                .is_none(),
            "expired ticket"
        );

        let k = s
            .create_api_key(&u, "ci".into(), "khash".into(), "hp_12345678".into(), NOW)
            .await
            .unwrap();
        assert_eq!(s.api_key_by_hash("khash").await.unwrap().unwrap().id, k.id);
        let other = user(s, "b@example.com").await;
        assert!(
            !s.delete_api_key(&other, &k.id).await.unwrap(),
            "not theirs"
        );
        assert!(matches!(
            s.rotate_api_key(&other, &k.id, "x".into(), "y".into())
                .await,
            Err(StoreError::NotFound)
        ));
        s.rotate_api_key(&u, &k.id, "khash2".into(), "hp_abcdefgh".into())
            .await
            .unwrap();
        assert!(s.api_key_by_hash("khash").await.unwrap().is_none());
        s.set_password(&u, "newhash".into(), Some(sid2.clone()))
            .await
            .unwrap();
        assert!(s.session_alive(&sid2, NOW).await.unwrap());
        assert!(s.delete_user(&u).await.unwrap());
        assert!(
            s.api_key_by_hash("khash2").await.unwrap().is_none(),
            "cascade"
        );
        assert!(!s.session_alive(&sid2, NOW).await.unwrap(), "cascade");
        db
    })
    .await;
}

#[tokio::test]
async fn messages_get_gap_free_seqs_and_events_in_the_same_transaction() {
    both(|mut db| async move {
        let s = db.store.clone();
        let u = user(&s, "a@example.com").await;
        let ch = agent(&s, &u).await;
        let (m1, fresh) = s.create_message(msg(&ch, "one", Some("c1")), Some("bot".into()), NOW).await.unwrap();
        assert!(fresh);
        let (again, fresh) = s.create_message(msg(&ch, "dup", Some("c1")), None, NOW).await.unwrap();
        assert!(!fresh);
        assert_eq!(again.id, m1.id);
        let (m2, _) = s.create_message(msg(&ch, "two", None), None, NOW).await.unwrap();
        assert_eq!((m1.seq, m2.seq), (1, 2));
        assert_eq!(s.delete_message(&ch, &m1.id, NOW).await.unwrap(), Some(3));
        assert_eq!(s.delete_message(&ch, &m1.id, NOW).await.unwrap(), None);
        assert_eq!(s.set_delivery_status(&ch, &m2.id, DeliveryStatus::AgentReceived, NOW).await.unwrap(), Some(true));
        assert_eq!(s.set_delivery_status(&ch, &m2.id, DeliveryStatus::AgentReceived, NOW).await.unwrap(), Some(false), "no event without a change");
        let out = s.ping_agent(&ch, AgentStatus::Busy, Some("working".into()), NOW).await.unwrap();
        assert!(out.changed);
        assert_eq!(out.agent.head_seq, 5);

        let logged = s.events_between(&ch, 0, 100, 100).await.unwrap();
        assert_eq!(logged.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert!(matches!(&logged[0].event, DomainEvent::MessageCreated { message, agent_name } if message.text.as_deref() == Some("one") && agent_name.as_deref() == Some("bot")));
        assert!(matches!(&logged[2].event, DomainEvent::MessageDeleted { message_id, .. } if *message_id == m1.id));
        assert!(matches!(&logged[3].event, DomainEvent::MessageDelivery { delivery_status: DeliveryStatus::AgentReceived, .. }));
        assert!(matches!(&logged[4].event, DomainEvent::AgentStatus { status: AgentStatus::Busy, .. }));
        let published = db.drain();
        assert_eq!(published.iter().map(|e| e.event.clone()).collect::<Vec<_>>(), logged, "the bus carries exactly the log, in order");
        assert!(published.iter().all(|e| e.owner_id == u));
        assert_eq!(s.log_bounds(&ch).await.unwrap(), (5, 1));
        assert!(matches!(s.create_message(msg(&ChannelId::from_trusted("nope".into()), "x", None), None, NOW).await, Err(StoreError::NotFound)));
        db
    })
    .await;
}

#[tokio::test]
async fn concurrent_writes_group_commit_and_a_failing_job_does_not_sink_its_batch() {
    both(|mut db| async move {
        let s = db.store.clone();
        let u = user(&s, "a@example.com").await;
        let ch = agent(&s, &u).await;
        let ch2 = agent(&s, &u).await;
        let mut tasks = Vec::new();
        for i in 0..300 {
            let (s2, target) = (s.clone(), if i % 3 == 0 { ch2.clone() } else { ch.clone() });
            tasks.push(tokio::spawn(async move {
                s2.create_message(msg(&target, &format!("m{i}"), None), None, NOW)
                    .await
            }));
            if i % 50 == 0 {
                // Jobs that fail inside the same batches.
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    s.create_message(
                        msg(&ChannelId::from_trusted("ghost".into()), "x", None),
                        None,
                        NOW,
                    )
                    .await
                }));
            }
        }
        let mut ok = 0;
        let mut failed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::NotFound) => failed += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, failed), (300, 6));
        for (c, n) in [(&ch, 200), (&ch2, 100)] {
            let seqs: Vec<i64> = s
                .events_between(c, 0, 1_000, 1_000)
                .await
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect();
            assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "gap-free");
        }
        let published = db.drain();
        assert_eq!(published.len(), 300);
        for c in [&ch, &ch2] {
            let seqs: Vec<i64> = published
                .iter()
                .filter(|e| &e.event.channel_id == c)
                .map(|e| e.event.seq)
                .collect();
            assert!(
                seqs.windows(2).all(|w| w[1] == w[0] + 1),
                "published in seq order per channel"
            );
        }
        db
    })
    .await;
}

#[tokio::test]
async fn paging_agents_and_retention() {
    both(|db| async move {
        let s = db.store.clone();
        let u = user(&s, "a@example.com").await;
        let ch = agent(&s, &u).await;
        for i in 0..10 {
            s.create_message(msg(&ch, &format!("Note {i}"), None), None, NOW)
                .await
                .unwrap();
        }
        let q =
            |cursor: Option<MessageId>, after: Option<i64>, search: Option<&str>| MessageQuery {
                channel_id: ch.clone(),
                limit: 4,
                cursor,
                after,
                search: search.map(str::to_owned),
                has_attachments: false,
            };
        let p1 = s.list_messages(q(None, None, None)).await.unwrap();
        assert_eq!(
            p1.data.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [10, 9, 8, 7]
        );
        let p2 = s
            .list_messages(q(p1.next_cursor.map(MessageId::from_trusted), None, None))
            .await
            .unwrap();
        assert_eq!(
            p2.data.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [6, 5, 4, 3]
        );
        let f = s.list_messages(q(None, Some(7), None)).await.unwrap();
        assert_eq!(f.data.iter().map(|m| m.seq).collect::<Vec<_>>(), [8, 9, 10]);
        assert_eq!(f.next_after, Some(10));
        let found = s
            .list_messages(q(None, None, Some("note 3")))
            .await
            .unwrap();
        assert_eq!(found.data.len(), 1, "case-insensitive search");

        let summaries = s.list_agent_summaries(&u).await.unwrap();
        assert_eq!(
            (
                summaries[0].unread_count,
                summaries[0].last_message.as_deref()
            ),
            (10, Some("Note 9"))
        );
        s.mark_read(&u, &ch, NOW).await.unwrap();
        s.mark_read(&u, &ch, NOW).await.unwrap(); // nothing new: no second event
        assert_eq!(s.list_agent_summaries(&u).await.unwrap()[0].unread_count, 0);

        let patched = s
            .update_agent(
                &ch,
                AgentPatch {
                    tag: Some(Some("ops".into())),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(patched.tag.as_deref(), Some("ops"));
        assert_eq!(
            s.agent_by_id(&ch).await.unwrap().unwrap().tag.as_deref(),
            Some("ops")
        );

        // 10 messages + the read marker's event.
        assert_eq!(s.prune_events(4, 1_000).await.unwrap(), 7);
        assert_eq!(s.log_bounds(&ch).await.unwrap(), (11, 8));
        assert_eq!(s.prune_events(4, 1_000).await.unwrap(), 0);

        // Presence: silent agents are marked offline once, with an event.
        s.ping_agent(&ch, AgentStatus::Active, None, NOW)
            .await
            .unwrap();
        let cutoff = NOW.plus_secs(10);
        assert_eq!(s.stale_agents(cutoff, 10).await.unwrap(), vec![ch.clone()]);
        assert!(
            s.mark_offline_if_silent(&ch, cutoff, NOW.plus_secs(20))
                .await
                .unwrap()
        );
        assert!(
            !s.mark_offline_if_silent(&ch, cutoff, NOW.plus_secs(20))
                .await
                .unwrap()
        );
        assert!(s.stale_agents(cutoff, 10).await.unwrap().is_empty());
        assert!(s.delete_agent(&ch).await.unwrap());
        assert!(matches!(s.log_bounds(&ch).await, Err(StoreError::NotFound)));
        db
    })
    .await;
}

#[tokio::test]
async fn sqlite_data_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let (store, _bus) = Store::open(&url, StoreOptions::default()).await.unwrap();
    let u = user(&store, "a@example.com").await;
    let ch = agent(&store, &u).await;
    store
        .create_message(msg(&ch, "durable", None), None, NOW)
        .await
        .unwrap();
    store.close().await;
    let (store, _bus) = Store::open(&url, StoreOptions::default()).await.unwrap();
    assert_eq!(store.log_bounds(&ch).await.unwrap(), (1, 1));
    assert!(
        matches!(store.create_message(msg(&ch, "x", None), None, NOW).await, Ok((m, true)) if m.seq == 2)
    );
    store.close().await;
}

/// Under sustained writes the checkpoint job's PASSIVE checkpoint never catches up with the
/// end of the log; the writer copies the rest, so the log starts over instead of growing.
/// (Without that, the log here ends several times larger than the database.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_starts_over_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let url = format!("sqlite://{}", path.display());
    let (store, _bus) = Store::open(&url, StoreOptions::default()).await.unwrap();
    let u = user(&store, "a@example.com").await;
    let ch = agent(&store, &u).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checkpoints = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                store.checkpoint().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    // Enough agents that the writer always has the next batch waiting.
    let text = "x".repeat(300);
    let writers: Vec<_> = (0..32)
        .map(|_| {
            let (store, ch, text) = (store.clone(), ch.clone(), text.clone());
            tokio::spawn(async move {
                for _ in 0..300 {
                    store
                        .create_message(msg(&ch, &text, None), None, NOW)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    checkpoints.await.unwrap();
    let size = |suffix: &str| {
        std::fs::metadata(format!("{}{suffix}", path.display()))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let (db_bytes, wal_bytes) = (size(""), size("-wal"));
    assert!(
        wal_bytes < db_bytes / 2,
        "the log ({wal_bytes} bytes) stays small next to the database ({db_bytes} bytes)"
    );
    store.close().await;
}

#[tokio::test]
async fn webhook_outbox_rows_commit_with_their_events_and_leases_are_exclusive() {
    both(|mut db| async move {
        let s = db.store.clone();
        let u = user(&s, "w@example.com").await;
        let ch = agent(&s, &u).await;
        let human = |text: &str| NewMessage {
            sender_type: SenderType::User,
            sender_id: u.to_string(),
            ..msg(&ch, text, None)
        };
        // No URL yet: a human message causes no delivery.
        s.create_message(human("before"), None, NOW).await.unwrap();
        s.update_agent(&ch, AgentPatch { webhook_url: Some(Some("https://example.com/h".into())), ..Default::default() }).await.unwrap();
        // Agent messages never do.
        s.create_message(msg(&ch, "agent", None), None, NOW).await.unwrap();
        assert!(s.claim_webhooks(NOW, Millis(NOW.0 + 1000), "w1", 10).await.unwrap().is_empty());
        let (m, _) = s.create_message(human("hello"), None, NOW).await.unwrap();
        let claimed = s.claim_webhooks(NOW, Millis(NOW.0 + 1000), "w1", 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let d = &claimed[0];
        assert_eq!((d.message_id.clone(), d.body.as_str(), d.attempts, d.max_attempts), (m.id.clone(), format!("message:created#{}", m.seq).as_str(), 0, 3));
        assert_eq!(d.agent.url.as_deref(), Some("https://example.com/h"));
        // Leased: nobody else gets it until the lease runs out, then someone does.
        assert!(s.claim_webhooks(Millis(NOW.0 + 999), Millis(NOW.0 + 2000), "w2", 10).await.unwrap().is_empty());
        let again = s.claim_webhooks(Millis(NOW.0 + 1000), Millis(NOW.0 + 5000), "w2", 10).await.unwrap();
        assert_eq!(again.len(), 1);
        let rec = |status| AttemptRecord { started_at: NOW, duration_ms: 3, status_code: Some(status), error: None, url: "https://example.com/h".into() };
        // The first worker lost its lease: its result is refused, nothing is written.
        assert!(matches!(
            s.record_webhook_attempt(d, "w1", rec(200), AttemptOutcome::Delivered, NOW).await,
            Err(StoreError::Conflict(_))
        ));
        db.drain();
        s.record_webhook_attempt(&again[0], "w2", rec(500), AttemptOutcome::Retry { at: Millis(NOW.0 + 5000) }, NOW).await.unwrap();
        assert!(db.drain().is_empty(), "an intermediate failure does not move deliveryStatus");
        let later = s.claim_webhooks(Millis(NOW.0 + 5000), Millis(NOW.0 + 9000), "w2", 10).await.unwrap();
        assert_eq!(later[0].attempts, 1);
        s.record_webhook_attempt(&later[0], "w2", rec(204), AttemptOutcome::Delivered, NOW).await.unwrap();
        let ev = db.drain();
        assert!(matches!(&ev[..], [e] if matches!(&e.event.event, DomainEvent::MessageDelivery { delivery_status: DeliveryStatus::WebhookDelivered, .. })), "{ev:?}");
        let list = s.webhook_deliveries_of_message(&m.id).await.unwrap();
        assert_eq!(list[0].attempt_log.iter().map(|a| a.status_code).collect::<Vec<_>>(), [Some(500), Some(204)]);
        assert_eq!(list[0].state.as_str(), "delivered");

        // Concurrent claimers never share a delivery.
        let mut ids = Vec::new();
        for i in 0..40 {
            ids.push(s.create_message(human(&format!("m{i}")), None, NOW).await.unwrap().0.id);
        }
        let claims = (0..4).map(|w| {
            let s = s.clone();
            async move { s.claim_webhooks(Millis(NOW.0 + 10_000), Millis(NOW.0 + 20_000), &format!("c{w}"), 15).await.unwrap() }
        });
        let got: Vec<_> = futures_join(claims).await.into_iter().flatten().map(|d| d.message_id).collect();
        let mut uniq = got.clone();
        uniq.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        uniq.dedup();
        assert_eq!((got.len(), uniq.len()), (40, 40));
        db
    })
    .await;
}

async fn futures_join<F>(list: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = list.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The one migration tree builds one schema on both backends: after migrating, SQLite and
/// PostgreSQL have the same tables, the same columns (with the same nullability) and the same
/// index names.
#[tokio::test]
async fn migrations_build_the_same_schema_on_both_backends() {
    use sqlx::Row;
    let lite = sqlite().await;
    let Some(pg) = postgres().await else { return };
    let path = lite._dir.as_ref().unwrap().path().join("t.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let names = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let tables =
        names("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    let mut sqlite_cols = Vec::new();
    for t in &tables {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT name, \"notnull\", pk FROM pragma_table_info('{t}')"
            ))
            .unwrap();
        let cols = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .unwrap();
        for c in cols {
            let (name, notnull, pk) = c.unwrap();
            // A primary key is NOT NULL on PostgreSQL whether or not SQLite says so.
            sqlite_cols.push(format!("{t}.{name} {}", notnull == 1 || pk > 0));
        }
    }
    let sqlite_idx =
        names("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'");
    let (admin, name) = pg.cleanup.clone().unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let mut pconn = sqlx::PgConnection::connect(&url).await.unwrap();
    let pg_cols: Vec<String> = sqlx::query(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut pconn)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let (t, c, nullable): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        format!("{t}.{c} {}", nullable == "NO")
    })
    .collect();
    let pg_idx: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
         AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    )
    .fetch_all(&mut pconn)
    .await
    .unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(sqlite_cols),
        sorted(pg_cols),
        "columns differ between the trees"
    );
    assert_eq!(
        sorted(sqlite_idx),
        sorted(pg_idx),
        "indexes differ between the trees"
    );
    drop(pconn);
    lite.finish().await;
    pg.finish().await;
}

fn file(channel: &ChannelId, name: &str, at: i64) -> Attachment {
    let id = AttachmentId::generate(NOW.0 + at);
    Attachment {
        storage_key: format!("{id}/blob"),
        id,
        message_id: None,
        channel_id: channel.clone(),
        filename: name.into(),
        mime_type: if name.ends_with(".png") {
            "image/png"
        } else {
            "text/plain"
        }
        .into(),
        size: 10,
        sniffed: None,
        text_content: None,
        uploaded_by: SenderType::Agent,
        created_at: Millis(NOW.0 + at),
    }
}

#[tokio::test]
async fn attachments_link_once_and_their_objects_are_doomed_with_them() {
    both(|db| async move {
        let s = &db.store;
        let u = user(s, "f@example.com").await;
        let ch = agent(s, &u).await;
        let other = agent(s, &u).await;
        let (a, b) = (file(&ch, "a.png", 1), file(&ch, "b.txt", 2));
        s.begin_upload(&a.storage_key, Millis(NOW.0 + 3_600_000))
            .await
            .unwrap();
        for f in [&a, &b] {
            s.add_attachment(f.clone()).await.unwrap();
        }
        assert!(
            s.doomed_files(Millis(NOW.0 + 7_200_000), 10)
                .await
                .unwrap()
                .is_empty(),
            "a recorded upload is not doomed"
        );
        let foreign = file(&other, "c.png", 3);
        s.add_attachment(foreign.clone()).await.unwrap();

        // Refused before anything is written: another channel's file, or a repeat.
        for (ids, path) in [
            (vec![a.id.clone(), foreign.id.clone()], "attachmentIds[1]"),
            (vec![a.id.clone(), a.id.clone()], "attachmentIds[1]"),
        ] {
            let new = NewMessage {
                attachment_ids: ids,
                ..msg(&ch, "x", None)
            };
            match s.create_message(new, None, NOW).await {
                Err(StoreError::Invalid(v)) => assert_eq!(v.errors[0].path, path),
                other => panic!("{other:?}"),
            }
        }
        let text = file(&ch, "inline.txt", 4);
        let new = NewMessage {
            attachment_ids: vec![b.id.clone(), a.id.clone()],
            files: vec![text.clone()],
            ..msg(&ch, "three", None)
        };
        let (m, _) = s.create_message(new, None, NOW).await.unwrap();
        let names: Vec<_> = m.attachments.iter().map(|x| x.filename.as_str()).collect();
        assert_eq!(names, ["b.txt", "a.png", "inline.txt"]);
        let again = NewMessage {
            attachment_ids: vec![a.id.clone()],
            ..msg(&ch, "again", None)
        };
        assert!(
            matches!(
                s.create_message(again, None, NOW).await,
                Err(StoreError::Invalid(_))
            ),
            "sent files are not sent twice"
        );
        let read = s.message_in_channel(&ch, &m.id).await.unwrap().unwrap();
        assert_eq!(read.attachments, m.attachments);
        s.create_message(msg(&ch, "plain", None), None, NOW)
            .await
            .unwrap();
        let q = |has_attachments| MessageQuery {
            channel_id: ch.clone(),
            limit: 10,
            cursor: None,
            after: None,
            search: None,
            has_attachments,
        };
        assert_eq!(s.list_messages(q(false)).await.unwrap().data.len(), 2);
        let only = s.list_messages(q(true)).await.unwrap();
        assert_eq!((only.data.len(), only.data[0].attachments.len()), (1, 3));

        // The gallery: owner-wide, filtered, paged newest first.
        let all = s
            .list_files(
                &u,
                FileFilter {
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            all.data
                .iter()
                .map(|e| e.attachment.filename.as_str())
                .collect::<Vec<_>>(),
            ["inline.txt", "c.png"]
        );
        let next = all.next_cursor.clone().map(AttachmentId::from_trusted);
        let rest = s
            .list_files(
                &u,
                FileFilter {
                    limit: 2,
                    cursor: next,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            rest.data
                .iter()
                .map(|e| e.attachment.filename.as_str())
                .collect::<Vec<_>>(),
            ["b.txt", "a.png"]
        );
        let pngs = s
            .list_files(
                &u,
                FileFilter {
                    limit: 10,
                    channel: Some(ch.clone()),
                    mime_prefix: Some("image".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(pngs.data.len(), 1);
        assert_eq!(pngs.data[0].message_created_at, Some(NOW));

        // Deleting a file updates its message; deleting the message dooms the rest.
        assert!(s.delete_attachment(&b.id, NOW).await.unwrap().is_some());
        assert_eq!(
            s.message_in_channel(&ch, &m.id)
                .await
                .unwrap()
                .unwrap()
                .attachments
                .len(),
            2
        );
        s.delete_message(&ch, &m.id, NOW).await.unwrap();
        let mut doomed = s.doomed_files(NOW, 10).await.unwrap();
        doomed.sort();
        let mut want = vec![
            a.storage_key.clone(),
            b.storage_key.clone(),
            text.storage_key.clone(),
        ];
        want.sort();
        assert_eq!(doomed, want);
        s.forget_doomed(doomed).await.unwrap();
        assert!(s.doomed_files(NOW, 10).await.unwrap().is_empty());

        // Unsent files go after their time; an upload nobody recorded is doomed when due.
        s.begin_upload("lost/blob", Millis(NOW.0 + 100))
            .await
            .unwrap();
        assert_eq!(s.drop_unsent_files(Millis(NOW.0), NOW).await.unwrap(), 0);
        assert_eq!(
            s.drop_unsent_files(Millis(NOW.0 + 10), NOW).await.unwrap(),
            1
        );
        let mut doomed = s.doomed_files(Millis(NOW.0 + 100), 10).await.unwrap();
        doomed.sort();
        let mut want = vec![foreign.storage_key.clone(), "lost/blob".to_owned()];
        want.sort();
        assert_eq!(doomed, want);
        db
    })
    .await;
}
