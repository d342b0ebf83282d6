//! The screen: turns the domain and the outbox into what `kiosk-ui` shows, and the operator's
//! actions into submissions. Runs the UI on the main thread; storage work goes to the tokio
//! runtime's blocking pool so the screen never waits on the SD card.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idcard::{Card, CardEvent, CardReader};

use kiosk_domain::codes;
use kiosk_domain::definition::{FieldKind, ServiceDefinition};
use kiosk_ui::{
    BoardRow, BoardState, CheckView, FieldErrorView, FieldKindView, FieldView, FormSection,
    FormView, HandoverRow, HandoverView, InfoView, MessageKind, ReceiptView, ScanView, ServiceTile,
    StaffRole, StatusView, Ui, UiEvent, UiHandle,
};
use store_and_forward::outbox::Summary;
use store_and_forward::{AppState, NewApplication, NewScan, Status};
use tokio::runtime::Runtime;

use crate::Failure;
use crate::catalog::Catalog;
use crate::daemon::{Shared, wait_for_signal};
use crate::form::{self, Problem};
use crate::samples;
use crate::villager;

/// Run the window until it closes. Without a display, say so and carry on headless.
pub fn run(
    rt: &Runtime,
    shared: Shared,
    reader: Option<crate::daemon::Reader>,
) -> Result<(), Failure> {
    let ui = match Ui::new() {
        Ok(ui) => ui,
        Err(e) => {
            eprintln!(
                "kiosk: the screen cannot be opened ({e}); carrying on without a window \
                 (use --headless to skip this attempt). Stop with Ctrl-C."
            );
            rt.block_on(wait_for_signal());
            return Ok(());
        }
    };
    let handle = ui.handle();
    handle.set_services(catalog(&shared).services.iter().map(tile).collect());
    handle.set_guide(villager::guide(&catalog(&shared)));
    let (station_zh, station_en) = split_name(&shared.station.station_name);
    handle.set_status(StatusView {
        station_zh,
        station_en,
        demo: shared.demo,
        ..StatusView::default()
    });

    let controller = Arc::new(Mutex::new(Controller {
        shared: shared.clone(),
        handle: handle.clone(),
        rt: rt.handle().clone(),
        form: None,
        kept: None,
        sim: reader.as_ref().and_then(crate::daemon::Reader::simulator),
        pending_group: None,
        me: std::sync::Weak::new(),
        tries: Default::default(),
        on_board: false,
        pending_handover: Vec::new(),
    }));
    lock(&controller).me = Arc::downgrade(&controller);
    let cards = reader.map(|r| rt.spawn(card_events(r, controller.clone())));
    {
        let controller = controller.clone();
        ui.on_event(move |ev| lock(&controller).handle(ev));
    }

    // The screen counts as alive while the UI thread runs the refresh loop's pings.
    let screen = shared
        .liveness
        .register("screen", std::time::Duration::from_secs(30));
    handle.ping(|| crate::watchdog::ready("serving"));
    let refresher = rt.spawn(refresh(shared, handle.clone(), screen));
    // systemd stops the appliance with SIGTERM: close the window so everything shuts down
    // in order (the sync engine finishes its step, the outbox closes).
    let stopper = rt.spawn(async move {
        wait_for_signal().await;
        handle.quit();
    });
    let result = ui
        .run()
        .map_err(|e| Failure::new(format!("the screen stopped: {e}")));
    refresher.abort();
    stopper.abort();
    if let Some(c) = cards {
        c.abort();
    }
    result
}

/// The services and county parameters in force now (a snapshot: the refresh loop replaces
/// the shared catalog when the county publishes a new one).
fn catalog(shared: &Shared) -> Catalog {
    shared
        .catalog
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

fn lock(c: &Mutex<Controller>) -> std::sync::MutexGuard<'_, Controller> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

/// The card reader's events, into the controller (the form fills from "card presented").
async fn card_events(mut reader: impl CardReader, controller: Arc<Mutex<Controller>>) {
    while let Some(ev) = reader.next_event().await {
        match ev {
            CardEvent::Presented(card) => lock(&controller).card_presented(*card),
            CardEvent::Unreadable(e) => {
                tracing::warn!(error = %e, "card unreadable");
                let mut c = lock(&controller);
                c.pending_group = None;
                if let Some(sim) = &c.sim {
                    sim.lift();
                }
                c.handle.show_message(
                    "这张证件读不出来，请核对证件；如果一直这样，请联系技术员".into(),
                    format!("This card cannot be read ({e})"),
                    MessageKind::Warning,
                );
            }
            CardEvent::Removed | CardEvent::ReaderReady => {}
            CardEvent::ReaderLost(e) => {
                tracing::warn!(error = %e, "card reader lost");
                lock(&controller).handle.show_message(
                    "读卡器没有连接好，请检查读卡器的连线".into(),
                    format!("The card reader is not connected ({e})"),
                    MessageKind::Warning,
                );
            }
        }
    }
}

/// Every second: the status bar and the counter board, from the outbox.
/// Also follows the county's catalog: when a newer one was pulled, the services offered
/// and the parameters used by validation change with it.
async fn refresh(shared: Shared, handle: UiHandle, alive: crate::watchdog::Beat) {
    if let Some(health) = shared.outbox.degraded() {
        return degraded(health, handle, alive).await;
    }
    let mut catalog_version: Option<u64> = None;
    let mut shown_notices: Option<Vec<String>> = None;
    let mut shown_sign_in: Option<(bool, bool)> = None;
    loop {
        // The PINs may be set with `kiosk pin set` while the kiosk runs: followed here.
        // A damaged PIN file locks both pages (the check then says why).
        let sign_in = sign_in(&shared);
        if shown_sign_in != Some(sign_in) {
            handle.set_sign_in(
                sign_in.0,
                sign_in.1,
                shared.demo.then(|| {
                    (
                        format!(
                            "演示：操作员密码 {}，技术员密码 {}",
                            crate::demo::OPERATOR_PIN,
                            crate::demo::TECHNICIAN_PIN
                        ),
                        format!(
                            "Demo: operator PIN {}, technician PIN {}",
                            crate::demo::OPERATOR_PIN,
                            crate::demo::TECHNICIAN_PIN
                        ),
                    )
                }),
            );
            shown_sign_in = Some(sign_in);
        }
        let beat = alive.clone();
        handle.ping(move || beat.beat());
        let store = shared.outbox.clone();
        let known = catalog_version;
        let read = tokio::task::spawn_blocking(move || {
            store.read(|ob| {
                let pulled = ob.catalog()?.map(|(v, _)| v);
                let newer = (pulled != known).then(|| (pulled, Catalog::load(ob)));
                Ok((
                    ob.status(form::now())?,
                    ob.recent(500)?,
                    newer,
                    ob.notices(form::now())?,
                    ob.county_clock()?,
                ))
            })
        })
        .await;
        match read {
            Ok(Ok((status, recent, newer, notices, county_clock))) => {
                if shown_notices.as_ref() != Some(&notices) {
                    handle.set_notices(villager::notices(&notices));
                    shown_notices = Some(notices);
                }
                if let Some((version, fresh)) = newer {
                    catalog_version = version;
                    handle.set_services(fresh.services.iter().map(tile).collect());
                    handle.set_guide(villager::guide(&fresh));
                    *shared.catalog.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
                }
                let cat = catalog(&shared);
                // A clock found wrong (never set since a power cut, gone back, far off the
                // county's): the strip says so; the county dates such captures itself.
                let clock_doubtful = crate::clock::note(
                    form::now(),
                    crate::clock::last_known(&shared.data_dir),
                    county_clock,
                )
                .confidence
                    == county_api::ClockConfidence::Doubtful;
                handle.set_status(status_view(&shared, &status, sign_in.0, clock_doubtful));
                handle.set_board(recent.iter().map(|r| board_row(&cat, r)).collect());
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot read the outbox for the screen"),
            Err(e) => tracing::error!(error = %e, "screen refresh failed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The station runs degraded (see `daemon::Store`): instead of the board and the service
/// tiles, one plain banner saying what happened and what to do, shown again before it hides.
async fn degraded(
    health: store_and_forward::Health,
    handle: UiHandle,
    alive: crate::watchdog::Beat,
) {
    let (zh, en) = health.message();
    handle.set_services(Vec::new());
    handle.set_board(Vec::new());
    loop {
        handle.show_message(zh.into(), en.into(), MessageKind::Error);
        for _ in 0..5 {
            let beat = alive.clone();
            handle.ping(move || beat.beat());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

struct OpenForm {
    def: ServiceDefinition,
    values: BTreeMap<String, String>,
    touched: BTreeSet<String>,
    scans: Vec<NewScan>,
}

struct Controller {
    shared: Shared,
    handle: UiHandle,
    rt: tokio::runtime::Handle,
    form: Option<OpenForm>,
    /// The form set aside when the staff pages timed out: off screen, kept until the
    /// operator is back (signed in again) or chooses another page.
    kept: Option<OpenForm>,
    /// Demo: the simulator the "simulate card tap" button places sample cards on.
    sim: Option<idcard::sim::Simulator>,
    /// The group the card being read is for (set by the demo's tap).
    pending_group: Option<String>,
    /// Itself, for work that finishes off the UI thread (scans).
    me: std::sync::Weak<Mutex<Controller>>,
    /// Wrong PINs in a row, the operator's and the technician's.
    tries: [crate::pin::Tries; 2],
    /// The counter board is up (a card tap there is a pick-up, not a villager's lookup).
    on_board: bool,
    /// The applications the open hand-over dialog lists.
    pending_handover: Vec<uuid::Uuid>,
}

impl Controller {
    fn handle(&mut self, ev: UiEvent) {
        // Where the operator is: a card tap on the board is a pick-up.
        match &ev {
            UiEvent::ShowBoard | UiEvent::CancelForm => self.on_board = true,
            UiEvent::StartService { .. }
            | UiEvent::ShowIdle
            | UiEvent::ShowTechnician
            | UiEvent::Submit { .. }
            | UiEvent::ConfirmSubmit
            | UiEvent::StaffTimedOut
            | UiEvent::ResumeForm => self.on_board = false,
            _ => {}
        }
        // A page chosen on purpose drops a form set aside by the staff time-out.
        if matches!(
            ev,
            UiEvent::StartService { .. }
                | UiEvent::ShowBoard
                | UiEvent::ShowIdle
                | UiEvent::ShowTechnician
                | UiEvent::CancelForm
        ) {
            self.kept = None;
        }
        match ev {
            UiEvent::StartService { service_id } => {
                match catalog(&self.shared).service(&service_id).cloned() {
                    Some(def) => {
                        self.handle.show_form(form_view(&def));
                        self.form = Some(OpenForm {
                            def,
                            values: BTreeMap::new(),
                            touched: BTreeSet::new(),
                            scans: Vec::new(),
                        });
                    }
                    None => self.handle.show_message(
                        "这项服务暂时不能办理".into(),
                        "This service is not available right now".into(),
                        MessageKind::Warning,
                    ),
                }
            }
            UiEvent::FieldEdited { field_id, value } => {
                if let Some(f) = self.form.as_mut() {
                    f.values.insert(field_id.clone(), value);
                    f.touched.insert(field_id);
                    self.show_errors(false);
                }
            }
            UiEvent::ScanRequested { scan_id } => self.scan(scan_id),
            UiEvent::SimulateCardTap => self.card_tap(),
            UiEvent::Submit { values } => {
                if let Some(f) = self.form.as_mut() {
                    f.values = values.into_iter().collect();
                }
                self.review();
            }
            UiEvent::ConfirmSubmit => self.submit(),
            UiEvent::StaffTimedOut => {
                self.kept = self.form.take();
                self.pending_group = None;
            }
            UiEvent::ResumeForm => {
                if self.kept.is_some() {
                    self.form = self.kept.take();
                }
            }
            UiEvent::CancelForm | UiEvent::ShowBoard => {
                self.form = None;
                self.handle.show_board();
            }
            UiEvent::ShowIdle => self.form = None,
            UiEvent::PinEntered { role, pin } => self.pin_entered(role, pin),
            UiEvent::ShowTechnician => {
                self.form = None;
                self.handle.set_station_info(station_info(&self.shared));
            }
            UiEvent::RunSelftest => self.run_selftest(),
            UiEvent::PrintTestReceipt => self.print_test_receipt(),
            UiEvent::ConfirmHandover => self.confirm_handover(),
            UiEvent::OpenApplication { tracking_number } => self.open_application(tracking_number),
            UiEvent::CancelHandover => self.pending_handover.clear(),
        }
    }

    /// The technician's test receipt: the same receipt an application gets, marked as a
    /// test, so what comes out of the printer is what a villager would hold.
    fn print_test_receipt(&self) {
        let (shared, handle) = (self.shared.clone(), self.handle.clone());
        self.rt.spawn(async move {
            let now = form::now();
            let printed = shared
                .receipts
                .print(
                    &shared.station.station_name,
                    "测试回执 Test receipt",
                    "TEST-0000",
                    now,
                    &shared.hotline,
                )
                .await;
            shared
                .faults
                .printer(crate::counter::printer_probe(&printed));
            let (zh, en, ok) = match &printed {
                Ok(st) => match crate::counter::printer_problems(st) {
                    None => (
                        "测试回执已打印，请看字迹是否清楚".to_string(),
                        "The test receipt is printed: check that it reads clearly".to_string(),
                        true,
                    ),
                    Some((zh, en)) => (
                        format!("测试回执已打印，但打印机：{zh}"),
                        format!("Test receipt printed, but the printer says: {en}"),
                        false,
                    ),
                },
                Err(e) => (
                    "测试回执没有打印出来：请检查打印机的电源、纸和连线".to_string(),
                    format!(
                        "The test receipt did not print ({e}): check the printer's power, \
                         paper and cable"
                    ),
                    false,
                ),
            };
            if !ok {
                tracing::warn!("the test receipt did not come out clean");
                crate::counter::beep(shared.signals.as_ref(), signals::Event::Error);
            }
            handle.test_print_done(zh, en, ok);
        });
    }

    /// A row tapped on the board: that application's story, read off the UI thread.
    fn open_application(&self, tracking_number: String) {
        let (shared, handle) = (self.shared.clone(), self.handle.clone());
        self.rt.spawn_blocking(move || {
            let found = shared.outbox.read(|ob| {
                ob.by_tracking(&tracking_number)?
                    .map(|s| ob.events(&s.id).map(|e| (s, e)))
                    .transpose()
            });
            match found {
                Ok(Some((summary, events))) => handle.show_history(crate::board::history_view(
                    &catalog(&shared),
                    &summary,
                    &events,
                    form::now(),
                )),
                Ok(None) => handle.show_message(
                    "这份申请已经不在本机（领取后会按期清理）".into(),
                    "This application is no longer kept here (collected ones are cleared in time)"
                        .into(),
                    MessageKind::Info,
                ),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read an application's history");
                    handle.show_message(
                        "现在读不出这份申请的记录，请稍后再试".into(),
                        "This application's history cannot be read now; try again later".into(),
                        MessageKind::Warning,
                    );
                }
            }
        });
    }

    /// A card tapped on the board: what this person can collect now, in a dialog.
    fn offer_handover(&self, card: &Card) {
        let key = self.shared.people.key(&card.text.id_number);
        let (shared, handle, me) = (self.shared.clone(), self.handle.clone(), self.me.clone());
        self.rt.spawn_blocking(move || {
            let found = shared.outbox.read(|ob| ob.for_person(&key));
            let apps = match found {
                Ok(apps) => apps,
                Err(e) => {
                    tracing::error!(error = %e, "cannot look up a card holder's applications");
                    handle.show_message(
                        "现在查不到这个人的申请，请稍后再试".into(),
                        "This person's applications cannot be looked up now; try again later"
                            .into(),
                        MessageKind::Warning,
                    );
                    return;
                }
            };
            let ready: Vec<&Summary> = apps
                .iter()
                .filter(|a| a.state.can_go_to(AppState::HandedOver))
                .collect();
            if ready.is_empty() {
                handle.show_message(
                    "这个人现在没有可以领取的申请".into(),
                    "Nothing is ready for pick-up for this card".into(),
                    MessageKind::Info,
                );
                return;
            }
            let cat = catalog(&shared);
            let view = HandoverView {
                masked_name: ready[0].masked_name.clone(),
                rows: ready
                    .iter()
                    .map(|a| {
                        let def = cat.service(&a.service);
                        HandoverRow {
                            tracking_number: a.tracking_number.clone(),
                            service_zh: def
                                .as_ref()
                                .map_or(a.service.clone(), |d| short_title(&d.title.zh)),
                            service_en: def
                                .as_ref()
                                .map_or(a.service.clone(), |d| short_title(&d.title.en)),
                        }
                    })
                    .collect(),
            };
            if let Some(c) = me.upgrade() {
                lock(&c).pending_handover = ready.iter().map(|a| a.id).collect();
            }
            handle.show_handover(view);
        });
    }

    /// The operator confirmed: each listed application is handed over (stored at once; the
    /// county is told with the next contact).
    fn confirm_handover(&mut self) {
        let ids = std::mem::take(&mut self.pending_handover);
        let (shared, handle) = (self.shared.clone(), self.handle.clone());
        self.rt.spawn_blocking(move || {
            let Some(outbox) = shared.outbox.serving() else {
                handle.close_handover();
                return;
            };
            let now = form::now();
            let result: Result<usize, store_and_forward::OutboxError> = {
                let mut ob = outbox.lock().unwrap_or_else(|p| p.into_inner());
                ids.iter()
                    .try_for_each(|id| ob.record_handover(id, now))
                    .map(|()| ids.len())
            };
            handle.close_handover();
            match result {
                Ok(n) => {
                    tracing::info!(count = n, "handed over at the counter");
                    shared.wake.notify_one();
                    handle.show_message(
                        format!("已登记领取 {n} 份"),
                        format!("{n} handed over"),
                        MessageKind::Info,
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "hand-over not recorded");
                    crate::counter::beep(shared.signals.as_ref(), signals::Event::Error);
                    handle.show_message(
                        "没有登记成功，请再刷一次证件".into(),
                        format!("Not recorded ({e}); tap the card again"),
                        MessageKind::Error,
                    );
                }
            }
        });
    }

    fn tries(&mut self, role: crate::pin::Role) -> &mut crate::pin::Tries {
        &mut self.tries[match role {
            crate::pin::Role::Operator => 0,
            crate::pin::Role::Technician => 1,
        }]
    }

    /// Check a PIN off the UI thread (Argon2 is slow on purpose), unless tries are paused.
    fn pin_entered(&mut self, shown: StaffRole, pin: String) {
        let role = crate::pin::Role::from(shown);
        if let Err(wait) = self.tries(role).allowed(std::time::Instant::now()) {
            let (zh, en) = crate::pin::refusal(0, Some(wait));
            self.handle.pin_refused(zh, en);
            return;
        }
        let data_dir = self.shared.data_dir.clone();
        let me = self.me.clone();
        self.rt.spawn_blocking(move || {
            let result = crate::pin::Pins::load(&data_dir).map(|p| p.verify(role, &pin));
            if let Some(c) = me.upgrade() {
                lock(&c).pin_checked(shown, result);
            }
        });
    }

    fn pin_checked(&mut self, shown: StaffRole, result: Result<bool, crate::pin::PinError>) {
        let role = crate::pin::Role::from(shown);
        let now = std::time::Instant::now();
        match result {
            Ok(true) => {
                self.tries(role).record(true, now);
                tracing::info!(role = ?role, "signed in");
                if role == crate::pin::Role::Technician {
                    self.handle.set_station_info(station_info(&self.shared));
                }
                self.on_board = role == crate::pin::Role::Operator;
                if role == crate::pin::Role::Operator && self.kept.is_some() {
                    // The UI shows the form it set aside, not the board.
                    self.form = self.kept.take();
                    self.on_board = false;
                }
                self.handle.pin_accepted(shown);
            }
            Ok(false) => {
                let tries = self.tries(role);
                let left = tries.record(false, now);
                let wait = tries.allowed(now).err();
                tracing::warn!(role = ?role, left, "wrong PIN");
                let (zh, en) = crate::pin::refusal(left, wait);
                self.handle.pin_refused(zh, en);
            }
            Err(e) => {
                tracing::error!(error = %e, "the PIN file cannot be used");
                self.handle.pin_refused(
                    "密码文件损坏，请技术员重新设置密码".into(),
                    "The PIN file is damaged: the technician sets the PINs again \
                     (`kiosk pin set`)"
                        .into(),
                );
            }
        }
    }

    /// The technician page's self-test: the checks of `kiosk selftest`, beside the running
    /// kiosk (the reader as the daemon last heard it, the LEDs as it drives them).
    fn run_selftest(&self) {
        let (config, data_dir, simulate) = (
            self.shared.config.clone(),
            self.shared.data_dir.clone(),
            self.shared.simulate,
        );
        let leds = match &self.shared.signals {
            // Simulated LEDs: the check says so itself.
            _ if simulate => None,
            Some(_) => Some(crate::selftest::Check::pass(
                "leds",
                "指示灯和蜂鸣器由运行中的终端控制 LEDs and buzzer driven by the running kiosk",
            )),
            None => Some(crate::selftest::Check::fail(
                "leds",
                "指示灯和蜂鸣器不能使用 The LEDs and buzzer cannot be used (see the journal)",
                "检查 kiosk.toml 的 [gpio] 引脚设置 Check the [gpio] pins in kiosk.toml",
            )),
        };
        let (handle, rt) = (self.handle.clone(), self.rt.clone());
        let outbox = self.shared.outbox.clone();
        self.rt.spawn_blocking(move || {
            let checks = rt.block_on(crate::selftest::all(&config, &data_dir, simulate, leds));
            if !simulate {
                // Sent to the county with the next contact.
                match serde_json::to_string(&crate::selftest::report(&checks)) {
                    Ok(json) => match outbox.serving() {
                        Some(ob) => {
                            let kept = ob
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .record_selftest(&json);
                            if let Err(e) = kept {
                                tracing::warn!(error = %e, "the self-test is not kept for the county");
                            }
                        }
                        None => tracing::info!("degraded: the self-test is not sent to the county"),
                    },
                    Err(e) => tracing::warn!(error = %e, "the self-test cannot be encoded"),
                }
            }
            let failed = checks.iter().filter(|c| !c.ok).count();
            tracing::info!(
                checks = checks.len(),
                failed,
                "self-test from the technician page"
            );
            let views = checks
                .iter()
                .map(|c| {
                    let (label_zh, label_en) = crate::selftest::label(c.name);
                    CheckView {
                        label_zh: label_zh.into(),
                        label_en: label_en.into(),
                        ok: c.ok,
                        detail: c.detail.clone(),
                        action: c.action.clone().unwrap_or_default(),
                    }
                })
                .collect();
            let now = form::now();
            let shown = format!("{:02}:{:02}", now.hour(), now.minute());
            handle.set_checks(views, shown);
        });
    }

    fn problems(&self) -> Vec<Problem> {
        let Some(f) = &self.form else {
            return Vec::new();
        };
        match form::check(
            &catalog(&self.shared),
            &f.def.id,
            &f.values,
            &f.scans,
            form::now(),
        ) {
            Ok(_) => Vec::new(),
            Err(p) => p,
        }
    }

    /// Show errors; while typing only those of fields already touched.
    fn show_errors(&self, all: bool) {
        let Some(f) = &self.form else { return };
        let errors = self
            .problems()
            .into_iter()
            .filter(|p| all || f.touched.contains(&p.field))
            .map(|p| FieldErrorView {
                field_id: p.field,
                message_zh: p.zh,
                message_en: p.en,
            })
            .collect();
        self.handle.set_field_errors(errors);
    }

    /// Scan one paper for the open form, off the UI thread, with progress on its row.
    fn scan(&mut self, scan_id: String) {
        if self.form.is_none() {
            return;
        }
        let device = self.shared.scanner.clone();
        let faults = self.shared.faults.clone();
        let (handle, me) = (self.handle.clone(), self.me.clone());
        let kind = crate::scan::kind_of_slot(&scan_id);
        handle.set_scan_state(
            scan_id.clone(),
            false,
            Some(("正在扫描…".into(), "Scanning…".into())),
        );
        self.rt.spawn_blocking(move || {
            let mut shown = -10.0f32;
            let result = crate::scan::capture(device.as_deref(), kind, |percent| {
                if percent - shown >= 10.0 {
                    shown = percent;
                    handle.set_scan_state(
                        scan_id.clone(),
                        false,
                        Some((
                            format!("正在扫描 {percent:.0}%"),
                            format!("Scanning {percent:.0}%"),
                        )),
                    );
                }
            });
            // A failed scan: is the scanner still there? The status strip says so if not.
            if result.is_err() && !crate::scan::present(device.as_deref()) {
                faults.set(
                    crate::counter::Device::Scanner,
                    Some(crate::counter::Fault::scanner_missing()),
                );
            }
            if let Some(c) = me.upgrade() {
                lock(&c).scanned(scan_id, result);
            }
        });
    }

    fn scanned(&mut self, scan_id: String, result: Result<scanner::Processed, Failure>) {
        // A scan that ends after the staff time-out belongs to the form set aside.
        let Some(f) = self.form.as_mut().or(self.kept.as_mut()) else {
            return;
        };
        match result {
            Ok(page) => {
                self.shared
                    .faults
                    .set(crate::counter::Device::Scanner, None);
                let kb = page.bytes.len() / 1024;
                // The thumbnail is the pipeline's own; one that cannot be read only costs
                // the picture on screen, not the scan.
                let preview = match scanner::preview(&page.thumbnail) {
                    Ok(p) => Some(kiosk_ui::Picture {
                        width: p.width,
                        height: p.height,
                        rgb: p.rgb,
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, "scan preview not shown");
                        None
                    }
                };
                self.handle.set_scan_preview(scan_id.clone(), preview);
                f.scans.retain(|s| s.scan != scan_id);
                f.scans.push(NewScan {
                    // A JPEG, or a black-and-white PNG for a page of dense print.
                    name: format!("{scan_id}.{}", page.extension()),
                    scan: scan_id.clone(),
                    content_type: page.content_type().into(),
                    bytes: page.bytes,
                });
                f.touched.insert(format!("scans.{scan_id}"));
                self.handle.set_scan_state(
                    scan_id,
                    true,
                    Some((format!("已扫描（{kb} KB）"), format!("Scanned ({kb} KB)"))),
                );
                self.show_errors(false);
            }
            Err(e) => {
                crate::counter::beep(self.shared.signals.as_ref(), signals::Event::Error);
                // The paper's earlier scan, if any, is still the one kept.
                let kept = f.scans.iter().any(|s| s.scan == scan_id);
                self.handle.set_scan_state(scan_id, kept, None);
                self.handle.show_message(
                    "没有扫描成功，请检查扫描仪后再扫一次".into(),
                    format!("The scan failed: {}", e.message),
                    MessageKind::Warning,
                );
            }
        }
    }

    /// The next group of the open form whose card fields are all empty.
    fn next_card_group(&self) -> Option<String> {
        let f = self.form.as_ref()?;
        f.def
            .groups
            .iter()
            .find(|g| {
                let prefix = format!("{}.", g.id);
                let card_fields: Vec<_> = f
                    .def
                    .fields
                    .iter()
                    .filter(|d| d.id.starts_with(&prefix) && d.from_card.is_some())
                    .collect();
                !card_fields.is_empty()
                    && card_fields
                        .iter()
                        .all(|d| f.values.get(&d.id).is_none_or(|v| v.trim().is_empty()))
            })
            .map(|g| g.id.clone())
    }

    /// Demo: put the sample card for the next empty card group on the simulated reader.
    /// The form fills when the driver reports the card (`card_presented`).
    /// Without an open form it is a villager's tap: the first sample card, whose holder has
    /// applications after the walking skeleton's `kiosk submit`.
    fn card_tap(&mut self) {
        if self.form.is_none() {
            match &self.sim {
                Some(sim) => {
                    if let Err(e) = sim.place(samples::cards()[0].clone()) {
                        tracing::error!(error = %e, "sample card refused by the simulator");
                    }
                }
                None => self.handle.show_message(
                    "读卡器还没有接好".into(),
                    "The card reader is not set up yet".into(),
                    MessageKind::Warning,
                ),
            }
            self.pending_group = None;
            return;
        }
        let Some(group) = self.next_card_group() else {
            self.handle.show_message(
                "表上需要刷卡的地方都已填好".into(),
                "Every card on this form is already read".into(),
                MessageKind::Info,
            );
            return;
        };
        let Some(sim) = &self.sim else {
            self.handle.show_message(
                "读卡器还没有接好".into(),
                "The card reader is not set up yet".into(),
                MessageKind::Warning,
            );
            return;
        };
        let cards = samples::cards();
        let card = match group.as_str() {
            "mother" => &cards[1],
            "father" => &cards[2],
            "proxy" => &cards[3],
            _ => &cards[0],
        };
        if let Err(e) = sim.place(card.clone()) {
            tracing::error!(error = %e, "sample card refused by the simulator");
            return;
        }
        self.pending_group = Some(group);
    }

    /// The reader read a card: fill the group it is for (or the next empty one), flag an
    /// ended validity or a wrong check character, and (demo) lift the card again.
    fn card_presented(&mut self, card: Card) {
        let group = self.pending_group.take().or_else(|| self.next_card_group());
        if let Some(sim) = &self.sim {
            sim.lift();
        }
        if self.form.is_none() {
            if self.on_board {
                self.offer_handover(&card);
            } else {
                self.show_person(&card);
            }
            return;
        }
        let (Some(f), Some(group)) = (self.form.as_mut(), group) else {
            self.handle.show_message(
                "表上需要刷卡的地方都已填好".into(),
                "Every card on this form is already read".into(),
                MessageKind::Info,
            );
            return;
        };
        let values = form::card_values(&f.def, &group, &card);
        for (k, v) in &values {
            f.values.insert(k.clone(), v.clone());
            f.touched.insert(k.clone());
        }
        self.handle.fill_fields(values);
        self.show_errors(false);
        if card.text.expired(form::now().date()) {
            self.handle.show_message(
                "这张证件已过有效期，请核对".into(),
                "This card's validity has ended; please check it".into(),
                MessageKind::Warning,
            );
        } else if card.text.id_checksum_ok() == Some(false) {
            self.handle.show_message(
                "证件号码的校验码不对，请核对证件".into(),
                "The card's ID number has a wrong check character; please check the card".into(),
                MessageKind::Warning,
            );
        }
    }

    /// A card tap with no form open: that person's applications, found by keyed hash.
    fn show_person(&self, card: &Card) {
        let key = self.shared.people.key(&card.text.id_number);
        let (shared, handle) = (self.shared.clone(), self.handle.clone());
        self.rt.spawn_blocking(move || {
            let found = shared.outbox.read(|ob| ob.for_person(&key));
            match found {
                Ok(apps) => handle.show_person(villager::person_rows(
                    &catalog(&shared),
                    &apps,
                    form::now(),
                )),
                Err(e) => {
                    tracing::error!(error = %e, "cannot look up a card holder's applications");
                    handle.show_message(
                        "现在查不到您的申请，请稍后再试，或问工作人员".into(),
                        "Your applications cannot be looked up now; try again later or ask the staff".into(),
                        MessageKind::Warning,
                    );
                }
            }
        });
    }

    /// Submit pressed: every problem next to its field, or the one-screen review.
    fn review(&mut self) {
        let Some(f) = &self.form else { return };
        match form::check(
            &catalog(&self.shared),
            &f.def.id,
            &f.values,
            &f.scans,
            form::now(),
        ) {
            Ok(_) => self.handle.show_review(),
            Err(_) => self.refuse(),
        }
    }

    fn refuse(&self) {
        self.show_errors(true);
        self.handle.show_message(
            "还有需要修改的地方，请看红色提示".into(),
            "Some entries need fixing; see the red notes".into(),
            MessageKind::Warning,
        );
    }

    /// The review confirmed: checked once more (the clock may have passed midnight), stored,
    /// the receipt printed.
    fn submit(&mut self) {
        let Some(f) = &self.form else { return };
        let now = form::now();
        let checked = match form::check(&catalog(&self.shared), &f.def.id, &f.values, &f.scans, now)
        {
            Ok(c) => c,
            Err(_) => {
                self.handle.close_review();
                self.refuse();
                return;
            }
        };
        let person_keys = self.shared.people.for_application(&f.def, &checked.fields);
        let app = NewApplication {
            person_keys,
            id: uuid::Uuid::now_v7(),
            service: checked.service,
            service_version: checked.service_version,
            fields: checked.fields,
            masked_name: checked.masked_name,
            scans: f.scans.clone(),
            clock: Some(crate::clock::note(
                now,
                crate::clock::last_known(&self.shared.data_dir),
                self.shared
                    .outbox
                    .read(|ob| ob.county_clock())
                    .ok()
                    .flatten(),
            )),
        };
        let title = (f.def.title.zh.clone(), f.def.title.en.clone());
        let (shared, handle) = (self.shared.clone(), self.handle.clone());
        self.form = None;
        self.rt.spawn_blocking(move || {
            let result = shared
                .station
                .county_key()
                .map_err(|f| f.message)
                .and_then(|county| {
                    shared
                        .outbox
                        .submit(app, &county, now)
                        .map_err(|e| match store_and_forward::Health::of_error(&e) {
                            Some(h) => {
                                let (zh, en) = h.message();
                                format!("{zh} / {en}")
                            }
                            None => e.to_string(),
                        })
                });
            match result {
                Ok(done) => {
                    shared.wake.notify_one();
                    handle.show_submitted(ReceiptView {
                        tracking_number: done.tracking_number.clone(),
                        service_zh: title.0.clone(),
                        service_en: title.1,
                        note_zh: "申请已保存，联网后自动发送到县里。".into(),
                        note_en: "Saved. It goes to the county by itself when the link is up."
                            .into(),
                    });
                    // Saved first, printed second: a printer problem never touches the
                    // stored application; the operator sees what to fix.
                    let printed = tokio::runtime::Handle::current().block_on(
                        shared.receipts.print(
                            &shared.station.station_name,
                            &title.0,
                            &done.tracking_number,
                            now,
                            &shared.hotline,
                        ),
                    );
                    if let Err(e) = &printed {
                        tracing::warn!(tracking = %done.tracking_number, error = %e, "receipt not printed");
                    }
                    shared
                        .faults
                        .printer(crate::counter::printer_probe(&printed));
                    if let Some((zh, en)) = crate::counter::printer_note(&printed) {
                        crate::counter::beep(shared.signals.as_ref(), signals::Event::Error);
                        handle.show_message(zh, en, MessageKind::Warning);
                    }
                }
                Err(e) => {
                    crate::counter::beep(shared.signals.as_ref(), signals::Event::Error);
                    tracing::error!(error = %e, "submission not stored");
                    handle.show_message(
                        "没有保存成功，请再提交一次；如果还不行，请联系技术员".into(),
                        format!(
                            "Not saved ({e}). Submit again; if it fails again, call the technician."
                        ),
                        MessageKind::Error,
                    );
                }
            }
        });
    }
}

fn tile(def: &ServiceDefinition) -> ServiceTile {
    ServiceTile {
        id: def.id.clone(),
        title_zh: def.title.zh.clone(),
        title_en: def.title.en.clone(),
        summary_zh: first_sentence(&def.summary.zh),
        summary_en: first_sentence(&def.summary.en),
    }
}

fn form_view(def: &ServiceDefinition) -> FormView {
    let sections = def
        .groups
        .iter()
        .map(|g| FormSection {
            label_zh: g.label.zh.clone(),
            label_en: g.label.en.clone(),
            optional: g.optional,
            fields: def
                .fields
                .iter()
                .filter(|f| f.id.split('.').next() == Some(g.id.as_str()))
                .map(|f| FieldView {
                    id: f.id.clone(),
                    label_zh: f.label.zh.clone(),
                    label_en: f.label.en.clone(),
                    help_zh: f.help.zh.clone(),
                    help_en: f.help.en.clone(),
                    kind: kind_view(&f.kind),
                    required: f.required,
                    value: String::new(),
                })
                .collect(),
        })
        .collect();
    FormView {
        service_id: def.id.clone(),
        title_zh: def.title.zh.clone(),
        title_en: def.title.en.clone(),
        sections,
        scans: def
            .scans
            .iter()
            .map(|s| ScanView {
                id: s.id.clone(),
                label_zh: s.label.zh.clone(),
                label_en: s.label.en.clone(),
                required: s.required,
                captured: false,
            })
            .collect(),
    }
}

fn kind_view(kind: &FieldKind) -> FieldKindView {
    match kind {
        FieldKind::Text { .. } => FieldKindView::Text,
        FieldKind::IdNumber => FieldKindView::IdNumber,
        FieldKind::Phone => FieldKindView::Phone,
        FieldKind::Date { .. } => FieldKindView::Date,
        FieldKind::Integer { .. } => FieldKindView::Number,
        FieldKind::Gender => FieldKindView::Choice(
            [codes::Gender::Male, codes::Gender::Female]
                .iter()
                .map(|g| {
                    let l = g.label();
                    (g.code().to_string(), format!("{} {}", l.zh, l.en))
                })
                .collect(),
        ),
        FieldKind::Ethnicity => FieldKindView::Choice(
            codes::ethnicities()
                .map(|(code, name)| (code.to_string(), format!("{code} {name}")))
                .collect(),
        ),
    }
}

/// What the technician page says about this station.
fn station_info(shared: &Shared) -> Vec<InfoView> {
    let info = |zh: &str, en: &str, value: String| InfoView {
        label_zh: zh.into(),
        label_en: en.into(),
        value,
    };
    let devices = &shared.config.devices;
    vec![
        info(
            "服务站",
            "Station",
            format!(
                "{} {}",
                shared.station.station_id, shared.station.station_name
            ),
        ),
        info("县平台", "County", shared.station.county_url.clone()),
        info(
            "软件版本",
            "Software",
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        info(
            "数据目录",
            "Data directory",
            shared.data_dir.display().to_string(),
        ),
        info(
            "设备",
            "Devices",
            if shared.simulate {
                "模拟设备 simulated".to_string()
            } else {
                format!(
                    "{} · {} · {}",
                    devices.idcard.display(),
                    devices.printer.display(),
                    if devices.scanner.is_empty() {
                        "scanner: first found"
                    } else {
                        devices.scanner.as_str()
                    }
                )
            },
        ),
    ]
}

/// Whether the operator's and the technician's pages need a PIN now.
fn sign_in(shared: &Shared) -> (bool, bool) {
    use crate::pin::{Pins, Role};
    match Pins::load(&shared.data_dir) {
        Ok(p) => (p.required(Role::Operator), p.required(Role::Technician)),
        Err(_) => (true, true),
    }
}

/// `operator_pin`: whether the counter is behind a PIN (if not, the strip says so);
/// `clock_doubtful`: the station's clock was found wrong (the strip says so).
fn status_view(
    shared: &Shared,
    st: &Status,
    operator_pin: bool,
    clock_doubtful: bool,
) -> StatusView {
    let waiting = st.counts.get(&AppState::Queued).copied().unwrap_or(0)
        + st.counts.get(&AppState::Sending).copied().unwrap_or(0);
    let (last_zh, last_en) = match st.last_contact {
        Some(t) => when(t, form::now()),
        None => (String::new(), String::new()),
    };
    let (station_zh, station_en) = split_name(&shared.station.station_name);
    StatusView {
        station_zh,
        station_en,
        link_up: st.last_contact.is_some() && st.last_error.is_none(),
        waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
        oldest_waiting_secs: st.oldest_waiting_secs.filter(|_| waiting > 0),
        sending_percent: st.sending.as_ref().filter(|p| p.bytes_total > 0).map(|p| {
            u8::try_from(p.bytes_acked.saturating_mul(100) / p.bytes_total).unwrap_or(100)
        }),
        last_contact_zh: last_zh,
        last_contact_en: last_en,
        demo: shared.demo,
        faults: shared
            .faults
            .lines()
            .into_iter()
            .map(|f| (f.zh, f.en))
            .collect(),
        staff_notes: clock_doubtful
            .then(|| {
                (
                    "本机时间可能不对：请联网校时；期间的申请由县平台按收件日期核对年龄"
                        .to_string(),
                    "The clock may be wrong: connect to set it; meanwhile the county checks \
                     ages by its own date"
                        .to_string(),
                )
            })
            .into_iter()
            .chain((!operator_pin).then(|| {
                (
                    "柜台页面没有设置密码：请技术员设置（kiosk pin set operator）".to_string(),
                    "The counter has no PIN: have the technician set one (`kiosk pin set \
                     operator`)"
                        .to_string(),
                )
            }))
            .collect(),
    }
}

pub(crate) fn board_row(catalog: &Catalog, s: &Summary) -> BoardRow {
    let (state, (zh, en)) = match (s.state, s.outcome.as_deref()) {
        (AppState::Queued, _) => (BoardState::Waiting, form::state_label(s.state)),
        (AppState::Sending, _) => (BoardState::Sending, form::state_label(s.state)),
        (AppState::Delivered, _) => (BoardState::Delivered, form::state_label(s.state)),
        (AppState::Decided, Some("rejected")) => (BoardState::Rejected, ("未批准", "Rejected")),
        (AppState::Decided, Some("more_papers")) => {
            (BoardState::Problem, ("需补材料", "More papers needed"))
        }
        (AppState::Decided, _) => (BoardState::Decided, ("已批准", "Approved")),
        (AppState::Ready, _) => (BoardState::Ready, form::state_label(s.state)),
        (AppState::HandedOver, _) => (BoardState::HandedOver, form::state_label(s.state)),
        (AppState::Returned, _) => (BoardState::Problem, form::state_label(s.state)),
    };
    let service = catalog.service(&s.service);
    let updated = when(s.updated_at, form::now());
    BoardRow {
        tracking_number: s.tracking_number.clone(),
        service_zh: service
            .as_ref()
            .map_or(s.service.clone(), |d| short_title(&d.title.zh)),
        service_en: service
            .as_ref()
            .map_or(String::new(), |d| short_title(&d.title.en)),
        masked_name: s.masked_name.clone(),
        state,
        state_zh: zh.to_string(),
        state_en: en.to_string(),
        updated_zh: updated.0,
        updated_en: updated.1,
    }
}

/// "今天 09:12" / "today 09:12", "昨天 …" / "yesterday …", else "6月9日 …" / "06-09 …".
pub(crate) fn when(t: time::OffsetDateTime, now: time::OffsetDateTime) -> (String, String) {
    let t = t.to_offset(now.offset());
    let hm = format!("{:02}:{:02}", t.hour(), t.minute());
    if t.date() == now.date() {
        (format!("今天 {hm}"), format!("today {hm}"))
    } else if t.date().next_day() == Some(now.date()) {
        (format!("昨天 {hm}"), format!("yesterday {hm}"))
    } else {
        let (m, d) = (u8::from(t.month()), t.day());
        (format!("{m}月{d}日 {hm}"), format!("{m:02}-{d:02} {hm}"))
    }
}

/// A title without its parenthesised part, for narrow places: "生育登记（生育服务证）" ->
/// "生育登记", "Birth registration (birth permit)" -> "Birth registration".
fn short_title(title: &str) -> String {
    title
        .split(['（', '('])
        .next()
        .unwrap_or(title)
        .trim()
        .to_string()
}

/// The first sentence of a service's guide, for its tile; the whole guide is on its page.
fn first_sentence(text: &str) -> String {
    match text.find(['。', '.']) {
        Some(i) => text[..i + text[i..].chars().next().map_or(0, char::len_utf8)].to_string(),
        None => text.to_string(),
    }
}

/// "示范村为民服务站 Demo village station" -> ("示范村为民服务站", "Demo village station").
fn split_name(name: &str) -> (String, String) {
    match name.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) if i > 0 => (name[..i].trim().to_string(), name[i..].trim().to_string()),
        _ => (name.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Runs what other threads queued for the UI, then returns.
    fn pump() {
        slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        })
        .expect("the testing backend has an event loop");
        slint::run_event_loop().expect("the event loop runs");
    }

    /// How many receipts the printer simulator has put out under `data_dir`.
    fn receipts_out(data_dir: &std::path::Path) -> usize {
        std::fs::read_dir(data_dir.join("receipts"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Waits for a receipt beyond `before`: the simulator writes the paper out a moment
    /// after it acknowledged the whole job.
    fn wait_for_receipt(data_dir: &std::path::Path, before: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while receipts_out(data_dir) <= before {
            assert!(std::time::Instant::now() < deadline, "no receipt came out");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The screens through the real UI (Slint's testing backend), the real outbox, the
    /// simulated scanner and printer, and the controller the UI's events reach: a villager's
    /// card tap (only their applications, back to idle by itself); staff sign-in by PIN
    /// (wrong refused, right opens the board); pick-up by card tap on the board; the
    /// technician page's self-test; a full elderly-card application with a proxy (see
    /// `elderly_card_with_a_proxy`). One test: a process installs one Slint platform.
    #[test]
    fn the_screens_through_the_real_ui() {
        kiosk_ui::prepare_fonts().expect("the font guard");
        i_slint_backend_testing::init_integration_test_with_mock_time();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let people = crate::people::PersonKeys::load_or_create(dir.path()).expect("keys");
        let mut outbox =
            store_and_forward::Outbox::open(&dir.path().join("outbox")).expect("an outbox");
        let cards = samples::cards();
        let county = sealing::PrivateKey::generate().public_key();
        let mut ids = Vec::new();
        for (card, service) in [(&cards[0], "elderly-card"), (&cards[1], "birth-permit")] {
            let id = uuid::Uuid::now_v7();
            ids.push(id);
            outbox
                .submit(
                    NewApplication {
                        id,
                        service: service.into(),
                        service_version: 1,
                        fields: BTreeMap::new(),
                        masked_name: "某*".into(),
                        person_keys: vec![people.key(&card.text.id_number)],
                        scans: Vec::new(),
                        clock: None,
                    },
                    &county,
                    form::now(),
                )
                .expect("stored");
        }
        let receipts = {
            let _inside = rt.enter();
            crate::counter::ReceiptDesk::simulated(dir.path().join("receipts"))
                .expect("the printer simulator")
        };
        let shared = Shared {
            outbox: crate::daemon::Store::Serving(Arc::new(Mutex::new(outbox))),
            catalog: Arc::new(Mutex::new(Catalog::builtin())),
            wake: Arc::new(tokio::sync::Notify::new()),
            station: crate::station::Station {
                county_url: "http://127.0.0.1:9".into(),
                station_id: "st-test".into(),
                station_name: "坝美村为民服务站".into(),
                credential: String::new(),
                county_public_key: Some(county.to_string()),
                county_signing_key: None,
            },
            people,
            demo: false,
            liveness: crate::watchdog::Liveness::new(),
            receipts: Arc::new(receipts),
            signals: None,
            hotline: "12345".into(),
            scanner: Some(scanner::sim::DEVICE.to_string()),
            faults: crate::counter::Faults::default(),
            data_dir: dir.path().to_path_buf(),
            config: crate::config::Config::default(),
            simulate: true,
        };
        let ui = Ui::new().expect("the UI on the testing backend");
        let mut controller = Controller {
            shared,
            handle: ui.handle(),
            rt: rt.handle().clone(),
            form: None,
            kept: None,
            sim: None,
            pending_group: None,
            me: std::sync::Weak::new(),
            tries: Default::default(),
            on_board: false,
            pending_handover: Vec::new(),
        };
        let shows = |label: &str| {
            i_slint_backend_testing::ElementHandle::find_by_accessible_label(ui.component(), label)
                .next()
                .is_some()
        };
        let mine = "老年人优待证: 已保存在服务站，联网后会发到县里";
        pump();
        assert!(shows("请刷身份证"), "the UI starts on the idle screen");
        assert!(!shows(mine), "no card, no personal data");

        controller.card_presented(cards[0].clone());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !shows(mine) {
            assert!(
                std::time::Instant::now() < deadline,
                "the holder's applications never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
            pump();
        }
        assert!(!shows("请刷身份证"));
        let birth = catalog(&controller.shared)
            .service("birth-permit")
            .map(|d| d.title.zh.clone())
            .expect("the birth permit");
        assert!(
            !shows(&format!("{birth}: 已保存在服务站，联网后会发到县里")),
            "another person's application must not show"
        );

        // Nobody touches the screen: back to idle, and the rows are gone.
        i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(46));
        pump();
        assert!(shows("请刷身份证"));
        assert!(!shows(mine));

        // Staff sign in: the counter and the technician page are behind their PINs, and
        // the UI's events reach the controller as in `run`.
        use crate::pin::{Pins, Role};
        Pins::store(dir.path(), Role::Operator, Some("2468")).expect("the operator PIN");
        Pins::store(dir.path(), Role::Technician, Some("1357")).expect("the technician PIN");
        let controller = Arc::new(Mutex::new(controller));
        lock(&controller).me = Arc::downgrade(&controller);
        {
            let controller = controller.clone();
            ui.on_event(move |ev| lock(&controller).handle(ev));
        }
        let (op, tech) = sign_in(&lock(&controller).shared);
        assert!(op && tech);
        ui.handle().set_sign_in(op, tech, None);
        pump();
        let tap = |label: &str| {
            i_slint_backend_testing::ElementHandle::find_by_accessible_label(ui.component(), label)
                .next()
                .unwrap_or_else(|| panic!("nothing labelled {label:?} on screen"))
                .invoke_accessible_default_action();
            pump();
        };
        let wait_for = |label: &str| {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while !shows(label) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{label:?} never appeared"
                );
                std::thread::sleep(Duration::from_millis(20));
                pump();
            }
        };
        let type_pin = |pin: &str| {
            for digit in pin.chars() {
                tap(&digit.to_string());
            }
            tap("确定");
        };
        tap("工作人员");
        assert!(shows("请输入操作员密码"), "the PIN page, not the board");
        assert!(!shows("最近的申请"));
        type_pin("2469");
        wait_for("密码不对，还可以试 4 次");
        assert!(!shows("最近的申请"));
        type_pin("2468");
        wait_for("最近的申请");

        // Pick-up: the first holder's application is ready; a card tap on the board offers
        // it, the operator confirms, and it is handed over.
        {
            let c = lock(&controller);
            let outbox = c.shared.outbox.serving().expect("serving").clone();
            let mut ob = outbox.lock().unwrap();
            let now = form::now();
            ob.transition(&ids[0], AppState::Sending, None, now)
                .unwrap();
            ob.transition(&ids[0], AppState::Delivered, None, now)
                .unwrap();
            ob.apply_decision(&ids[0], "ready", None, now).unwrap();
        }
        lock(&controller).card_presented(cards[1].clone());
        wait_for("这个人现在没有可以领取的申请");
        lock(&controller).card_presented(cards[0].clone());
        wait_for("领取：某*");
        assert!(shows("老年人优待证"));
        tap("已交给本人");
        wait_for("已登记领取 1 份");
        assert!(!shows("领取：某*"), "the dialog closed");
        {
            let c = lock(&controller);
            let state = c
                .shared
                .outbox
                .read(|ob| ob.summary(&ids[0]))
                .expect("the summary")
                .state;
            assert_eq!(state, AppState::HandedOver);
        }

        // The technician's own PIN; the operator's does not open it.
        tap("技术员");
        assert!(shows("请输入技术员密码"));
        type_pin("2468");
        wait_for("密码不对，还可以试 4 次");
        type_pin("1357");
        wait_for("运行自检");
        assert!(
            shows(env!("CARGO_PKG_VERSION")),
            "the software version is shown"
        );
        tap("运行自检");
        // Simulated devices pass; this test station has no county link.
        wait_for("读卡器：正常");
        // The failure first, then the simulated devices that passed (the rest scroll).
        for passed in ["扫描仪", "回执打印机"] {
            assert!(shows(&format!("{passed}：正常")), "{passed}");
        }
        assert!(shows("县平台连接：未通过"));
        // The test receipt comes out of the (simulated) printer.
        let before = receipts_out(dir.path());
        tap("打印测试回执");
        wait_for("测试回执已打印，请看字迹是否清楚");
        wait_for_receipt(dir.path(), before);
        assert_eq!(
            receipts_out(dir.path()),
            before + 1,
            "one receipt, not more"
        );
        tap("返回柜台");
        assert!(shows("最近的申请"));

        // Elements a list has scrolled out of view cannot be found (as a person could not
        // see them): a tall window shows whole forms and reviews to the flows below.
        ui.window()
            .set_size(slint::LogicalSize::new(1280.0, 4000.0));
        pump();
        elderly_card_with_a_proxy(&controller, &shows, &wait_for, &tap, dir.path());
        tap("返回首页");
        wait_for("最近的申请");

        // The birth permit, through the screen as the operator works it.
        let ctx = Flow {
            ui: &ui,
            controller: &controller,
            shows: &shows,
            wait_for: &wait_for,
            tap: &tap,
            type_pin: &type_pin,
            data_dir: dir.path(),
        };
        birth_permit_from_two_cards(&ctx);
    }

    /// What a flow test drives the screen with.
    struct Flow<'a> {
        ui: &'a Ui,
        controller: &'a Arc<Mutex<Controller>>,
        shows: &'a dyn Fn(&str) -> bool,
        wait_for: &'a dyn Fn(&str),
        tap: &'a dyn Fn(&str),
        type_pin: &'a dyn Fn(&str),
        data_dir: &'a std::path::Path,
    }

    impl Flow<'_> {
        /// Types into the `nth` field labelled `label` as the operator would (the field's
        /// text changes, the UI reports the edit to the controller).
        fn type_into(&self, label: &str, nth: usize, text: &str) {
            i_slint_backend_testing::ElementHandle::find_by_accessible_label(
                self.ui.component(),
                label,
            )
            .filter(|e| {
                e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::TextInput)
            })
            .nth(nth)
            .unwrap_or_else(|| panic!("no field {nth} labelled {label:?}"))
            .set_accessible_value(text);
            pump();
        }

        /// What the `nth` field labelled `label` holds on screen.
        fn value_of(&self, label: &str, nth: usize) -> String {
            i_slint_backend_testing::ElementHandle::find_by_accessible_label(
                self.ui.component(),
                label,
            )
            .filter(|e| {
                e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::TextInput)
            })
            .nth(nth)
            .and_then(|e| e.accessible_value())
            .map(|v| v.to_string())
            .unwrap_or_default()
        }

        /// Taps every element labelled `label` (a tile's title is also the text of a
        /// board row; only the tile acts on a tap).
        fn tap_all(&self, label: &str) {
            let found: Vec<_> = i_slint_backend_testing::ElementHandle::find_by_accessible_label(
                self.ui.component(),
                label,
            )
            .collect();
            assert!(!found.is_empty(), "nothing labelled {label:?} on screen");
            for e in found {
                e.invoke_accessible_default_action();
            }
            pump();
        }
    }

    /// A full birth permit at the counter, through the screen: the tile, the mother's and
    /// the father's cards fill their sections, the rest typed in; a marriage date that
    /// makes the mother too young is refused next to its field and fixed; every paper
    /// scanned shows its thumbnail; the operator is called away and the staff pages go
    /// back to the villager screen, the form set aside; the PIN brings it back as it was;
    /// submit shows everything on one review screen with the papers; confirm stores it
    /// (found by either parent's card, both ID numbers in it) and prints the receipt.
    fn birth_permit_from_two_cards(t: &Flow<'_>) {
        let cards = samples::cards();
        let (mother, father) = (&cards[1], &cards[2]);
        // The board's tiles, as `run` sets them.
        t.ui.handle().set_services(
            catalog(&lock(t.controller).shared)
                .services
                .iter()
                .map(tile)
                .collect(),
        );
        pump();
        t.tap_all("生育登记（生育服务证）");
        (t.wait_for)("需要扫描的材料");
        lock(t.controller).card_presented(mother.clone());
        lock(t.controller).card_presented(father.clone());
        pump();
        let names = || (t.value_of("姓名", 0), t.value_of("姓名", 1));
        assert_eq!(
            names(),
            ("陶丽".into(), "农志强".into()),
            "both cards filled in"
        );
        t.type_into("手机号码", 0, "13900001234");
        t.type_into("手机号码", 1, "13700005678");
        // Married at 18: the mother is too young, said next to the date.
        t.type_into("结婚登记日期", 0, "2013-06-01");
        t.type_into("结婚证字号", 0, "J532627-2018-000321");
        t.type_into("现有子女数", 0, "0");
        t.type_into("本次生育孩次", 0, "1");
        t.type_into("短信通知号码", 0, "13900001234");
        for paper in [
            "母亲身份证",
            "父亲身份证",
            "母亲户口簿",
            "父亲户口簿",
            "结婚证",
        ] {
            (t.tap)(&format!("扫描 {paper}"));
            (t.wait_for)(&format!("查看扫描件 {paper}"));
        }
        (t.tap)("提交");
        (t.wait_for)("母亲 出生日期：结婚登记时只有 18 周岁，女方须年满 20 周岁");
        assert!(!(t.shows)("确认提交"), "no review while something is wrong");
        t.type_into("结婚登记日期", 0, "2018-10-01");
        pump();
        assert!(!(t.shows)(
            "母亲 出生日期：结婚登记时只有 18 周岁，女方须年满 20 周岁"
        ));

        // Called away: three minutes untouched, and the counter is the villager's again.
        i_slint_backend_testing::mock_elapsed_time(convert_staff_timeout());
        pump();
        (t.wait_for)("请刷身份证");
        assert!(!(t.shows)("姓名"), "no form left on screen");
        // A villager's card tap now is a lookup, not a fill of the hidden form.
        lock(t.controller).card_presented(cards[0].clone());
        (t.wait_for)("老年人优待证: 已保存在服务站，联网后会发到县里");
        i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(46));
        pump();
        (t.wait_for)("请刷身份证");
        (t.tap)("工作人员");
        (t.type_pin)("2468");
        (t.wait_for)("这是刚才没有提交的申请，请继续");
        assert_eq!(
            names(),
            ("陶丽".into(), "农志强".into()),
            "the form is back as it was"
        );
        assert_eq!(t.value_of("结婚登记日期", 0), "2018-10-01");
        assert!((t.shows)("查看扫描件 结婚证"), "with its scans");

        let before = receipts_out(t.data_dir);
        (t.tap)("提交");
        (t.wait_for)("确认提交");
        for seen in [
            "陶丽",
            "农志强",
            "2018-10-01",
            "J532627-2018-000321",
            "13700005678",
        ] {
            assert!((t.shows)(seen), "{seen} on the review");
        }
        // Going back changes nothing; the review comes again.
        (t.tap)("返回修改");
        assert!(!(t.shows)("确认提交"));
        (t.tap)("提交");
        (t.wait_for)("确认提交");
        (t.tap)("确认提交");
        (t.wait_for)("申请已保存，联网后自动发送到县里。");
        let c = lock(t.controller);
        assert!(c.form.is_none() && c.kept.is_none());
        for card in [mother, father] {
            let apps = c
                .shared
                .outbox
                .read(|ob| ob.for_person(&c.shared.people.key(&card.text.id_number)))
                .expect("lookup");
            assert!(
                apps.iter()
                    .any(|a| a.service == "birth-permit" && a.state == AppState::Queued),
                "{apps:?}"
            );
        }
        drop(c);
        wait_for_receipt(t.data_dir, before);

        // On the board (as the refresh loop fills it), its row opens its story.
        (t.tap)("返回首页");
        let (rows, tracking) = {
            let c = lock(t.controller);
            let recent = c.shared.outbox.read(|ob| ob.recent(500)).expect("recent");
            let tracking = recent
                .iter()
                .find(|s| s.service == "birth-permit" && s.state == AppState::Queued)
                .map(|s| s.tracking_number.clone())
                .expect("the birth permit on the board");
            let catalog = catalog(&c.shared);
            let rows: Vec<_> = recent.iter().map(|s| board_row(&catalog, s)).collect();
            (rows, tracking)
        };
        t.ui.handle().set_board(rows);
        pump();
        (t.tap)(&format!("打开 {tracking}"));
        (t.wait_for)("在服务站保存");
        assert!((t.shows)("办理经过"));
        (t.tap)("关闭");
        assert!(!(t.shows)("办理经过"));
    }

    fn convert_staff_timeout() -> Duration {
        // The UI's staff time-out (three minutes) and a second.
        Duration::from_secs(181)
    }

    /// The full counter flow of an elderly card applied for by a proxy: the applicant's
    /// card, then the proxy's, fill their sections; submit too early shows what is missing;
    /// the typed fields and the scans fix it; submit stores it, shows the tracking number
    /// and prints the receipt. Driven by the events the UI sends.
    fn elderly_card_with_a_proxy(
        controller: &Arc<Mutex<Controller>>,
        shows: &dyn Fn(&str) -> bool,
        wait_for: &dyn Fn(&str),
        tap: &dyn Fn(&str),
        data_dir: &std::path::Path,
    ) {
        let cards = samples::cards();
        let handle = |ev: UiEvent| lock(controller).handle(ev);
        handle(UiEvent::StartService {
            service_id: "elderly-card".into(),
        });
        wait_for("需要扫描的材料");
        lock(controller).card_presented(cards[0].clone());
        lock(controller).card_presented(cards[1].clone());
        {
            let c = lock(controller);
            let f = c.form.as_ref().expect("the form is open");
            assert_eq!(
                f.values.get("applicant.name").map(String::as_str),
                Some("李德华")
            );
            assert_eq!(f.values.get("proxy.name").map(String::as_str), Some("陶丽"));
            assert_eq!(
                f.values.get("proxy.id_number").map(String::as_str),
                Some("53262719950214002X")
            );
        }
        let values = || -> Vec<(String, String)> {
            let c = lock(controller);
            let f = c.form.as_ref().expect("the form is open");
            f.values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };

        // Too early: the missing entries are named, nothing is stored.
        handle(UiEvent::Submit { values: values() });
        wait_for("还有需要修改的地方，请看红色提示");
        assert!(lock(controller).form.is_some(), "the form stays open");

        // Typed fields (as the UI reports each edit), then every paper scanned.
        for (field, value) in [
            ("emergency.name", "李明"),
            ("emergency.phone", "13800001234"),
            ("proxy.phone", "13900001234"),
            ("proxy.relation", "女儿"),
        ] {
            handle(UiEvent::FieldEdited {
                field_id: field.into(),
                value: value.into(),
            });
        }
        for scan in [
            "applicant_id_card",
            "household_register",
            "photo",
            "proxy_id_card",
        ] {
            handle(UiEvent::ScanRequested {
                scan_id: scan.into(),
            });
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !lock(controller)
                .form
                .as_ref()
                .is_some_and(|f| f.scans.iter().any(|s| s.scan == scan))
            {
                assert!(std::time::Instant::now() < deadline, "{scan} never scanned");
                std::thread::sleep(Duration::from_millis(20));
                pump();
            }
        }
        let before = receipts_out(data_dir);
        handle(UiEvent::Submit { values: values() });
        // Everything on one screen first; saved once confirmed there.
        wait_for("确认提交");
        assert!(
            shows("李德华") && shows("陶丽"),
            "both people on the review"
        );
        assert!(
            lock(controller).form.is_some(),
            "not saved before the confirm"
        );
        tap("确认提交");
        wait_for("申请已保存，联网后自动发送到县里。");
        assert!(lock(controller).form.is_none());

        // Stored, findable by the proxy's card too, and its receipt printed.
        let c = lock(controller);
        let keys = [
            c.shared.people.key(&cards[0].text.id_number),
            c.shared.people.key(&cards[1].text.id_number),
        ];
        for key in &keys {
            let apps = c
                .shared
                .outbox
                .read(|ob| ob.for_person(key))
                .expect("lookup");
            assert!(
                apps.iter()
                    .any(|a| a.service == "elderly-card" && a.state == AppState::Queued),
                "{apps:?}"
            );
        }
        drop(c);
        wait_for_receipt(data_dir, before);
        assert!(shows("申请已保存，联网后自动发送到县里。"));

        // The strip's own lines: a doubtful clock and a counter without a PIN are said.
        let c = lock(controller);
        let status = c
            .shared
            .outbox
            .read(|ob| ob.status(form::now()))
            .expect("status");
        let lines = |pin: bool, doubtful: bool| -> Vec<String> {
            status_view(&c.shared, &status, pin, doubtful)
                .staff_notes
                .into_iter()
                .map(|(_, en)| en)
                .collect()
        };
        assert!(lines(true, false).is_empty(), "{:?}", lines(true, false));
        let both = lines(false, true);
        assert_eq!(both.len(), 2, "{both:?}");
        assert!(both[0].starts_with("The clock may be wrong"), "{both:?}");
        assert!(both[1].starts_with("The counter has no PIN"), "{both:?}");
    }

    #[test]
    fn times_read_naturally() {
        let now = datetime!(2026-11-26 10:00 +8);
        assert_eq!(when(datetime!(2026-11-26 01:12 UTC), now).0, "今天 09:12");
        assert_eq!(
            when(datetime!(2026-11-25 09:05 +8), now).1,
            "yesterday 09:05"
        );
        assert_eq!(
            when(datetime!(2026-06-09 16:30 +8), now),
            ("6月9日 16:30".into(), "06-09 16:30".into())
        );
    }

    #[test]
    fn names_and_titles_are_shortened_for_the_screen() {
        assert_eq!(short_title("生育登记（生育服务证）"), "生育登记");
        assert_eq!(
            short_title("Birth registration (birth permit)"),
            "Birth registration"
        );
        assert_eq!(short_title("Elderly card"), "Elderly card");
        assert_eq!(
            first_sentence("夫妻办理生育登记。请带齐"),
            "夫妻办理生育登记。"
        );
        assert_eq!(first_sentence("Issues the card. Bring"), "Issues the card.");
        assert_eq!(
            split_name("示范村为民服务站 Demo village station"),
            ("示范村为民服务站".into(), "Demo village station".into())
        );
        assert_eq!(split_name("坝美村"), ("坝美村".into(), String::new()));
    }
}
