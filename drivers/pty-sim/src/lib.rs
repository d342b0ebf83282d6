//! The device side of a pseudo-terminal, for simulators of serial devices: the driver
//! under test opens [`Pty::path`] exactly as it opens a real USB-serial device, and the
//! simulator reads and writes the master side here. Dropping the [`Pty`] is pulling the
//! plug: the driver's reads and writes fail.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use tokio::io::unix::AsyncFd;

/// The pseudo-terminal pair. The simulator keeps the slave side open too, so the master
/// never sees a hang-up while no driver is connected, and the raw line settings persist.
pub struct Pty {
    master: AsyncFd<File>,
    _slave: File,
    /// The device a driver opens (e.g. `/dev/pts/3`).
    pub path: PathBuf,
}

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pty").field("path", &self.path).finish()
    }
}

impl Pty {
    /// A new pseudo-terminal in raw mode.
    pub fn open() -> io::Result<Pty> {
        use nix::fcntl::OFlag;
        use nix::sys::termios;
        let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK)?;
        nix::pty::grantpt(&master)?;
        nix::pty::unlockpt(&master)?;
        let path = PathBuf::from(nix::pty::ptsname_r(&master)?);
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(OFlag::O_NOCTTY.bits())
            .open(&path)?;
        let mut t = termios::tcgetattr(&slave)?;
        termios::cfmakeraw(&mut t);
        termios::tcsetattr(&slave, termios::SetArg::TCSANOW, &t)?;
        let master = File::from(std::os::fd::OwnedFd::from(master));
        // SAFETY: the `File` owns its descriptor, which stays open and unchanged until the
        // `AsyncFd` (which owns the `File`) is dropped.
        let master = unsafe { AsyncFd::register(master) }?;
        Ok(Pty {
            master,
            _slave: slave,
            path,
        })
    }

    /// Read what the driver wrote (waits for at least one byte).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|f| f.get_ref().read(buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Send `buf` to the driver.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let mut guard = self.master.writable().await?;
            match guard.try_io(|f| f.get_ref().write(buf)) {
                Ok(Ok(n)) => buf = &buf[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}
