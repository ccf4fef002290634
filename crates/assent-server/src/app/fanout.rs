//! The fan-out task: committed events from the bus, put in per-channel `seq` order by the
//! [`Sequencer`](super::sequencer::Sequencer) (holes filled from the log), then handed to
//! [`App::on_committed`] one by one. It is the only caller of `on_committed`, so every
//! consumer behind it (hub, waiters, job wake-ups) sees each channel's events exactly once
//! and in order, whatever order the writers — or, later, other nodes — published them in.

use super::App;
use super::sequencer::{Gap, Offered, Sequencer};
use assent_store::CommittedEvent;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc;

/// Events read per query when a gap is filled from the log.
const FILL_PAGE: i64 = 1_000;

/// Runs until the bus closes (every writer stopped).
pub async fn run(app: Arc<App>, mut bus: mpsc::UnboundedReceiver<CommittedEvent>) {
    let mut seq = Sequencer::default();
    let mut ready = Vec::new();
    loop {
        let deadline = seq.next_deadline();
        tokio::select! {
            ev = bus.recv() => match ev {
                Some(ev) => {
                    if let Offered::Held | Offered::Duplicate = seq.offer(ev, Instant::now(), &mut ready) {
                        app.metrics.events_reordered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => break,
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                for gap in seq.overdue(Instant::now()) {
                    match read_gap(&app, &gap).await {
                        Ok(events) => {
                            app.metrics.event_gaps_filled.fetch_add(1, Ordering::Relaxed);
                            seq.fill(&gap, events, Instant::now(), &mut ready);
                        }
                        // Tried again at the next deadline; held events wait meanwhile.
                        Err(e) => tracing::warn!(channel_id = %gap.channel, error = %e, "could not read an event gap from the log; retrying"),
                    }
                }
            }
        }
        for ev in ready.drain(..) {
            app.on_committed(ev);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}

/// The log's events for `gap`, ascending.
async fn read_gap(app: &App, gap: &Gap) -> Result<Vec<CommittedEvent>, assent_store::StoreError> {
    let mut out = Vec::new();
    let mut after = gap.after;
    while after < gap.upto {
        let page = app
            .store
            .events_between(&gap.channel, after, gap.upto, FILL_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        out.extend(page.into_iter().map(|event| CommittedEvent {
            owner_id: gap.owner.clone(),
            event,
        }));
    }
    Ok(out)
}
