//! Running a device tool (`scanimage`, `ffmpeg`) as a child: its output as lines (split at
//! `\n` and at `\r`, which progress meters use), cancellation with SIGTERM so the tool can
//! tell the device to stop, then SIGKILL if it does not exit.

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Cancel, Error, Result};

/// How long a tool gets to stop after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(3);
/// How many of the last stderr lines are kept for error messages.
const KEEP_LINES: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    Out(String),
    Err(String),
}

#[derive(Debug)]
pub(crate) struct Outcome {
    pub status: ExitStatus,
    /// The last stderr lines, oldest first.
    pub stderr: Vec<String>,
    pub cancelled: bool,
}

/// Kills the child if the caller unwinds (the child never outlives its scan).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn pump(mut from: impl Read, tx: mpsc::Sender<Line>, make: fn(String) -> Line) {
    let mut buf = [0u8; 4096];
    let mut line = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' || b == b'\r' {
                if !line.is_empty() {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    line.clear();
                    if tx.send(make(text)).is_err() {
                        return;
                    }
                }
            } else {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        let _ = tx.send(make(String::from_utf8_lossy(&line).into_owned()));
    }
}

/// Run `cmd` to its end, handing each output line to `on_line`.
pub(crate) fn run(
    mut cmd: Command,
    tool: &'static str,
    package: &'static str,
    cancel: &Cancel,
    on_line: &mut dyn FnMut(Line),
) -> Result<Outcome> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::ToolMissing { tool, package },
        _ => Error::Failed(format!("{tool} cannot start: {e}")),
    })?;
    let mut guard = Guard(child);
    let (tx, rx) = mpsc::channel();
    let mut pumps = Vec::new();
    if let Some(out) = guard.0.stdout.take() {
        let tx = tx.clone();
        pumps.push(std::thread::spawn(move || pump(out, tx, Line::Out)));
    }
    if let Some(err) = guard.0.stderr.take() {
        let tx = tx.clone();
        pumps.push(std::thread::spawn(move || pump(err, tx, Line::Err)));
    }
    drop(tx);
    let mut stderr = VecDeque::new();
    let mut terminated_at: Option<Instant> = None;
    let mut killed = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                if let Line::Err(text) = &line {
                    if stderr.len() == KEEP_LINES {
                        stderr.pop_front();
                    }
                    stderr.push_back(text.clone());
                }
                on_line(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if cancel.is_cancelled() && terminated_at.is_none() {
            tracing::info!("{tool}: cancelling");
            terminated_at = Some(Instant::now());
            let pid = nix::unistd::Pid::from_raw(guard.0.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        if let Some(at) = terminated_at
            && !killed
            && at.elapsed() > GRACE
        {
            tracing::warn!("{tool} did not stop within {GRACE:?}; killing it");
            let _ = guard.0.kill();
            killed = true;
        }
    }
    for p in pumps {
        let _ = p.join();
    }
    let status = guard
        .0
        .wait()
        .map_err(|e| Error::Failed(format!("{tool}: {e}")))?;
    Ok(Outcome {
        status,
        stderr: stderr.into(),
        cancelled: terminated_at.is_some(),
    })
}
