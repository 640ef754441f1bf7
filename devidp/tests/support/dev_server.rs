//! Runs a dev server binary (devidp, echo-upstream), holds a request in flight, signals
//! the process and times its exit. Shared by devidp's and devstack's shutdown tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A container engine waits this long after SIGTERM before it kills (ours: well under).
pub const STOP_BUDGET: Duration = Duration::from_secs(2);

pub struct DevServer {
    child: Child,
    /// The process to signal: the server itself, also inside a PID namespace.
    pid: u32,
    pub addr: SocketAddr,
    lines: mpsc::Receiver<String>,
}

impl DevServer {
    /// Starts `program` with `args` and waits for its `listening on http://ADDR` line.
    pub fn start(program: &str, args: &[&str]) -> DevServer {
        let mut command = Command::new(program);
        command.args(args);
        DevServer::spawn(command, false)
    }

    /// Like [`DevServer::start`], as PID 1 of a new PID namespace, as in a container: there
    /// the kernel delivers no signal the process does not handle. `None` where this machine
    /// cannot make one (unshare needs root or user namespaces).
    pub fn start_as_pid_1(program: &str, args: &[&str]) -> Option<DevServer> {
        let probe = Command::new("unshare")
            .args(["--pid", "--fork", "true"])
            .stderr(Stdio::null())
            .status();
        if !probe.is_ok_and(|s| s.success()) {
            eprintln!("skipped: no PID namespace can be made here (unshare --pid failed)");
            return None;
        }
        let mut command = Command::new("unshare");
        command
            .args(["--pid", "--fork", "--kill-child", program])
            .args(args);
        Some(DevServer::spawn(command, true))
    }

    fn spawn(mut command: Command, in_namespace: bool) -> DevServer {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(30)).unwrap();
        let addr = first
            .split_once("listening on ")
            .and_then(|(_, rest)| rest.split_once("://"))
            .and_then(|(_, rest)| rest.split(['/', ' ']).next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        let pid = if in_namespace {
            // unshare's only child is the server, PID 1 inside the namespace.
            let children = format!("/proc/{0}/task/{0}/children", child.id());
            let listed = std::fs::read_to_string(children).unwrap();
            listed.trim().parse().unwrap()
        } else {
            child.id()
        };
        DevServer {
            child,
            pid,
            addr,
            lines,
        }
    }

    /// Sends `signal` (`TERM`, `INT`) to the server.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args(["-s", signal, &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -s {signal} {}", self.pid);
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to end: its status and how long that took.
    pub fn wait_exit(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(started.elapsed() < Duration::from_secs(10), "still running");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// What it printed after the listening line.
    pub fn printed(&self) -> Vec<String> {
        thread::sleep(Duration::from_millis(50));
        self.lines.try_iter().collect()
    }

    /// Sends `head` (which asks `Expect: 100-continue`) and waits for the `100 Continue`:
    /// from then on the server is reading this request. The caller sends the body.
    pub fn request_in_flight(&self, head: &str) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut interim = [0u8; 25];
        stream.read_exact(&mut interim).unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
        stream
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends the rest of the request and reads the answer to the end.
pub fn finish(mut stream: TcpStream, body: &str) -> String {
    stream.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
