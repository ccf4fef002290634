//! Per-channel ordering of committed events before they reach the hub.
//!
//! Everything the hub fans out comes through here, one event at a time, from the fan-out
//! task. The sequencer releases a channel's events strictly in `seq` order and without
//! holes: an event that arrives ahead of its channel's next expected `seq` is held until the
//! missing ones arrive, or, if they have not arrived within [`GAP_WAIT`], until the fan-out
//! task has read them from the log ([`Sequencer::overdue`] → [`Sequencer::fill`]). An event at
//! or below what was already released is a late duplicate and is dropped.
//!
//! On one node the writers already publish each channel's events in `seq` order (a channel
//! is always written by the same writer), so nothing is ever held and this costs one map
//! lookup per event. It matters wherever arrival order and commit order can differ: several
//! writers or nodes publishing the same channel, a bus that loses or reorders messages. The
//! connection workers keep their own gap check as a second line (for a channel's first
//! event after start, which the sequencer cannot know is not its first).
//!
//! Pure and synchronous: the caller passes `now` and does the log reads.

use assent_core::{ChannelId, UserId};
use assent_store::CommittedEvent;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How long an early event waits for the ones before it before they are read from the log.
pub const GAP_WAIT: Duration = Duration::from_millis(10);
/// Held events per channel beyond which the sequencer stops waiting and skips ahead (a gap
/// the log cannot fill, e.g. pruned by retention while unreadable). Workers then resume or
/// reset their subscribers from the log; nothing is ever delivered out of order.
const HELD_CAP: usize = 10_000;

#[derive(Default)]
struct Lane {
    /// The next `seq` to release.
    next: i64,
    /// Events that arrived ahead of `next`, by `seq`.
    held: BTreeMap<i64, CommittedEvent>,
    /// When the oldest unfilled gap was first seen.
    waiting_since: Option<Instant>,
}

/// A hole to fill from the log: the events `after < seq <= upto` of `channel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub channel: ChannelId,
    /// The channel's owner (from a held event), for the events read back.
    pub owner: UserId,
    pub after: i64,
    pub upto: i64,
}

#[derive(Default)]
pub struct Sequencer {
    lanes: HashMap<ChannelId, Lane>,
}

/// What happened to an offered event, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Released (possibly with held events behind it).
    Released,
    /// Held until the events before it are known.
    Held,
    /// Already released: dropped.
    Duplicate,
}

impl Sequencer {
    /// Takes one committed event and appends to `out` every event of its channel that can now
    /// go out, in `seq` order.
    pub fn offer(
        &mut self,
        ev: CommittedEvent,
        now: Instant,
        out: &mut Vec<CommittedEvent>,
    ) -> Offered {
        let seq = ev.event.seq;
        let lane = match self.lanes.get_mut(&ev.event.channel_id) {
            Some(lane) => lane,
            None => {
                // First event of this channel since start: nothing was released before it.
                let lane = self.lanes.entry(ev.event.channel_id.clone()).or_default();
                lane.next = seq;
                lane
            }
        };
        if seq < lane.next {
            return Offered::Duplicate;
        }
        if seq > lane.next {
            if lane.held.insert(seq, ev).is_some() {
                return Offered::Duplicate;
            }
            lane.waiting_since.get_or_insert(now);
            if lane.held.len() > HELD_CAP {
                skip_to_held(lane, now, out);
            }
            return Offered::Held;
        }
        out.push(ev);
        lane.next = seq + 1;
        release(lane, now, out);
        Offered::Released
    }

    /// The gaps that have waited at least [`GAP_WAIT`] at `now`.
    pub fn overdue(&self, now: Instant) -> Vec<Gap> {
        self.lanes
            .iter()
            .filter_map(|(channel, lane)| {
                let since = lane.waiting_since?;
                let (first_held, held) = lane.held.first_key_value()?;
                (now.duration_since(since) >= GAP_WAIT).then(|| Gap {
                    channel: channel.clone(),
                    owner: held.owner_id.clone(),
                    after: lane.next - 1,
                    upto: first_held - 1,
                })
            })
            .collect()
    }

    /// When the earliest held gap becomes overdue, if any is held.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.lanes
            .values()
            .filter_map(|l| l.waiting_since)
            .min()
            .map(|t| t + GAP_WAIT)
    }

    /// Fills `gap` with the events the log holds for it (ascending), releasing them and the
    /// held events behind them. What the log does not hold any more is skipped: the workers
    /// see the jump and resume or reset their subscribers from the log themselves.
    pub fn fill(
        &mut self,
        gap: &Gap,
        from_log: Vec<CommittedEvent>,
        now: Instant,
        out: &mut Vec<CommittedEvent>,
    ) {
        let Some(lane) = self.lanes.get_mut(&gap.channel) else {
            return;
        };
        for ev in from_log {
            let seq = ev.event.seq;
            if seq < lane.next || seq > gap.upto {
                continue;
            }
            // A hole inside the page (pruned mid-range): jump over it.
            lane.next = seq + 1;
            out.push(ev);
        }
        if lane.next <= gap.upto {
            lane.next = gap.upto + 1;
        }
        release(lane, now, out);
    }
}

/// Releases the held events that follow `next` without a hole; restarts the gap clock at
/// `now` if a hole remains.
fn release(lane: &mut Lane, now: Instant, out: &mut Vec<CommittedEvent>) {
    while let Some(entry) = lane.held.first_entry() {
        if *entry.key() < lane.next {
            entry.remove();
        } else if *entry.key() == lane.next {
            out.push(entry.remove());
            lane.next += 1;
        } else {
            break;
        }
    }
    lane.waiting_since = (!lane.held.is_empty()).then_some(now);
}

fn skip_to_held(lane: &mut Lane, now: Instant, out: &mut Vec<CommittedEvent>) {
    if let Some((first, _)) = lane.held.first_key_value() {
        lane.next = *first;
    }
    release(lane, now, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use assent_core::{DomainEvent, LoggedEvent, Millis};

    fn ev(channel: &str, seq: i64) -> CommittedEvent {
        CommittedEvent {
            owner_id: UserId::from_trusted("u".into()),
            event: LoggedEvent {
                channel_id: ChannelId::from_trusted(channel.into()),
                seq,
                at: Millis(0),
                event: DomainEvent::ChannelRead {
                    user_id: UserId::from_trusted("u".into()),
                },
            },
        }
    }

    fn seqs(out: &[CommittedEvent]) -> Vec<i64> {
        out.iter().map(|e| e.event.seq).collect()
    }

    #[test]
    fn in_order_events_pass_straight_through() {
        let mut s = Sequencer::default();
        let mut out = Vec::new();
        let t = Instant::now();
        for n in 5..10 {
            assert_eq!(s.offer(ev("a", n), t, &mut out), Offered::Released);
        }
        assert_eq!(seqs(&out), vec![5, 6, 7, 8, 9]);
        assert!(s.next_deadline().is_none());
    }

    #[test]
    fn early_events_wait_for_the_missing_ones_and_duplicates_are_dropped() {
        let mut s = Sequencer::default();
        let mut out = Vec::new();
        let t = Instant::now();
        s.offer(ev("a", 1), t, &mut out);
        assert_eq!(s.offer(ev("a", 3), t, &mut out), Offered::Held);
        assert_eq!(s.offer(ev("a", 4), t, &mut out), Offered::Held);
        // Another channel is not held up by a's gap.
        s.offer(ev("b", 7), t, &mut out);
        assert_eq!(seqs(&out), vec![1, 7]);
        assert_eq!(s.offer(ev("a", 2), t, &mut out), Offered::Released);
        assert_eq!(seqs(&out), vec![1, 7, 2, 3, 4]);
        assert_eq!(s.offer(ev("a", 3), t, &mut out), Offered::Duplicate);
        assert_eq!(s.offer(ev("a", 1), t, &mut out), Offered::Duplicate);
        assert!(s.next_deadline().is_none());
    }

    #[test]
    fn an_overdue_gap_is_filled_from_the_log_and_what_it_lacks_is_skipped() {
        let mut s = Sequencer::default();
        let mut out = Vec::new();
        let t = Instant::now();
        s.offer(ev("a", 10), t, &mut out);
        s.offer(ev("a", 14), t, &mut out);
        assert!(s.overdue(t).is_empty(), "not yet overdue");
        assert_eq!(s.next_deadline(), Some(t + GAP_WAIT));
        let gaps = s.overdue(t + GAP_WAIT);
        let gap = Gap {
            channel: ChannelId::from_trusted("a".into()),
            owner: UserId::from_trusted("u".into()),
            after: 10,
            upto: 13,
        };
        assert_eq!(gaps, vec![gap.clone()]);
        // The log holds 11 and 13 (12 was pruned); 11 also arrives late afterwards.
        s.fill(&gap, vec![ev("a", 11), ev("a", 13)], t, &mut out);
        assert_eq!(seqs(&out), vec![10, 11, 13, 14]);
        assert_eq!(s.offer(ev("a", 11), t, &mut out), Offered::Duplicate);
        assert_eq!(s.offer(ev("a", 15), t, &mut out), Offered::Released);
        assert!(s.next_deadline().is_none());
    }

    #[test]
    fn shuffled_bursts_come_out_in_order_exactly_once() {
        // A deterministic shuffle: each burst of 8 is reversed, some events come twice.
        let mut s = Sequencer::default();
        let mut out = Vec::new();
        let t = Instant::now();
        s.offer(ev("a", 0), t, &mut out);
        for burst in 0..100 {
            let base = 1 + burst * 8;
            for n in (base..base + 8).rev() {
                s.offer(ev("a", n), t, &mut out);
                if n % 3 == 0 {
                    s.offer(ev("a", n), t, &mut out);
                }
            }
        }
        assert_eq!(seqs(&out), (0..801).collect::<Vec<_>>());
    }
}
