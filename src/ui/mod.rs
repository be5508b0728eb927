//! The iced window: a shell of screens over the domain library.
//!
//! Each screen owns its state, messages, update and view: the library
//! [`table`], the [`track`] screen (evidence and decisions), the [`apply`]
//! review, [`retrain`], [`settings`] and [`errors`]. This module routes
//! messages between them and runs everything slow off the UI thread as
//! iced tasks: long work as [`jobs`] streaming progress, decisions as
//! one-transaction writes, and reloads of the library's rows, debounced so
//! that a job committing every second never makes the window reload more
//! than a few times a second. The only reads left on the UI thread are of
//! one track (its evidence), which take milliseconds. Nothing ticks while
//! the window is idle.

pub mod apply;
pub mod bench;
pub mod errors;
pub mod evidence;
pub mod jobs;
pub mod long_list;
pub mod retrain;
pub mod settings;
pub mod table;
#[cfg(test)]
mod tests;
pub mod track;

use iced::keyboard::{self, Modifiers, key};
use iced::widget::{
    button, column, container, pick_list, progress_bar, row, scrollable, text, text_input,
};
use iced::{Element, Length, Subscription, Task, Theme};
use sonotag_core::classify::ModelRow;
use sonotag_core::genres::Vocabulary;
use sonotag_core::paths::Paths;
use sonotag_core::review::{self, ReviewState};
use sonotag_core::store::{DecisionSource, FileError, Library};
use sonotag_core::tags::{PlannedWrite, WritePolicy};
use sonotag_core::vote::Thresholds;
use sonotag_core::workflow::decide::{self, Decision, DecisionReport};
use sonotag_core::workflow::{Phase, Progress};
use std::path::PathBuf;
use std::time::Duration;

/// Which side panel is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Track,
    Retrain,
    Settings,
    Errors,
}

/// No widget has this id: focusing it makes every text field let go of the
/// keyboard, so the list's keys work again.
const LIST_FOCUS: &str = "list-keys";

/// A reload waits this long, so that several changes in a row make one.
const RELOAD_DEBOUNCE: Duration = Duration::from_millis(150);

/// How often the window looks whether the library changed elsewhere.
const WATCH_EVERY: Duration = Duration::from_millis(700);

/// Everything the window reads from the library in one go, off the UI
/// thread.
#[derive(Clone, Debug)]
pub struct Snapshot {
    rows: table::Prepared,
    models: Vec<ModelRow>,
    label_counts: retrain::LabelCounts,
    file_errors: Vec<FileError>,
}

/// Reads a [`Snapshot`] (what a reload does in the background).
pub fn load_snapshot(paths: &Paths, vocab: &Vocabulary) -> Result<Snapshot, String> {
    let lib = Library::open(&paths.database).map_err(|e| e.to_string())?;
    let models = lib.models().map_err(|e| e.to_string())?;
    let active = models.iter().find(|m| m.active).map(|m| m.id);
    let mut label_counts = retrain::LabelCounts::new();
    for l in sonotag_core::retrain::trusted_labels(&lib, vocab).map_err(|e| format!("{e:#}"))? {
        let e = label_counts.entry(l.genre).or_default();
        if l.source == DecisionSource::Tag {
            e.1 += 1
        } else {
            e.0 += 1
        }
    }
    Ok(Snapshot {
        rows: table::prepare(review::rows(&lib, active).map_err(|e| format!("{e:#}"))?),
        models,
        label_counts,
        file_errors: lib.file_errors().map_err(|e| e.to_string())?,
    })
}

/// Runs blocking work on the runtime's blocking pool; a panic becomes an
/// error message instead of taking the window down.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(format!("background work failed: {e}")))
}

/// Runs `work` on its own library connection, off the UI thread.
fn with_library<T: Send + 'static>(
    database: PathBuf,
    work: impl FnOnce(&mut Library) -> anyhow::Result<T> + Send + 'static,
) -> impl Future<Output = Result<T, String>> {
    blocking(move || {
        let mut lib = Library::open(&database).map_err(|e| e.to_string())?;
        work(&mut lib).map_err(|e| format!("{e:#}"))
    })
}

/// The window's state: the screens, the job in flight, and what was read
/// from the library last.
pub struct App {
    paths: Paths,
    /// For one-track reads on the UI thread (a track's evidence).
    lib: Library,
    settings: settings::SettingsScreen,
    folder_input: String,
    job: Option<jobs::Running>,
    status: String,
    table: table::Table,
    track: track::Track,
    /// The Apply review, while open: modal.
    confirm: Option<apply::Dialog>,
    errors: errors::Errors,
    panel: Panel,
    models: Vec<ModelRow>,
    label_counts: retrain::LabelCounts,
    /// Retrain also learns from genre tags.
    retrain_tags: bool,
    /// A reload is running; another is due after it.
    reloading: bool,
    reload_due: bool,
    /// Decisions made, newest last, for undo; and those undone, for redo.
    history: Vec<DecisionReport>,
    undone: Vec<DecisionReport>,
    /// "Undo last write" was pressed once and waits for a second press.
    undo_write_armed: bool,
    /// How many files that second press would restore.
    undo_write_files: usize,
    /// The library's data version when last looked at: a change means a
    /// commit elsewhere (the command line, another window), so the views
    /// reload.
    seen_version: Option<i64>,
    /// Nothing has said anything yet: the first read of the library may
    /// replace the greeting with a summary of what the library holds.
    greeting: bool,
}

/// Messages of the window.
#[derive(Clone, Debug)]
pub enum Message {
    FolderInput(String),
    OpenTyped,
    Browse,
    /// The folder dialog's answer (`None`: cancelled).
    FolderPicked(Option<PathBuf>),
    /// The folder dialog answered at once: none could be shown.
    NoFolderDialog,
    OpenRecent(PathBuf),
    Dropped(PathBuf),
    Cancel,
    ClassifyNow,
    ApplyRequest,
    PlanReady(Result<Vec<PlannedWrite>, String>),
    UndoWrites,
    Show(Panel),
    Table(table::Message),
    Track(track::Message),
    Apply(apply::Message),
    Retrain(retrain::Message),
    Settings(settings::Message),
    Errors(errors::Message),
    Job(jobs::Update),
    Reloaded(Result<std::sync::Arc<Snapshot>, String>),
    Decided(Result<DecisionReport, String>),
    /// An undo (`undo: true`) or redo of a decision finished.
    Restored {
        undo: bool,
        result: Result<DecisionReport, (DecisionReport, String)>,
    },
    Revoted(Result<String, String>),
    UndoDecision,
    RedoDecision,
    Key(keyboard::Key, Modifiers),
    Tick,
    /// Look whether the library changed elsewhere.
    Watch,
}

impl App {
    /// Opens the library, optionally scanning `folder` at once. The rows
    /// are read in the background: the window shows at once.
    pub fn new(paths: Paths, folder: Option<PathBuf>) -> (Self, Task<Message>) {
        let mut lib = match Library::open(&paths.database) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        };
        let (settings, vocab_problem) = settings::SettingsScreen::load(&paths);
        let mut greeting = vocab_problem.is_none();
        let mut status = vocab_problem.unwrap_or_else(|| "Open a music folder to start.".into());
        let mut errors = errors::Errors::default();
        // Interrupted tag writes of an earlier run are finished or rolled
        // back before anything else; what was done is listed under Errors.
        match sonotag_core::tags::recover(&mut lib) {
            Ok(recovered) if !recovered.is_empty() => {
                greeting = false;
                status = format!(
                    "{} interrupted tag writes from an earlier run were resolved: see Errors",
                    recovered.len()
                );
                errors.session.extend(
                    recovered
                        .into_iter()
                        .map(|r| (r.path.display().to_string(), r.message)),
                );
            }
            Ok(_) => {}
            Err(e) => {
                greeting = false;
                status = format!("Could not check for interrupted tag writes: {e}");
            }
        }
        let lib_version = lib.data_version().ok();
        let mut app = Self {
            paths,
            lib,
            settings,
            folder_input: String::new(),
            job: None,
            status,
            table: table::Table::default(),
            track: track::Track::default(),
            confirm: None,
            errors,
            panel: Panel::Track,
            models: Vec::new(),
            label_counts: Default::default(),
            retrain_tags: false,
            reloading: false,
            reload_due: false,
            history: Vec::new(),
            undone: Vec::new(),
            undo_write_armed: false,
            undo_write_files: 0,
            seen_version: lib_version,
            greeting,
        };
        let mut tasks = vec![app.reload_now()];
        if let Some(f) = folder {
            tasks.push(app.open_folder(f));
        }
        (app, Task::batch(tasks))
    }

    /// What the library holds, said when the window opens on it (recorded
    /// read errors included, so a restart does not hide them).
    fn library_summary(&self) -> String {
        use sonotag_core::review::ReviewState as S;
        let count = |f: &dyn Fn(S) -> bool| self.table.rows.iter().filter(|r| f(r.state)).count();
        let review = count(&|s| matches!(s, S::Proposed | S::Unsure));
        let decided = count(&|s| matches!(s, S::Accepted | S::Overridden));
        let written = count(&|s| s == S::Written);
        let mut said = format!(
            "Library: {} tracks — {review} to review, {decided} decided and not yet written, {written} written.",
            self.table.rows.len()
        );
        let unreadable = self.errors.library.len();
        if unreadable > 0 {
            said.push_str(&format!(
                " {unreadable} files could not be read or analysed: see Errors."
            ));
        }
        said
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
        if self.settings.settings.dark_theme {
            Theme::Dark
        } else {
            Theme::Light
        }
    }

    fn active_model(&self) -> Option<&ModelRow> {
        self.models.iter().find(|m| m.active)
    }

    fn model_id(&self) -> Option<i64> {
        self.active_model().map(|m| m.id)
    }

    fn model_thresholds(&self) -> Option<Thresholds> {
        self.active_model().map(|m| m.card.thresholds)
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

    /// Reads the library's rows again, soon (debounced).
    fn request_reload(&mut self) -> Task<Message> {
        if self.reloading {
            self.reload_due = true;
            return Task::none();
        }
        self.reload_with(RELOAD_DEBOUNCE)
    }

    /// Reloads the views (and rebuilds an open Apply review) when the
    /// library changed since the last look.
    fn watch_library(&mut self) -> Task<Message> {
        let Ok(version) = self.lib.data_version() else {
            return Task::none();
        };
        let changed = self.seen_version.is_some_and(|seen| seen != version);
        self.seen_version = Some(version);
        if !changed {
            return Task::none();
        }
        let reload = self.request_reload();
        if self.confirm.is_some() {
            return Task::batch([reload, self.rebuild_plan()]);
        }
        reload
    }

    /// Closes the Apply review; the list it covered comes back scrolled to
    /// the selected track, not to the top.
    fn close_dialog(&mut self) -> Task<Message> {
        self.confirm = None;
        self.reveal_selection()
    }

    /// Scrolls the list so that the selected track is in view.
    fn reveal_selection(&mut self) -> Task<Message> {
        match self.track.selected {
            Some(id) => self.table.reveal(id).map(Message::Table),
            None => Task::none(),
        }
    }

    /// Reads the library's rows again at once.
    fn reload_now(&mut self) -> Task<Message> {
        self.reload_with(Duration::ZERO)
    }

    fn reload_with(&mut self, delay: Duration) -> Task<Message> {
        self.reloading = true;
        let paths = self.paths.clone();
        let vocab = self.settings.vocab.clone();
        Task::perform(
            blocking(move || {
                std::thread::sleep(delay);
                load_snapshot(&paths, &vocab).map(std::sync::Arc::new)
            }),
            Message::Reloaded,
        )
    }

    fn on_reloaded(&mut self, snapshot: Result<std::sync::Arc<Snapshot>, String>) -> Task<Message> {
        self.reloading = false;
        let mut moved = false;
        match snapshot {
            Ok(s) => {
                let s = std::sync::Arc::try_unwrap(s).unwrap_or_else(|shared| (*shared).clone());
                let place = |app: &Self| app.track.selected.and_then(|id| app.table.position(id));
                let before = place(self);
                self.table.set_prepared(s.rows);
                moved = place(self) != before;
                self.models = s.models;
                self.label_counts = s.label_counts;
                self.errors.library = s.file_errors;
                if std::mem::take(&mut self.greeting) && !self.table.rows.is_empty() {
                    self.status = self.library_summary();
                }
                let ctx = track_context(
                    &self.lib,
                    &self.paths,
                    &self.settings,
                    &self.table,
                    self.track.selected,
                );
                self.track.refresh(&ctx);
            }
            Err(e) => self.status = format!("Cannot read the library: {e}"),
        }
        // The selected row moved (a sort by state after Accept all): it
        // stays in view. One that did not move leaves the list where the
        // user scrolled it.
        let mut tasks = vec![if moved {
            self.reveal_selection()
        } else {
            Task::none()
        }];
        if self.confirm.is_some() {
            tasks.push(self.rebuild_plan());
        }
        if std::mem::take(&mut self.reload_due) {
            tasks.push(self.request_reload());
        }
        Task::batch(tasks)
    }

    fn rebuild_plan(&self) -> Task<Message> {
        apply::Dialog::rebuild(self.paths.database.clone(), self.settings.settings.write)
            .map(Message::Apply)
    }

    /// A tag write or its undo is running: decisions stay as they are until
    /// it ends (the write follows the plan it was given).
    fn writing(&self) -> bool {
        self.job
            .as_ref()
            .is_some_and(|j| matches!(j.phase, Some(Phase::Writing | Phase::Undoing)))
    }

    fn start_job(&mut self, job: jobs::Job) -> Task<Message> {
        if self.job.is_some() {
            self.status = "Wait for the current job to finish, or cancel it.".into();
            return Task::none();
        }
        let (running, task) =
            jobs::start(self.paths.clone(), job, self.settings.settings.thresholds);
        self.job = Some(running);
        task.map(Message::Job)
    }

    fn on_job(&mut self, update: jobs::Update) -> Task<Message> {
        match update {
            jobs::Update::Progress(p) => {
                if let (Progress::FileError { path, message }, Some(job)) = (&p, &self.job)
                    && matches!(job.phase, Some(Phase::Writing | Phase::Undoing))
                {
                    // Read errors live in the library; write errors here.
                    self.errors.session.push((path.clone(), message.clone()));
                }
                if let Some(job) = &mut self.job {
                    job.on(&p);
                }
                if p == Progress::Landed {
                    return self.request_reload();
                }
                Task::none()
            }
            jobs::Update::Finished(result) => {
                self.job = None;
                self.status = match result {
                    Ok(summary) => summary,
                    Err(e) => e,
                };
                self.request_reload()
            }
        }
    }

    fn open_folder(&mut self, folder: PathBuf) -> Task<Message> {
        if !folder.is_dir() {
            self.status = format!("{} is not a folder", folder.display());
            return Task::none();
        }
        self.settings.settings.remember_folder(&folder);
        if let Some(settings::Event::Status(s)) = self.settings.save(&self.paths) {
            self.status = s;
        }
        self.folder_input = folder.display().to_string();
        self.start_job(jobs::Job::ScanAndClassify(vec![folder]))
    }

    fn select(&mut self, id: i64) -> Task<Message> {
        self.panel = Panel::Track;
        let reveal = self.table.reveal(id).map(Message::Table);
        let ctx = track_context(
            &self.lib,
            &self.paths,
            &self.settings,
            &self.table,
            Some(id),
        );
        let load = self.track.select(id, &ctx).map(Message::Track);
        Task::batch([reveal, load])
    }

    fn move_selection(&mut self, delta: i64) -> Task<Message> {
        match self.table.neighbour(self.track.selected, delta) {
            Some(id) => self.select(id),
            None => Task::none(),
        }
    }

    /// Records a decision off the UI thread; a single-track decision moves
    /// on to the next track at once.
    fn decide(&mut self, decision: Decision) -> Task<Message> {
        let model = self.model_id();
        let one_track = match &decision {
            Decision::Accept(t) | Decision::Override { tracks: t, .. } => t.len() == 1,
            _ => false,
        };
        let write = Task::perform(
            with_library(self.paths.database.clone(), move |lib| {
                decide::decide(lib, model, &decision)
            }),
            Message::Decided,
        );
        if one_track {
            Task::batch([write, self.move_selection(1)])
        } else {
            write
        }
    }

    /// Undoes (or redoes) the latest decision, off the UI thread.
    fn step_history(&mut self, undo: bool) -> Task<Message> {
        if self.writing() {
            self.status =
                "Tags are being written: undo and redo of decisions wait until it ends.".into();
            return Task::none();
        }
        let popped = if undo {
            self.history.pop()
        } else {
            self.undone.pop()
        };
        let Some(report) = popped else {
            self.status = if undo {
                "No decision to undo in this session.".into()
            } else {
                "Nothing to redo.".into()
            };
            return Task::none();
        };
        let steps = if undo {
            report.undo_steps()
        } else {
            report.redo_steps()
        };
        let database = self.paths.database.clone();
        Task::perform(
            blocking(move || {
                let restored = Library::open(&database)
                    .map_err(|e| e.to_string())
                    .and_then(|mut lib| {
                        decide::restore(&mut lib, &steps).map_err(|e| format!("{e:#}"))
                    });
                Ok(match restored {
                    Ok(()) => Ok(report),
                    Err(e) => Err((report, e)),
                })
            }),
            move |r| match r {
                Ok(result) => Message::Restored { undo, result },
                Err(e) => Message::Decided(Err(e)),
            },
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        // The Apply review is modal: nothing the user does behind it may
        // change the decisions it shows. Background results still land.
        if self.confirm.is_some()
            && matches!(
                message,
                Message::FolderInput(_)
                    | Message::OpenTyped
                    | Message::Browse
                    | Message::FolderPicked(_)
                    | Message::NoFolderDialog
                    | Message::OpenRecent(_)
                    | Message::Dropped(_)
                    | Message::ClassifyNow
                    | Message::ApplyRequest
                    | Message::UndoWrites
                    | Message::Show(_)
                    | Message::Table(_)
                    | Message::Retrain(_)
                    | Message::Settings(_)
                    | Message::Errors(_)
                    | Message::UndoDecision
                    | Message::RedoDecision
            )
        {
            return Task::none();
        }
        if self.confirm.is_some()
            && let Message::Track(m) = &message
            && !matches!(m, track::Message::Spectrogram(..))
        {
            return Task::none();
        }
        if !matches!(
            message,
            Message::UndoWrites | Message::Tick | Message::Watch | Message::Job(_)
        ) {
            self.undo_write_armed = false;
        }
        match message {
            Message::FolderInput(s) => self.folder_input = s,
            Message::OpenTyped => {
                let raw = self.folder_input.trim();
                let path = if let Some(rest) = raw.strip_prefix("~/") {
                    directories::BaseDirs::new()
                        .map(|b| b.home_dir().join(rest))
                        .unwrap_or_else(|| PathBuf::from(raw))
                } else {
                    PathBuf::from(raw)
                };
                return self.open_folder(path);
            }
            Message::Browse => {
                return Task::perform(
                    async {
                        let asked = std::time::Instant::now();
                        let picked = rfd::AsyncFileDialog::new()
                            .set_title("Open a music folder")
                            .pick_folder()
                            .await
                            .map(|h| h.path().to_path_buf());
                        // Without a desktop portal the dialog answers "none"
                        // at once, as a cancel would: nobody cancels that fast.
                        if picked.is_none() && asked.elapsed() < Duration::from_millis(300) {
                            Message::NoFolderDialog
                        } else {
                            Message::FolderPicked(picked)
                        }
                    },
                    |m| m,
                );
            }
            Message::NoFolderDialog => {
                self.status = "No folder dialog is available on this desktop: type the folder's \
                               path and press Open."
                    .into();
            }
            Message::FolderPicked(Some(p)) | Message::OpenRecent(p) => return self.open_folder(p),
            Message::FolderPicked(None) => self.status = "No folder chosen.".into(),
            Message::Dropped(p) => {
                let folder = if p.is_dir() {
                    p
                } else {
                    p.parent().map(PathBuf::from).unwrap_or(p)
                };
                return self.open_folder(folder);
            }
            Message::Cancel => {
                if let Some(j) = &self.job {
                    j.cancel();
                    self.status =
                        "Cancelling after the current file… (finished work is kept)".into();
                }
            }
            Message::ClassifyNow => return self.start_job(jobs::Job::Classify),
            Message::Job(u) => return self.on_job(u),
            Message::Reloaded(s) => return self.on_reloaded(s),
            Message::Tick => self.track.tick(),
            Message::Watch => return self.watch_library(),
            Message::Table(m) => {
                let (task, event) = self.table.update(m);
                let task = task.map(Message::Table);
                return match event {
                    Some(table::Event::Selected(id)) => Task::batch([task, self.select(id)]),
                    Some(table::Event::LeaveSearch) => {
                        Task::batch([task, iced::widget::operation::focus(LIST_FOCUS)])
                    }
                    // After a search, filter or sort the selected track,
                    // where it is still shown, stays in view.
                    Some(table::Event::Reordered) => match self.track.selected {
                        Some(id) => Task::batch([task, self.table.reveal(id).map(Message::Table)]),
                        None => task,
                    },
                    None => task,
                };
            }
            Message::Track(m) => {
                let ctx = track_context(
                    &self.lib,
                    &self.paths,
                    &self.settings,
                    &self.table,
                    self.track.selected,
                );
                let (task, event) = self.track.update(m, &ctx);
                let task = task.map(Message::Track);
                let then = match event {
                    Some(track::Event::Decide(d)) => {
                        let leave = iced::widget::operation::focus(LIST_FOCUS);
                        Task::batch([self.decide(d), leave])
                    }
                    Some(track::Event::Move(delta)) => self.move_selection(delta),
                    Some(track::Event::LeaveInput) => iced::widget::operation::focus(LIST_FOCUS),
                    Some(track::Event::Status(s)) => {
                        self.status = s;
                        Task::none()
                    }
                    None => Task::none(),
                };
                return Task::batch([task, then]);
            }
            Message::Decided(Ok(report)) => {
                self.status = report.to_string();
                if !report.changes.is_empty() {
                    self.history.push(report);
                    self.undone.clear();
                }
                return self.request_reload();
            }
            Message::Decided(Err(e)) | Message::Revoted(Err(e)) => self.status = e,
            Message::Revoted(Ok(s)) => {
                self.status = s;
                return self.request_reload();
            }
            Message::UndoDecision => return self.step_history(true),
            Message::RedoDecision => return self.step_history(false),
            Message::Restored { undo, result } => match result {
                Ok(report) => {
                    self.status = format!(
                        "{}: {}",
                        if undo { "Undone" } else { "Redone" },
                        report.what
                    );
                    let only = match report.changes.as_slice() {
                        [one] => Some(one.track_id),
                        _ => None,
                    };
                    if undo {
                        self.undone.push(report);
                    } else {
                        self.history.push(report);
                    }
                    let show = only.map_or(Task::none(), |id| self.select(id));
                    return Task::batch([show, self.request_reload()]);
                }
                Err((report, e)) => {
                    self.status = format!("Could not {}: {e}", if undo { "undo" } else { "redo" });
                    if undo {
                        self.history.push(report);
                    } else {
                        self.undone.push(report);
                    }
                }
            },
            Message::ApplyRequest => {
                return Task::perform(
                    apply::plan(self.paths.database.clone(), self.settings.settings.write),
                    Message::PlanReady,
                );
            }
            Message::PlanReady(Ok(plan)) if plan.is_empty() => {
                self.status = "Nothing to write: accept or override some tracks first.".into()
            }
            Message::PlanReady(Ok(plan)) => self.confirm = Some(apply::Dialog::new(plan)),
            Message::PlanReady(Err(e)) => self.status = e,
            Message::Apply(m) => {
                let Some(dialog) = &mut self.confirm else {
                    return Task::none();
                };
                let (task, event) =
                    dialog.update(m, self.paths.database.clone(), self.settings.settings.write);
                let task = task.map(Message::Apply);
                match event {
                    Some(apply::Event::Write(plan)) => {
                        let reveal = self.close_dialog();
                        let write = self.settings.settings.write;
                        return Task::batch([
                            task,
                            reveal,
                            self.start_job(jobs::Job::Apply(plan, write)),
                        ]);
                    }
                    Some(apply::Event::Close) => return Task::batch([task, self.close_dialog()]),
                    Some(apply::Event::Status(s)) => self.status = s,
                    None => {}
                }
                return task;
            }
            Message::UndoWrites => {
                if !self.undo_write_armed {
                    // Say how much the second press will undo.
                    let files = self
                        .lib
                        .latest_open_batch()
                        .ok()
                        .flatten()
                        .and_then(|b| self.lib.batches().ok()?.into_iter().find(|x| x.id == b))
                        .map(|b| b.files);
                    let Some(files) = files else {
                        self.status = "Nothing to undo: no tag write is open.".into();
                        return Task::none();
                    };
                    self.undo_write_armed = true;
                    self.undo_write_files = files;
                    self.status = format!(
                        "Press \"Confirm undo\" to restore the {files} files of the latest tag \
                         write as they were before it; anything else cancels."
                    );
                    return Task::none();
                }
                self.undo_write_armed = false;
                return self.start_job(jobs::Job::Undo(self.settings.settings.write));
            }
            Message::Retrain(retrain::Message::Retrain) => {
                return self.start_job(jobs::Job::Retrain {
                    use_tags: self.retrain_tags,
                });
            }
            Message::Retrain(retrain::Message::UseTags(on)) => self.retrain_tags = on,
            Message::Retrain(retrain::Message::Use(name)) => {
                return Task::perform(
                    with_library(self.paths.database.clone(), move |lib| {
                        sonotag_core::workflow::retrain::use_model(lib, &name)
                            .map(|r| r.to_string())
                    }),
                    Message::Revoted,
                );
            }
            Message::Show(p) => self.panel = p,
            Message::Settings(m) => {
                let model = self.model_thresholds();
                match self.settings.update(m, &self.paths, model) {
                    Some(settings::Event::Revote(th)) => {
                        let Some(m) = self.active_model().cloned() else {
                            self.status = "No model has classified this library yet.".into();
                            return Task::none();
                        };
                        return Task::perform(
                            with_library(self.paths.database.clone(), move |lib| {
                                sonotag_core::classify::revote(lib, m.id, &m.card.classes, th)
                                    .map(|n| format!("Re-voted {n} tracks with the new thresholds"))
                            }),
                            Message::Revoted,
                        );
                    }
                    Some(settings::Event::VocabularySaved) => {
                        self.status =
                            format!("Vocabulary saved to {}", self.paths.vocabulary.display());
                        return self.request_reload();
                    }
                    Some(settings::Event::Status(s)) => self.status = s,
                    None => {}
                }
            }
            Message::Errors(m) => self.errors.update(m),
            Message::Key(k, mods) => return self.key(k, mods),
        }
        Task::none()
    }

    fn key(&mut self, k: keyboard::Key, mods: Modifiers) -> Task<Message> {
        use keyboard::Key::{Character, Named};
        if self.confirm.is_some() {
            // Behind the dialog nothing reacts; Esc closes it.
            if k == Named(key::Named::Escape) {
                return self.close_dialog();
            }
            return Task::none();
        }
        match k.as_ref() {
            Named(key::Named::ArrowDown) | Character("j") => self.move_selection(1),
            Named(key::Named::ArrowUp) | Character("k") => self.move_selection(-1),
            Named(key::Named::PageDown) => self.move_selection(self.table.page()),
            Named(key::Named::PageUp) => self.move_selection(-self.table.page()),
            Named(key::Named::Home) => self.move_selection(i64::MIN / 2),
            Named(key::Named::End) => self.move_selection(i64::MAX / 2),
            Named(key::Named::Enter) => self.update(Message::Track(track::Message::Accept)),
            Named(key::Named::Space) => self.update(Message::Track(track::Message::PlayCurrent)),
            Named(key::Named::ArrowRight) | Character("l") => {
                self.update(Message::Track(track::Message::StepSlice(1)))
            }
            Named(key::Named::ArrowLeft) | Character("h") => {
                self.update(Message::Track(track::Message::StepSlice(-1)))
            }
            Named(key::Named::Escape) => {
                let stop = self.update(Message::Track(track::Message::Stop));
                Task::batch([stop, iced::widget::operation::focus(LIST_FOCUS)])
            }
            Character("o") => iced::widget::operation::focus(track::OVERRIDE_INPUT),
            Character("/") => iced::widget::operation::focus(table::SEARCH),
            Character("U") => self.step_history(false),
            Character("u") if mods.shift() => self.step_history(false),
            Character("u") => self.step_history(true),
            Character("z") if mods.command() && mods.shift() => self.step_history(false),
            Character("z") if mods.command() => self.step_history(true),
            Character("y") if mods.command() => self.step_history(false),
            _ => Task::none(),
        }
    }

    /// Keyboard and dropped folders always; a tick only while something
    /// needs watching (the Apply review's plan, a playing slice): an idle
    /// window does no work. Jobs stream their own progress.
    pub fn subscription(&self) -> Subscription<Message> {
        let keys = keyboard::listen().filter_map(|e| match e {
            keyboard::Event::KeyPressed { key, modifiers, .. } => {
                Some(Message::Key(key, modifiers))
            }
            _ => None,
        });
        let drops = iced::event::listen_with(|event, _, _| match event {
            iced::Event::Window(iced::window::Event::FileDropped(p)) => Some(Message::Dropped(p)),
            _ => None,
        });
        let tick = if self.track.is_playing() {
            iced::time::every(Duration::from_millis(250)).map(|_| Message::Tick)
        } else {
            Subscription::none()
        };
        // One pragma a second: what the command line or another window
        // commits shows here within a second, with no click.
        let watch = iced::time::every(WATCH_EVERY).map(|_| Message::Watch);
        Subscription::batch([keys, drops, tick, watch])
    }

    /// How many undecided proposals "Accept all" would accept now.
    fn accept_count(&self) -> usize {
        self.table
            .rows
            .iter()
            .filter(|r| r.state == ReviewState::Proposed && r.share >= self.track.accept_share)
            .count()
    }

    /// The window.
    pub fn view(&self) -> Element<'_, Message> {
        let busy = self.job.is_some();
        let open = row![
            text_input("Music folder, e.g. ~/Music", &self.folder_input)
                .on_input(Message::FolderInput)
                .on_submit(Message::OpenTyped)
                .width(Length::Fill),
            button("Open").on_press(Message::OpenTyped),
            button("Browse…").on_press(Message::Browse),
            pick_list(
                self.settings
                    .settings
                    .recent_folders
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>(),
                None::<String>,
                |s| Message::OpenRecent(PathBuf::from(s))
            )
            .placeholder("Recent"),
        ]
        .spacing(8)
        .align_y(iced::Alignment::Center);

        let tabs = row![
            tab("Track", Panel::Track, self.panel),
            tab("Retrain", Panel::Retrain, self.panel),
            tab(
                &format!("Errors ({})", self.errors.count()),
                Panel::Errors,
                self.panel
            ),
            tab("Settings", Panel::Settings, self.panel),
            iced::widget::space().width(Length::Fill),
            button(text("Undo decision (u)").size(13)).on_press_maybe(
                (!self.history.is_empty() && !self.writing()).then_some(Message::UndoDecision)
            ),
            button(text("Redo (U)").size(13)).on_press_maybe(
                (!self.undone.is_empty() && !self.writing()).then_some(Message::RedoDecision)
            ),
            button(text("Classify").size(13))
                .on_press_maybe((!busy).then_some(Message::ClassifyNow)),
            button(text("Apply tags…").size(13))
                .on_press_maybe((!busy).then_some(Message::ApplyRequest)),
            button(
                text(if self.undo_write_armed {
                    format!("Confirm undo ({} files)", self.undo_write_files)
                } else {
                    "Undo last write".to_string()
                })
                .size(13)
            )
            .on_press_maybe((!busy).then_some(Message::UndoWrites)),
        ]
        .spacing(6)
        .align_y(iced::Alignment::Center);

        // A fixed-height band: progress and messages never move the
        // buttons around them.
        let progress: Element<'_, Message> = match &self.job {
            Some(j) => {
                let phase = j.phase.map(|p| p.to_string()).unwrap_or("Starting".into());
                let rate = j.rate();
                let line = if j.total == 0 {
                    format!("{phase}: {} so far…", j.done)
                } else {
                    let eta = if rate > 0.0 && j.total > j.done {
                        format!(" — about {:.0} s left", (j.total - j.done) as f64 / rate)
                    } else {
                        String::new()
                    };
                    format!("{phase}: {}/{} ({rate:.1}/s){eta}", j.done, j.total)
                };
                column![
                    row![
                        text(line).size(13),
                        iced::widget::space().width(Length::Fill),
                        button(
                            text(if j.cancelling() {
                                "Cancelling…"
                            } else {
                                "Cancel"
                            })
                            .size(13)
                        )
                        .on_press_maybe((!j.cancelling()).then_some(Message::Cancel)),
                    ]
                    .align_y(iced::Alignment::Center),
                    progress_bar(0.0..=j.total.max(1) as f32, j.done as f32).girth(8),
                    text(j.current.clone()).size(11),
                ]
                .spacing(4)
                .into()
            }
            None => text(self.status.clone()).size(13).into(),
        };
        let progress = container(progress).height(62).clip(true);

        let side: Element<'_, Message> = match self.panel {
            Panel::Track => {
                let mut genres = self.settings.vocab.genres.clone();
                for m in self.active_model().iter().flat_map(|m| &m.card.classes) {
                    if !genres.contains(m) {
                        genres.push(m.clone());
                    }
                }
                let row = self.track.selected.and_then(|id| self.table.row(id));
                self.track.view(row, genres).map(Message::Track)
            }
            Panel::Retrain => {
                retrain::view(&self.label_counts, &self.models, self.retrain_tags, busy)
                    .map(Message::Retrain)
            }
            Panel::Errors => self.errors.view().map(Message::Errors),
            Panel::Settings => self
                .settings
                .view(&self.paths, self.model_thresholds())
                .map(Message::Settings),
        };
        let body = row![
            column![
                self.table.view(self.track.selected).map(Message::Table),
                self.track
                    .batch_view(self.accept_count())
                    .map(Message::Track),
            ]
            .spacing(8)
            .width(Length::FillPortion(3)),
            // Room on the right, so the scrollbar never covers a label.
            container(scrollable(
                container(side).padding(iced::Padding::ZERO.right(14))
            ))
            .width(Length::FillPortion(2)),
        ]
        .spacing(12)
        .height(Length::Fill);

        let main = column![open, tabs, progress, body].spacing(8).padding(12);
        match &self.confirm {
            Some(dialog) => iced::widget::stack![main, dialog.view().map(Message::Apply)].into(),
            None => main.into(),
        }
    }
}

/// What the track screen reads, from the window's fields (borrowed one by
/// one, so the track screen itself can be updated meanwhile).
fn track_context<'a>(
    lib: &'a Library,
    paths: &'a Paths,
    settings: &'a settings::SettingsScreen,
    table: &'a table::Table,
    selected: Option<i64>,
) -> track::Context<'a> {
    track::Context {
        lib,
        database: &paths.database,
        thresholds: settings.settings.thresholds,
        row: selected.and_then(|id| table.row(id)),
        vocab: &settings.vocab,
        replace: settings.settings.write.policy == WritePolicy::ReplaceAll,
    }
}

fn tab<'a>(label: &str, panel: Panel, current: Panel) -> Element<'a, Message> {
    let b = button(text(label.to_string()).size(13)).on_press(Message::Show(panel));
    if panel == current {
        b.style(button::primary)
    } else {
        b.style(button::secondary)
    }
    .into()
}

/// The smallest window the layout is made for (a 1366×768 laptop screen
/// with a taskbar and title bar, with room to spare).
pub const MIN_WINDOW: iced::Size = iced::Size::new(1024.0, 640.0);

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
    .window(iced::window::Settings {
        size: iced::Size::new(1280.0, 800.0),
        // The smallest size the layout is checked at: below it columns clip.
        min_size: Some(MIN_WINDOW),
        ..Default::default()
    })
    .run()
}
