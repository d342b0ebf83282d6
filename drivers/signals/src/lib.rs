//! The station's link, backlog and fault LEDs and its buzzer.
//!
//! # Key decision
//! What an output does over time is a pure [`Engine`] (patterns in, levels at `now` out,
//! and when the next change is due); it never reads a clock. [`Signals`] applies the
//! engine's levels to an [`Outputs`] backend, writing only changes: [`GpioOutputs`] (rppal,
//! on a Raspberry Pi) or [`SimOutputs`] (records a timeline for tests and for machines
//! without GPIO). [`open`] picks the GPIO and falls back to the simulation when rppal says
//! this is not a Raspberry Pi, logging that once per process.
//!
//! # I/O contract
//! - [`GpioOutputs::open`] claims four pins as outputs (low) and gives them back on drop.
//! - [`Signals::update`] writes the levels due at `now` and says when to call it again;
//!   [`Signals::run_until`] does that with real sleeps (technician test);
//!   [`spawn`] runs it on a thread of its own, driven by a [`Handle`].
//!
//! This crate knows nothing about applications: the firmware decides what a pattern means.
//!
//! # Troubleshooting
//! - *Not a Raspberry Pi*: expected on a PC; the simulated backend is used.
//! - *Permission denied* on a Pi: the kiosk user must be in the `gpio` group.
//! - *Pin busy*: another program (or a device-tree overlay) holds the pin; choose other pins
//!   in `kiosk.toml`.

mod engine;
mod gpio;
pub mod sim;

use std::sync::Once;
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use engine::{BLINK_HALF, Engine, Event, LONG_BEEP, Levels, Output, Pattern, SHORT_BEEP};
pub use gpio::{GpioOutputs, Pins};
pub use sim::SimOutputs;

/// What can go wrong with the GPIO.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("this machine is not a Raspberry Pi (rppal reports an unknown model)")]
    NotARaspberryPi,
    #[error("the GPIO cannot be opened: {message}; the kiosk user must be in the `gpio` group")]
    Gpio { message: String },
    #[error("GPIO {pin} for the {output} output cannot be used: {message}")]
    Pin {
        output: &'static str,
        pin: u8,
        message: String,
    },
    #[error("GPIO {pin} is configured for two outputs")]
    PinTwice { pin: u8 },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A backend: sets one output's level.
pub trait Outputs: Send {
    /// Set `output` on or off; `now` is when (the simulation records it).
    fn write(&mut self, output: Output, on: bool, now: Instant) -> Result<()>;
    /// "GPIO" or "simulated", for people.
    fn backend(&self) -> &'static str;
}

/// Either backend, as [`open`] returns it.
#[derive(Debug)]
pub enum AnyOutputs {
    Gpio(Box<GpioOutputs>),
    Simulated(SimOutputs),
}

impl Outputs for AnyOutputs {
    fn write(&mut self, output: Output, on: bool, now: Instant) -> Result<()> {
        match self {
            AnyOutputs::Gpio(g) => g.write(output, on, now),
            AnyOutputs::Simulated(s) => s.write(output, on, now),
        }
    }

    fn backend(&self) -> &'static str {
        match self {
            AnyOutputs::Gpio(g) => g.backend(),
            AnyOutputs::Simulated(s) => s.backend(),
        }
    }
}

static FALLBACK_LOGGED: Once = Once::new();

/// The GPIO outputs on a Raspberry Pi; the simulated ones elsewhere (logged once per
/// process). Other GPIO errors on a Pi are returned: a misconfigured pin is a fault to
/// show, not something to hide behind a simulation.
pub fn open(pins: Pins) -> Result<AnyOutputs> {
    match GpioOutputs::open(pins) {
        Ok(g) => Ok(AnyOutputs::Gpio(Box::new(g))),
        Err(Error::NotARaspberryPi) => {
            FALLBACK_LOGGED.call_once(|| {
                tracing::info!(
                    "not a Raspberry Pi: the LEDs and buzzer are simulated (their changes are only recorded)"
                );
            });
            Ok(AnyOutputs::Simulated(SimOutputs::new()))
        }
        Err(e) => Err(e),
    }
}

/// The engine driving a backend.
#[derive(Debug)]
pub struct Signals<O> {
    engine: Engine,
    outputs: O,
    applied: Option<Levels>,
}

impl<O: Outputs> Signals<O> {
    pub fn new(outputs: O, now: Instant) -> Signals<O> {
        Signals {
            engine: Engine::new(now),
            outputs,
            applied: None,
        }
    }

    pub fn outputs(&self) -> &O {
        &self.outputs
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn set(&mut self, output: Output, pattern: Pattern, now: Instant) {
        self.engine.set(output, pattern, now);
    }

    pub fn event(&mut self, event: Event, now: Instant) {
        self.engine.event(event, now);
    }

    /// Write the levels due at `now` (only those that changed; all of them the first
    /// time) and return when the next change is due.
    pub fn update(&mut self, now: Instant) -> Result<Option<Instant>> {
        let levels = self.engine.levels(now);
        for o in Output::ALL {
            if self.applied.map(|a| a.get(o)) != Some(levels.get(o)) {
                self.outputs.write(o, levels.get(o), now)?;
            }
        }
        self.applied = Some(levels);
        Ok(self.engine.next_change(now))
    }

    /// Apply changes as they fall due, sleeping in between, until `end`.
    pub fn run_until(&mut self, end: Instant) -> Result<()> {
        loop {
            let now = Instant::now();
            let next = self.update(now)?;
            if now >= end {
                return Ok(());
            }
            let wake = next.map_or(end, |n| n.min(end));
            std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        }
    }
}

enum Command {
    Set(Output, Pattern),
    Event(Event),
}

/// Drives a [`Signals`] running on its own thread; it stops when every handle is dropped
/// (all outputs are switched off first).
#[derive(Clone, Debug)]
pub struct Handle {
    tx: mpsc::Sender<Command>,
    backend: &'static str,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Set(o, p) => write!(f, "Set({o:?}, {p:?})"),
            Command::Event(e) => write!(f, "Event({e:?})"),
        }
    }
}

impl Handle {
    pub fn set(&self, output: Output, pattern: Pattern) {
        let _ = self.tx.send(Command::Set(output, pattern));
    }

    pub fn event(&self, event: Event) {
        let _ = self.tx.send(Command::Event(event));
    }

    /// "GPIO" or "simulated".
    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

/// Run `outputs` on a thread of its own. A failing write is logged once and the thread
/// goes on (an LED is never a reason to stop the counter).
pub fn spawn<O: Outputs + 'static>(outputs: O) -> std::io::Result<Handle> {
    let backend = outputs.backend();
    let (tx, rx) = mpsc::channel::<Command>();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut s = Signals::new(outputs, Instant::now());
            let mut warned = false;
            loop {
                let now = Instant::now();
                let next = match s.update(now) {
                    Ok(n) => n,
                    Err(e) => {
                        if !warned {
                            tracing::warn!(error = %e, "an LED or the buzzer cannot be set");
                            warned = true;
                        }
                        Some(now + Duration::from_secs(1))
                    }
                };
                let cmd = match next {
                    Some(t) => match rx.recv_timeout(t.saturating_duration_since(now)) {
                        Ok(c) => Some(c),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    },
                    None => match rx.recv() {
                        Ok(c) => Some(c),
                        Err(_) => break,
                    },
                };
                match cmd {
                    Some(Command::Set(o, p)) => s.set(o, p, Instant::now()),
                    Some(Command::Event(e)) => s.event(e, Instant::now()),
                    None => {}
                }
            }
            let now = Instant::now();
            for o in Output::ALL {
                s.set(o, Pattern::Off, now);
            }
            let _ = s.update(now);
        })?;
    Ok(Handle { tx, backend })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_simulated_timeline_holds_each_change_once_at_its_instant() {
        let t0 = Instant::now();
        let sim = SimOutputs::new();
        let mut s = Signals::new(sim.clone(), t0);
        s.set(Output::Link, Pattern::Steady, t0);
        s.set(Output::Backlog, Pattern::Blink, t0);
        // Drive it with a fake clock: every due change, and extra calls in between.
        let mut now = t0;
        let mut beeped = false;
        while now <= t0 + 1200 * MS {
            if !beeped && now >= t0 + 200 * MS {
                s.event(Event::CardRead, now);
                beeped = true;
            }
            let next = s.update(now).unwrap();
            let _ = s.update(now); // repeated updates write nothing new
            now = next.unwrap_or(now + 100 * MS).min(now + 100 * MS);
        }
        assert_eq!(
            sim.timeline_of(Output::Link, t0),
            vec![(Duration::ZERO, true)]
        );
        assert_eq!(
            sim.timeline_of(Output::Backlog, t0),
            vec![(Duration::ZERO, true), (500 * MS, false), (1000 * MS, true)]
        );
        assert_eq!(
            sim.timeline_of(Output::Buzzer, t0),
            vec![(Duration::ZERO, false), (200 * MS, true), (280 * MS, false)]
        );
        assert_eq!(
            sim.timeline_of(Output::Fault, t0),
            vec![(Duration::ZERO, false)]
        );
    }

    #[test]
    fn off_a_raspberry_pi_open_falls_back_to_the_simulation() {
        // This test machine is not a Pi (CI and developers' PCs); on a Pi it would claim
        // the pins, so say what we saw instead of assuming.
        let is_pi = std::fs::read_to_string("/proc/device-tree/model")
            .is_ok_and(|m| m.contains("Raspberry Pi"));
        match open(Pins::default()) {
            Ok(AnyOutputs::Simulated(_)) => assert!(!is_pi),
            Ok(AnyOutputs::Gpio(_)) => assert!(is_pi),
            Err(e) => assert!(is_pi, "off a Pi only the fallback is expected: {e}"),
        }
        // Asking twice is fine (and logs nothing more).
        assert!(open(Pins::default()).is_ok() || is_pi);
    }

    #[test]
    fn a_pin_given_twice_is_refused_before_touching_the_gpio() {
        let pins = Pins {
            buzzer: 17,
            ..Pins::default()
        };
        assert!(matches!(
            GpioOutputs::open(pins),
            Err(Error::PinTwice { pin: 17 })
        ));
    }

    #[test]
    fn the_thread_switches_everything_off_when_the_last_handle_goes() {
        let sim = SimOutputs::new();
        let h = spawn(sim.clone()).unwrap();
        h.set(Output::Fault, Pattern::Steady);
        h.event(Event::Error);
        drop(h);
        // The thread ends after the channel closes; wait for its final writes.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let t = sim.timeline();
            let last_fault = t.iter().rev().find(|c| c.output == Output::Fault);
            if t.iter().any(|c| c.output == Output::Fault && c.on)
                && last_fault.is_some_and(|c| !c.on)
            {
                break;
            }
            assert!(Instant::now() < deadline, "{t:?}");
            std::thread::sleep(10 * MS);
        }
    }
}
