//! The serial driver: owns the port, the timers and the retries; the codec does the rest.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

use crate::card::{self, Card, CardError, SamId};
use crate::codec::{self, Command, Decoded, Decoder, Direction, FrameError, Response, Sw3};

/// What can go wrong with the reader, in words a technician can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("there is no card reader at {}; check that it is plugged in (and its udev link)", path.display())]
    NotFound { path: PathBuf },
    #[error("permission denied opening the card reader at {}; the kiosk user must be in the `dialout` group", path.display())]
    PermissionDenied { path: PathBuf },
    #[error("the card reader at {} is in use by another program (only one may hold it)", path.display())]
    Busy { path: PathBuf },
    #[error("the card reader at {} cannot be opened: {message}", path.display())]
    Open { path: PathBuf, message: String },
    #[error("the card reader was disconnected ({source})")]
    Disconnected {
        #[source]
        source: io::Error,
    },
    #[error(
        "the card reader did not answer the {command} command within {timeout:?} ({attempts} attempts)"
    )]
    NoAnswer {
        command: &'static str,
        timeout: Duration,
        attempts: u32,
    },
    #[error(
        "the card reader's answers to the {command} command stayed garbled after {attempts} attempts (last: {last})"
    )]
    Garbled {
        command: &'static str,
        attempts: u32,
        last: FrameError,
    },
    #[error("the card could not be read ({status}); hold it still and flat on the reader")]
    ReadFailed { status: Sw3 },
    #[error("the card reader's security module refused the {command} command: {status}")]
    Sam { command: &'static str, status: Sw3 },
    #[error("the card's data cannot be decoded: {0}")]
    Card(#[from] CardError),
}

impl Error {
    /// Whether the port is gone and must be reopened.
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Error::Disconnected { .. })
    }
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Timing and retry settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long to wait for an answer after the command left (beyond its wire time).
    pub response_timeout: Duration,
    /// Resends after a garbled answer, a frame error reported by the SAM, or silence.
    pub retries: u32,
    /// Pause between two "find card" polls while no card is read.
    pub poll_interval: Duration,
    /// Read fingerprints too (30 10) rather than only text and photo (30 01).
    pub fingerprints: bool,
    /// "No card" answers in a row before a resting card counts as lifted.
    pub removal_debounce: u32,
    /// Pause between attempts to reopen a lost reader.
    pub reconnect_interval: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            response_timeout: Duration::from_secs(2),
            retries: 3,
            poll_interval: Duration::from_millis(25),
            fingerprints: true,
            removal_debounce: 2,
            reconnect_interval: Duration::from_millis(500),
        }
    }
}

/// An open card reader: the port held exclusively (TIOCEXCL and `flock`), released on drop.
pub struct Reader {
    port: SerialStream,
    path: PathBuf,
    decoder: Decoder,
    opts: Options,
    buf: Box<[u8; 4096]>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("path", &self.path).finish()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // Release TIOCEXCL so the next opener (a later `kiosk card read`, the reopened
        // driver) is not refused; the flock goes with the descriptor.
        let _ = self.port.set_exclusive(false);
    }
}

/// Open `path` as the reader: 115200 8N1, exclusively. Must run inside a tokio runtime.
pub fn open(path: &Path, opts: Options) -> Result<Reader> {
    Reader::open(path, opts)
}

impl Reader {
    pub fn open(path: &Path, opts: Options) -> Result<Reader> {
        let path = path.to_path_buf();
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Error::NotFound { path }),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(Error::PermissionDenied { path });
            }
            _ => {}
        }
        let builder = tokio_serial::new(path.to_string_lossy(), codec::BAUD_RATE)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(tokio_serial::Parity::None)
            .stop_bits(tokio_serial::StopBits::One)
            .flow_control(tokio_serial::FlowControl::None);
        let port = builder.open_native_async().map_err(|e| match e.kind {
            tokio_serial::ErrorKind::NoDevice => Error::Busy { path: path.clone() },
            tokio_serial::ErrorKind::Io(io::ErrorKind::NotFound) => {
                Error::NotFound { path: path.clone() }
            }
            tokio_serial::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
                Error::PermissionDenied { path: path.clone() }
            }
            _ => Error::Open {
                path: path.clone(),
                message: e.description,
            },
        })?;
        // Whatever an earlier user left in the buffers is not ours.
        let _ = port.clear(tokio_serial::ClearBuffer::All);
        Ok(Reader {
            port,
            path,
            decoder: Decoder::new(Direction::Responses),
            opts,
            buf: Box::new([0; 4096]),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Send `command` and return the SAM's answer. Garbled answers (wrong checksum,
    /// impossible length), frame errors the SAM reports (SW3 10/11) and silence are retried
    /// up to `retries` times, each time after a re-sync (input dropped, decoder reset).
    pub async fn execute(&mut self, command: &Command) -> Result<Response> {
        let frame = command.encode();
        let attempts = self.opts.retries + 1;
        let mut last_garble: Option<FrameError> = None;
        for _ in 0..attempts {
            self.resync();
            self.port
                .write_all(&frame)
                .await
                .map_err(|source| Error::Disconnected { source })?;
            let deadline = Instant::now()
                + codec::wire_time(
                    frame.len() + usize::from(codec::MAX_RESPONSE_LEN) + 7,
                    codec::BAUD_RATE,
                )
                + self.opts.response_timeout;
            match self.await_response(command, deadline).await? {
                Waited::Answer(r) if r.sw3 == Sw3::BAD_CHECKSUM || r.sw3 == Sw3::BAD_LENGTH => {
                    tracing::debug!(status = %r.sw3, command = command.name(), "the SAM refused our frame; resending");
                    last_garble = Some(FrameError::Refused(r.sw3));
                }
                Waited::Answer(r) => return Ok(r),
                Waited::Garbled(e) => {
                    tracing::debug!(error = %e, command = command.name(), "garbled answer; re-syncing");
                    last_garble = Some(e);
                }
                Waited::Silence => {}
            }
        }
        Err(match last_garble {
            Some(last) => Error::Garbled {
                command: command.name(),
                attempts,
                last,
            },
            None => Error::NoAnswer {
                command: command.name(),
                timeout: self.opts.response_timeout,
                attempts,
            },
        })
    }

    fn resync(&mut self) {
        let _ = self.port.clear(tokio_serial::ClearBuffer::Input);
        self.decoder.reset();
    }

    async fn await_response(&mut self, command: &Command, deadline: Instant) -> Result<Waited> {
        loop {
            while let Some(d) = self.decoder.poll() {
                match d {
                    Decoded::Frame(body) => match Response::from_body(&body) {
                        Some(r) if plausible(command, &r) => return Ok(Waited::Answer(r)),
                        // A late answer to an earlier command: not ours, keep waiting.
                        Some(_) => {}
                        None => return Ok(Waited::Garbled(FrameError::TooShort)),
                    },
                    Decoded::Error(e) => return Ok(Waited::Garbled(e)),
                }
            }
            let read = tokio::time::timeout_at(deadline, self.port.read(&mut self.buf[..])).await;
            match read {
                Err(_) => return Ok(Waited::Silence),
                Ok(Ok(0)) => {
                    return Err(Error::Disconnected {
                        source: io::Error::new(io::ErrorKind::UnexpectedEof, "the port closed"),
                    });
                }
                Ok(Ok(n)) => {
                    let now = Instant::now().into_std();
                    self.decoder.push(&self.buf[..n], now);
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(source)) => return Err(Error::Disconnected { source }),
            }
        }
    }

    /// The SAM's status: `Ok(())` when it is ready.
    pub async fn status(&mut self) -> Result<()> {
        let r = self.execute(&Command::Status).await?;
        expect_ok(&Command::Status, &r)
    }

    /// Reset the SAM (drops any selection).
    pub async fn reset(&mut self) -> Result<()> {
        let r = self.execute(&Command::Reset).await?;
        expect_ok(&Command::Reset, &r)
    }

    /// The SAM's ID.
    pub async fn sam_id(&mut self) -> Result<SamId> {
        let cmd = Command::ReadSamId;
        let r = self.execute(&cmd).await?;
        expect_ok(&cmd, &r)?;
        SamId::parse(&r.data).ok_or(Error::Garbled {
            command: cmd.name(),
            attempts: 1,
            last: FrameError::TooShort,
        })
    }

    /// Is a card in the field? (`20 01`: 9F yes, 80 no.)
    pub async fn find_card(&mut self) -> Result<bool> {
        let cmd = Command::FindCard;
        let r = self.execute(&cmd).await?;
        match r.sw3 {
            Sw3::FOUND => Ok(true),
            Sw3::NO_CARD => Ok(false),
            status => Err(Error::Sam {
                command: cmd.name(),
                status,
            }),
        }
    }

    /// Select the card found (`20 02`): false when it is gone (81).
    pub async fn select_card(&mut self) -> Result<bool> {
        let cmd = Command::SelectCard;
        let r = self.execute(&cmd).await?;
        match r.sw3 {
            Sw3::OK => Ok(true),
            Sw3::SELECT_FAILED => Ok(false),
            status => Err(Error::Sam {
                command: cmd.name(),
                status,
            }),
        }
    }

    /// Read the selected card: text, photo, fingerprints (per the options) and the
    /// additional address.
    pub async fn read_selected(&mut self) -> Result<Card> {
        let fp = self.opts.fingerprints;
        let cmd = if fp {
            Command::ReadTextAndFingerprints
        } else {
            Command::ReadText
        };
        let r = self.execute(&cmd).await?;
        let mut card = match r.sw3 {
            Sw3::OK => card::parse_read(&r.data, fp)?,
            Sw3::READ_FAILED => return Err(Error::ReadFailed { status: r.sw3 }),
            status => {
                return Err(Error::Sam {
                    command: cmd.name(),
                    status,
                });
            }
        };
        let cmd = Command::ReadExtraAddress;
        let r = self.execute(&cmd).await?;
        card.extra_address = match r.sw3 {
            Sw3::OK => card::parse_extra_address(&r.data)?,
            Sw3::NO_CONTENT => None,
            Sw3::READ_FAILED => return Err(Error::ReadFailed { status: r.sw3 }),
            status => {
                return Err(Error::Sam {
                    command: cmd.name(),
                    status,
                });
            }
        };
        Ok(card)
    }

    /// Find, select and read the card if one is there; `None` when there is none.
    pub async fn read_card(&mut self) -> Result<Option<Card>> {
        if !self.find_card().await? || !self.select_card().await? {
            return Ok(None);
        }
        self.read_selected().await.map(Some)
    }

    /// Wait up to `timeout` for a card and read it. `Ok(None)`: none came. A card that was
    /// lifted during a read is looked for again; if reading kept failing until the end, that
    /// failure is returned.
    pub async fn wait_for_card(&mut self, timeout: Duration) -> Result<Option<Card>> {
        let deadline = Instant::now() + timeout;
        loop {
            let last_failure = match self.read_card().await {
                Ok(Some(card)) => return Ok(Some(card)),
                Ok(None) => None,
                Err(e @ Error::ReadFailed { .. }) => Some(e),
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            if now >= deadline {
                return match last_failure {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            }
            tokio::time::sleep_until(deadline.min(now + self.opts.poll_interval)).await;
        }
    }
}

enum Waited {
    Answer(Response),
    Garbled(FrameError),
    Silence,
}

fn expect_ok(cmd: &Command, r: &Response) -> Result<()> {
    if r.sw3 == Sw3::OK {
        Ok(())
    } else {
        Err(Error::Sam {
            command: cmd.name(),
            status: r.sw3,
        })
    }
}

/// Whether `r` can be the answer to `cmd` (and not a late answer to an earlier command):
/// success codes must belong to the command and carry its data size.
fn plausible(cmd: &Command, r: &Response) -> bool {
    let n = r.data.len();
    match (cmd, r.sw3) {
        (Command::FindCard, Sw3::FOUND) => n == 4,
        (_, Sw3::FOUND) => false,
        (Command::ReadExtraAddress, Sw3::NO_CONTENT) => true,
        (_, Sw3::NO_CONTENT) => false,
        (Command::FindCard, Sw3::OK) => false,
        (Command::SelectCard, Sw3::OK) => n == 8,
        (Command::ReadSamId, Sw3::OK) => n == 16,
        (Command::ReadText, Sw3::OK) => n == 4 + card::TEXT_LEN + card::PHOTO_LEN,
        (Command::ReadTextAndFingerprints, Sw3::OK) => n >= 6 + card::TEXT_LEN + card::PHOTO_LEN,
        (Command::ReadExtraAddress, Sw3::OK) => n == card::EXTRA_ADDRESS_LEN,
        (Command::Reset | Command::Status | Command::SetBaudRate(_), Sw3::OK) => n == 0,
        (Command::Other { .. }, _) => true,
        // Failure codes carry no data.
        (_, _) => n == 0,
    }
}
