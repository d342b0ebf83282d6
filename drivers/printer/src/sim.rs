//! The simulator: a 58 mm ESC/POS printer on a pseudo-terminal. The real driver opens its
//! device path exactly as it opens a printer.
//!
//! It parses what arrives with the same [`Parser`] the renderer uses, answers `DLE EOT n`
//! at once (in stream order, after the bytes before it), and keeps every receipt it printed
//! (the bytes up to and including each cut). While it is out of paper, its cover is open or
//! it is in error, it prints nothing (the bytes are counted as lost) but still answers.
//! Faults: out of paper, near end, cover open, error, silent (powered off behind its USB
//! adapter), unplugged (the port goes away), and the same after a number of bytes, to
//! interrupt a job half-way.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use pty_sim::Pty;
use tokio::sync::Notify;

use crate::escpos::{Op, Parser};
use crate::status::Status;

#[derive(Default)]
struct State {
    status: Status,
    silent: bool,
    xon: bool,
    plugged: bool,
    shutdown: bool,
    path: Option<PathBuf>,
    /// Unplug once this many more bytes have arrived.
    unplug_after: Option<usize>,
    /// Run out of paper once this many more bytes have been printed.
    paper_out_after: Option<usize>,
    current: Vec<u8>,
    receipts: Vec<Vec<u8>>,
    taken: usize,
    received: usize,
    lost: usize,
    queries: usize,
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopping(&self) -> bool {
        let st = self.lock();
        st.shutdown || !st.plugged
    }
}

struct Inner {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

/// A running simulator; clones are handles to the same one. It stops when the last handle
/// is dropped.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Open a pseudo-terminal and start answering on it (in a thread of its own).
    pub fn start() -> io::Result<Simulator> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                plugged: true,
                ..State::default()
            }),
            wake: Notify::new(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("printer-sim".into())
                .spawn(move || thread_main(shared, tx))?
        };
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(io::Error::other("the simulator thread stopped at once"));
            }
        }
        Ok(Simulator {
            inner: Arc::new(Inner {
                shared,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The device path to open (e.g. `/dev/pts/3`); empty while unplugged.
    pub fn path(&self) -> PathBuf {
        self.shared().lock().path.clone().unwrap_or_default()
    }

    /// The state the printer reports.
    pub fn status(&self) -> Status {
        self.shared().lock().status
    }

    /// Set the state it reports (out of paper, cover open, ...).
    pub fn set_status(&self, status: Status) {
        self.shared().lock().status = status;
    }

    pub fn set_paper_out(&self, on: bool) {
        self.shared().lock().status.paper_out = on;
    }

    pub fn set_cover_open(&self, on: bool) {
        self.shared().lock().status.cover_open = on;
    }

    /// Powered off behind its USB adapter: the port is there, nothing answers or prints.
    pub fn set_silent(&self, on: bool) {
        self.shared().lock().silent = on;
    }

    /// Send XON (software flow control) before each status answer, as printers set to
    /// XON/XOFF do when their buffer drains.
    pub fn set_xon_noise(&self, on: bool) {
        self.shared().lock().xon = on;
    }

    /// Pull the USB plug once `n` more bytes have arrived.
    pub fn unplug_after(&self, n: usize) {
        self.shared().lock().unplug_after = Some(n);
    }

    /// Run out of paper once `n` more bytes have been printed.
    pub fn paper_out_after(&self, n: usize) {
        self.shared().lock().paper_out_after = Some(n);
    }

    /// Pull the USB plug: the pseudo-terminal closes (the driver's reads and writes fail).
    pub fn unplug(&self) {
        self.shared().lock().plugged = false;
        self.shared().wake.notify_one();
        self.wait_path(false);
    }

    /// Plug it back in: a new pseudo-terminal (see [`Simulator::path`]).
    pub fn replug(&self) {
        {
            // A printer that lost its power lost what it had half-printed too.
            let mut st = self.shared().lock();
            st.plugged = true;
            st.current.clear();
        }
        self.shared().wake.notify_one();
        self.wait_path(true);
    }

    fn wait_path(&self, present: bool) {
        for _ in 0..400 {
            if self.shared().lock().path.is_some() == present {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn plugged(&self) -> bool {
        self.shared().lock().plugged
    }

    /// Every receipt printed so far (each up to and including its cut), oldest first.
    pub fn receipts(&self) -> Vec<Vec<u8>> {
        self.shared().lock().receipts.clone()
    }

    /// The receipts printed since the last call.
    pub fn take_new_receipts(&self) -> Vec<Vec<u8>> {
        let mut st = self.shared().lock();
        let new = st.receipts[st.taken..].to_vec();
        st.taken = st.receipts.len();
        new
    }

    /// Bytes printed since the last cut (a receipt still being printed, or cut short).
    pub fn unfinished(&self) -> Vec<u8> {
        self.shared().lock().current.clone()
    }

    /// Bytes that arrived while the printer could not print.
    pub fn lost_bytes(&self) -> usize {
        self.shared().lock().lost
    }

    /// Status queries answered.
    pub fn queries(&self) -> usize {
        self.shared().lock().queries
    }
}

fn thread_main(shared: Arc<Shared>, started: std::sync::mpsc::Sender<io::Result<()>>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    rt.block_on(async move {
        let mut started = Some(started);
        loop {
            let (shutdown, plugged) = {
                let st = shared.lock();
                (st.shutdown, st.plugged)
            };
            if shutdown {
                return;
            }
            if !plugged {
                shared.wake.notified().await;
                continue;
            }
            let pty = match Pty::open() {
                Ok(p) => p,
                Err(e) => {
                    if let Some(s) = started.take() {
                        let _ = s.send(Err(e));
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            shared.lock().path = Some(pty.path.clone());
            if let Some(s) = started.take() {
                let _ = s.send(Ok(()));
            }
            serve(&shared, &pty).await;
            drop(pty);
            let mut st = shared.lock();
            st.path = None;
            // Whatever was half-received is gone with the port; the parser starts afresh.
        }
    });
}

async fn serve(shared: &Shared, pty: &Pty) {
    let mut parser = Parser::new();
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            r = pty.read(&mut buf) => match r {
                Ok(0) | Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                Ok(n) => {
                    let mut answers = Vec::new();
                    let unplug = take_in(shared, &mut parser, &buf[..n], &mut answers);
                    if !answers.is_empty() && pty.write_all(&answers).await.is_err() {
                        return;
                    }
                    if unplug {
                        shared.lock().plugged = false;
                        return;
                    }
                }
            },
            _ = shared.wake.notified() => {}
        }
        if shared.stopping() {
            return;
        }
    }
}

/// Take `bytes` in: print, capture, collect status answers. True when the plug is pulled.
fn take_in(shared: &Shared, parser: &mut Parser, bytes: &[u8], answers: &mut Vec<u8>) -> bool {
    let mut st = shared.lock();
    if st.silent {
        return false;
    }
    // Bytes beyond an unplug point never arrive.
    let mut unplug = false;
    let bytes = match st.unplug_after {
        Some(left) if left <= bytes.len() => {
            st.unplug_after = None;
            unplug = true;
            &bytes[..left]
        }
        Some(left) => {
            st.unplug_after = Some(left - bytes.len());
            bytes
        }
        None => bytes,
    };
    st.received += bytes.len();
    parser.push(bytes);
    while let Some((op, raw)) = parser.poll_with_bytes() {
        if let Op::StatusQuery(n) = op {
            st.queries += 1;
            if st.xon {
                answers.push(0x11);
            }
            answers.push(st.status.answer(n));
            continue;
        }
        if !st.status.ready() {
            st.lost += raw.len();
            continue;
        }
        if let Some(left) = st.paper_out_after {
            if left <= raw.len() {
                st.paper_out_after = None;
                st.status.paper_out = true;
                st.lost += raw.len();
                continue;
            }
            st.paper_out_after = Some(left - raw.len());
        }
        st.current.extend_from_slice(&raw);
        if op == Op::Cut {
            let receipt = std::mem::take(&mut st.current);
            st.receipts.push(receipt);
        }
    }
    unplug
}
