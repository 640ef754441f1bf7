//! Every worker VM decides with a new key set as soon as one VM has it.
//!
//! One VM fetches a key set and shares it ([`crate::keys::share`]); the others would take it
//! only when their own fetch came due, and meanwhile go on accepting a key the issuer removed.
//! Polling the shared record on every request would cost a host call each. Instead each VM
//! registers a shared queue of its own, and the VM that shares a new key set puts a notice on
//! every other VM's queue: the host then calls that VM (`on_queue_ready`) on its own thread,
//! before it reads its next request, and it adopts the record.
//!
//! Envoy's shared queues are named per VM id, which all workers share, and a name registered
//! twice is one queue (its last registrant is the one woken): so each VM takes a number of its
//! own from a shared counter and names its queue with it. The VMs find each other's queues in a
//! shared *directory*: one line per queue with the time its VM last said it was alive. A VM that
//! stops saying so (its worker ended, the configuration was replaced) drops out of the directory
//! after [`STALE_AFTER`], so notices do not pile up in queues nobody reads.
//!
//! This module is the pure part: names, encodings and the decisions; `filter` does the calls.

use std::time::Duration;

/// Shared-data key of the counter that numbers the VMs' queues.
pub const SEQUENCE_KEY: &str = "jwt_authz.wake.sequence";
/// Shared-data key of the directory of queues.
pub const DIRECTORY_KEY: &str = "jwt_authz.wake.directory";
/// How often a VM says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A queue whose VM has not said it is alive for this long is left out.
pub const STALE_AFTER: Duration = Duration::from_secs(35);
/// Queues listed at most: far more than workers times filter configurations in one Envoy.
pub const MAX_QUEUES: usize = 256;

/// The name of the queue of the VM numbered `number`.
pub fn queue_name(number: u64) -> String {
    format!("jwt_authz.wake.{number}")
}

/// The counter's value, as read from shared data (a little-endian u64).
pub fn read_number(counter: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(counter.try_into().ok()?))
}

/// The counter after the next VM took its number: that number, given the counter as read
/// (absent or unreadable: the first VM takes 0).
pub fn next_number(counter: Option<&[u8]>) -> Vec<u8> {
    let next = counter
        .and_then(read_number)
        .map_or(0, |n| n.wrapping_add(1));
    next.to_le_bytes().to_vec()
}

/// One queue of the directory: the host's id for it, and when its VM last said it was alive
/// (ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub queue: u32,
    pub alive_at: u64,
}

/// An entry in the directory: the queue id and the time, little-endian.
const ENTRY_BYTES: usize = 12;

/// The entries of a directory as read from shared data (a trailing partial entry is dropped).
pub fn decode_directory(directory: Option<&[u8]>) -> Vec<Entry> {
    directory
        .unwrap_or_default()
        .chunks_exact(ENTRY_BYTES)
        .take(MAX_QUEUES)
        .map(|entry| {
            let (queue, alive_at) = entry.split_at(4);
            Entry {
                queue: u32::from_le_bytes(queue.try_into().unwrap_or_default()),
                alive_at: u64::from_le_bytes(alive_at.try_into().unwrap_or_default()),
            }
        })
        .collect()
}

fn encode_directory(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_BYTES);
    for entry in entries {
        out.extend_from_slice(&entry.queue.to_le_bytes());
        out.extend_from_slice(&entry.alive_at.to_le_bytes());
    }
    out
}

fn millis(at: Duration) -> u64 {
    u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
}

fn is_live(entry: &Entry, now: Duration) -> bool {
    entry.alive_at.saturating_add(millis(STALE_AFTER)) > millis(now)
}

/// The directory after `queue` says it is alive at `now`: stale entries dropped, and the
/// oldest ones too when the directory is full.
pub fn heartbeat(directory: Option<&[u8]>, queue: u32, now: Duration) -> Vec<u8> {
    let mut entries: Vec<Entry> = decode_directory(directory)
        .into_iter()
        .filter(|e| e.queue != queue && is_live(e, now))
        .collect();
    entries.push(Entry {
        queue,
        alive_at: millis(now),
    });
    while entries.len() > MAX_QUEUES {
        let oldest = entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.alive_at)
            .map(|(at, _)| at);
        if let Some(at) = oldest {
            entries.remove(at);
        }
    }
    encode_directory(&entries)
}

/// The queues to notify of a new key set: every live one but the sender's own.
pub fn recipients(directory: Option<&[u8]>, own: Option<u32>, now: Duration) -> Vec<u32> {
    decode_directory(directory)
        .into_iter()
        .filter(|e| Some(e.queue) != own && is_live(e, now))
        .map(|e| e.queue)
        .collect()
}

/// The notice of a new key set names the shared record it is in
/// ([`crate::keys::share::Keys::record`]): a VM adopts it if it has a provider with that source.
pub fn notice(record_key: &str) -> &[u8] {
    record_key.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(1_700_000_000);

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn each_vm_takes_the_next_number_and_names_its_queue_with_it() {
        let first = next_number(None);
        assert_eq!(read_number(&first), Some(0));
        let second = next_number(Some(&first));
        assert_eq!(read_number(&second), Some(1));
        assert_eq!(read_number(&next_number(Some(b"junk"))), Some(0));
        assert_eq!(read_number(b"junk"), None);
        assert_eq!(queue_name(7), "jwt_authz.wake.7");
    }

    #[test]
    fn a_heartbeat_adds_or_refreshes_the_own_entry() {
        let one = heartbeat(None, 5, T);
        assert_eq!(
            decode_directory(Some(&one)),
            vec![Entry {
                queue: 5,
                alive_at: millis(T)
            }]
        );
        let two = heartbeat(Some(&one), 9, T + s(1));
        let again = heartbeat(Some(&two), 5, T + s(2));
        assert_eq!(
            decode_directory(Some(&again)),
            vec![
                Entry {
                    queue: 9,
                    alive_at: millis(T + s(1))
                },
                Entry {
                    queue: 5,
                    alive_at: millis(T + s(2))
                },
            ]
        );
    }

    #[test]
    fn queues_whose_vm_went_quiet_drop_out() {
        let directory = heartbeat(None, 1, T);
        let directory = heartbeat(Some(&directory), 2, T + s(30));
        assert_eq!(recipients(Some(&directory), Some(2), T + s(34)), vec![1]);
        assert_eq!(
            recipients(Some(&directory), Some(2), T + STALE_AFTER),
            Vec::<u32>::new(),
            "stale, not notified"
        );
        let refreshed = heartbeat(Some(&directory), 2, T + STALE_AFTER);
        assert_eq!(
            decode_directory(Some(&refreshed)),
            vec![Entry {
                queue: 2,
                alive_at: millis(T + STALE_AFTER)
            }],
            "and removed by the next heartbeat"
        );
    }

    #[test]
    fn a_sender_notifies_every_live_queue_but_its_own() {
        let mut directory = None;
        for queue in 1..=4 {
            directory = Some(heartbeat(directory.as_deref(), queue, T));
        }
        assert_eq!(recipients(directory.as_deref(), Some(3), T), vec![1, 2, 4]);
        assert_eq!(recipients(directory.as_deref(), None, T), vec![1, 2, 3, 4]);
        assert_eq!(recipients(None, Some(3), T), Vec::<u32>::new());
    }

    #[test]
    fn the_directory_stays_bounded_and_keeps_the_freshest() {
        let mut directory = None;
        for queue in 0..(MAX_QUEUES as u32 + 10) {
            directory = Some(heartbeat(
                directory.as_deref(),
                queue,
                T + Duration::from_millis(u64::from(queue)),
            ));
        }
        let entries = decode_directory(directory.as_deref());
        assert_eq!(entries.len(), MAX_QUEUES);
        assert!(entries.iter().all(|e| e.queue >= 10), "the oldest went");
    }

    #[test]
    fn a_partial_entry_is_ignored() {
        let mut directory = heartbeat(None, 1, T);
        directory.extend_from_slice(&[7, 7, 7]);
        assert_eq!(recipients(Some(&directory), None, T), vec![1]);
        assert_eq!(decode_directory(Some(&[1, 2, 3])), Vec::new());
    }
}
