//! systemd readiness and the watchdog.
//!
//! systemd starts `kiosk run` as `Type=notify` with `WatchdogSec=`: the kiosk says `READY=1`
//! once the outbox is open, the sync engine runs and the screen is up, and then `WATCHDOG=1`
//! every half watchdog period — but only while every task that matters has shown life
//! recently. A stuck uploader or a frozen screen therefore stops the petting, and systemd
//! restarts the kiosk instead of leaving a frozen counter; the restart resumes where it
//! stopped (the outbox is durable).
//!
//! A damaged outbox is not a reason to stop: the kiosk comes up degraded (see
//! `daemon::Store`), says `READY=1` (headless with `STATUS=degraded: …`), is petted as usual; no
//! uploader is registered then, because no sync engine runs.
//!
//! Each task holds a [`Beat`] and calls it whenever it makes progress; it is stuck when it has
//! been silent longer than its own limit. The decision ([`stuck`]) is pure and takes the time
//! as an argument. Outside systemd (no `NOTIFY_SOCKET`) every notification is a no-op.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// The tasks whose silence means the kiosk must be restarted.
#[derive(Clone)]
pub struct Liveness {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    tasks: Mutex<Vec<Arc<Task>>>,
}

struct Task {
    name: &'static str,
    limit: Duration,
    /// Milliseconds since `start` of the last beat.
    last_ms: AtomicU64,
}

/// A task's way of saying "still making progress". Cheap to clone and to call.
#[derive(Clone)]
pub struct Beat {
    start: Instant,
    task: Arc<Task>,
}

impl Beat {
    pub fn beat(&self) {
        self.task
            .last_ms
            .store(millis(self.start.elapsed()), Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness::new()
    }
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness {
            inner: Arc::new(Inner {
                start: Instant::now(),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Watch a task that must beat at least every `limit`. It counts as having just beaten.
    pub fn register(&self, name: &'static str, limit: Duration) -> Beat {
        let task = Arc::new(Task {
            name,
            limit,
            last_ms: AtomicU64::new(millis(self.inner.start.elapsed())),
        });
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task.clone());
        Beat {
            start: self.inner.start,
            task,
        }
    }

    /// The tasks silent for longer than their limit, now.
    pub fn stuck_now(&self) -> Vec<&'static str> {
        let now_ms = millis(self.inner.start.elapsed());
        let tasks = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let view: Vec<(&'static str, u64, Duration)> = tasks
            .iter()
            .map(|t| (t.name, t.last_ms.load(Ordering::Relaxed), t.limit))
            .collect();
        stuck(&view, now_ms)
    }
}

/// Which of `(name, last beat in ms, limit)` have been silent longer than their limit at
/// `now_ms`.
pub fn stuck(tasks: &[(&'static str, u64, Duration)], now_ms: u64) -> Vec<&'static str> {
    tasks
        .iter()
        .filter(|(_, last, limit)| now_ms.saturating_sub(*last) > millis(*limit))
        .map(|(name, _, _)| *name)
        .collect()
}

/// Tell systemd the kiosk is serving (no-op outside systemd).
pub fn ready(status: &str) {
    if let Err(e) = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)]) {
        tracing::warn!(error = %e, "could not tell systemd the kiosk is ready");
    }
}

/// Tell systemd the kiosk is stopping (no-op outside systemd).
pub fn stopping() {
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
}

/// When systemd asked for a watchdog, pet it from a thread of its own every half period
/// while no task is stuck. Returns `None` when no watchdog was asked for.
pub fn spawn(liveness: Liveness) -> Option<std::thread::JoinHandle<()>> {
    let period = sd_notify::watchdog_enabled()?;
    let every = (period / 2).max(Duration::from_millis(100));
    tracing::info!(period_ms = millis(period), "systemd watchdog on");
    let thread = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut reported = false;
            loop {
                std::thread::sleep(every);
                let stuck = liveness.stuck_now();
                if stuck.is_empty() {
                    if let Err(e) = sd_notify::notify(&[NotifyState::Watchdog]) {
                        tracing::warn!(error = %e, "could not pet the systemd watchdog");
                    }
                    reported = false;
                } else if !reported {
                    // Stop petting: systemd restarts the kiosk after the watchdog period.
                    let names = stuck.join(", ");
                    tracing::error!(tasks = %names, "stuck; letting systemd restart the kiosk");
                    let status = format!("stuck: {names}");
                    let _ = sd_notify::notify(&[NotifyState::Status(&status)]);
                    reported = true;
                }
            }
        });
    match thread {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::error!(error = %e, "the watchdog thread cannot start");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_stuck_only_after_its_own_limit() {
        let tasks = [
            ("uploader", 1_000, Duration::from_secs(600)),
            ("screen", 1_000, Duration::from_secs(30)),
        ];
        assert!(stuck(&tasks, 1_000).is_empty());
        assert!(
            stuck(&tasks, 31_000).is_empty(),
            "exactly at the limit is fine"
        );
        assert_eq!(stuck(&tasks, 31_001), vec!["screen"]);
        assert_eq!(stuck(&tasks, 601_001), vec!["uploader", "screen"]);
        // A beat "from the future" (clock read races) never counts as stuck.
        assert!(stuck(&tasks, 0).is_empty());
    }

    #[test]
    fn beats_keep_a_task_alive() {
        let l = Liveness::new();
        let b = l.register("screen", Duration::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(l.stuck_now(), vec!["screen"]);
        let l2 = Liveness::new();
        let b2 = l2.register("uploader", Duration::from_secs(60));
        b2.beat();
        assert!(l2.stuck_now().is_empty());
        b.beat();
    }
}
