//! Free local ports for tests.

use std::net::TcpListener;

/// Asks the OS for a port that is free on 127.0.0.1 right now.
///
/// The listener is dropped before returning, so another process could in
/// principle grab the port first; in practice that race is rare enough for tests.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
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
}
