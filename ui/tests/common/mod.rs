//! The headless harness shared by the UI tests: a Slint platform with one in-memory window,
//! a virtual clock and a hand-cranked event loop; taps by accessible label; pixel checks.
#![allow(dead_code)] // each test binary uses a part of it

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use kiosk_ui::{Ui, UiEvent, UiHandle};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{EventLoopProxy, Platform, PlatformError, WindowAdapter, WindowEvent};
use slint::{EventLoopError, LogicalPosition, PhysicalSize, Rgb8Pixel};

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

type Job = Box<dyn FnOnce() + Send>;

/// What `invoke_from_event_loop` queued, from any thread.
#[derive(Clone, Default)]
struct Jobs(Arc<Mutex<VecDeque<Job>>>);

impl Jobs {
    fn pop(&self) -> Option<Job> {
        self.0.lock().expect("job queue").pop_front()
    }
}

struct Proxy(Jobs);

impl EventLoopProxy for Proxy {
    fn quit_event_loop(&self) -> Result<(), EventLoopError> {
        Ok(())
    }

    fn invoke_from_event_loop(&self, job: Job) -> Result<(), EventLoopError> {
        self.0.0.lock().expect("job queue").push_back(job);
        Ok(())
    }
}

/// A platform with one in-memory window, a virtual clock and a hand-cranked event loop.
struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    jobs: Jobs,
    clock: Rc<Cell<Duration>>,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.clock.get()
    }

    fn new_event_loop_proxy(&self) -> Option<Box<dyn EventLoopProxy>> {
        Some(Box::new(Proxy(self.jobs.clone())))
    }

    fn run_event_loop(&self) -> Result<(), PlatformError> {
        while let Some(job) = self.jobs.pop() {
            job();
        }
        Ok(())
    }
}

/// The UI under test, built through the public constructor on the headless platform.
pub struct Screen {
    ui: Ui,
    window: Rc<MinimalSoftwareWindow>,
    jobs: Jobs,
    clock: Rc<Cell<Duration>>,
    events: Rc<RefCell<Vec<UiEvent>>>,
}

impl Screen {
    pub fn new() -> Screen {
        kiosk_ui::prepare_fonts().expect("the font guard can write its stand-in");
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        let jobs = Jobs::default();
        let clock = Rc::new(Cell::new(Duration::ZERO));
        slint::platform::set_platform(Box::new(Headless {
            window: window.clone(),
            jobs: jobs.clone(),
            clock: clock.clone(),
        }))
        .expect("the headless platform is the first and only one");
        let ui = Ui::new().expect("the UI builds on the headless platform");
        ui.window().set_size(PhysicalSize::new(WIDTH, HEIGHT));
        ui.window().show().expect("the window shows");
        let events = Rc::new(RefCell::new(Vec::new()));
        let sink = events.clone();
        ui.on_event(move |e| sink.borrow_mut().push(e));
        Screen {
            ui,
            window,
            jobs,
            clock,
            events,
        }
    }

    pub fn handle(&self) -> UiHandle {
        self.ui.handle()
    }

    /// One turn of the event loop: queued changes, then timers and animations.
    pub fn pump(&self) {
        while let Some(job) = self.jobs.pop() {
            job();
        }
        slint::platform::update_timers_and_animations();
    }

    pub fn advance(&self, by: Duration) {
        self.clock.set(self.clock.get() + by);
        self.pump();
    }

    /// Lets everything settle (animations included) and draws the whole window.
    pub fn render(&self) -> Frame {
        self.advance(Duration::from_secs(1));
        self.window.request_redraw();
        let mut pixels = vec![Rgb8Pixel::default(); (WIDTH * HEIGHT) as usize];
        let drawn = self.window.draw_if_needed(|renderer| {
            renderer.render(&mut pixels, WIDTH as usize);
        });
        assert!(drawn, "a redraw was requested");
        Frame(pixels)
    }

    /// Renders the page in Chinese, then in English (with the status bar's language button),
    /// saves both when asked (`NAME-zh.png`, `NAME-en.png`) and returns to Chinese. Returns
    /// the Chinese frame.
    pub fn render_both(&self, name: &str) -> Frame {
        let zh = self.render();
        zh.save_if_asked(&format!("{name}-zh"));
        self.tap("English");
        let en = self.render();
        en.save_if_asked(&format!("{name}-en"));
        assert!(
            en.pixels_differing(&zh) > 1000,
            "{name}: the English page looks like the Chinese one"
        );
        self.tap("中文");
        zh
    }

    pub fn find(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(self.ui.component(), label).collect()
    }

    pub fn shows(&self, label: &str) -> bool {
        !self.find(label).is_empty()
    }

    /// Taps the (first) element with this accessible label.
    pub fn tap(&self, label: &str) {
        let found = self.find(label);
        // A field's label and its input (or a heading and a button) may read the same: tap
        // what can be tapped.
        let element = found
            .iter()
            .find(|e| {
                !matches!(
                    e.accessible_role(),
                    None | Some(i_slint_backend_testing::AccessibleRole::Text)
                        | Some(i_slint_backend_testing::AccessibleRole::None)
                )
            })
            .or(found.first())
            .unwrap_or_else(|| panic!("nothing labelled {label:?} on screen"));
        element.invoke_accessible_default_action();
        self.pump();
    }

    /// Scrolls whatever is under the point, like a finger wiping upwards for negative `dy`.
    pub fn scroll(&self, x: f32, y: f32, dy: f32) {
        self.ui
            .window()
            .dispatch_event(WindowEvent::PointerScrolled {
                position: LogicalPosition::new(x, y),
                delta_x: 0.0,
                delta_y: dy,
            });
        self.advance(Duration::from_secs(1));
    }

    pub fn take_events(&self) -> Vec<UiEvent> {
        std::mem::take(&mut *self.events.borrow_mut())
    }
}

pub struct Frame(pub Vec<Rgb8Pixel>);

impl Frame {
    pub fn distinct_colours(&self) -> usize {
        let mut seen: Vec<u32> = self
            .0
            .iter()
            .map(|p| u32::from(p.r) << 16 | u32::from(p.g) << 8 | u32::from(p.b))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Pixels dark enough to be text on the light page.
    pub fn dark_pixels(&self) -> usize {
        self.0
            .iter()
            .filter(|p| u32::from(p.r) + u32::from(p.g) + u32::from(p.b) < 3 * 90)
            .count()
    }

    pub fn region_differs(&self, other: &Frame, y0: u32, y1: u32) -> bool {
        let rows = (y0 * WIDTH) as usize..(y1 * WIDTH) as usize;
        self.0[rows.clone()] != other.0[rows]
    }

    /// How many pixels differ from `other`'s.
    pub fn pixels_differing(&self, other: &Frame) -> usize {
        self.0.iter().zip(&other.0).filter(|(a, b)| a != b).count()
    }

    /// Not blank: many colours (anti-aliased text, chips, icons) and plenty of text.
    pub fn assert_rich(&self, page: &str) {
        let colours = self.distinct_colours();
        let dark = self.dark_pixels();
        assert!(
            colours > 200,
            "{page}: only {colours} colours; is anything drawn?"
        );
        assert!(
            dark > 8_000,
            "{page}: only {dark} dark pixels; where is the text?"
        );
    }

    pub fn save_if_asked(&self, name: &str) {
        if std::env::var_os("UPDATE_SCREENS").is_none_or(|v| v != "1") {
            return;
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screens");
        std::fs::create_dir_all(&dir).expect("docs/screens can be created");
        let path = dir.join(format!("{name}.png"));
        let file = std::fs::File::create(&path).expect("the screenshot file can be created");
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let bytes: Vec<u8> = self.0.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
        encoder
            .write_header()
            .and_then(|mut w| w.write_image_data(&bytes))
            .expect("the screenshot is written");
        eprintln!("wrote {}", path.display());
    }
}
