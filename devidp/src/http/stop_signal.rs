//! How the dev server binaries learn that they should stop.

use std::sync::mpsc;

/// SIGINT or SIGTERM (SIGHUP too). Handled rather than left to their default action, so a
/// server stops this way also as PID 1 in a container, where the kernel delivers no signal
/// that the process does not handle.
pub struct StopSignal(mpsc::Receiver<()>);

impl StopSignal {
    /// Installs the handler: once per process, before starting what it is to stop, so an
    /// early signal is not lost.
    pub fn install() -> Result<StopSignal, String> {
        let (sender, receiver) = mpsc::channel();
        ctrlc::set_handler(move || {
            // Fails only once the receiver is gone, when nobody is waiting any more.
            let _ = sender.send(());
        })
        .map_err(|e| format!("cannot handle SIGINT and SIGTERM: {e}"))?;
        Ok(StopSignal(receiver))
    }

    /// Blocks until the signal arrives.
    pub fn wait(&self) {
        // A closed channel cannot happen while `self` holds the receiver and the handler
        // the sender; if it did, stopping is the right answer too.
        let _ = self.0.recv();
    }
}
