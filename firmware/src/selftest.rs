//! `kiosk selftest [--json] [--simulate]`: one line per device and resource, pass or fail,
//! and what to do on a failure. Exit status 0 when everything passed, 1 otherwise.
//!
//! JSON: `{"ok": bool, "simulated": bool, "version": "x.y.z", "checked_at": "<RFC 3339>",
//! "checks": [{"name": "reader"|"scanner"|"printer"|"leds"|"disk"|"database"|"clock"|"county",
//! "ok": bool,
//! "detail": "...", "action": "..."|null}]}` — `detail` and `action` are Chinese first with
//! English beside it, as on the technician's screen.
//!
//! With `--simulate` the devices are the simulators (the reader's SAM on a pseudo-terminal,
//! read by the real driver); the disk, database, clock and county checks are always real.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use store_and_forward::{LinkError, Outbox};
use time::format_description::well_known::Rfc3339;

use crate::Failure;
use crate::config::Config;
use crate::station::Station;
use crate::{clock, form};

/// Below this much free space on the data partition, submissions are at risk.
const MIN_FREE_BYTES: u64 = 200 * 1024 * 1024;
const NET_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    pub action: Option<String>,
}

impl Check {
    pub(crate) fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            action: None,
        }
    }

    pub(crate) fn fail(
        name: &'static str,
        detail: impl Into<String>,
        action: impl Into<String>,
    ) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            action: Some(action.into()),
        }
    }
}

pub fn run(
    data_dir: &Path,
    config: &Config,
    json: bool,
    simulate: bool,
    boot: bool,
) -> Result<(), Failure> {
    let rt = crate::daemon::runtime()?;
    let checks = if boot {
        // The update gate: only what a new release can break. A station offline for a week
        // or with a reader unplugged must not roll back a good release.
        vec![disk(data_dir), database(data_dir)]
    } else {
        rt.block_on(all(config, data_dir, simulate, None))
    };
    let ok = checks.iter().all(|c| c.ok);
    // The full self-test (not the boot gate, not the simulators) goes to the county with
    // the next contact, so it sees a station with a failing device.
    if !boot && !simulate {
        keep_for_county(data_dir, &checks);
    }
    if json {
        let report = serde_json::json!({
            "ok": ok,
            "simulated": simulate,
            "version": env!("CARGO_PKG_VERSION"),
            "checked_at": form::now().format(&Rfc3339).ok(),
            "checks": checks,
        });
        println!("{report}");
    } else {
        for c in &checks {
            let mark = if c.ok { "通过 PASS" } else { "失败 FAIL" };
            println!("{mark}  {:<9} {}", c.name, c.detail);
            if let Some(a) = &c.action {
                println!("           怎么办 What to do: {a}");
            }
        }
    }
    if ok { Ok(()) } else { Err(Failure::silent(1)) }
}

/// Every check, in the order they are shown. `leds`: the LED check as the running kiosk
/// reports it (it holds the GPIO); `None` opens the GPIO here. The scanner check blocks
/// (it lists devices): run this off any thread that must stay responsive.
pub async fn all(
    config: &Config,
    data_dir: &Path,
    simulate: bool,
    leds: Option<Check>,
) -> Vec<Check> {
    vec![
        reader(config, simulate, data_dir).await,
        scanner_check(config, simulate),
        printer_check(config, simulate).await,
        leds.unwrap_or_else(|| leds_check(config, simulate)),
        disk(data_dir),
        database(data_dir),
        clock_check(data_dir),
        county(data_dir).await,
    ]
}

/// The checks as the county receives them.
pub fn report(checks: &[Check]) -> county_api::SelftestReport {
    county_api::SelftestReport {
        checked_at: form::now().format(&Rfc3339).unwrap_or_default(),
        ok: checks.iter().all(|c| c.ok),
        version: env!("CARGO_PKG_VERSION").to_string(),
        checks: checks
            .iter()
            .map(|c| county_api::SelftestCheck {
                name: c.name.to_string(),
                ok: c.ok,
                detail: c.detail.clone(),
                action: c.action.clone(),
            })
            .collect(),
    }
}

/// Leave the report in the outbox for the sync engine (`kiosk selftest` runs beside the
/// daemon; SQLite takes both). Not kept when the outbox cannot be opened (the database
/// check says why) — a self-test never fails for this.
pub fn keep_for_county(data_dir: &Path, checks: &[Check]) {
    let Ok(json) = serde_json::to_string(&report(checks)) else {
        return;
    };
    match Outbox::open(data_dir).and_then(|mut ob| ob.record_selftest(&json)) {
        Ok(()) => tracing::debug!("self-test kept for the county"),
        Err(e) => tracing::info!(error = %e, "the self-test is not kept for the county"),
    }
}

/// What each check is called on the technician's screen (the county's dashboard says the
/// same).
pub fn label(name: &str) -> (&'static str, &'static str) {
    county_api::SelftestCheck::label(name)
}

/// The ID-card reader: it answers, its security module (SAM) is in order, and its id.
async fn reader(config: &Config, simulate: bool, data_dir: &Path) -> Check {
    const NAME: &str = "reader";
    let sim = if simulate {
        match idcard::sim::Simulator::start(idcard::sim::SimOptions::default()) {
            Ok(s) => Some(s),
            Err(e) => {
                return Check::fail(
                    NAME,
                    format!("读卡器模拟器无法启动 The reader simulator cannot start: {e}"),
                    "检查 /dev/ptmx 是否可用 Check that pseudo-terminals are available",
                );
            }
        }
    } else {
        None
    };
    let path = sim
        .as_ref()
        .map(|s| s.path())
        .unwrap_or_else(|| config.devices.idcard.clone());
    // One slow answer is not a fault: the driver's own timeout, and one retry.
    let opts = idcard::Options {
        retries: 1,
        ..idcard::Options::default()
    };
    let unplugged = "检查读卡器的 USB 线，拔下再插上；仍不行请更换读卡器 \
                     Check the reader's USB cable, unplug and plug it back; replace the reader \
                     if it still fails";
    let mut r = match idcard::open(&path, opts) {
        Ok(r) => r,
        // The running kiosk holds the port: ask what it last heard from the reader.
        Err(idcard::Error::Busy { .. }) => {
            return match crate::daemon::reader_state(data_dir) {
                Some(Ok(since)) => Check::pass(
                    NAME,
                    format!(
                        "读卡器由运行中的终端使用，状态正常 The reader at {} is in use by the \
                         running kiosk and ready since {since}",
                        path.display()
                    ),
                ),
                Some(Err((since, error))) => Check::fail(
                    NAME,
                    format!(
                        "读卡器没有连接 The running kiosk lost the reader at {} ({since}): {error}",
                        path.display()
                    ),
                    unplugged,
                ),
                None => Check::fail(
                    NAME,
                    format!(
                        "读卡器被其他程序占用 The reader at {} is held by another program",
                        path.display()
                    ),
                    "关闭其他读卡程序，或重启设备 Close the other card program, or restart the unit",
                ),
            };
        }
        Err(e) => {
            return Check::fail(
                NAME,
                format!(
                    "读卡器没有连接 The reader at {} cannot be opened: {e}",
                    path.display()
                ),
                unplugged,
            );
        }
    };
    if let Err(e) = r.status().await {
        return Check::fail(
            NAME,
            format!(
                "读卡器不应答 The reader at {} does not answer: {e}",
                path.display()
            ),
            unplugged,
        );
    }
    match r.sam_id().await {
        Ok(id) => Check::pass(
            NAME,
            format!(
                "读卡器正常 Reader answers at {}; 安全模块 SAM {id}{}",
                path.display(),
                if simulate { " (模拟 simulated)" } else { "" }
            ),
        ),
        Err(e) => Check::fail(
            NAME,
            format!("读卡器的安全模块出错 The reader's SAM fails: {e}"),
            "请联系技术支持更换读卡器 Call support to replace the reader",
        ),
    }
}

/// The scanner: the configured one (or any, when none is named) is listed by its backend.
fn scanner_check(config: &Config, simulate: bool) -> Check {
    use scanner::Scanner;
    const NAME: &str = "scanner";
    let wanted = if simulate {
        Some(scanner::sim::DEVICE.to_string())
    } else {
        Some(config.devices.scanner.clone()).filter(|s| !s.is_empty())
    };
    let action = "检查扫描仪（或高拍仪）的电源和 USB 线 Check the scanner's (or document camera's) \
                  power and USB cable";
    let mut found = Vec::new();
    let mut problems = Vec::new();
    if wanted.as_deref() == Some(scanner::sim::DEVICE) {
        match scanner::sim::Simulator::default().devices() {
            Ok(d) => found.extend(d),
            Err(e) => problems.push(e.to_string()),
        }
    } else {
        for listed in [
            scanner::sane::Sane::new().devices(),
            scanner::camera::Camera::new().devices(),
        ] {
            match listed {
                Ok(d) => found.extend(d),
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    let hit = match &wanted {
        Some(name) => found.iter().find(|d| &d.name == name),
        None => found.first(),
    };
    match hit {
        Some(d) => Check::pass(
            NAME,
            format!(
                "扫描仪已连接 Scanner found: {}{}",
                d.to_string().replace('\t', " — "),
                sim_note(simulate)
            ),
        ),
        None => Check::fail(
            NAME,
            format!(
                "没有找到扫描仪 No scanner{} found{}",
                wanted.map(|w| format!(" {w}")).unwrap_or_default(),
                if problems.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", problems.join("; "))
                }
            ),
            action,
        ),
    }
}

/// The receipt printer answers its status query, with nothing in the way of printing.
async fn printer_check(config: &Config, simulate: bool) -> Check {
    use printer::ReceiptPrinter;
    const NAME: &str = "printer";
    let status = if simulate {
        match printer::SimulatedPrinter::start(printer::Options::default()) {
            Ok(mut p) => p.status().await,
            Err(e) => {
                return Check::fail(
                    NAME,
                    format!("打印机模拟器无法启动 The printer simulator cannot start: {e}"),
                    "检查 /dev/ptmx 是否可用 Check that pseudo-terminals are available",
                );
            }
        }
    } else {
        match printer::Printer::open(&config.devices.printer, printer::Options::default()) {
            // A printer busy finishing a line may miss one query: ask once more before
            // calling it silent.
            Ok(mut p) => match p.status().await {
                Err(printer::Error::NoAnswer { .. }) => p.status().await,
                r => r,
            },
            Err(e) => Err(e),
        }
    };
    let path = if simulate {
        "simulator".to_string()
    } else {
        config.devices.printer.display().to_string()
    };
    match status {
        Ok(st) if st.ready() => Check::pass(
            NAME,
            format!("打印机 Printer ({path}): {st}{}", sim_note(simulate)),
        ),
        Ok(st) => Check::fail(
            NAME,
            format!("打印机不能打印 The printer ({path}) cannot print: {st}"),
            "装纸、关好纸仓盖，或检查打印机的电源 Load paper, close the cover, or check the \
             printer's power",
        ),
        Err(e) => Check::fail(
            NAME,
            format!("打印机没有应答 The printer ({path}) does not answer: {e}"),
            "检查打印机的电源和 USB 线 Check the printer's power and USB cable",
        ),
    }
}

/// The LEDs and buzzer can be driven (the GPIO on a Raspberry Pi; recorded elsewhere).
fn leds_check(config: &Config, simulate: bool) -> Check {
    const NAME: &str = "leds";
    if simulate {
        return Check::pass(NAME, "指示灯和蜂鸣器（模拟） LEDs and buzzer (simulated)");
    }
    match signals::open(config.gpio.pins()) {
        Ok(signals::AnyOutputs::Gpio(_)) => Check::pass(
            NAME,
            "指示灯和蜂鸣器可用（GPIO）；kiosk leds --test 逐个点亮 LEDs and buzzer ready (GPIO); \
             `kiosk leds --test` shows each",
        ),
        Ok(signals::AnyOutputs::Simulated(_)) => Check::pass(
            NAME,
            "不是树莓派：指示灯和蜂鸣器为模拟 Not a Raspberry Pi: LEDs and buzzer are simulated",
        ),
        Err(e) => Check::fail(
            NAME,
            format!("指示灯或蜂鸣器不能使用 The LEDs or buzzer cannot be used: {e}"),
            "检查 kiosk.toml 的 [gpio] 引脚设置 Check the [gpio] pins in kiosk.toml",
        ),
    }
}

fn sim_note(simulate: bool) -> &'static str {
    if simulate { " (模拟 simulated)" } else { "" }
}

/// Free space on the data partition, and that it takes a durable write (not read-only).
fn disk(data_dir: &Path) -> Check {
    const NAME: &str = "disk";
    if let Err(e) = std::fs::create_dir_all(data_dir) {
        return Check::fail(
            NAME,
            format!(
                "数据目录无法创建 The data directory {} cannot be created: {e}",
                data_dir.display()
            ),
            "数据分区可能只读或已损坏：重启设备；仍不行请联系技术支持 The data partition may be \
             read-only or damaged: restart the unit, then call support",
        );
    }
    let probe = data_dir.join(".selftest-write");
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&probe)?;
        f.write_all(b"selftest")?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&probe);
    if let Err(e) = written {
        return Check::fail(
            NAME,
            format!(
                "数据分区不能写入 The data partition does not take writes ({}): {e}",
                data_dir.display()
            ),
            "存储卡可能已满、只读或损坏：重启设备；仍不行请更换存储卡（保留 /data） The card may \
             be full, read-only or failing: restart the unit, then replace the card keeping /data",
        );
    }
    match rustix::fs::statvfs(data_dir) {
        Ok(st) => {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let total = st.f_blocks.saturating_mul(st.f_frsize);
            let detail = format!(
                "可用 {} / 共 {} Free {} of {} ({})",
                mib(free),
                mib(total),
                mib(free),
                mib(total),
                data_dir.display()
            );
            if free < MIN_FREE_BYTES {
                Check::fail(
                    NAME,
                    format!("存储空间不足 Storage almost full: {detail}"),
                    "等待联网把申请发出后空间会释放；长期断网请用 kiosk export 导出 Space comes \
                     back once waiting applications are sent; for a long outage export them \
                     with `kiosk export`",
                )
            } else {
                Check::pass(NAME, format!("存储正常 Storage OK: {detail}"))
            }
        }
        Err(e) => Check::fail(
            NAME,
            format!("无法读取存储空间 The free space cannot be read: {e}"),
            "重启设备 Restart the unit",
        ),
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MB", bytes / (1024 * 1024))
}

/// The outbox database opens, migrates and passes SQLite's own consistency check; its scans
/// are where the rows say (the outbox checks that when it opens).
fn database(data_dir: &Path) -> Check {
    const NAME: &str = "database";
    let action = "不要关机；请联系技术支持，申请数据需要人工恢复 Do not switch off; call support \
                  to recover the stored applications";
    let ob = match Outbox::open(data_dir) {
        Ok(ob) => ob,
        Err(e) => {
            let detail = match store_and_forward::Health::of_error(&e) {
                Some(h) => {
                    let (zh, en) = h.message();
                    format!("{zh} / {en} ({e})")
                }
                None => format!("本机数据库无法打开 The local database cannot be opened: {e}"),
            };
            return Check::fail(NAME, detail, action);
        }
    };
    match ob.integrity_problems() {
        Ok(p) if p.is_empty() => {
            let total: u64 = ob
                .status(form::now())
                .map(|s| s.counts.values().sum())
                .unwrap_or(0);
            Check::pass(
                NAME,
                format!("数据库完好，共 {total} 件申请 Database sound, {total} applications"),
            )
        }
        Ok(p) => Check::fail(
            NAME,
            format!(
                "数据库有损坏 The database is damaged: {}",
                p.join("; ").chars().take(300).collect::<String>()
            ),
            action,
        ),
        Err(e) => Check::fail(
            NAME,
            format!("数据库检查失败 The database check failed: {e}"),
            action,
        ),
    }
}

fn clock_check(data_dir: &Path) -> Check {
    const NAME: &str = "clock";
    let system = time::OffsetDateTime::now_utc();
    let shown = form::now()
        .format(&Rfc3339)
        .unwrap_or_else(|_| system.to_string());
    let county = Outbox::open(data_dir)
        .and_then(|ob| ob.county_clock())
        .ok()
        .flatten();
    match clock::assess(system, clock::last_known(data_dir), county.map(|(o, _)| o)) {
        clock::Verdict::Plausible => Check::pass(
            NAME,
            match county {
                Some((off, _)) => format!(
                    "时间 Time {shown}；与县平台相差 {off} 秒 {off} s from the county's clock"
                ),
                None => format!(
                    "时间 Time {shown}（尚未与县平台核对 not yet compared with the county）"
                ),
            },
        ),
        clock::Verdict::OffFromCounty(off) => Check::fail(
            NAME,
            format!(
                "本机时间与县平台相差 {} 分钟 The clock is {} minutes off the county's: {shown}",
                off / 60,
                off / 60
            ),
            "请技术员检查网络校时（NTP）；年龄等按县平台时间核对 Have the technician check time \
             synchronisation (NTP); check ages against the county's date",
        ),
        clock::Verdict::NeverSet => Check::fail(
            NAME,
            format!(
                "时间未设置（断电后） The clock was not set since the power came back: {shown}"
            ),
            "接通网络后时间会自动校准；在此之前登记的年龄需核对 The time is set once the link \
             is back; check ages of applications taken before that",
        ),
        clock::Verdict::WentBack(by) => Check::fail(
            NAME,
            format!(
                "时间倒退了 {} 分钟 The clock went back {} minutes: {shown}",
                by.whole_minutes(),
                by.whole_minutes()
            ),
            "接通网络后时间会自动校准 The time is set once the link is back",
        ),
    }
}

/// The county link: the name resolves, a connection opens, and an authenticated call works.
async fn county(data_dir: &Path) -> Check {
    const NAME: &str = "county";
    let station = match Station::load(data_dir) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Check::fail(
                NAME,
                "本站尚未开通 This station is not provisioned yet",
                "把县平台的开通文件拷到设备上并运行 kiosk provision FILE Copy the county's \
                 provisioning file and run `kiosk provision FILE`",
            );
        }
        Err(e) => return Check::fail(NAME, e.message, "重新开通本站 Provision the station again"),
    };
    let url = match reqwest::Url::parse(&station.county_url) {
        Ok(u) => u,
        Err(e) => {
            return Check::fail(
                NAME,
                format!(
                    "县平台地址无效 The county address {:?} is not valid: {e}",
                    station.county_url
                ),
                "重新开通本站 Provision the station again",
            );
        }
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let cable = "检查网线或 4G 信号；县平台可能暂时不通，申请会自动等待 Check the cable or the \
                 4G signal; the county may be down for now — applications wait safely";
    let addrs =
        match tokio::time::timeout(NET_TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
            .await
        {
            Ok(Ok(a)) => a.collect::<Vec<_>>(),
            Ok(Err(e)) => {
                return Check::fail(
                    NAME,
                    format!("找不到县平台 The county's name {host} does not resolve: {e}"),
                    cable,
                );
            }
            Err(_) => {
                return Check::fail(
                    NAME,
                    format!("域名解析超时 Looking up {host} timed out"),
                    cable,
                );
            }
        };
    let Some(addr) = addrs.first().copied() else {
        return Check::fail(NAME, format!("{host} 没有地址 has no address"), cable);
    };
    match tokio::time::timeout(NET_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Check::fail(
                NAME,
                format!("连不上县平台 No connection to the county at {addr}: {e}"),
                cable,
            );
        }
        Err(_) => {
            return Check::fail(
                NAME,
                format!("连接县平台超时 Connecting to the county at {addr} timed out"),
                cable,
            );
        }
    }
    let tls = if url.scheme() == "https" {
        "TLS"
    } else {
        "明文 plain HTTP (loopback/test)"
    };
    let new_file = "请向县平台要新的开通文件并重新开通 Ask the county for a new provisioning file \
                    (its certificate may have changed) and run `kiosk provision FILE`";
    let link = match station.link(data_dir) {
        Ok(link) => link,
        Err(e) => return Check::fail(NAME, e.message, new_file),
    };
    match tokio::time::timeout(Duration::from_secs(30), link.probe()).await {
        Ok(Ok(())) => Check::pass(
            NAME,
            format!(
                "县平台连接正常 County link OK: {} ({addr}, {tls}, station {})",
                station.county_url, station.station_id
            ),
        ),
        Ok(Err(LinkError::Refused { status, body })) if status == 401 || status == 403 => {
            Check::fail(
                NAME,
                format!(
                    "县平台不接受本站的凭证 The county refuses this station's credential: {} / {}",
                    body.message_zh, body.message
                ),
                "本站可能已被停用；请向县平台要新的开通文件并重新开通 The station may have been \
                 revoked; ask the county for a new provisioning file",
            )
        }
        Ok(Err(LinkError::Untrusted(why))) => Check::fail(
            NAME,
            format!(
                "县平台的证书不受信任 The county's TLS certificate is not trusted ({addr}): {why}"
            ),
            new_file,
        ),
        Ok(Err(e)) => Check::fail(
            NAME,
            format!("县平台的应答有误 The county's answer is wrong: {e}"),
            cable,
        ),
        Err(_) => Check::fail(
            NAME,
            "县平台应答超时 The county did not answer in time",
            cable,
        ),
    }
}
