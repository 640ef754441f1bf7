//! Counter increments, added up in the VM and handed to the host once per tick: a hostcall
//! per counter per request costs more than the rest of a cached token's check.

use super::host;

#[derive(Default)]
pub struct Tally {
    /// (host counter id, increments not yet handed over)
    pending: Vec<(u32, u64)>,
}

impl Tally {
    pub fn add(&mut self, counter: Option<u32>) {
        let Some(id) = counter else { return };
        match self.pending.iter_mut().find(|(pending, _)| *pending == id) {
            Some((_, count)) => *count = count.saturating_add(1),
            None => self.pending.push((id, 1)),
        }
    }

    /// Hands every pending increment to the host.
    pub fn flush(&mut self) {
        for (id, count) in self.pending.drain(..) {
            host::increment_by(id, count);
        }
    }
}
