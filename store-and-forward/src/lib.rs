//! The station's durable outbox and the sync engine that forwards it to the county.
//!
//! Key decision: an application is made durable *before* anything else happens to it, in one
//! step — its scan files are written and fsynced first, then a single SQLite transaction
//! (WAL, `synchronous=FULL`) records the application, its attachments and an event row. The
//! sync engine only ever reads that durable state and moves it forward, so a power cut at any
//! moment leaves either nothing or a complete application, never half of one.
//!
//! I/O contract:
//! - [`outbox`] touches one SQLite file and one blob directory under the data directory; it
//!   knows nothing about HTTP.
//! - [`sync`] is the only code on the station that speaks HTTP to the county; it reads and
//!   advances the outbox through [`outbox::Outbox`]'s methods and never writes its tables.
//! - [`sneakernet`] writes a signed bundle of the unacknowledged applications into a
//!   directory (a USB stick) and applies a county decisions bundle through the sync
//!   engine's own decision code; it reads and advances the outbox only through its methods.
//! - [`state`] and [`backoff`] are pure: time and randomness are passed in.

pub mod backoff;
pub mod health;
pub mod outbox;
pub mod sneakernet;
pub mod state;
pub mod sync;
pub mod tracking;

pub use health::Health;
pub use outbox::{NewApplication, NewScan, Opened, Outbox, OutboxError, Status, Submitted};
pub use state::AppState;
pub use sync::{Link, LinkError, SyncReport};
