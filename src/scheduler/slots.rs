//! The run's one `-j` limit: a pipeline's dispatcher and its child pipelines' dispatchers take
//! their slots from the same `Slots`, so a parent and its children run at most `-j` jobs at once
//! between them. A trigger job gives its slot back once its child starts: it runs nothing
//! itself (GitLab runs bridge jobs on no runner), and holding it would let a child wait for a
//! slot its own trigger job holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

#[derive(Clone)]
pub struct Slots(Arc<Inner>);

struct Inner {
    max: usize,
    used: AtomicUsize,
    /// Counts slots given back: every dispatcher sharing the slots watches it, so one that
    /// waits for room looks again when another frees one.
    freed: watch::Sender<u64>,
}

impl Slots {
    pub fn new(max: usize) -> Slots {
        Slots(Arc::new(Inner {
            max: max.max(1),
            used: AtomicUsize::new(0),
            freed: watch::Sender::new(0),
        }))
    }

    pub fn has_room(&self) -> bool {
        self.0.used.load(Ordering::SeqCst) < self.0.max
    }

    pub fn take(&self) {
        self.0.used.fetch_add(1, Ordering::SeqCst);
    }

    pub fn give_back(&self) {
        self.0.used.fetch_sub(1, Ordering::SeqCst);
        self.0.freed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes each time a slot is given back.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.0.freed.subscribe()
    }

    /// Slots in use, by every dispatcher sharing them.
    pub fn used(&self) -> usize {
        self.0.used.load(Ordering::SeqCst)
    }
}
