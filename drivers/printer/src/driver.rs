//! The serial driver: owns the port and the timeouts; [`crate::status`] and
//! [`crate::receipt`] do the rest.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

use crate::status::{self, BadAnswer, Status};

/// What can go wrong with the printer, in words a technician can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("there is no receipt printer at {}; check that it is plugged in (and its udev link)", path.display())]
    NotFound { path: PathBuf },
    #[error("permission denied opening the receipt printer at {}; the kiosk user must be in the `dialout` group", path.display())]
    PermissionDenied { path: PathBuf },
    #[error("the receipt printer at {} is in use by another program (only one may hold it)", path.display())]
    Busy { path: PathBuf },
    #[error("the receipt printer at {} cannot be opened: {message}", path.display())]
    Open { path: PathBuf, message: String },
    #[error("the receipt printer was disconnected ({source})")]
    Disconnected {
        #[source]
        source: io::Error,
    },
    #[error(
        "the receipt printer did not answer the status query within {timeout:?}; is it switched on, and is this its port?"
    )]
    NoAnswer { timeout: Duration },
    #[error("the receipt printer's answers are garbled ({0}); wrong port or wrong baud rate?")]
    Garbled(#[from] BadAnswer),
    #[error("the receipt printer took no data for {timeout:?} (buffer full or printer stuck)")]
    Stalled { timeout: Duration },
    #[error("the receipt printer cannot print: {status}")]
    NotReady { status: Status },
    #[error("the receipt printer stopped during printing: {status}; print the receipt again")]
    Interrupted { status: Status },
}

impl Error {
    /// Whether the port is gone and must be reopened.
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Error::Disconnected { .. })
    }

    /// The printer's state, when the error is about it (not about the port).
    pub fn status(&self) -> Option<Status> {
        match self {
            Error::NotReady { status } | Error::Interrupted { status } => Some(*status),
            _ => None,
        }
    }
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Line and timing settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// 9600 is the factory setting of most 58 mm printers; some are set to 115200.
    pub baud_rate: u32,
    /// How long to wait for the four status answers.
    pub status_timeout: Duration,
    /// How long one piece of the job may wait to be taken by the port.
    pub write_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            baud_rate: 9600,
            status_timeout: Duration::from_secs(1),
            write_timeout: Duration::from_secs(10),
        }
    }
}

const XON: u8 = 0x11;
const XOFF: u8 = 0x13;

/// Bytes handed to the port at a time (so a stall is noticed within the write timeout).
const CHUNK: usize = 256;

/// An open printer: the port held exclusively (TIOCEXCL and `flock`), released on drop.
pub struct Printer {
    port: SerialStream,
    path: PathBuf,
    opts: Options,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer").field("path", &self.path).finish()
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        let _ = self.port.set_exclusive(false);
    }
}

impl Printer {
    /// Open `path` as the printer: 8N1 at the options' rate, exclusively. Must run inside
    /// a tokio runtime.
    pub fn open(path: &Path, opts: Options) -> Result<Printer> {
        let path = path.to_path_buf();
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Error::NotFound { path }),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(Error::PermissionDenied { path });
            }
            _ => {}
        }
        let port = tokio_serial::new(path.to_string_lossy(), opts.baud_rate)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(tokio_serial::Parity::None)
            .stop_bits(tokio_serial::StopBits::One)
            .flow_control(tokio_serial::FlowControl::None)
            .open_native_async()
            .map_err(|e| match e.kind {
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
        let _ = port.clear(tokio_serial::ClearBuffer::All);
        Ok(Printer { port, path, opts })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ask the printer's state (`DLE EOT 1..4`). A garbled answer is asked again once.
    pub async fn status(&mut self) -> Result<Status> {
        match self.status_once().await {
            Err(Error::Garbled(e)) => {
                tracing::debug!(error = %e, "garbled status answer; asking again");
                tokio::time::sleep(Duration::from_millis(50)).await;
                self.status_once().await
            }
            r => r,
        }
    }

    async fn status_once(&mut self) -> Result<Status> {
        let _ = self.port.clear(tokio_serial::ClearBuffer::Input);
        self.write(&status::query_bytes()).await?;
        let deadline = Instant::now() + self.opts.status_timeout;
        let mut answers = [0u8; 4];
        let mut got = 0;
        while got < answers.len() {
            let read = tokio::time::timeout_at(deadline, self.port.read(&mut answers[got..])).await;
            match read {
                Err(_) => {
                    return Err(Error::NoAnswer {
                        timeout: self.opts.status_timeout,
                    });
                }
                Ok(Ok(0)) => {
                    return Err(Error::Disconnected {
                        source: io::Error::new(io::ErrorKind::UnexpectedEof, "the port closed"),
                    });
                }
                Ok(Ok(n)) => {
                    // XON/XOFF from a printer set to software flow control are not answers.
                    let mut kept = got;
                    for i in got..got + n {
                        if !matches!(answers[i], XON | XOFF) {
                            answers[kept] = answers[i];
                            kept += 1;
                        }
                    }
                    got = kept;
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(source)) => return Err(Error::Disconnected { source }),
            }
        }
        Ok(Status::from_answers(answers)?)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        for chunk in bytes.chunks(CHUNK) {
            let timeout = self.opts.write_timeout;
            match tokio::time::timeout(timeout, self.port.write_all(chunk)).await {
                Err(_) => return Err(Error::Stalled { timeout }),
                Ok(Err(source)) => return Err(Error::Disconnected { source }),
                Ok(Ok(())) => {}
            }
        }
        match tokio::time::timeout(self.opts.write_timeout, self.port.flush()).await {
            Err(_) => Err(Error::Stalled {
                timeout: self.opts.write_timeout,
            }),
            Ok(Err(source)) => Err(Error::Disconnected { source }),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Print an ESC/POS job: refuse when the printer says it cannot print, send it, then
    /// ask again so a roll that ran out (or a cover opened) during printing is reported.
    /// Returns the state after printing (which may say the paper is near its end).
    pub async fn print_bytes(&mut self, job: &[u8]) -> Result<Status> {
        let before = self.status().await?;
        if !before.ready() {
            return Err(Error::NotReady { status: before });
        }
        self.write(job).await?;
        let after = self.status().await?;
        if !after.ready() {
            return Err(Error::Interrupted { status: after });
        }
        Ok(after)
    }
}
