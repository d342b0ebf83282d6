//! `county`: the reference county platform's command line. Glue over the `county` library.
//!
//! Exit status: 0 success; 1 an error, reported as one line on stderr starting `county: `;
//! 2 a usage error (clap's message). Logs go to stderr through `tracing`; `RUST_LOG` sets the
//! level (default `info` for `serve`, `warn` otherwise).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use county_api::{DecisionKind, bundle};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "county",
    version,
    about = "The reference county platform for village service stations",
    long_about = "The reference county platform for village service stations: serves the \
        station–county API (docs/openapi.yaml) and the clerks' review page (/review/), \
        registers and revokes stations, adds clerks, lists applications and records clerks' \
        decisions.\n\nAll data lives in one directory (--data-dir): \
        county.sqlite3 and the attachments. The clerk commands work while `county serve` runs \
        on the same directory.",
    after_help = "Exit status: 0 success, 1 error (one line on stderr), 2 usage error.\n\
        Logging: RUST_LOG (e.g. RUST_LOG=debug) controls what goes to stderr."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the station–county API until SIGINT or SIGTERM.
    ///
    /// Prints one line, `county: listening on http://ADDR` (https:// with TLS), once it
    /// accepts connections.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The county's data directory (created if missing).
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// POST each decision's SMS for the villager to this http:// or https:// URL as
        /// JSON (docs/sms-webhook.md); failures are retried from a queue in the database.
        /// Without it the SMS is only logged (masked name and tracking number).
        #[arg(long, value_name = "URL")]
        sms_webhook: Option<String>,
        /// Trust exactly this CA (PEM) for an https:// --sms-webhook, instead of the
        /// system's certificate store: for a gateway with a private CA or a self-signed
        /// certificate.
        #[arg(long, value_name = "FILE", requires = "sms_webhook")]
        sms_webhook_ca: Option<PathBuf>,
    },
    /// Manage village stations.
    #[command(subcommand)]
    Station(StationCommand),
    /// Manage the clerks who log in to the review page (/review/).
    #[command(subcommand)]
    Clerk(ClerkCommand),
    /// List every application, oldest first.
    Applications {
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Record a clerk's decision on an application.
    ///
    /// approve: a complete application. reject, more-papers: a complete or approved one, with
    /// --reason. ready: an approved one (the result can be collected at the station).
    Decide {
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// The application id (as `county applications` shows it).
        application_id: Uuid,
        /// What the clerk decided.
        kind: Kind,
        /// Why; required for reject and more-papers. The station shows it to the operator.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Who decides (recorded in the audit trail).
        #[arg(long, value_name = "NAME", env = "USER", default_value = "clerk")]
        clerk: String,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Take in a station's bundle from a USB stick (written by `kiosk export`).
    ///
    /// The bundle's signature is checked against the signing key the station registered at
    /// enrolment; an unknown or revoked station, a bad signature, a truncated or garbage
    /// file is refused as a whole (exit 1) and nothing is stored. Each application then goes
    /// through the same intake as an upload over the link: importing twice, or importing and
    /// later receiving the same application over the link, never stores it twice. Prints
    /// one line per application (new / already had / refused with the reason) and a total.
    /// Exit status 1 when any application was refused (the others are stored).
    Import {
        /// The bundle file (`<station-id>-<time>.kiosk-bundle`).
        file: PathBuf,
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Publish and show the service catalog stations pull (GET /v1/catalog).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Publish notices to every station or to chosen ones (一键发文到村).
    #[command(subcommand)]
    Notice(NoticeCommand),
    /// Write a station's decisions onto a USB stick, for `kiosk import` at the station.
    ///
    /// The bundle holds every decision for the station and the ids of its applications the
    /// county holds whole (the station stops sending those), signed with the county's
    /// signing key (`county-signing.key`, whose public half is in the provisioning file).
    /// Prints the file written.
    ExportDecisions {
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// The station id (as `station add` printed it).
        #[arg(long, value_name = "ID")]
        station: String,
        /// The directory to write the bundle into (e.g. the mounted USB stick).
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Publish service-definition revisions and/or county parameters as the next catalog
    /// version.
    ///
    /// FILE is one service definition (the format of docs/service-definition.schema.json,
    /// e.g. domain/services/elderly-card.json) or {"services": [DEFINITION, ...], "params":
    /// {"min_age": 65}}, either key optional. Every definition must pass the schema and the
    /// definition checks and have a higher version than the one in force; every parameter
    /// must be one a service declares. Services not in the file stay in force; "params"
    /// replaces the county's parameters as a whole. A refused file changes nothing (exit 1);
    /// a file that changes nothing is reported as unchanged (exit 0). Prints the new version.
    Publish {
        /// The county's data directory (created if missing).
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// The publication file (JSON).
        file: PathBuf,
        /// Who publishes (recorded in the audit trail).
        #[arg(long, value_name = "NAME", env = "USER", default_value = "clerk")]
        clerk: String,
    },
    /// Show what is published: the catalog version, the services in force, the parameters.
    Show {
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// Print the catalog exactly as stations get it (JSON).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum NoticeCommand {
    /// Publish a notice; without --station it goes to every station.
    ///
    /// Stations pull it with GET /v1/notices?after=VERSION and show it on their screens.
    /// Prints one line per notice row written (its version and to whom).
    Publish {
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// The title in Chinese.
        #[arg(long, value_name = "TEXT")]
        title_zh: String,
        /// The title in English.
        #[arg(long, value_name = "TEXT")]
        title_en: String,
        /// The text in Chinese.
        #[arg(long, value_name = "TEXT")]
        body_zh: String,
        /// The text in English.
        #[arg(long, value_name = "TEXT")]
        body_en: String,
        /// Send only to this station (repeatable); default: every station.
        #[arg(long, value_name = "ID")]
        station: Vec<String>,
        /// Stations stop showing it after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
        /// Who publishes (recorded in the audit trail).
        #[arg(long, value_name = "NAME", env = "USER", default_value = "clerk")]
        clerk: String,
    },
    /// List every published notice, newest first.
    List {
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum StationCommand {
    /// Register a station and write its provisioning file.
    ///
    /// The file holds a one-time enrolment token; copy it to the station's boot partition.
    /// Prints the new station id.
    Add {
        /// The station's display name, e.g. the village's name.
        #[arg(long)]
        name: String,
        /// The county URL the station dials (as the station sees it).
        #[arg(long)]
        url: String,
        /// Where to write the provisioning file (TOML).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The county's TLS trust anchor (PEM), copied into the provisioning file: the CA
        /// certificate that signed the certificate `serve --tls-cert` uses, or that
        /// certificate itself when it is self-signed. Required for an https:// URL: the
        /// station trusts exactly this, never a system certificate store.
        #[arg(long, value_name = "FILE")]
        tls_anchor: Option<PathBuf>,
        /// The county's data directory (created if missing).
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Revoke a station: every later call with its credential is refused (403).
    ///
    /// For a lost or stolen unit. Idempotent: revoking a revoked station succeeds and
    /// changes nothing. A replacement unit is registered with `station add`.
    Revoke {
        /// The county's data directory.
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
        /// The station id (as `station add` printed it).
        station_id: String,
    },
}

#[derive(Subcommand)]
enum ClerkCommand {
    /// Add a clerk; the password is read from the first line of standard input.
    ///
    /// e.g. `printf '%s\n' "$PASSWORD" | county clerk add --data-dir DIR --name li`.
    /// Passwords have at least 10 characters; they are stored as Argon2id hashes.
    Add {
        /// The clerk's login name (letters, digits, '.', '_' or '-'); shown in the audit log.
        #[arg(long)]
        name: String,
        /// The county's data directory (created if missing).
        #[arg(long, value_name = "DIR", env = "COUNTY_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Approve,
    Reject,
    MorePapers,
    Ready,
}

impl From<Kind> for DecisionKind {
    fn from(kind: Kind) -> DecisionKind {
        match kind {
            Kind::Approve => DecisionKind::Approve,
            Kind::Reject => DecisionKind::Reject,
            Kind::MorePapers => DecisionKind::MorePapers,
            Kind::Ready => DecisionKind::Ready,
        }
    }
}

type Error = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    county::install_tls_provider();
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Serve { .. }));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = e.to_string().replace('\n', " ");
            eprintln!("county: {message}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(serving: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if serving { "info" } else { "warn" })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            data_dir,
            sms_webhook,
            sms_webhook_ca,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(county::tls::server_config(&cert, &key)?),
                _ => None,
            };
            let notifier: Option<std::sync::Arc<dyn county::sms::Notifier>> = match sms_webhook {
                Some(url) => {
                    let ca = match &sms_webhook_ca {
                        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                            county::CountyError::InvalidInput(format!(
                                "无法读取短信网关的 CA 证书 {}（{e}） / cannot read the SMS \
                                 webhook's CA {}: {e}",
                                path.display(),
                                path.display()
                            ))
                        })?),
                        None => None,
                    };
                    Some(std::sync::Arc::new(county::sms::WebhookNotifier::trusting(
                        &url,
                        ca.as_deref(),
                    )?))
                }
                None => None,
            };
            serve(&listen, &data_dir, tls, notifier)
        }
        Command::Station(StationCommand::Add {
            name,
            url,
            out,
            tls_anchor,
            data_dir,
        }) => station_add(&name, &url, &out, tls_anchor.as_deref(), &data_dir),
        Command::Station(StationCommand::Revoke {
            data_dir,
            station_id,
        }) => {
            let outcome = county::revoke_station(&data_dir, &station_id)?;
            let mut out = std::io::stdout().lock();
            match outcome {
                county::Revoked::Now => writeln!(out, "station {station_id} revoked")?,
                county::Revoked::Already(at) => {
                    writeln!(out, "station {station_id} was already revoked at {at}")?
                }
            }
            Ok(())
        }
        Command::Clerk(ClerkCommand::Add { name, data_dir }) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            let password = line.strip_suffix('\n').unwrap_or(&line);
            let password = password.strip_suffix('\r').unwrap_or(password);
            county::add_clerk(&data_dir, &name, password)?;
            writeln!(std::io::stdout().lock(), "clerk {} added", name.trim())?;
            Ok(())
        }
        Command::Applications { data_dir, json } => applications(&data_dir, json),
        Command::Catalog(CatalogCommand::Publish {
            data_dir,
            file,
            clerk,
        }) => catalog_publish(&data_dir, &file, &clerk),
        Command::Catalog(CatalogCommand::Show { data_dir, json }) => catalog_show(&data_dir, json),
        Command::Notice(NoticeCommand::Publish {
            data_dir,
            title_zh,
            title_en,
            body_zh,
            body_en,
            station,
            expires_at,
            clerk,
        }) => {
            let rows = county::publish_notice(
                &data_dir,
                &county_api::I18nText {
                    zh: title_zh,
                    en: title_en,
                },
                &county_api::I18nText {
                    zh: body_zh,
                    en: body_en,
                },
                &station,
                expires_at.as_deref(),
                &clerk,
            )?;
            let mut out = std::io::stdout().lock();
            for row in rows {
                match row.station_id {
                    Some(id) => writeln!(
                        out,
                        "已发布通知第 {} 号给服务站 {id} / published notice version {} to station {id}",
                        row.version, row.version
                    )?,
                    None => writeln!(
                        out,
                        "已发布通知第 {} 号给所有服务站 / published notice version {} to every station",
                        row.version, row.version
                    )?,
                }
            }
            Ok(())
        }
        Command::Notice(NoticeCommand::List { data_dir }) => {
            let mut out = std::io::stdout().lock();
            for row in county::list_notices(&data_dir)? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{} / {}",
                    row.version,
                    row.published_at,
                    row.station_id.as_deref().unwrap_or("*"),
                    row.title.zh,
                    row.title.en
                )?;
            }
            Ok(())
        }
        Command::Import { file, data_dir } => import(&file, &data_dir),
        Command::ExportDecisions {
            data_dir,
            station,
            to,
        } => {
            let done = county::sneakernet::export_decisions(&data_dir, station.trim(), &to)?;
            writeln!(
                std::io::stdout().lock(),
                "已为服务站 {station} 导出 {} 条决定、{} 份已收申请（{}）到 {} / exported {} \
                 decisions and {} received applications for station {station} ({}) to {}",
                done.decisions,
                done.received,
                bundle::human_size(done.bytes),
                done.path.display(),
                done.decisions,
                done.received,
                bundle::human_size(done.bytes),
                done.path.display(),
            )?;
            Ok(())
        }
        Command::Decide {
            data_dir,
            application_id,
            kind,
            reason,
            clerk,
            json,
        } => {
            let decision = county::decide(
                &data_dir,
                application_id,
                kind.into(),
                reason.as_deref(),
                &clerk,
            )?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&decision)?)?;
            } else {
                let kind = serde_json::to_value(decision.kind)?;
                writeln!(
                    out,
                    "decision {} for application {} ({}): {}{}",
                    decision.cursor,
                    decision.application_id,
                    decision.tracking_number,
                    kind.as_str().unwrap_or_default(),
                    decision
                        .reason
                        .as_deref()
                        .map(|r| format!(" — {r}"))
                        .unwrap_or_default(),
                )?;
            }
            Ok(())
        }
    }
}

fn catalog_publish(data_dir: &Path, file: &Path, clerk: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match county::publish_catalog(data_dir, file, clerk)? {
        county::Published::New {
            version,
            revisions,
            params_changed,
        } => {
            let mut changes: Vec<String> = revisions
                .iter()
                .map(|(id, v)| format!("{id} v{v}"))
                .collect();
            if params_changed {
                changes.push("params".to_owned());
            }
            writeln!(
                out,
                "已发布服务目录第 {version} 版（{}） / published catalog version {version} ({})",
                changes.join(", "),
                changes.join(", ")
            )?;
        }
        county::Published::Unchanged { version } => writeln!(
            out,
            "文件内容均已在用，服务目录仍为第 {version} 版 / nothing new: the catalog stays at \
             version {version}"
        )?,
    }
    Ok(())
}

fn catalog_show(data_dir: &Path, json: bool) -> Result<(), Error> {
    let info = county::show_catalog(data_dir)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&info.catalog)?)?;
        return Ok(());
    }
    match (&info.published_at, &info.published_by) {
        (Some(at), Some(by)) => writeln!(
            out,
            "catalog version {} (published {at} by {by})",
            info.version
        )?,
        _ => writeln!(out, "catalog version {} (nothing published)", info.version)?,
    }
    writeln!(out, "services:")?;
    for (id, version, zh, en, published) in &info.services {
        writeln!(
            out,
            "  {id}\tv{version}\t{}\t{zh} / {en}",
            if *published { "published" } else { "built-in" }
        )?;
    }
    if info.params.is_empty() {
        writeln!(out, "params: (defaults)")?;
    } else {
        writeln!(out, "params:")?;
        for (name, value) in &info.params {
            writeln!(out, "  {name} = {value}")?;
        }
    }
    Ok(())
}

fn serve(
    listen: &str,
    data_dir: &Path,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    sms: Option<std::sync::Arc<dyn county::sms::Notifier>>,
) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let state = county::AppState::open(data_dir)?;
        if let Some(notifier) = sms {
            state.set_sms(notifier, county::sms::Retry::default());
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let address = listener.local_addr()?;
        let shutdown = shutdown_signal();
        {
            let mut out = std::io::stdout().lock();
            let scheme = if tls.is_some() { "https" } else { "http" };
            writeln!(out, "county: listening on {scheme}://{address}")?;
            out.flush()?;
        }
        match tls {
            Some(config) => {
                county::serve_tls(listener, config, state, shutdown).await?;
            }
            None => county::serve_state(listener, state, shutdown).await?,
        }
        Ok(())
    })
}

/// SIGINT or SIGTERM. The handlers are installed when this is called (not when the future is
/// first polled), so a signal sent right after the "listening" line stops the server
/// gracefully instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}

fn station_add(
    name: &str,
    url: &str,
    out: &Path,
    tls_anchor: Option<&Path>,
    data_dir: &Path,
) -> Result<(), Error> {
    let anchor = match tls_anchor {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            format!(
                "the TLS trust anchor {} cannot be read: {e}",
                path.display()
            )
        })?),
        None => None,
    };
    let provisioning = county::add_station_trusting(data_dir, name, url, anchor.as_deref())?;
    let body = toml::to_string(&provisioning)?;
    let text = format!(
        "# Provisioning file for village station \"{}\" ({}), written by `county station add`.\n\
         # Copy it to the station's boot partition. The enrolment token works once: the station\n\
         # exchanges it for its own credential on first contact. Keep it secret until then.\n\n\
         {body}",
        provisioning.station_name.replace('\n', " "),
        provisioning.station_id,
    );
    write_private(out, &text).map_err(|e| {
        format!(
            "station {} was added, but {} cannot be written: {e}",
            provisioning.station_id,
            out.display()
        )
    })?;
    writeln!(std::io::stdout().lock(), "{}", provisioning.station_id)?;
    Ok(())
}

/// Write a file readable by its owner only (it holds a secret).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

fn import(file: &Path, data_dir: &Path) -> Result<(), Error> {
    use county::sneakernet::Outcome;
    let report = county::sneakernet::import(data_dir, file)?;
    let mut out = std::io::stdout().lock();
    for a in &report.applications {
        let what = match &a.outcome {
            Outcome::New => "新收 / new".to_owned(),
            Outcome::Completed => "补齐扫描件 / scans completed".to_owned(),
            Outcome::AlreadyHad => "已有 / already had".to_owned(),
            Outcome::Refused(why) => format!("拒收 / refused: {why}"),
        };
        writeln!(out, "{} {}: {what}", a.application_id, a.tracking_number)?;
    }
    let new = report.count(|o| matches!(o, Outcome::New | Outcome::Completed));
    let had = report.count(|o| *o == Outcome::AlreadyHad);
    let refused = report.count(|o| matches!(o, Outcome::Refused(_)));
    writeln!(
        out,
        "服务站 {station} 的导入包（{created}）：新收 {new} 份，已有 {had} 份，拒收 {refused} 份 / \
         bundle of station {station} ({created}): {new} new, {had} already had, {refused} refused",
        station = report.station_id,
        created = report.created_at,
    )?;
    if refused > 0 {
        return Err(
            format!("{refused} application(s) of the bundle were refused (see above)").into(),
        );
    }
    Ok(())
}

fn applications(data_dir: &Path, json: bool) -> Result<(), Error> {
    let list = county::list_applications(data_dir)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(out, "no applications")?;
        return Ok(());
    }
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|a| {
            let done = a.attachments.iter().filter(|f| f.complete).count();
            [
                a.application_id.to_string(),
                a.tracking_number.clone(),
                format!("{} ({})", a.station_name, a.station),
                a.service.clone(),
                a.state.clone(),
                format!("{done}/{}", a.attachments.len()),
                a.received_at.clone(),
            ]
        })
        .collect();
    let header = [
        "APPLICATION",
        "TRACKING",
        "STATION",
        "SERVICE",
        "STATE",
        "FILES",
        "RECEIVED",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
