//! The simulated backend: no hardware; every level change is recorded with its instant, so
//! tests (and `kiosk leds --test` off a Pi) can see what the LEDs and buzzer did.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::{Output, Outputs, Result};

/// One level change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub at: Instant,
    pub output: Output,
    pub on: bool,
}

/// The simulated outputs; clones share one timeline.
#[derive(Clone, Debug, Default)]
pub struct SimOutputs {
    timeline: Arc<Mutex<Vec<Change>>>,
}

impl SimOutputs {
    pub fn new() -> SimOutputs {
        SimOutputs::default()
    }

    /// Every change so far, oldest first.
    pub fn timeline(&self) -> Vec<Change> {
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The changes of one output, as (time since `t0`, level).
    pub fn timeline_of(&self, output: Output, t0: Instant) -> Vec<(std::time::Duration, bool)> {
        self.timeline()
            .into_iter()
            .filter(|c| c.output == output)
            .map(|c| (c.at.saturating_duration_since(t0), c.on))
            .collect()
    }
}

impl Outputs for SimOutputs {
    fn write(&mut self, output: Output, on: bool, now: Instant) -> Result<()> {
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Change {
                at: now,
                output,
                on,
            });
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "simulated"
    }
}
