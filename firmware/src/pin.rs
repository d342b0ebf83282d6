//! Staff PINs: the operator's (the counter board, forms, hand-over) and the technician's
//! (the technician page: station facts and the self-test).
//!
//! Stored as Argon2id hashes in `DATA_DIR/pins.toml` (mode 0600, written atomically); a
//! PIN is never logged or kept. `kiosk pin set operator|technician` sets one (4 to 8 digits,
//! read twice from standard input); `kiosk pin clear ROLE` removes it. A role without a PIN
//! opens at once, and the screen says that no operator PIN is set.
//!
//! Tries are limited ([`Tries`], pure, time passed in): after five wrong PINs in a row no
//! try is taken for a minute, then two, four … up to fifteen; the screen says how long. A
//! damaged PIN file is an error: the counter stays locked (never open) until the technician
//! sets the PIN again.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Deserialize;

use crate::Failure;

/// Whose PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Operator,
    Technician,
}

impl Role {
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Role::Operator => ("操作员", "operator"),
            Role::Technician => ("技术员", "technician"),
        }
    }
}

impl From<kiosk_ui::StaffRole> for Role {
    fn from(r: kiosk_ui::StaffRole) -> Role {
        match r {
            kiosk_ui::StaffRole::Operator => Role::Operator,
            kiosk_ui::StaffRole::Technician => Role::Technician,
        }
    }
}

/// The stored hashes (PHC strings); `None`: no PIN set for that role.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    operator: Option<String>,
    technician: Option<String>,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("pins.toml")
}

/// What can go wrong with the PIN file or a new PIN.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("PIN 文件损坏，请技术员重新设置 The PIN file {} is damaged ({reason}); set the PINs again with `kiosk pin set`", path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("PIN 文件无法读写 The PIN file {} cannot be used: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("PIN 须为 4 到 8 位数字 A PIN is 4 to 8 digits")]
    BadPin,
}

impl Pins {
    /// The PINs of this station; none set when the file does not exist.
    pub fn load(data_dir: &Path) -> Result<Pins, PinError> {
        let p = path(data_dir);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pins::default()),
            Err(source) => return Err(PinError::Io { path: p, source }),
        };
        let pins: Pins = toml::from_str(&text).map_err(|e| PinError::Damaged {
            path: p.clone(),
            reason: e.message().to_string(),
        })?;
        for hash in [&pins.operator, &pins.technician].into_iter().flatten() {
            PasswordHash::new(hash).map_err(|e| PinError::Damaged {
                path: p.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(pins)
    }

    fn slot(&mut self, role: Role) -> &mut Option<String> {
        match role {
            Role::Operator => &mut self.operator,
            Role::Technician => &mut self.technician,
        }
    }

    pub fn required(&self, role: Role) -> bool {
        match role {
            Role::Operator => self.operator.is_some(),
            Role::Technician => self.technician.is_some(),
        }
    }

    /// Whether `pin` is the role's PIN (always true for a role without one). Slow on
    /// purpose (Argon2): call it off the UI thread.
    pub fn verify(&self, role: Role, pin: &str) -> bool {
        let hash = match role {
            Role::Operator => &self.operator,
            Role::Technician => &self.technician,
        };
        let Some(hash) = hash else { return true };
        PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(pin.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    }

    /// Set (`Some`) or clear (`None`) the role's PIN and write the file.
    pub fn store(data_dir: &Path, role: Role, pin: Option<&str>) -> Result<(), PinError> {
        let mut pins = Pins::load(data_dir).or_else(|e| match e {
            // Setting a PIN is how a damaged file is repaired: start from nothing.
            PinError::Damaged { .. } => Ok(Pins::default()),
            e => Err(e),
        })?;
        *pins.slot(role) = match pin {
            Some(pin) => Some(hash(pin)?),
            None => None,
        };
        // PHC strings hold no quote or backslash: written as TOML by hand.
        let text: String = [
            ("operator", &pins.operator),
            ("technician", &pins.technician),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|h| format!("{k} = \"{h}\"\n")))
        .collect();
        std::fs::create_dir_all(data_dir).map_err(|source| PinError::Io {
            path: path(data_dir),
            source,
        })?;
        crate::station::write_atomic(&path(data_dir), text.as_bytes()).map_err(|source| {
            PinError::Io {
                path: path(data_dir),
                source,
            }
        })
    }
}

fn valid(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

fn hash(pin: &str) -> Result<String, PinError> {
    if !valid(pin) {
        return Err(PinError::BadPin);
    }
    let salt: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt).map_err(|_| PinError::BadPin)?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PinError::BadPin)
}

/// Wrong tries in a row, and the pause they earned. Pure: `now` is passed in.
#[derive(Clone, Debug, Default)]
pub struct Tries {
    wrong: u32,
    pauses: u32,
    until: Option<Instant>,
}

/// Wrong tries before a pause.
pub const TRIES: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_secs(60);
const LONGEST_PAUSE: Duration = Duration::from_secs(15 * 60);

impl Tries {
    /// `Err(wait)` while paused.
    pub fn allowed(&self, now: Instant) -> Result<(), Duration> {
        match self.until {
            Some(t) if t > now => Err(t - now),
            _ => Ok(()),
        }
    }

    /// Record a try; returns how many are left before a pause (0: paused now).
    pub fn record(&mut self, right: bool, now: Instant) -> u32 {
        if right {
            *self = Tries::default();
            return TRIES;
        }
        self.wrong += 1;
        if self.wrong >= TRIES {
            let pause = FIRST_PAUSE
                .saturating_mul(1 << self.pauses.min(4))
                .min(LONGEST_PAUSE);
            self.until = Some(now + pause);
            self.pauses += 1;
            self.wrong = 0;
            0
        } else {
            TRIES - self.wrong
        }
    }
}

/// What the sign-in page says after a wrong PIN (`left` tries before a pause) or while
/// paused (`wait`).
pub fn refusal(left: u32, wait: Option<Duration>) -> (String, String) {
    match wait {
        Some(w) => {
            let minutes = w.as_secs().div_ceil(60).max(1);
            (
                format!("密码错误次数太多，请 {minutes} 分钟后再试"),
                format!("Too many wrong PINs: try again in {minutes} min"),
            )
        }
        None => (
            format!("密码不对，还可以试 {left} 次"),
            format!("Wrong PIN; {left} tries left"),
        ),
    }
}

/// `kiosk pin set ROLE`: the new PIN twice from standard input (one a line).
pub fn set_from_stdin(data_dir: &Path, role: Role) -> Result<(), Failure> {
    let (zh, en) = role.words();
    eprintln!(
        "请输入新的{zh}密码（4 到 8 位数字），再输入一次 Type the new {en} PIN (4 to 8 digits), then again:"
    );
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut next = || -> Result<String, Failure> {
        match lines.next() {
            Some(Ok(l)) => Ok(l.trim().to_string()),
            Some(Err(e)) => Err(Failure::new(format!("the PIN cannot be read: {e}"))),
            None => Err(Failure::new(
                "两次输入的密码不一致 The PIN was not typed twice".to_string(),
            )),
        }
    };
    let first = next()?;
    let again = next()?;
    if first != again {
        return Err(Failure::new(
            "两次输入的密码不一致 The two PINs differ; nothing changed".to_string(),
        ));
    }
    Pins::store(data_dir, role, Some(&first)).map_err(|e| Failure::new(e.to_string()))?;
    eprintln!("{zh}密码已设置 The {en} PIN is set");
    Ok(())
}

/// `kiosk pin clear ROLE`.
pub fn clear(data_dir: &Path, role: Role) -> Result<(), Failure> {
    Pins::store(data_dir, role, None).map_err(|e| Failure::new(e.to_string()))?;
    let (zh, en) = role.words();
    eprintln!(
        "{zh}密码已取消：该页面不再需要密码 The {en} PIN is cleared: its page opens without one"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_stored_hashed_checked_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let pins = Pins::load(dir.path()).unwrap();
        assert!(!pins.required(Role::Operator));
        assert!(pins.verify(Role::Operator, "anything"), "no PIN: open");

        Pins::store(dir.path(), Role::Operator, Some("2580")).unwrap();
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(!text.contains("2580"), "{text}");
        assert!(text.contains("$argon2id$"), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let pins = Pins::load(dir.path()).unwrap();
        assert!(pins.required(Role::Operator));
        assert!(!pins.required(Role::Technician));
        assert!(pins.verify(Role::Operator, "2580"));
        assert!(!pins.verify(Role::Operator, "2581"));
        assert!(pins.verify(Role::Technician, "whatever"));

        Pins::store(dir.path(), Role::Operator, None).unwrap();
        assert!(!Pins::load(dir.path()).unwrap().required(Role::Operator));
    }

    #[test]
    fn bad_pins_and_a_damaged_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "123", "123456789", "12a4", " 1234"] {
            assert!(
                matches!(
                    Pins::store(dir.path(), Role::Operator, Some(bad)),
                    Err(PinError::BadPin)
                ),
                "{bad:?}"
            );
        }
        std::fs::write(path(dir.path()), "operator = \"not a hash\"\n").unwrap();
        let e = Pins::load(dir.path()).unwrap_err();
        assert!(matches!(e, PinError::Damaged { .. }), "{e}");
        assert!(e.to_string().contains("kiosk pin set"), "{e}");
        // Setting a PIN repairs it.
        Pins::store(dir.path(), Role::Technician, Some("1357")).unwrap();
        let pins = Pins::load(dir.path()).unwrap();
        assert!(pins.verify(Role::Technician, "1357"));
        assert!(!pins.required(Role::Operator));
    }

    #[test]
    fn five_wrong_tries_pause_for_a_minute_then_longer() {
        let t0 = Instant::now();
        let mut tries = Tries::default();
        for left in (1..TRIES).rev() {
            assert!(tries.allowed(t0).is_ok());
            assert_eq!(tries.record(false, t0), left);
        }
        assert_eq!(tries.record(false, t0), 0);
        assert_eq!(tries.allowed(t0), Err(Duration::from_secs(60)));
        let later = t0 + Duration::from_secs(61);
        assert!(tries.allowed(later).is_ok());
        for _ in 0..TRIES {
            tries.record(false, later);
        }
        assert_eq!(tries.allowed(later), Err(Duration::from_secs(120)));
        // A right PIN forgets everything.
        let much_later = later + Duration::from_secs(121);
        assert_eq!(tries.record(true, much_later), TRIES);
        assert!(tries.allowed(much_later).is_ok());
        assert_eq!(tries.record(false, much_later), TRIES - 1);

        assert_eq!(
            refusal(0, Some(Duration::from_secs(61))).1,
            "Too many wrong PINs: try again in 2 min"
        );
        assert_eq!(refusal(3, None).0, "密码不对，还可以试 3 次");
    }
}
