//! What the end-to-end tests that run the real `motcua serve` share: start it on a database,
//! read the address it prints, and make sure it never outlives the test (killed and reaped
//! when dropped, so no process or zombie is left).

// Each test file uses a part of this module.
#![allow(dead_code)]

pub mod api;

pub mod web;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A free loopback address (`127.0.0.1:PORT`): bound, read and released.
pub fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("its address");
    format!("127.0.0.1:{}", address.port())
}

/// A running `motcua serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: PathBuf,
    /// Kept open so that the server's standard output never becomes a broken pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `motcua --database DATABASE serve --listen 127.0.0.1:0 ARGS...` with its log in
    /// `log`, isolated from the caller's `MOTCUA_*` settings, and waits (blocking) for the
    /// `listening on ADDR` line.
    pub fn start(database: &str, log: &Path, args: &[&str]) -> Server {
        Server::start_on(database, log, "127.0.0.1:0", args)
    }

    /// [`Server::start`] on a given address (`127.0.0.1:PORT`, e.g. from [`free_port`]): for
    /// servers that must know each other's address before they start, or a restart on the
    /// same address.
    pub fn start_on(database: &str, log: &Path, listen: &str, args: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_motcua"));
        command
            .args(["--database", database, "serve", "--listen", listen])
            .args(args);
        for var in [
            "MOTCUA_DATABASE_URL",
            "MOTCUA_USER",
            "MOTCUA_LISTEN",
            "MOTCUA_JWT_SECRET_FILE",
            "MOTCUA_JWKS_FILE",
            "MOTCUA_JWT_ISSUER",
            "MOTCUA_JWT_AUDIENCE",
        ] {
            command.env_remove(var);
        }
        let mut child = command
            .env("MOTCUA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).expect("a log file"))
            .spawn()
            .expect("the motcua binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send((read, reader));
        });
        let (line, reader) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((Ok(line), reader)) => (line, reader),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "motcua serve printed no address ({:?}); its log:\n{}",
                    other.map(|(l, _)| l),
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        };
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Server {
            child,
            base,
            log: log.to_owned(),
            _stdout: reader,
        }
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().expect("reap the server");
        assert!(!status.success(), "a killed server does not exit cleanly");
    }

    /// Sends SIGTERM and waits for the exit (graceful shutdown).
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "motcua serve did not stop within 30 s of SIGTERM; its log:\n{}",
                self.log_text()
            );
            // Waiting for another process to exit.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
