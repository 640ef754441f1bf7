//! The host calls that wake the other worker VMs when this one shares a new key set; what
//! they mean is in [`crate::keys::wake`].

use super::{abi, host};
use crate::keys::wake;
use std::time::Duration;

/// This VM's shared queue, and when it next says in the directory that it is alive.
pub struct Wake {
    queue: u32,
    next_heartbeat: Duration,
}

impl Wake {
    /// Registers this VM's queue under a number of its own and enters it in the directory;
    /// `None` (and a log line) if the host will not: the VM then takes new key sets when its
    /// own fetch comes due, as if alone.
    pub fn register(now: Duration) -> Option<Wake> {
        let registered = host::shared_update(wake::SEQUENCE_KEY, wake::next_number)
            .and_then(|written| wake::read_number(&written))
            .and_then(|number| abi::register_shared_queue(&wake::queue_name(number)).ok());
        let Some(queue) = registered else {
            log::warn!(
                "jwt-authz: no shared queue: other workers take new key sets when their own fetch is due"
            );
            return None;
        };
        let mut wake = Wake {
            queue,
            next_heartbeat: now,
        };
        wake.heartbeat(now);
        Some(wake)
    }

    /// Says in the directory that this VM is alive, every [`wake::HEARTBEAT`].
    pub fn heartbeat(&mut self, now: Duration) {
        if now < self.next_heartbeat {
            return;
        }
        let queue = self.queue;
        if host::shared_update(wake::DIRECTORY_KEY, |directory| {
            wake::heartbeat(directory, queue, now)
        })
        .is_some()
        {
            self.next_heartbeat = now + wake::HEARTBEAT;
        }
    }

    /// Puts a notice of the key set in `record_key` on every other live VM's queue.
    pub fn notify(&self, record_key: &str, now: Duration) {
        let directory = host::shared_get(wake::DIRECTORY_KEY);
        for queue in wake::recipients(directory.as_deref(), Some(self.queue), now) {
            // A queue whose VM is gone answers NotFound: nothing to wake.
            let _ = abi::enqueue_shared_queue(queue, wake::notice(record_key));
        }
    }

    pub fn is_own_queue(&self, queue: u32) -> bool {
        self.queue == queue
    }

    /// The notices waiting on this VM's queue (at most a bounded number per call; the host
    /// calls again for the rest).
    pub fn take_notices(&self) -> Vec<Vec<u8>> {
        let mut notices = Vec::new();
        while notices.len() < wake::MAX_QUEUES {
            match abi::dequeue_shared_queue(self.queue) {
                Ok(Some(notice)) => notices.push(notice),
                _ => break,
            }
        }
        notices
    }
}
