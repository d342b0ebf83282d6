//! The pattern engine: which output is on at a given instant. Pure: time is an input, so
//! tests drive it with a fake clock.

use std::time::{Duration, Instant};

/// The four outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Output {
    /// The county link (green).
    Link,
    /// Applications waiting to be sent (yellow).
    Backlog,
    /// A device or storage fault (red).
    Fault,
    Buzzer,
}

impl Output {
    pub const ALL: [Output; 4] = [Output::Link, Output::Backlog, Output::Fault, Output::Buzzer];

    fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Output::Link => "link",
            Output::Backlog => "backlog",
            Output::Fault => "fault",
            Output::Buzzer => "buzzer",
        }
    }
}

/// How an output behaves from the moment it is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Off,
    Steady,
    /// On for [`BLINK_HALF`], off for as long, repeating.
    Blink,
    /// On for [`SHORT_BEEP`] once (a card was read), then off.
    ShortBeep,
    /// On for [`LONG_BEEP`] once (an error), then off.
    LongBeep,
}

impl Pattern {
    pub const ALL: [Pattern; 5] = [
        Pattern::Off,
        Pattern::Steady,
        Pattern::Blink,
        Pattern::ShortBeep,
        Pattern::LongBeep,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pattern::Off => "off",
            Pattern::Steady => "steady",
            Pattern::Blink => "blink",
            Pattern::ShortBeep => "short beep",
            Pattern::LongBeep => "long beep",
        }
    }

    /// How long the pattern takes to show itself once (a blink: one on and one off).
    pub fn once(self) -> Duration {
        match self {
            Pattern::Off | Pattern::Steady => Duration::from_millis(500),
            Pattern::Blink => BLINK_HALF * 2,
            Pattern::ShortBeep => SHORT_BEEP,
            Pattern::LongBeep => LONG_BEEP,
        }
    }

    /// On or off `elapsed` after the pattern was set.
    pub fn level(self, elapsed: Duration) -> bool {
        match self {
            Pattern::Off => false,
            Pattern::Steady => true,
            Pattern::Blink => (elapsed.as_millis() / BLINK_HALF.as_millis()).is_multiple_of(2),
            Pattern::ShortBeep => elapsed < SHORT_BEEP,
            Pattern::LongBeep => elapsed < LONG_BEEP,
        }
    }

    /// The first moment after `elapsed` at which the level changes, counted from when the
    /// pattern was set; `None` when it never changes again.
    pub fn next_change(self, elapsed: Duration) -> Option<Duration> {
        match self {
            Pattern::Off | Pattern::Steady => None,
            Pattern::Blink => {
                let half = BLINK_HALF.as_nanos();
                let n = elapsed.as_nanos() / half + 1;
                Some(Duration::from_nanos((n * half) as u64))
            }
            Pattern::ShortBeep => (elapsed < SHORT_BEEP).then_some(SHORT_BEEP),
            Pattern::LongBeep => (elapsed < LONG_BEEP).then_some(LONG_BEEP),
        }
    }
}

pub const BLINK_HALF: Duration = Duration::from_millis(500);
pub const SHORT_BEEP: Duration = Duration::from_millis(80);
pub const LONG_BEEP: Duration = Duration::from_millis(800);

/// Something that happened, signalled on the buzzer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A short beep.
    CardRead,
    /// A long beep.
    Error,
}

/// The level of each output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Levels(pub [bool; 4]);

impl Levels {
    pub fn get(&self, o: Output) -> bool {
        self.0[o.index()]
    }
}

/// The patterns in force and when each was set.
#[derive(Clone, Debug)]
pub struct Engine {
    active: [(Pattern, Instant); 4],
}

impl Engine {
    /// Everything off.
    pub fn new(now: Instant) -> Engine {
        Engine {
            active: [(Pattern::Off, now); 4],
        }
    }

    /// Set `output`'s pattern from `now`. Setting the pattern already in force keeps its
    /// phase (a blink does not restart), except for beeps, which sound again.
    pub fn set(&mut self, output: Output, pattern: Pattern, now: Instant) {
        let slot = &mut self.active[output.index()];
        let beep = matches!(pattern, Pattern::ShortBeep | Pattern::LongBeep);
        if slot.0 != pattern || beep {
            *slot = (pattern, now);
        }
    }

    pub fn event(&mut self, event: Event, now: Instant) {
        let p = match event {
            Event::CardRead => Pattern::ShortBeep,
            Event::Error => Pattern::LongBeep,
        };
        self.set(Output::Buzzer, p, now);
    }

    pub fn pattern(&self, output: Output) -> Pattern {
        self.active[output.index()].0
    }

    pub fn level(&self, output: Output, now: Instant) -> bool {
        let (p, since) = self.active[output.index()];
        p.level(now.saturating_duration_since(since))
    }

    pub fn levels(&self, now: Instant) -> Levels {
        Levels(Output::ALL.map(|o| self.level(o, now)))
    }

    /// When the next level change is due (strictly after `now`); `None` when nothing will
    /// change without a new `set`.
    pub fn next_change(&self, now: Instant) -> Option<Instant> {
        self.active
            .iter()
            .filter_map(|&(p, since)| {
                p.next_change(now.saturating_duration_since(since))
                    .map(|d| since + d)
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Levels of `output` sampled every 10 ms from `t0` for `span`, as a string of 0/1
    /// run lengths ("1x8 0x…").
    fn trace(e: &Engine, output: Output, t0: Instant, span: Duration) -> String {
        let mut runs: Vec<(bool, u32)> = Vec::new();
        let mut t = Duration::ZERO;
        while t < span {
            let on = e.level(output, t0 + t);
            match runs.last_mut() {
                Some((l, n)) if *l == on => *n += 1,
                _ => runs.push((on, 1)),
            }
            t += 10 * MS;
        }
        runs.iter()
            .map(|(l, n)| format!("{}x{n}", u8::from(*l)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn check(pattern: Pattern, span_ms: u64, expect: &str) {
        let t0 = Instant::now();
        let mut e = Engine::new(t0);
        e.set(Output::Link, pattern, t0);
        assert_eq!(
            trace(&e, Output::Link, t0, Duration::from_millis(span_ms)),
            expect,
            "{pattern:?}"
        );
    }

    #[test]
    fn each_pattern_over_time() {
        check(Pattern::Off, 1000, "0x100");
        check(Pattern::Steady, 1000, "1x100");
        check(Pattern::Blink, 2000, "1x50 0x50 1x50 0x50");
        check(Pattern::ShortBeep, 1000, "1x8 0x92");
        check(Pattern::LongBeep, 1000, "1x80 0x20");
    }

    #[test]
    fn next_change_lands_exactly_on_each_edge() {
        let t0 = Instant::now();
        let mut e = Engine::new(t0);
        assert_eq!(e.next_change(t0), None);
        e.set(Output::Backlog, Pattern::Blink, t0);
        e.event(Event::CardRead, t0 + 100 * MS);
        let mut edges = Vec::new();
        let mut now = t0;
        while let Some(t) = e.next_change(now) {
            if t > t0 + 1600 * MS {
                break;
            }
            assert!(t > now);
            assert_ne!(
                e.levels(t - MS),
                e.levels(t),
                "a change is due at {:?}",
                t - t0
            );
            edges.push((t - t0).as_millis());
            now = t;
        }
        assert_eq!(edges, vec![180, 500, 1000, 1500]);
    }

    #[test]
    fn setting_the_same_blink_keeps_its_phase_but_a_beep_sounds_again() {
        let t0 = Instant::now();
        let mut e = Engine::new(t0);
        e.set(Output::Fault, Pattern::Blink, t0);
        e.set(Output::Fault, Pattern::Blink, t0 + 700 * MS);
        assert!(
            !e.level(Output::Fault, t0 + 750 * MS),
            "still in its off half"
        );
        e.event(Event::Error, t0);
        e.event(Event::Error, t0 + 2000 * MS);
        assert!(e.level(Output::Buzzer, t0 + 2500 * MS));
        assert!(!e.level(Output::Buzzer, t0 + 2800 * MS));
    }

    #[test]
    fn a_clock_that_steps_back_does_not_panic() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut e = Engine::new(t0);
        e.set(Output::Link, Pattern::Blink, t0);
        let earlier = t0 - Duration::from_secs(5);
        assert!(e.level(Output::Link, earlier));
        assert_eq!(e.next_change(earlier), Some(t0 + BLINK_HALF));
    }
}
