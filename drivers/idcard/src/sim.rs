//! The simulator: a GA 467 security module on a pseudo-terminal, holding cards, with
//! switchable faults. The real driver opens its device path exactly as it opens a reader.
//!
//! It answers as the domain document's "behaviour a simulator must choose" says: select
//! needs a find first (else 81), a read needs a selected card still in the field (else 41),
//! reset clears the selection, unknown commands get 21, rate changes are no-ops, a partial
//! command gets 11 after 0.5 s of silence, a wrong checksum gets 10, an impossible length 11.
//! It waits the command's wire time plus the configured module latency before answering, and
//! sends the answer at 115200 bit/s wire time (each byte arrives when it would have).
//!
//! In *sequence* mode (`kiosk card sim`) the cards are placed one after another: a card that
//! was read is lifted at the next "find card", and the next card is placed.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use pty_sim::Pty;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::card::{self, Card, CardError, CardText, CardType, RawRead, SamId};
use crate::codec::{
    self, Command, Decoded, Decoder, Direction, FrameError, HEADER_LEN, Response, Sw3,
};

/// Faults the simulator injects. One-shot counters count down as they fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Answers leave in random small pieces with short gaps, as USB-serial adapters deliver.
    pub split_writes: bool,
    /// Random bytes and partial preambles before every answer.
    pub noise: bool,
    /// The next N answers carry a wrong checksum.
    pub corrupt_checksums: u32,
    /// The next N answers carry an impossible length.
    pub bad_lengths: u32,
    /// The next N commands arrive damaged (line noise towards the SAM): answered 10.
    pub damage_commands: u32,
    /// The next card read fails (41) because the card is lifted during it.
    pub remove_mid_read: bool,
    /// Reads of the card answer this status instead of its data (e.g. 32: the SAM failed
    /// to authenticate the card, as with a counterfeit).
    pub refuse_card: Option<Sw3>,
    /// The module's time to work on each command.
    pub latency: Duration,
    /// Honour 115200-baud wire time in both directions.
    pub wire_time: bool,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            split_writes: false,
            noise: false,
            corrupt_checksums: 0,
            bad_lengths: 0,
            damage_commands: 0,
            remove_mid_read: false,
            refuse_card: None,
            latency: Duration::ZERO,
            wire_time: true,
        }
    }
}

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Sequence mode: these cards are placed in order (see the module docs). In manual mode
    /// the list is empty and cards are placed with [`Simulator::place`].
    pub cards: Vec<Card>,
    pub sequence: bool,
    pub sam_id: SamId,
    pub faults: Faults,
    /// A stable path (a symlink to the current pseudo-terminal, as udev makes for a real
    /// reader); it survives [`Simulator::unplug`] and [`Simulator::replug`].
    pub link: Option<PathBuf>,
}

/// The SAM ID the simulator reports unless told otherwise.
pub const DEFAULT_SAM_ID: SamId = SamId {
    major: 5,
    minor: 1,
    numbers: [20190101, 1, 2],
};

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            cards: Vec::new(),
            sequence: false,
            sam_id: DEFAULT_SAM_ID,
            faults: Faults::default(),
            link: None,
        }
    }
}

/// One command and its answer, as the simulator saw them.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// `None` for a frame that could not be decoded (answered 10 or 11).
    pub command: Option<Command>,
    /// When the command's last byte arrived.
    pub received: Instant,
    /// When the answer's last byte was released (at its wire time).
    pub answered: Instant,
    pub command_bytes: usize,
    /// The answer frame (without injected noise).
    pub answer_bytes: usize,
    pub sw3: Sw3,
}

struct State {
    card: Option<Card>,
    queue: VecDeque<Card>,
    sequence: bool,
    found: bool,
    selected: bool,
    read_done: bool,
    faults: Faults,
    sam_id: SamId,
    rng: u64,
    log: Vec<Exchange>,
    plugged: bool,
    shutdown: bool,
    path: Option<PathBuf>,
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
    link: Option<PathBuf>,
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
        if let Some(link) = &self.shared.link {
            let _ = std::fs::remove_file(link);
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
    pub fn start(opts: SimOptions) -> io::Result<Simulator> {
        for c in &opts.cards {
            check_card(c).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        }
        let mut queue: VecDeque<Card> = opts.cards.into();
        let card = if opts.sequence {
            queue.pop_front()
        } else {
            None
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                card,
                queue,
                sequence: opts.sequence,
                found: false,
                selected: false,
                read_done: false,
                faults: opts.faults,
                sam_id: opts.sam_id,
                rng: 0x9E37_79B9_7F4A_7C15,
                log: Vec::new(),
                plugged: true,
                shutdown: false,
                path: None,
            }),
            wake: Notify::new(),
            link: opts.link,
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("idcard-sim".into())
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

    /// The device path to open: the stable link if one was asked for, else the current
    /// pseudo-terminal (e.g. `/dev/pts/3`).
    pub fn path(&self) -> PathBuf {
        match &self.shared().link {
            Some(l) => l.clone(),
            None => self.shared().lock().path.clone().unwrap_or_default(),
        }
    }

    /// Put `card` on the reader (replacing any card there).
    pub fn place(&self, card: Card) -> Result<(), CardError> {
        check_card(&card)?;
        let mut st = self.shared().lock();
        st.card = Some(card);
        st.found = false;
        st.selected = false;
        st.read_done = false;
        Ok(())
    }

    /// Take the card off the reader.
    pub fn lift(&self) {
        let mut st = self.shared().lock();
        st.card = None;
        st.found = false;
        st.selected = false;
        st.read_done = false;
    }

    pub fn card_present(&self) -> bool {
        self.shared().lock().card.is_some()
    }

    /// Sequence mode: cards not yet placed.
    pub fn cards_waiting(&self) -> usize {
        self.shared().lock().queue.len()
    }

    pub fn faults(&self) -> Faults {
        self.shared().lock().faults.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared().lock().faults = faults;
    }

    /// Pull the USB plug: the pseudo-terminal closes (the driver's reads fail) and the
    /// link disappears.
    pub fn unplug(&self) {
        self.shared().lock().plugged = false;
        self.shared().wake.notify_one();
        // Wait until the port is really gone, so the caller's next step sees it gone.
        for _ in 0..200 {
            if self.shared().lock().path.is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Plug it back in: a new pseudo-terminal; the link points at it again.
    pub fn replug(&self) {
        {
            let mut st = self.shared().lock();
            st.plugged = true;
            st.found = false;
            st.selected = false;
        }
        self.shared().wake.notify_one();
        for _ in 0..200 {
            if self.shared().lock().path.is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every exchange so far, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared().lock().log.clone()
    }

    pub fn clear_exchanges(&self) {
        self.shared().lock().log.clear();
    }
}

/// A card the simulator can hold: its text must fit the card's layout.
fn check_card(card: &Card) -> Result<(), CardError> {
    card.text.encode()?;
    if let Some(a) = &card.extra_address {
        card::encode_extra_address(a)?;
    }
    if card.photo.len() != card::PHOTO_LEN {
        return Err(CardError::PhotoLength(card.photo.len()));
    }
    if !matches!(card.fingerprints.len(), 0 | 512 | 1024) {
        return Err(CardError::FingerprintLength(card.fingerprints.len()));
    }
    Ok(())
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
            if let Some(link) = &shared.link
                && let Err(e) = point_link(link, &pty.path)
            {
                match started.take() {
                    Some(s) => {
                        let _ = s.send(Err(e));
                        return;
                    }
                    None => tracing::warn!(error = %e, "the simulator's link cannot be renewed"),
                }
            }
            shared.lock().path = Some(pty.path.clone());
            if let Some(s) = started.take() {
                let _ = s.send(Ok(()));
            }
            serve(&shared, &pty).await;
            if let Some(link) = &shared.link {
                let _ = std::fs::remove_file(link);
            }
            drop(pty);
            shared.lock().path = None;
        }
    });
}

/// Point `link` at `target` atomically (as udev does for a stable device name).
fn point_link(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = link.with_extension("new-link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

async fn serve(shared: &Shared, pty: &Pty) {
    let mut decoder = Decoder::new(Direction::Commands);
    let mut buf = [0u8; 1024];
    loop {
        while let Some(d) = decoder.poll() {
            if answer(shared, pty, d).await.is_err() || shared.stopping() {
                return;
            }
        }
        let timeout = decoder.poll_timeout();
        tokio::select! {
            r = pty.read(&mut buf) => match r {
                Ok(0) => tokio::time::sleep(Duration::from_millis(10)).await,
                Ok(n) => decoder.push(&buf[..n], Instant::now().into_std()),
                // EIO while no slave is open (cannot happen while we hold one; be safe).
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            _ = async {
                match timeout {
                    Some(t) => tokio::time::sleep_until(Instant::from_std(t)).await,
                    None => std::future::pending().await,
                }
            } => decoder.handle_timeout(Instant::now().into_std()),
            _ = shared.wake.notified() => {
                if shared.stopping() {
                    return;
                }
            }
        }
    }
}

/// How an answer goes out: bytes and the pieces they are written in.
struct Plan {
    bytes: Vec<u8>,
    /// (piece length, extra pause before it)
    pieces: Vec<(usize, Duration)>,
    wire_time: bool,
    answer_len: usize,
    sw3: Sw3,
}

async fn answer(shared: &Shared, pty: &Pty, d: Decoded) -> io::Result<()> {
    let received = Instant::now();
    let (command, in_len) = match &d {
        Decoded::Frame(body) => (Command::from_body(body), HEADER_LEN + body.len() + 1),
        Decoded::Error(_) => (None, 0),
    };
    let (latency, wire) = {
        let st = shared.lock();
        (st.faults.latency, st.faults.wire_time)
    };
    let inbound = if wire {
        codec::wire_time(in_len, codec::BAUD_RATE)
    } else {
        Duration::ZERO
    };
    tokio::time::sleep(inbound + latency).await;
    let plan = shared.lock().plan(&d);
    let start = Instant::now();
    let mut sent = 0;
    let last = plan.pieces.len().saturating_sub(1);
    for (i, (len, pause)) in plan.pieces.iter().enumerate() {
        if plan.wire_time {
            tokio::time::sleep_until(start + codec::wire_time(sent + len, codec::BAUD_RATE)).await;
        }
        if !pause.is_zero() {
            tokio::time::sleep(*pause).await;
        }
        if i == last {
            // Logged before the last bytes leave, so whoever reads the answer finds the
            // exchange already in the log.
            shared.lock().log.push(Exchange {
                command: command.clone(),
                received,
                answered: Instant::now(),
                command_bytes: in_len,
                answer_bytes: plan.answer_len,
                sw3: plan.sw3,
            });
        }
        pty.write_all(&plan.bytes[sent..sent + len]).await?;
        sent += len;
    }
    Ok(())
}

impl State {
    fn next_random(&mut self) -> u64 {
        // xorshift64*: deterministic, good enough for noise and piece sizes.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_random() % n.max(1)
    }

    fn plan(&mut self, d: &Decoded) -> Plan {
        let response = if self.faults.damage_commands > 0 {
            self.faults.damage_commands -= 1;
            Response::new(Sw3::BAD_CHECKSUM, Vec::new())
        } else {
            self.respond(d)
        };
        let sw3 = response.sw3;
        let mut frame = response.encode();
        let answer_len = frame.len();
        if self.faults.corrupt_checksums > 0 {
            self.faults.corrupt_checksums -= 1;
            if let Some(last) = frame.last_mut() {
                *last ^= 0x5A;
            }
        } else if self.faults.bad_lengths > 0 {
            self.faults.bad_lengths -= 1;
            frame[5] = 0xFF;
            frame[6] = 0xF0;
        }
        let mut bytes = Vec::new();
        if self.faults.noise {
            for _ in 0..3 + self.below(10) {
                // Anything but a sync byte, then a partial preamble.
                let b = (self.next_random() & 0xFF) as u8;
                bytes.push(if b == 0xAA { 0x55 } else { b });
            }
            let partial: &[u8] = match self.below(3) {
                0 => &[0xAA],
                1 => &[0xAA, 0xAA],
                _ => &[0xAA, 0xAA, 0xAA, 0x96],
            };
            bytes.extend_from_slice(partial);
        }
        bytes.extend_from_slice(&frame);
        let mut pieces = Vec::new();
        let mut left = bytes.len();
        while left > 0 {
            let (len, pause) = if self.faults.split_writes {
                let len = 1 + self.below(23) as usize;
                (len, Duration::from_micros(self.below(2000)))
            } else if self.faults.wire_time {
                (32, Duration::ZERO)
            } else {
                (left, Duration::ZERO)
            };
            let len = len.min(left);
            pieces.push((len, pause));
            left -= len;
        }
        Plan {
            bytes,
            pieces,
            wire_time: self.faults.wire_time,
            answer_len,
            sw3,
        }
    }

    fn respond(&mut self, d: &Decoded) -> Response {
        let status = |s: Sw3| Response::new(s, Vec::new());
        let cmd = match d {
            Decoded::Error(FrameError::BadChecksum { .. }) => return status(Sw3::BAD_CHECKSUM),
            Decoded::Error(_) => return status(Sw3::BAD_LENGTH),
            Decoded::Frame(body) => match Command::from_body(body) {
                Some(c) => c,
                None => return status(Sw3::BAD_LENGTH),
            },
        };
        match cmd {
            Command::Reset => {
                self.found = false;
                self.selected = false;
                status(Sw3::OK)
            }
            Command::Status | Command::SetBaudRate(_) => status(Sw3::OK),
            Command::ReadSamId => Response::new(Sw3::OK, self.sam_id.encode().to_vec()),
            Command::FindCard => {
                if self.sequence && self.card.is_some() && self.read_done {
                    // The person takes the card that was read; the next one is placed.
                    self.card = self.queue.pop_front();
                    self.read_done = false;
                    self.found = false;
                    self.selected = false;
                    return status(Sw3::NO_CARD);
                }
                if self.card.is_some() {
                    self.found = true;
                    Response::new(Sw3::FOUND, vec![0; 4])
                } else {
                    self.found = false;
                    self.selected = false;
                    status(Sw3::NO_CARD)
                }
            }
            Command::SelectCard => {
                if self.found && self.card.is_some() {
                    self.selected = true;
                    Response::new(Sw3::OK, vec![0; 8])
                } else {
                    status(Sw3::SELECT_FAILED)
                }
            }
            Command::ReadText | Command::ReadTextAndFingerprints => {
                let fp = cmd == Command::ReadTextAndFingerprints;
                if !self.selected {
                    return status(Sw3::READ_FAILED);
                }
                if self.faults.remove_mid_read {
                    self.faults.remove_mid_read = false;
                    self.card = None;
                    self.found = false;
                    self.selected = false;
                    if self.sequence {
                        self.card = self.queue.pop_front();
                    }
                    return status(Sw3::READ_FAILED);
                }
                let Some(card) = &self.card else {
                    return status(Sw3::READ_FAILED);
                };
                if let Some(refused) = self.faults.refuse_card {
                    return status(refused);
                }
                let Ok(text) = card.text.encode() else {
                    return status(Sw3::READ_FAILED);
                };
                let raw = RawRead {
                    text: text.to_vec(),
                    photo: card.photo.clone(),
                    fingerprints: if fp {
                        card.fingerprints.clone()
                    } else {
                        Vec::new()
                    },
                };
                self.read_done = true;
                Response::new(Sw3::OK, raw.encode(fp))
            }
            Command::ReadExtraAddress => {
                let Some(card) = self.card.as_ref().filter(|_| self.selected) else {
                    return status(Sw3::READ_FAILED);
                };
                match card
                    .extra_address
                    .as_deref()
                    .map(card::encode_extra_address)
                {
                    Some(Ok(block)) => Response::new(Sw3::OK, block),
                    Some(Err(_)) => status(Sw3::READ_FAILED),
                    None => status(Sw3::NO_CONTENT),
                }
            }
            Command::Other { .. } => status(Sw3::COMMAND_ERROR),
        }
    }
}

/// Deterministic stand-in bytes (photo, fingerprints) derived from `seed`: opaque, as the
/// real WLT photo is to us.
pub fn opaque_bytes(seed: &str, len: usize) -> Vec<u8> {
    // FNV-1a of the seed, then xorshift.
    let mut x = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    x |= 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A card for the simulator from its text: a stand-in photo and `fingerprints` stand-in
/// records (0–2), both derived from the ID number.
pub fn make_card(
    text: CardText,
    extra_address: Option<String>,
    fingerprints: u8,
) -> Result<Card, CardError> {
    let n = usize::from(fingerprints.min(2));
    let card = Card {
        photo: opaque_bytes(&format!("photo {}", text.id_number), card::PHOTO_LEN),
        fingerprints: opaque_bytes(
            &format!("fingerprints {}", text.id_number),
            n * card::FINGERPRINT_LEN,
        ),
        text,
        extra_address,
    };
    check_card(&card)?;
    Ok(card)
}

/// The cards file for `kiosk card sim --cards FILE` (JSON):
///
/// ```json
/// { "sam_id": "05.01-20190101-0000000001-0000000002",
///   "cards": [
///     { "type": "resident", "name": "李德华", "gender": "1", "nation": "07",
///       "birth_date": "1950-03-12", "address": "云南省…", "id_number": "532627195003120034",
///       "issuing_authority": "广南县公安局", "valid_from": "2020-01-01", "valid_until": "长期",
///       "extra_address": null, "fingerprints": 2 } ] }
/// ```
/// `type` is `resident` (default), `foreign_permanent_2017`, `hmt_residence_permit` or
/// `foreign_permanent_2023`; `gender` a GB/T 2261.1 code; dates `YYYY-MM-DD` or `YYYYMMDD`;
/// `valid_until` may be `长期`. Other keys, per card type: `english_name`, `nationality`,
/// `pass_number`, `issue_count`, `card_version`, `previous_number`. The photo and
/// fingerprints are stand-in bytes derived from the ID number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFile {
    #[serde(default)]
    pub sam_id: Option<String>,
    pub cards: Vec<CardSpec>,
}

/// One card in a [`CardFile`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSpec {
    #[serde(rename = "type", default = "resident")]
    pub card_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub english_name: Option<String>,
    pub gender: String,
    #[serde(default)]
    pub nation: Option<String>,
    pub birth_date: String,
    #[serde(default)]
    pub address: Option<String>,
    pub id_number: String,
    #[serde(default)]
    pub issuing_authority: Option<String>,
    pub valid_from: String,
    pub valid_until: String,
    #[serde(default)]
    pub nationality: Option<String>,
    #[serde(default)]
    pub pass_number: Option<String>,
    #[serde(default)]
    pub issue_count: Option<String>,
    #[serde(default)]
    pub card_version: Option<String>,
    #[serde(default)]
    pub previous_number: Option<String>,
    #[serde(default)]
    pub extra_address: Option<String>,
    #[serde(default)]
    pub fingerprints: u8,
}

fn resident() -> String {
    "resident".into()
}

/// Why a cards file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CardFileError {
    #[error("the cards file is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("card {number} in the cards file: {source}")]
    Card {
        number: usize,
        #[source]
        source: CardError,
    },
    #[error(
        "card {number} in the cards file: unknown type {value:?} (resident, foreign_permanent_2017, hmt_residence_permit, foreign_permanent_2023)"
    )]
    Type { number: usize, value: String },
    #[error("card {number} in the cards file: fingerprints must be 0, 1 or 2")]
    Fingerprints { number: usize },
    #[error("the cards file's sam_id {0:?} is not of the form MM.mm-<u32>-<u32>-<u32>")]
    SamId(String),
}

fn card_date(s: &str) -> String {
    if s == card::LONG_TERM {
        s.to_string()
    } else {
        s.replace('-', "")
    }
}

/// Parse a cards file.
pub fn parse_card_file(json: &str) -> Result<(Vec<Card>, Option<SamId>), CardFileError> {
    let file: CardFile = serde_json::from_str(json)?;
    let sam_id = match file.sam_id {
        Some(s) => Some(SamId::from_display(&s).ok_or(CardFileError::SamId(s))?),
        None => None,
    };
    let mut cards = Vec::new();
    for (i, c) in file.cards.into_iter().enumerate() {
        let number = i + 1;
        let card_type = CardType::from_key(&c.card_type).ok_or(CardFileError::Type {
            number,
            value: c.card_type.clone(),
        })?;
        if c.fingerprints > 2 {
            return Err(CardFileError::Fingerprints { number });
        }
        let text = CardText {
            card_type,
            name: c.name,
            english_name: c.english_name,
            gender_code: c.gender,
            nation_code: c.nation,
            birth_date: card_date(&c.birth_date),
            address: c.address,
            id_number: c.id_number,
            issuing_authority: c.issuing_authority,
            valid_from: card_date(&c.valid_from),
            valid_until: card_date(&c.valid_until),
            nationality: c.nationality,
            pass_number: c.pass_number,
            issue_count: c.issue_count,
            card_version: c.card_version,
            previous_number: c.previous_number,
        };
        let card = make_card(text, c.extra_address, c.fingerprints)
            .map_err(|source| CardFileError::Card { number, source })?;
        cards.push(card);
    }
    Ok((cards, sam_id))
}
