//! Parked long-polls (`GET /api/v1/reviews/:id/wait`): each waiter registers for a message
//! id *before* it reads the store and is woken by the fan-out when that review is answered
//! or expires. No polling; a waiter that goes away (client disconnect) unregisters on drop.

use assent_core::MessageId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Parked waiters of one message: registration key and wake-up sender.
type Parked = Vec<(u64, oneshot::Sender<()>)>;

#[derive(Default)]
pub struct Waiters {
    next: AtomicU64,
    map: Mutex<HashMap<MessageId, Parked>>,
}

/// A registration; dropping it unregisters.
pub struct WaitGuard {
    waiters: Arc<Waiters>,
    id: MessageId,
    key: u64,
    pub rx: oneshot::Receiver<()>,
}

impl Waiters {
    pub fn register(self: &Arc<Self>, id: &MessageId) -> WaitGuard {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.map
            .lock()
            .expect("waiters lock poisoned")
            .entry(id.clone())
            .or_default()
            .push((key, tx));
        WaitGuard {
            waiters: self.clone(),
            id: id.clone(),
            key,
            rx,
        }
    }

    /// Wakes every waiter of `id`.
    pub fn wake(&self, id: &MessageId) {
        let list = self.map.lock().expect("waiters lock poisoned").remove(id);
        for (_, tx) in list.into_iter().flatten() {
            let _ = tx.send(());
        }
    }

    /// Parked waiters (for metrics and tests).
    pub fn count(&self) -> usize {
        self.map
            .lock()
            .expect("waiters lock poisoned")
            .values()
            .map(Vec::len)
            .sum()
    }
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        let mut map = self.waiters.map.lock().expect("waiters lock poisoned");
        if let Some(list) = map.get_mut(&self.id) {
            list.retain(|(k, _)| *k != self.key);
            if list.is_empty() {
                map.remove(&self.id);
            }
        }
    }
}
