//! `kiosk`: the village service-station appliance.
//!
//! Glue only: the command line, configuration and wiring of the library crates (domain,
//! store-and-forward, drivers, ui, and the county platform for the demo). Exit codes:
//! 0 success; 1 the command failed (the message says why); 2 usage error.

mod board;
mod card;
mod catalog;
mod cli;
mod clock;
mod config;
mod counter;
mod daemon;
mod demo;
mod form;
mod handover;
mod leds;
mod logging;
mod people;
mod pin;
mod provision;
mod receipt;
mod samples;
mod scan;
mod screen;
mod selftest;
mod sneakernet;
mod station;
mod status;
mod submit;
mod villager;
mod watchdog;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// A failure a person reads: one plain sentence, no debug dump.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 1,
        }
    }

    /// The command already printed its own report; exit with `code` and print nothing more.
    pub fn silent(code: u8) -> Failure {
        Failure {
            message: String::new(),
            code,
        }
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Failure {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Failure::new(message)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let shows_screen = matches!(
        cli.command,
        None | Some(
            Command::Demo { headless: false }
                | Command::Run {
                    headless: false,
                    ..
                }
        )
    );
    if shows_screen {
        // Before any thread starts: may point fontconfig at a stand-in font so the screen's
        // font loader cannot panic on a machine without fonts (kiosk_ui::prepare_fonts).
        if let Err(e) = kiosk_ui::prepare_fonts() {
            tracing::warn!("the font guard could not write its stand-in: {e}");
        }
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("kiosk: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let config = config::Config::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Demo { headless: false });
    let data_dir = config::data_dir(cli.data_dir.as_deref(), &command, &config);
    match command {
        Command::Demo { headless } => demo::run(&data_dir, &config, headless),
        Command::Run { headless, simulate } => {
            daemon::run_appliance(&data_dir, &config, headless, simulate)
        }
        Command::Submit { file, json, print } => {
            submit::run(&data_dir, &file, json, print.then_some(&config))
        }
        Command::Status { json } => status::run(&data_dir, json),
        Command::Handover { tracking_number } => handover::run(&data_dir, &tracking_number),
        Command::Provision { file } => provision::run(&data_dir, &file),
        Command::Export { to } => sneakernet::export(&data_dir, &to),
        Command::Import { file } => sneakernet::import(&data_dir, &file),
        Command::Selftest {
            json,
            simulate,
            boot,
        } => selftest::run(&data_dir, &config, json, simulate, boot),
        Command::Card { action } => card::run(action),
        Command::Receipt { device, test } => receipt::run(&device, test),
        Command::Printer { action } => receipt::run_printer(action),
        Command::Leds { .. } => leds::test(&config.gpio),
        Command::Scan(args) => scan::run(args),
        Command::Pin { action } => match action {
            cli::PinAction::Set { role } => pin::set_from_stdin(&data_dir, role),
            cli::PinAction::Clear { role } => pin::clear(&data_dir, role),
        },
    }
}
