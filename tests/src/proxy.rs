//! A fault-injecting TCP proxy that plays the village's 3G line between the station and the
//! county, for the link tests and benchmarks.
//!
//! It listens on `127.0.0.1:0` and forwards every connection to one upstream loopback address
//! (anything else is refused: tests never reach beyond loopback). Faults are set at run time
//! through [`Proxy`]'s setters and take effect at once, on open connections too:
//!
//! | fault | setter | what the station sees |
//! |---|---|---|
//! | pass-through | [`Proxy::pass_through`] | a clean line |
//! | rate limit | [`Proxy::set_rate`] | a token bucket per direction, shared by all connections |
//! | drop after N bytes | [`Proxy::drop_after`] | the connection carrying the N-th upstream byte from now is reset (once) |
//! | stall | [`Proxy::stall`] | connections accepted, nothing forwarded either way for a while |
//! | reset | [`Proxy::reset_all`] | every open connection reset (RST via `SO_LINGER` 0) |
//! | slow bytes | [`Proxy::set_slow`] | bytes trickle through a few at a time |
//! | outage | [`Proxy::outage`] | open connections reset, every new one reset at once, for a while |
//! | HTTP injection | [`Proxy::inject`] | the next requests answered by the proxy itself: 500, 429, bytes that are not HTTP, a 200 whose body is not the contract's, no answer at all, or the county's answer lost after it acted |
//!
//! The upstream direction is followed as HTTP/1.1 (request heads and `Content-Length`
//! bodies; anything else makes the connection opaque), so injections land on request
//! boundaries of kept-alive connections and the request body bytes can be counted apart from
//! the headers ([`Counters`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio::time::Instant;

/// An answer the proxy gives in the county's place (see [`Proxy::inject`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpFault {
    /// `500 Internal Server Error`, request not forwarded.
    Status500,
    /// `429 Too Many Requests`, request not forwarded.
    Status429,
    /// Bytes that are not HTTP at all, then the connection closes.
    GarbageBytes,
    /// `200 OK` with an HTML page (a captive portal), not the contract's JSON.
    GarbageBody,
    /// The request is swallowed and never answered; the station's own timeout must end it.
    NoAnswer,
    /// The request reaches the county, which acts on it; its answer is lost (reset).
    LoseAnswer,
}

impl HttpFault {
    pub const ALL: [HttpFault; 6] = [
        HttpFault::Status500,
        HttpFault::Status429,
        HttpFault::GarbageBytes,
        HttpFault::GarbageBody,
        HttpFault::NoAnswer,
        HttpFault::LoseAnswer,
    ];
}

/// What went through the proxy so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Bytes forwarded station → county.
    pub up: u64,
    /// Bytes forwarded county → station.
    pub down: u64,
    /// Request body bytes forwarded upstream (JSON records, chunks, acks).
    pub up_body: u64,
    /// Body bytes of `PATCH` requests (scan chunks) forwarded upstream.
    pub patch_body: u64,
    /// Connections accepted.
    pub connections: u64,
    /// Request heads seen (forwarded or answered by the proxy).
    pub requests: u64,
    /// Requests answered (or swallowed) by an injected fault.
    pub injected: u64,
    /// Connections the proxy reset or cut.
    pub cut: u64,
    /// Connections in the middle of a request body right now (e.g. a chunk upload).
    pub in_body: u64,
    /// Requests swallowed by [`HttpFault::NoAnswer`] whose connection the station still
    /// holds open, waiting for an answer.
    pub unanswered: u64,
}

/// The proxy. Dropping it stops it and closes every connection.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Default)]
struct Faults {
    rate: Option<u64>,
    stall_until: Option<Instant>,
    outage_until: Option<Instant>,
    slow: Option<(usize, Duration)>,
    /// Upstream bytes left before the connection carrying the next one is cut.
    drop_budget: Option<u64>,
    http: Option<(HttpFault, u32)>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
struct Count {
    up: AtomicU64,
    down: AtomicU64,
    up_body: AtomicU64,
    patch_body: AtomicU64,
    connections: AtomicU64,
    requests: AtomicU64,
    injected: AtomicU64,
    cut: AtomicU64,
    in_body: AtomicU64,
    unanswered: AtomicU64,
}

struct Shared {
    upstream: SocketAddr,
    faults: Mutex<Faults>,
    buckets: [Mutex<Bucket>; 2],
    count: Count,
    reset: watch::Sender<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up = 0,
    Down = 1,
}

/// How one direction of a connection ended.
enum End {
    Eof,
    Abort,
    Inject(HttpFault, Vec<u8>),
}

const READ_BUF: usize = 16 * 1024;
/// Largest piece written at once while rate limited (keeps the line smooth).
const RATE_PIECE: usize = 4 * 1024;
const MAX_HEAD: usize = 64 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Proxy {
    /// Start a proxy on `127.0.0.1:0` in front of `upstream` (a loopback address).
    pub fn start(upstream: SocketAddr) -> Proxy {
        assert!(
            upstream.ip().is_loopback(),
            "the test proxy only forwards to loopback, not {upstream}"
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("link-proxy")
            .enable_all()
            .build()
            .expect("the proxy's runtime starts");
        let now = Instant::now();
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(Faults::default()),
            buckets: [
                Mutex::new(Bucket {
                    tokens: 0.0,
                    last: now,
                }),
                Mutex::new(Bucket {
                    tokens: 0.0,
                    last: now,
                }),
            ],
            count: Count::default(),
            reset: watch::channel(0).0,
        });
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("the proxy binds a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let sh = shared.clone();
        runtime.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(connection(sock, sh.clone()));
            }
        });
        Proxy {
            addr,
            shared,
            runtime: Some(runtime),
        }
    }

    /// Where the station should dial.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.shared.faults)
    }

    /// No faults and no rate limit.
    pub fn pass_through(&self) {
        *self.faults() = Faults::default();
    }

    /// Clear every fault but keep the rate limit.
    pub fn clear_faults(&self) {
        let mut f = self.faults();
        let rate = f.rate;
        *f = Faults {
            rate,
            ..Faults::default()
        };
    }

    /// Limit each direction to `bytes_per_sec` (shared by all connections), or lift it.
    pub fn set_rate(&self, bytes_per_sec: Option<u64>) {
        self.faults().rate = bytes_per_sec.filter(|r| *r > 0);
    }

    /// Reset the connection that carries the `n`-th upstream byte from now (once).
    pub fn drop_after(&self, n: u64) {
        self.faults().drop_budget = Some(n);
    }

    /// Forward nothing, either way, on any connection for `d` (connections stay open).
    pub fn stall(&self, d: Duration) {
        self.faults().stall_until = Some(Instant::now() + d);
    }

    /// Bytes trickle: at most `bytes` per write, `pause` after each; `None` lifts it.
    pub fn set_slow(&self, slow: Option<(usize, Duration)>) {
        self.faults().slow = slow.map(|(b, p)| (b.max(1), p));
    }

    /// Reset every open connection now.
    pub fn reset_all(&self) {
        self.shared.reset.send_modify(|g| *g += 1);
    }

    /// The line goes down for `d`: open connections are reset, new ones reset at once.
    pub fn outage(&self, d: Duration) {
        self.faults().outage_until = Some(Instant::now() + d);
        self.reset_all();
    }

    /// End an outage or a stall early.
    pub fn restore(&self) {
        let mut f = self.faults();
        f.outage_until = None;
        f.stall_until = None;
    }

    /// Answer the next `count` requests with `fault` instead of the county.
    pub fn inject(&self, fault: HttpFault, count: u32) {
        self.faults().http = (count > 0).then_some((fault, count));
    }

    /// Whether a [`Proxy::drop_after`] is armed and has not fired yet.
    pub fn drop_pending(&self) -> bool {
        self.faults().drop_budget.is_some()
    }

    /// Requests still to be answered by the armed injection.
    pub fn injections_left(&self) -> u32 {
        self.faults().http.map_or(0, |(_, n)| n)
    }

    pub fn counters(&self) -> Counters {
        let c = &self.shared.count;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        Counters {
            up: get(&c.up),
            down: get(&c.down),
            up_body: get(&c.up_body),
            patch_body: get(&c.patch_body),
            connections: get(&c.connections),
            requests: get(&c.requests),
            injected: get(&c.injected),
            cut: get(&c.cut),
            in_body: get(&c.in_body),
            unanswered: get(&c.unanswered),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Shared {
    fn outage(&self) -> bool {
        lock(&self.faults)
            .outage_until
            .is_some_and(|t| t > Instant::now())
    }

    /// Take one injection if one is armed.
    fn take_injection(&self) -> Option<HttpFault> {
        let mut f = lock(&self.faults);
        let (fault, left) = f.http?;
        f.http = (left > 1).then_some((fault, left - 1));
        Some(fault)
    }

    /// Wait until the bucket of `dir` allows `n` more bytes at `rate` bytes/s.
    async fn take_tokens(&self, dir: Dir, n: usize, rate: u64) {
        let wait = {
            let mut b = lock(&self.buckets[dir as usize]);
            let now = Instant::now();
            let rate = rate as f64;
            // A small burst allowance: a tenth of a second of line, at least one piece.
            let burst = (rate / 10.0).max(RATE_PIECE as f64);
            b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(burst);
            b.last = now;
            b.tokens -= n as f64;
            (b.tokens < 0.0).then(|| Duration::from_secs_f64(-b.tokens / rate))
        };
        if let Some(w) = wait {
            tokio::time::sleep(w).await;
        }
    }
}

/// Reset a connection: `SO_LINGER` 0, then close, so the peer sees RST.
fn rst(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// What a reader took off one socket.
enum Piece {
    Data(Vec<u8>),
    /// The peer closed its side.
    Eof,
    /// The peer reset the connection.
    Failed,
}

/// How many pieces (of at most `READ_BUF`) a reader may hold for its forwarder: 1 MiB,
/// more than any one request of the station (a chunk is at most 1 MiB).
const QUEUE: usize = 64;

/// Take bytes off `r` as fast as they come, as the far end of a line does, and queue them
/// for the forwarder, which lets them out at the line's pace.
///
/// Reading eagerly keeps the sender's TCP window open. A proxy that limits the rate by
/// reading slowly instead shuts the window for long stretches; the station's kernel then
/// probes a zero window and gives the connection up after reqwest's `TCP_USER_TIMEOUT`
/// (30 s), which no real slow line does.
///
/// `gone` is set the moment the peer closes or resets, before the queue is drained: see
/// [`forward`].
fn reader(
    mut r: OwnedReadHalf,
    gone: Arc<AtomicBool>,
) -> (mpsc::Receiver<Piece>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; READ_BUF];
        loop {
            let piece = match r.read(&mut buf).await {
                Ok(0) => Piece::Eof,
                Ok(n) => Piece::Data(buf[..n].to_vec()),
                Err(_) => Piece::Failed,
            };
            let last = !matches!(piece, Piece::Data(_));
            if last {
                gone.store(true, Ordering::SeqCst);
            }
            if tx.send(piece).await.is_err() || last {
                break;
            }
        }
    });
    (rx, task)
}

async fn connection(client: TcpStream, sh: Arc<Shared>) {
    sh.count.connections.fetch_add(1, Ordering::SeqCst);
    if sh.outage() {
        sh.count.cut.fetch_add(1, Ordering::SeqCst);
        rst(client);
        return;
    }
    let upstream = match TcpStream::connect(sh.upstream).await {
        Ok(u) => u,
        Err(_) => {
            sh.count.cut.fetch_add(1, Ordering::SeqCst);
            rst(client);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (cr, mut cw) = client.into_split();
    let (ur, mut uw) = upstream.into_split();
    let station_gone = Arc::new(AtomicBool::new(false));
    let (mut from_client, client_reader) = reader(cr, station_gone.clone());
    let (mut from_county, county_reader) = reader(ur, Arc::new(AtomicBool::new(false)));
    let mut reset = sh.reset.subscribe();
    let mut framing = Framing::default();
    let end = {
        let up = pump_up(&mut from_client, &mut uw, &sh, &mut framing, &station_gone);
        let down = pump(&mut from_county, &mut cw, Dir::Down, &sh);
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            tokio::select! {
                e = &mut up, if !up_done => match e {
                    End::Eof => up_done = true,
                    other => break other,
                },
                e = &mut down, if !down_done => match e {
                    End::Eof => down_done = true,
                    other => break other,
                },
                _ = reset.changed() => break End::Abort,
            }
            if up_done && down_done {
                break End::Eof;
            }
        }
    };
    framing.leave_body(&sh);
    let clean = matches!(end, End::Eof);
    if let End::Inject(fault, buffered) = end {
        // Bounded: a reset of all connections or a minute and a half ends any injection.
        tokio::select! {
            _ = inject(fault, buffered, &mut from_client, &mut cw, &mut uw, &mut from_county, &sh) => {}
            _ = reset.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(90)) => {}
        }
    }
    if !clean {
        sh.count.cut.fetch_add(1, Ordering::SeqCst);
        // No FIN from the write half: the socket closes with RST once the reader (which
        // owns the read half) is gone.
        let _ = cw.as_ref().set_zero_linger();
        cw.forget();
    }
    client_reader.abort();
    county_reader.abort();
}

/// Follows the HTTP/1.1 requests of the upstream direction.
#[derive(Default)]
enum Framing {
    /// Reading a request head (empty: between requests).
    #[default]
    Between,
    Head(Vec<u8>),
    /// Inside a body: bytes left, and whether it is a `PATCH`.
    Body(u64, bool),
    /// Not HTTP we follow (chunked, upgrade, oversized head): bytes pass as they are.
    Opaque,
}

impl Framing {
    fn leave_body(&mut self, sh: &Shared) {
        if matches!(self, Framing::Body(..)) {
            sh.count.in_body.fetch_sub(1, Ordering::SeqCst);
            *self = Framing::Opaque;
        }
    }

    /// Consume the start of `data` up to the end of the current head or body. Returns how
    /// many bytes belong to this step, and whether they are body bytes of a `PATCH`
    /// (`Some(true)`), of another request (`Some(false)`) or not body (`None`).
    fn step(&mut self, data: &[u8], sh: &Shared) -> (usize, Option<bool>) {
        match self {
            Framing::Between => {
                *self = Framing::Head(Vec::new());
                self.step(data, sh)
            }
            Framing::Head(head) => {
                for (i, b) in data.iter().enumerate() {
                    head.push(*b);
                    if head.ends_with(b"\r\n\r\n") {
                        sh.count.requests.fetch_add(1, Ordering::SeqCst);
                        *self = match parse_head(head) {
                            Some((0, _)) => Framing::Between,
                            Some((len, patch)) => {
                                sh.count.in_body.fetch_add(1, Ordering::SeqCst);
                                Framing::Body(len, patch)
                            }
                            None => Framing::Opaque,
                        };
                        return (i + 1, None);
                    }
                }
                if head.len() > MAX_HEAD {
                    *self = Framing::Opaque;
                }
                (data.len(), None)
            }
            Framing::Body(left, patch) => {
                let patch = *patch;
                let take = (*left).min(data.len() as u64);
                *left -= take;
                if *left == 0 {
                    sh.count.in_body.fetch_sub(1, Ordering::SeqCst);
                    *self = Framing::Between;
                }
                (take as usize, Some(patch))
            }
            Framing::Opaque => (data.len(), None),
        }
    }
}

/// `(Content-Length, is PATCH)` of a request head, or `None` for bodies we do not follow.
fn parse_head(head: &[u8]) -> Option<(u64, bool)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let first = lines.next()?;
    let patch = first.starts_with("PATCH ");
    let mut len = 0;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name == "content-length" {
            len = value.trim().parse().ok()?;
        } else if name == "transfer-encoding" || name == "upgrade" {
            return None;
        }
    }
    Some((len, patch))
}

/// Station → county: follow the requests, forward through the faults, hand a request to
/// the injector when one is armed.
async fn pump_up(
    r: &mut mpsc::Receiver<Piece>,
    w: &mut OwnedWriteHalf,
    sh: &Shared,
    framing: &mut Framing,
    station_gone: &AtomicBool,
) -> End {
    loop {
        let buf = match r.recv().await {
            Some(Piece::Data(buf)) => buf,
            Some(Piece::Eof) | None => {
                let _ = w.shutdown().await;
                return End::Eof;
            }
            Some(Piece::Failed) => return End::Abort,
        };
        let mut rest = &buf[..];
        while !rest.is_empty() {
            if matches!(framing, Framing::Between)
                && let Some(fault) = sh.take_injection()
            {
                sh.count.injected.fetch_add(1, Ordering::SeqCst);
                sh.count.requests.fetch_add(1, Ordering::SeqCst);
                return End::Inject(fault, rest.to_vec());
            }
            let (take, body) = framing.step(rest, sh);
            if forward(w, &rest[..take], Dir::Up, sh, Some(station_gone))
                .await
                .is_err()
            {
                return End::Abort;
            }
            if let Some(patch) = body {
                sh.count.up_body.fetch_add(take as u64, Ordering::SeqCst);
                if patch {
                    sh.count.patch_body.fetch_add(take as u64, Ordering::SeqCst);
                }
            }
            rest = &rest[take..];
        }
    }
}

/// One direction as plain bytes.
async fn pump(r: &mut mpsc::Receiver<Piece>, w: &mut OwnedWriteHalf, dir: Dir, sh: &Shared) -> End {
    loop {
        match r.recv().await {
            Some(Piece::Data(buf)) => {
                if forward(w, &buf, dir, sh, None).await.is_err() {
                    return End::Abort;
                }
            }
            Some(Piece::Eof) | None => {
                let _ = w.shutdown().await;
                return End::Eof;
            }
            Some(Piece::Failed) => return End::Abort,
        }
    }
}

/// Write `data` through the faults in force. `Err` means: cut this connection.
///
/// `sender_gone`: the station closed or reset its side. Bytes of it still queued here are
/// bytes that had not crossed the line yet, and they die with the station, as they would in
/// a power cut: the connection to the county is cut in the middle of whatever it carried.
/// (The station never closes with a request half sent for any other reason: it waits for
/// each answer.)
async fn forward(
    w: &mut OwnedWriteHalf,
    data: &[u8],
    dir: Dir,
    sh: &Shared,
    sender_gone: Option<&AtomicBool>,
) -> Result<(), ()> {
    let mut rest = data;
    while !rest.is_empty() {
        if sender_gone.is_some_and(|g| g.load(Ordering::SeqCst)) {
            return Err(());
        }
        let now = Instant::now();
        let stalled = {
            let f = lock(&sh.faults);
            if f.outage_until.is_some_and(|t| t > now) {
                return Err(());
            }
            f.stall_until.filter(|t| *t > now)
        };
        if let Some(until) = stalled {
            // Look again at least every 100 ms: the stall may be lifted early.
            tokio::time::sleep_until(until.min(now + Duration::from_millis(100))).await;
            continue;
        }
        let (len, cut, rate, pause) = {
            let mut f = lock(&sh.faults);
            let mut len = rest.len();
            let mut pause = None;
            if let Some((bytes, p)) = f.slow {
                len = len.min(bytes);
                pause = Some(p);
            }
            if f.rate.is_some() {
                len = len.min(RATE_PIECE);
            }
            let mut cut = false;
            if dir == Dir::Up
                && let Some(budget) = f.drop_budget
            {
                if (len as u64) >= budget {
                    len = budget as usize;
                    cut = true;
                    f.drop_budget = None;
                } else {
                    f.drop_budget = Some(budget - len as u64);
                }
            }
            (len, cut, f.rate, pause)
        };
        if let Some(rate) = rate
            && len > 0
        {
            sh.take_tokens(dir, len, rate).await;
        }
        if len > 0 {
            w.write_all(&rest[..len]).await.map_err(|_| ())?;
            let counter = match dir {
                Dir::Up => &sh.count.up,
                Dir::Down => &sh.count.down,
            };
            counter.fetch_add(len as u64, Ordering::SeqCst);
        }
        if cut {
            return Err(());
        }
        if let Some(p) = pause {
            tokio::time::sleep(p).await;
        }
        rest = &rest[len..];
    }
    Ok(())
}

/// Read the rest of one request (head and `Content-Length` body) that starts with `have`.
async fn read_request(r: &mut mpsc::Receiver<Piece>, mut have: Vec<u8>) -> Option<Vec<u8>> {
    async fn more(r: &mut mpsc::Receiver<Piece>, have: &mut Vec<u8>) -> Option<()> {
        match r.recv().await? {
            Piece::Data(buf) => {
                have.extend_from_slice(&buf);
                Some(())
            }
            Piece::Eof | Piece::Failed => None,
        }
    }
    let head_end = loop {
        if let Some(i) = have.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if have.len() > MAX_HEAD {
            return None;
        }
        more(r, &mut have).await?;
    };
    let (len, _) = parse_head(&have[..head_end])?;
    let total = head_end + usize::try_from(len).ok()?;
    while have.len() < total {
        more(r, &mut have).await?;
    }
    Some(have)
}

fn response(status: &str, content_type: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A count held up while this lives (also when its future is dropped).
struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn up(counter: &'a AtomicU64) -> Gauge<'a> {
        counter.fetch_add(1, Ordering::SeqCst);
        Gauge(counter)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answer (or swallow) one request in the county's place. The connection is closed after.
async fn inject(
    fault: HttpFault,
    buffered: Vec<u8>,
    cr: &mut mpsc::Receiver<Piece>,
    cw: &mut OwnedWriteHalf,
    uw: &mut OwnedWriteHalf,
    ur: &mut mpsc::Receiver<Piece>,
    sh: &Shared,
) {
    let Some(request) = read_request(cr, buffered).await else {
        return;
    };
    let answer = match fault {
        HttpFault::Status500 => response(
            "500 Internal Server Error",
            "text/plain",
            "injected: the county is failing",
            "",
        ),
        HttpFault::Status429 => response(
            "429 Too Many Requests",
            "text/plain",
            "injected: slow down",
            "retry-after: 1\r\n",
        ),
        HttpFault::GarbageBytes => {
            b"\x16\x03\x01\x00\xffnot http at all\x00\x01\x02\r\n\r\n".to_vec()
        }
        HttpFault::GarbageBody => response(
            "200 OK",
            "text/html",
            "<html><body>Welcome to the free network! Please log in.</body></html>",
            "",
        ),
        HttpFault::NoAnswer => {
            // Hold the request until the station gives up and closes.
            let _held = Gauge::up(&sh.count.unanswered);
            while let Some(Piece::Data(_)) = cr.recv().await {}
            return;
        }
        HttpFault::LoseAnswer => {
            if uw.write_all(&request).await.is_err() {
                return;
            }
            // The county acts on it; once its answer starts, lose it.
            let _ = ur.recv().await;
            return;
        }
    };
    let _ = cw.write_all(&answer).await;
    let _ = cw.flush().await;
    // Let the station read the answer before the reset that follows.
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener as StdListener, TcpStream as StdStream};
    use std::sync::mpsc;

    /// An upstream that echoes every byte and reports how many it received per connection.
    fn echo() -> (SocketAddr, mpsc::Receiver<u64>) {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { break };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut total = 0u64;
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        total += n as u64;
                    }
                    let _ = tx.send(total);
                });
            }
        });
        (addr, rx)
    }

    fn client(p: &Proxy) -> StdStream {
        let s = StdStream::connect(p.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Send `data`, read as much back; the bytes that came back.
    fn round_trip(s: &mut StdStream, data: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(data)?;
        let mut back = vec![0u8; data.len()];
        s.read_exact(&mut back)?;
        Ok(back)
    }

    #[test]
    fn passes_bytes_both_ways_and_counts_them() {
        let (up, _) = echo();
        let p = Proxy::start(up);
        let mut s = client(&p);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(round_trip(&mut s, &data).unwrap(), data);
        // The proxy counts a piece once its write returned, which may be just after the
        // client read it.
        let c = crate::eventually(Duration::from_secs(5), "the counters", || {
            let c = p.counters();
            (c.down == 100_000).then_some(c)
        });
        assert_eq!((c.up, c.connections, c.cut), (100_000, 1, 0));
    }

    #[test]
    fn rate_limit_holds_the_line_to_its_rate() {
        let (up, _) = echo();
        let p = Proxy::start(up);
        p.set_rate(Some(200_000));
        let mut s = client(&p);
        let data = vec![7u8; 100_000];
        let t = std::time::Instant::now();
        assert_eq!(round_trip(&mut s, &data).unwrap(), data);
        // 100 kB at 200 kB/s less the burst allowance (20 kB) cannot take under 0.4 s.
        assert!(
            t.elapsed() >= Duration::from_millis(380),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn drop_after_cuts_at_exactly_that_byte_once() {
        let (up, got) = echo();
        let p = Proxy::start(up);
        p.drop_after(1000);
        let mut s = client(&p);
        let _ = s.write_all(&[1u8; 5000]);
        let mut sink = Vec::new();
        assert!(s.read_to_end(&mut sink).is_err() || sink.len() <= 1000);
        assert_eq!(got.recv_timeout(Duration::from_secs(10)).unwrap(), 1000);
        // One-shot: the next connection is clean.
        let mut s = client(&p);
        assert_eq!(round_trip(&mut s, &[2u8; 5000]).unwrap(), vec![2u8; 5000]);
        assert_eq!(p.counters().cut, 1);
    }

    #[test]
    fn stall_holds_bytes_then_lets_them_through() {
        let (up, _) = echo();
        let p = Proxy::start(up);
        p.stall(Duration::from_millis(600));
        let mut s = client(&p);
        s.write_all(b"hello").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut b = [0u8; 5];
        assert!(s.read(&mut b).is_err(), "nothing may pass during a stall");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"hello");
    }

    #[test]
    fn reset_and_outage_cut_connections_and_refuse_new_ones() {
        let (up, _) = echo();
        let p = Proxy::start(up);
        let mut s = client(&p);
        assert!(round_trip(&mut s, b"x").is_ok());
        p.reset_all();
        let mut b = [0u8; 1];
        let err = s.read(&mut b).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");

        p.outage(Duration::from_secs(30));
        let mut s = client(&p);
        assert!(
            round_trip(&mut s, b"x").is_err(),
            "no line during an outage"
        );
        p.restore();
        let mut s = client(&p);
        assert_eq!(round_trip(&mut s, b"back").unwrap(), b"back");
    }

    #[test]
    fn slow_bytes_still_arrive_whole() {
        let (up, _) = echo();
        let p = Proxy::start(up);
        p.set_slow(Some((3, Duration::from_millis(1))));
        let mut s = client(&p);
        let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        assert_eq!(round_trip(&mut s, &data).unwrap(), data);
    }

    #[test]
    fn http_injection_answers_in_the_countys_place_on_request_boundaries() {
        let (up, got) = echo();
        let p = Proxy::start(up);
        let req = b"PUT /v1/x HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\n\r\nbody";
        // A forwarded request first (the echo answers with the request itself).
        let mut s = client(&p);
        assert_eq!(round_trip(&mut s, req).unwrap(), req.to_vec());
        // The next one on the same connection is answered by the proxy.
        p.inject(HttpFault::Status429, 1);
        s.write_all(req).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
        // The county (the echo) saw only the first request.
        assert_eq!(
            got.recv_timeout(Duration::from_secs(10)).unwrap(),
            req.len() as u64
        );
        let c = p.counters();
        assert_eq!((c.requests, c.injected, c.up_body, c.in_body), (2, 1, 4, 0));
        assert_eq!(p.injections_left(), 0);
    }
}
