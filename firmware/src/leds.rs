//! `kiosk leds --test`: each pattern once on the LEDs and the buzzer, on the real GPIO on a
//! Raspberry Pi, on the simulated backend elsewhere (saying which). The pins come from the
//! `[gpio]` section of the configuration file.

use std::time::{Duration, Instant};

use serde::Deserialize;
use signals::{AnyOutputs, Output, Pattern, Pins, Signals};

use crate::Failure;

/// `[gpio]` in kiosk.toml: BCM pin numbers.
///
/// ```toml
/// [gpio]
/// link = 17
/// backlog = 27
/// fault = 22
/// buzzer = 18
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GpioConfig {
    pub link: u8,
    pub backlog: u8,
    pub fault: u8,
    pub buzzer: u8,
}

impl Default for GpioConfig {
    fn default() -> GpioConfig {
        let p = Pins::default();
        GpioConfig {
            link: p.link,
            backlog: p.backlog,
            fault: p.fault,
            buzzer: p.buzzer,
        }
    }
}

impl GpioConfig {
    pub fn pins(&self) -> Pins {
        Pins {
            link: self.link,
            backlog: self.backlog,
            fault: self.fault,
            buzzer: self.buzzer,
        }
    }
}

/// The steps of the test: what is shown, and for how long.
fn steps() -> Vec<(Output, Pattern, Duration)> {
    let mut v = Vec::new();
    for led in [Output::Link, Output::Backlog, Output::Fault] {
        v.push((led, Pattern::Steady, Duration::from_millis(400)));
        v.push((led, Pattern::Blink, Pattern::Blink.once()));
        v.push((led, Pattern::Off, Duration::from_millis(100)));
    }
    for beep in [Pattern::ShortBeep, Pattern::LongBeep] {
        v.push((
            Output::Buzzer,
            beep,
            beep.once() + Duration::from_millis(400),
        ));
    }
    v
}

fn label(o: Output) -> &'static str {
    match o {
        Output::Link => "联网灯 / link LED",
        Output::Backlog => "待发灯 / backlog LED",
        Output::Fault => "故障灯 / fault LED",
        Output::Buzzer => "蜂鸣器 / buzzer",
    }
}

pub fn test(gpio: &GpioConfig) -> Result<(), Failure> {
    let pins = gpio.pins();
    let outputs = signals::open(pins).map_err(|e| Failure::new(e.to_string()))?;
    let sim = match &outputs {
        AnyOutputs::Gpio(_) => {
            println!(
                "GPIO（树莓派）/ real GPIO: link {}, backlog {}, fault {}, buzzer {}",
                pins.link, pins.backlog, pins.fault, pins.buzzer
            );
            None
        }
        AnyOutputs::Simulated(s) => {
            println!("模拟（不是树莓派）/ simulated: not a Raspberry Pi, nothing lights up");
            Some(s.clone())
        }
    };
    let t0 = Instant::now();
    let mut s = Signals::new(outputs, t0);
    s.update(t0).map_err(|e| Failure::new(e.to_string()))?;
    for (output, pattern, hold) in steps() {
        println!("{}: {}", label(output), pattern.name());
        let now = Instant::now();
        s.set(output, pattern, now);
        s.run_until(now + hold)
            .map_err(|e| Failure::new(e.to_string()))?;
    }
    if let Some(sim) = sim {
        let changes = sim.timeline();
        for o in Output::ALL {
            let on = changes.iter().filter(|c| c.output == o && c.on).count();
            println!("{}: switched on {on} times", label(o));
        }
    }
    println!("完成 / done");
    Ok(())
}
