//! Free local ports for tests.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// Ports this process has handed out: never handed out twice.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Asks the OS for a port that is free on 127.0.0.1 right now, and that this process has not
/// handed out before.
///
/// The listener is dropped before returning, so the OS may offer the same port again to the
/// next caller (two picked in a row for one Envoy's listener and admin, or by tests running
/// side by side); remembering what was handed out rules that out within the process. Another
/// process could still take the port first; that race is rare enough for tests.
pub fn free_port() -> std::io::Result<u16> {
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_a_bindable_port() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn never_hands_out_a_port_twice() {
        let ports: Vec<u16> = (0..200).map(|_| free_port().unwrap()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }
}
