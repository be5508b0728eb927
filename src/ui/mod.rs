//! The iced window: a shell that routes messages between screens.
//!
//! Each screen in [`screen`] owns its state, messages, update and view.
//! [`App`] holds only what several screens share (the paths, the models,
//! the job in flight, the status line, the decision history) and carries
//! out what the screens ask for ([`actions`]). Everything slow runs off
//! the UI thread: jobs as [`jobs`] streaming progress, reads and decisions
//! through [`background`]. The only reads left on the UI thread are of one
//! track (its evidence), which take milliseconds. Nothing ticks while the
//! window is idle.
//!
//! Modality belongs to the shell: while the Apply review is open, what the
//! user does anywhere else reaches nobody ([`Message::User`] is dropped
//! unless it is the review's own), and what background work brings back
//! still lands. A new screen is covered without being listed.

mod actions;
pub mod background;
pub mod bench;
pub mod frames;
pub mod jobs;
pub mod keys;
mod message;
pub mod screen;
#[cfg(test)]
mod tests;
pub mod widget;

use actions::shared;
use background::Reloads;
use iced::keyboard;
use iced::widget::{column, container, row, scrollable};
use iced::{Element, Length, Subscription, Task, Theme};
pub use message::{Input, Message};
use screen::{Panel, Panels, apply, folder, progress, settings, table, toolbar, undo_write};
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::config::paths::Paths;
use sonotag_core::config::settings::Settings;
use sonotag_core::ml::model::ModelRow;
use sonotag_core::store::Library;
use sonotag_core::workflow::decide::{History, Step};
use std::path::PathBuf;
use std::time::Duration;

/// No widget has this id: focusing it makes every text field let go of the
/// keyboard, so the list's keys work again.
const LIST_FOCUS: &str = "list-keys";

/// The window's state: the screens, and what they share.
pub struct App {
    paths: Paths,
    /// For one-track reads on the UI thread (a track's evidence); `None`
    /// until the library is opened in the background (or when it cannot be).
    lib: Option<Library>,
    /// A folder to open once the library is.
    pending_folder: Option<PathBuf>,
    /// The folders opened in this window, watched: what other programs
    /// add, change, move or remove there is scanned and classified.
    watch: Option<sonotag_core::catalog::watch::FolderWatch>,
    job: Option<jobs::Running>,
    status: String,
    /// Nothing has said anything yet: the first read of the library may
    /// replace the greeting with a summary of what the library holds.
    greeting: bool,
    settings: Settings,
    /// The genre vocabulary: canonical names and the super-genre map.
    vocab: Vocabulary,
    models: Vec<ModelRow>,
    /// The library holds a tag write that can be undone.
    undoable_write: bool,
    history: History,
    reloads: Reloads,
    panel: Panel,
    folder: folder::FolderBar,
    toolbar: toolbar::Toolbar,
    table: table::Table,
    /// The side panels (`screen::side_panels!`), the track's among them.
    panels: Panels,
    /// The modal screen, while open: behind it nothing else reacts.
    modal: Option<Modal>,
    /// The window's size, which the evidence follows.
    window: iced::Size,
}

/// A dialog over the window.
enum Modal {
    /// The review of every planned write.
    Apply(apply::Dialog),
    /// The confirmation before a write is undone.
    UndoWrite(undo_write::Dialog),
    /// The keys and the About (F1, ? or Help).
    Help,
}

impl App {
    /// Opens the library, optionally scanning `folder` at once. The rows
    /// are read in the background: the window shows at once.
    pub fn new(paths: Paths, folder: Option<PathBuf>) -> (Self, Task<Message>) {
        let (settings, vocab, vocab_problem) = settings::load(&paths);
        let greeting = vocab_problem.is_none();
        let status = vocab_problem.unwrap_or_else(|| "Opening the library…".into());
        let open = Task::perform(
            background::open_library(paths.database.clone()),
            Message::Opened,
        );
        let panels = Panels::new(screen::Shared::before_opening(&paths, &settings, &vocab));
        let monitor = iced::window::oldest()
            .then(|id| match id {
                Some(id) => iced::window::monitor_size(id).map(move |size| size.map(|s| (id, s))),
                None => Task::done(None),
            })
            .map(Message::Monitor);
        let app = Self {
            reloads: Reloads::default(),
            paths,
            lib: None,
            pending_folder: folder,
            watch: None,
            job: None,
            status,
            greeting,
            settings,
            vocab,
            models: Vec::new(),
            undoable_write: false,
            history: History::default(),
            panel: Panel::Track,
            folder: folder::FolderBar::default(),
            toolbar: toolbar::Toolbar,
            table: table::Table::default(),
            panels,
            modal: None,
            window: DEFAULT_WINDOW,
        };
        (app, Task::batch([open, monitor]))
    }

    /// Window title.
    pub fn title(&self) -> String {
        match &self.job {
            Some(j) if j.total > 0 => format!(
                "Sonotag — {} {}/{}",
                j.phase.map(|p| p.to_string()).unwrap_or_default(),
                j.done,
                j.total
            ),
            _ => "Sonotag".into(),
        }
    }

    /// Light or dark.
    pub fn theme(&self) -> Theme {
        if self.settings.dark_theme {
            Theme::Dark
        } else {
            Theme::Light
        }
    }

    /// True while a background job runs.
    #[cfg(test)]
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// The status line.
    #[cfg(test)]
    pub fn status(&self) -> &str {
        &self.status
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::User(input) => {
                let for_the_modal = match &self.modal {
                    None => true,
                    Some(Modal::Apply(_)) => matches!(input, Input::Apply(_) | Input::Key(..)),
                    Some(Modal::UndoWrite(_)) => {
                        matches!(input, Input::UndoWrite(_) | Input::Key(..))
                    }
                    Some(Modal::Help) => matches!(input, Input::Key(..)),
                };
                if !for_the_modal {
                    return Task::none();
                }
                self.route(input)
            }
            Message::Returned(input) => self.route(input),
            Message::Job(u) => self.on_job(u),
            Message::Reloaded(s) => self.on_reloaded(s),
            Message::Decided(Ok(report)) => {
                self.status = report.to_string();
                self.history.record(report);
                self.request_reload()
            }
            Message::Decided(Err(e)) | Message::Changed(Err(e)) => {
                self.status = e;
                Task::none()
            }
            Message::Changed(Ok(s)) => {
                self.status = s;
                self.request_reload()
            }
            Message::Restored {
                step,
                report,
                result,
            } => self.on_restored(step, report, result),
            Message::PlanReady(Ok(plan)) if plan.is_empty() => {
                self.status = "Nothing to write: accept or override some tracks first.".into();
                Task::none()
            }
            Message::PlanReady(Ok(plan)) => {
                self.modal = Some(Modal::Apply(apply::Dialog::new(plan)));
                Task::none()
            }
            Message::PlanReady(Err(e)) => {
                self.status = e;
                Task::none()
            }
            Message::Tick => {
                self.panels.track.tick();
                Task::none()
            }
            Message::Watch => self.watch_library(),
            Message::Opened(o) => self.on_opened(o),
            Message::Resized(size) => {
                self.window = size;
                Task::none()
            }
            Message::Monitor(Some((id, monitor))) => match window_for_screen(monitor) {
                WindowFit::AsIs => Task::none(),
                WindowFit::Resize(size) => iced::window::resize(id, size),
                WindowFit::Maximize => iced::window::maximize(id, true),
            },
            Message::Monitor(None) => Task::none(),
        }
    }

    /// Keyboard and dropped folders always; a tick only while a slice
    /// plays: an idle window does no work but one cheap look a little more
    /// than once a second whether the library changed elsewhere (what the
    /// command line or another window commits shows here with no click).
    /// Jobs stream their own progress.
    pub fn subscription(&self) -> Subscription<Message> {
        let keys = keyboard::listen().filter_map(|e| match e {
            keyboard::Event::KeyPressed { key, modifiers, .. } => {
                Some(Message::User(Input::Key(key, modifiers)))
            }
            _ => None,
        });
        let drops = iced::event::listen_with(|event, _, _| match event {
            iced::Event::Window(iced::window::Event::FileDropped(p)) => {
                Some(folder::Message::Dropped(p).into())
            }
            _ => None,
        });
        let tick = if self.panels.track.is_playing() {
            iced::time::every(Duration::from_millis(250)).map(|_| Message::Tick)
        } else {
            Subscription::none()
        };
        let watch = iced::time::every(background::WATCH_EVERY).map(|_| Message::Watch);
        let resized = iced::window::resize_events().map(|(_, size)| Message::Resized(size));
        Subscription::batch([keys, drops, tick, watch, resized])
    }

    /// The window: folder bar, toolbar, progress band, then the list beside
    /// the side panel; the Apply review over everything while open.
    pub fn view(&self) -> Element<'_, Message> {
        let busy = self.job.is_some();
        let bar = self
            .folder
            .view(&self.settings.recent_folders)
            .map(Message::from);
        let tools = self
            .toolbar
            .view(toolbar::Shown {
                panel: self.panel,
                tabs: Panel::ALL
                    .iter()
                    .map(|&p| (p, self.panels.tab(p)))
                    .collect(),
                can_undo: self.history.can(Step::Undo),
                can_redo: self.history.can(Step::Redo),
                busy,
                writing: self.writing(),
                can_undo_write: self.undoable_write,
            })
            .map(Message::from);
        let band = progress::view(self.job.as_ref(), &self.status).map(Message::from);
        let side = self
            .panels
            .view(self.panel, shared!(self))
            .map(Message::from);
        // Its right edge lines up with the scrolling part's, beside the bar.
        let pinned = self
            .panels
            .pinned(self.panel, shared!(self))
            .map(|e| container(e.map(Message::from)).padding(iced::Padding::ZERO.right(14)));
        let body = row![
            column![
                self.table
                    .view(self.panels.track.selected)
                    .map(Message::from),
                self.panels
                    .track
                    .batch_view(
                        self.accept_count(),
                        self.active_model()
                            .and_then(|m| { m.card.reviewed_at(self.panels.track.accept_share) }),
                    )
                    .map(Message::from),
            ]
            .spacing(8)
            .width(Length::FillPortion(3)),
            // Room on the right, so the scrollbar never covers a label.
            container(
                column![]
                    .push(pinned)
                    .push(scrollable(
                        container(side).padding(iced::Padding::ZERO.right(14))
                    ))
                    .spacing(8)
            )
            .id(SIDE_PANEL)
            .width(Length::FillPortion(2)),
        ]
        .spacing(12)
        .height(Length::Fill);

        let main = column![bar, tools, band, body].spacing(8).padding(12);
        // The window is a stack whether or not a dialog is open: the same
        // widget tree keeps the list's scroll and built rows while a dialog
        // opens and closes (a tree of another shape is built afresh, which
        // left rows missing behind a dialog and the list at its top after
        // Write or Undo).
        let dialog: Element<'_, Message> = match &self.modal {
            Some(Modal::Apply(d)) => d.view().map(Message::from),
            Some(Modal::UndoWrite(d)) => d.view().map(Message::from),
            Some(Modal::Help) => {
                let escape = Message::User(Input::Key(
                    keyboard::Key::Named(keyboard::key::Named::Escape),
                    keyboard::Modifiers::empty(),
                ));
                screen::help::view(self.active_model(), escape)
            }
            None => iced::widget::space().into(),
        };
        let window = iced::widget::stack![main, dialog];
        widget::whole_frames::whole_frames(window)
    }
}

/// The side panel's frame, found by tests.
pub const SIDE_PANEL: &str = "side-panel";

/// The window's font, bundled with iced: text is measured and drawn the
/// same on every machine, whatever fonts it has (the layout's checks and
/// the snapshots hold everywhere).
pub const FONT: iced::Font = iced::Font::with_name("Fira Sans");

/// The smallest window the layout is made for (a 1366×768 laptop screen
/// with a taskbar and title bar, with room to spare).
pub const MIN_WINDOW: iced::Size = iced::Size::new(1024.0, 640.0);

/// The window's size when it opens.
pub const DEFAULT_WINDOW: iced::Size = iced::Size::new(1280.0, 800.0);

/// How the window opening at [`DEFAULT_WINDOW`] fits a screen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WindowFit {
    AsIs,
    Resize(iced::Size),
    /// The screen is about the smallest size: let the window manager fit
    /// the window to what is left of it.
    Maximize,
}

/// Room a screen keeps for a title bar, a panel or a taskbar.
const SCREEN_ROOM: iced::Size = iced::Size::new(32.0, 96.0);

/// The window's fit on a screen of `monitor`: the default where it fits
/// with room around it, smaller where the screen is, maximised where the
/// screen is barely the layout's smallest size (some window managers would
/// otherwise leave the window running off the screen's edge).
pub fn window_for_screen(monitor: iced::Size) -> WindowFit {
    let room = iced::Size::new(
        monitor.width - SCREEN_ROOM.width,
        monitor.height - SCREEN_ROOM.height,
    );
    if room.width >= DEFAULT_WINDOW.width && room.height >= DEFAULT_WINDOW.height {
        WindowFit::AsIs
    } else if room.width >= MIN_WINDOW.width && room.height >= MIN_WINDOW.height {
        WindowFit::Resize(iced::Size::new(
            room.width.min(DEFAULT_WINDOW.width),
            room.height.min(DEFAULT_WINDOW.height),
        ))
    } else {
        WindowFit::Maximize
    }
}

/// Starts the window.
pub fn run(paths: Paths, folder: Option<PathBuf>) -> iced::Result {
    iced::application(
        move || App::new(paths.clone(), folder.clone()),
        App::update,
        App::view,
    )
    .title(App::title)
    .theme(App::theme)
    .subscription(App::subscription)
    .default_font(FONT)
    .window(iced::window::Settings {
        size: DEFAULT_WINDOW,
        // The smallest size the layout is checked at: below it columns clip.
        min_size: Some(MIN_WINDOW),
        ..Default::default()
    })
    .run()
}
