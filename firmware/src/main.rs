//! `kiosk`: the village service-station appliance.
//!
//! Glue only: the command line, configuration and wiring of the library crates (domain,
//! store-and-forward, drivers, ui, and the county platform for the demo). Exit codes:
//! 0 success; 1 the command failed (the message says why); 2 usage error, or a subcommand
//! whose feature has not landed yet.

mod card;
mod catalog;
mod cli;
mod config;
mod daemon;
mod demo;
mod form;
mod handover;
mod people;
mod provision;
mod samples;
mod scan;
mod screen;
mod station;
mod status;
mod submit;

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

    /// The subcommand's feature has not landed yet.
    fn not_available(what: &str) -> Failure {
        Failure {
            message: format!("`kiosk {what}` is not available yet in this build"),
            code: 2,
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

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
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
        Command::Run { headless } => daemon::run_appliance(&data_dir, &config, headless),
        Command::Submit { file, json } => submit::run(&data_dir, &file, json),
        Command::Status { json } => status::run(&data_dir, json),
        Command::Handover { tracking_number } => handover::run(&data_dir, &tracking_number),
        Command::Provision { file } => provision::run(&data_dir, &file),
        Command::Selftest { .. } => Err(Failure::not_available("selftest")),
        Command::Card { action } => card::run(action),
        Command::Scan(args) => scan::run(args),
    }
}
