//! The real backend: four GPIO output pins through rppal (the Raspberry Pi's `/dev/gpiomem`
//! or the GPIO character device). Each pin goes back to its former state when the handle
//! is dropped (rppal's reset-on-drop).

use std::time::Instant;

use rppal::gpio::{Gpio, OutputPin};

use crate::{Error, Output, Outputs, Result};

/// BCM pin numbers of the outputs (what `kiosk.toml` may set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pins {
    pub link: u8,
    pub backlog: u8,
    pub fault: u8,
    pub buzzer: u8,
}

impl Default for Pins {
    /// GPIO 17, 27, 22 (pins 11, 13, 15 of the header, next to each other) for the LEDs and
    /// GPIO 18 (pin 12) for an active buzzer.
    fn default() -> Pins {
        Pins {
            link: 17,
            backlog: 27,
            fault: 22,
            buzzer: 18,
        }
    }
}

impl Pins {
    pub fn of(&self, o: Output) -> u8 {
        match o {
            Output::Link => self.link,
            Output::Backlog => self.backlog,
            Output::Fault => self.fault,
            Output::Buzzer => self.buzzer,
        }
    }
}

/// The outputs on the Raspberry Pi's GPIO, all low at the start.
#[derive(Debug)]
pub struct GpioOutputs {
    pins: [OutputPin; 4],
}

impl GpioOutputs {
    /// Claim the four pins. Off a Raspberry Pi this is [`Error::NotARaspberryPi`].
    pub fn open(pins: Pins) -> Result<GpioOutputs> {
        let mut seen = Vec::new();
        for o in Output::ALL {
            let p = pins.of(o);
            if seen.contains(&p) {
                return Err(Error::PinTwice { pin: p });
            }
            seen.push(p);
        }
        let gpio = Gpio::new().map_err(|e| match e {
            rppal::gpio::Error::UnknownModel => Error::NotARaspberryPi,
            e => Error::Gpio {
                message: e.to_string(),
            },
        })?;
        let claim = |o: Output| -> Result<OutputPin> {
            let pin = pins.of(o);
            gpio.get(pin)
                .map(|p| p.into_output_low())
                .map_err(|e| Error::Pin {
                    output: o.name(),
                    pin,
                    message: e.to_string(),
                })
        };
        Ok(GpioOutputs {
            pins: [
                claim(Output::Link)?,
                claim(Output::Backlog)?,
                claim(Output::Fault)?,
                claim(Output::Buzzer)?,
            ],
        })
    }
}

impl Outputs for GpioOutputs {
    fn write(&mut self, output: Output, on: bool, _now: Instant) -> Result<()> {
        let pin = &mut self.pins[output as usize];
        if on {
            pin.set_high();
        } else {
            pin.set_low();
        }
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "GPIO"
    }
}
