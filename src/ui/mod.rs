//! The iced window: a thin shell over the domain library.
//!
//! It opens folders, starts background jobs ([`sonotag_core::worker`]) and renders
//! their progress, the library table ([`table`]), the evidence of the
//! selected track ([`evidence`]) and the review, apply, retrain and settings
//! panels. All reading and writing goes through domain modules; the window
//! never blocks on work — long work runs in the worker, short reads (a
//! table reload, one track's evidence) take milliseconds, and a track's
//! spectrogram is decoded in a background task.

pub mod evidence;
pub mod table;
#[cfg(test)]
mod tests;

use crate::playback::Player;
use iced::keyboard::{self, key};
use iced::widget::{
    button, canvas, checkbox, column, container, image, pick_list, progress_bar, row, scrollable,
    slider, space, text, text_editor, text_input,
};
use iced::{Element, Length, Subscription, Task, Theme};
use sonotag_core::genres::Vocabulary;
use sonotag_core::paths::Paths;
use sonotag_core::review::{self, Evidence};
use sonotag_core::settings::Settings;
use sonotag_core::store::Library;
use sonotag_core::tags::{self, Action as WriteAction, PlannedWrite, WritePolicy};
use sonotag_core::vote::Thresholds;
use sonotag_core::worker::{self, Event as JobEvent, Job};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which side panel is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Track,
    Retrain,
    Settings,
    Errors,
}

/// A job in flight.
struct Running {
    cancel: Arc<AtomicBool>,
    events: std::sync::mpsc::Receiver<JobEvent>,
    phase: String,
    done: usize,
    total: usize,
    current: String,
    rate: f64,
}

/// Everything the window shows.
pub struct App {
    /// Where the library, settings, vocabulary and models live.
    paths: Paths,
    lib: Library,
    settings: Settings,
    vocab: Vocabulary,
    folder_input: String,
    job: Option<Running>,
    status: String,
    errors: Vec<(String, String)>,
    table: table::Table,
    selected: Option<i64>,
    evidence: Option<Evidence>,
    spectrogram: Option<(i64, image::Handle)>,
    spectrogram_error: Option<String>,
    hovered_slice: Option<usize>,
    current_slice: usize,
    playing: Option<usize>,
    player: Option<Result<Player, String>>,
    override_input: String,
    accept_share: f32,
    /// The Apply confirmation, while open: modal, and kept equal to the
    /// library's current plan.
    confirm: Option<ApplyReview>,
    panel: Panel,
    reload_due: bool,
    /// The vocabulary as TOML, edited in the settings panel.
    vocab_text: text_editor::Content,
    /// Registered models, refreshed with the table (views run every frame
    /// and must not query the library).
    models: Vec<sonotag_core::classify::ModelRow>,
    /// Trusted labels per genre: (decided by the user, from tags).
    label_counts: std::collections::BTreeMap<String, (usize, usize)>,
}

/// The plan shown by the Apply confirmation.
struct ApplyReview {
    plan: Vec<PlannedWrite>,
    /// The decisions changed while the dialog was open (another window or
    /// the command line): the list was rebuilt and needs a fresh look.
    changed: bool,
}

/// Messages of the window.
#[derive(Clone, Debug)]
pub enum Message {
    FolderInput(String),
    OpenTyped,
    Browse,
    FolderPicked(Option<PathBuf>),
    OpenRecent(PathBuf),
    Dropped(PathBuf),
    Cancel,
    ClassifyNow,
    Table(table::Message),
    Spectrogram(i64, Result<(u32, u32, Vec<u8>), String>),
    Strip(evidence::StripMessage),
    Accept,
    OverrideInput(String),
    OverridePick(String),
    OverrideSubmit,
    Skip,
    UndoDecision,
    AcceptShare(f32),
    AcceptAbove,
    ApplyRequest,
    ApplyConfirm,
    ApplyCancel,
    UndoWrites,
    Retrain,
    Show(Panel),
    SliceThreshold(f32),
    TrackThreshold(f32),
    ApplyThresholds,
    ReplaceExisting(bool),
    Id3v23(bool),
    DarkTheme(bool),
    VocabEdit(text_editor::Action),
    VocabSave,
    VocabReset,
    Key(keyboard::Key),
    Tick,
}

const OVERRIDE_INPUT: &str = "override-genre";

impl App {
    /// Opens the library at `db`, optionally scanning `folder` at once.
    pub fn new(paths: Paths, folder: Option<PathBuf>) -> (Self, Task<Message>) {
        let lib = match Library::open(&paths.database) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        };
        let settings = Settings::load(&paths.settings);
        let vocab = Vocabulary::load(&paths.vocabulary).unwrap_or_default();
        let mut app = Self {
            paths,
            lib,
            settings,
            vocab,
            folder_input: String::new(),
            job: None,
            status: "Open a music folder to start.".into(),
            errors: Vec::new(),
            table: table::Table::default(),
            selected: None,
            evidence: None,
            spectrogram: None,
            spectrogram_error: None,
            hovered_slice: None,
            current_slice: 0,
            playing: None,
            player: None,
            override_input: String::new(),
            accept_share: 0.9,
            confirm: None,
            panel: Panel::Track,
            reload_due: false,
            vocab_text: text_editor::Content::new(),
            models: Vec::new(),
            label_counts: Default::default(),
        };
        app.vocab_text = text_editor::Content::with_text(
            &toml::to_string_pretty(&app.vocab).unwrap_or_default(),
        );
        // Interrupted tag writes of an earlier run are finished or rolled
        // back before anything else; what was done is listed under Errors.
        match sonotag_core::tags::recover(&mut app.lib) {
            Ok(recovered) if !recovered.is_empty() => {
                app.status = format!(
                    "{} interrupted tag writes from an earlier run were resolved: see Errors",
                    recovered.len()
                );
                app.errors.extend(
                    recovered
                        .into_iter()
                        .map(|r| (r.path.display().to_string(), r.message)),
                );
            }
            Ok(_) => {}
            Err(e) => app.status = format!("Could not check for interrupted tag writes: {e}"),
        }
        app.reload();
        let task = match folder {
            Some(f) => app.open_folder(f),
            None => Task::none(),
        };
        (app, task)
    }

    /// Window title.
    pub fn title(&self) -> String {
        match &self.job {
            Some(j) if j.total > 0 => format!("Sonotag — {} {}/{}", j.phase, j.done, j.total),
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

    fn save_settings(&mut self) {
        if let Err(e) = self.settings.save(&self.paths.settings) {
            self.status = format!(
                "Cannot save settings to {}: {e}",
                self.paths.settings.display()
            );
        }
    }

    fn active_model(&self) -> Option<&sonotag_core::classify::ModelRow> {
        self.models.iter().find(|m| m.active)
    }

    fn model_id(&self) -> Option<i64> {
        self.active_model().map(|m| m.id)
    }

    /// Reloads the table, models, label counts and the selected track's
    /// evidence from the library.
    fn reload(&mut self) {
        self.models = self.lib.models().unwrap_or_default();
        self.label_counts.clear();
        for l in sonotag_core::retrain::trusted_labels(&self.lib, &self.vocab).unwrap_or_default() {
            let e = self.label_counts.entry(l.genre).or_default();
            if l.source == sonotag_core::store::DecisionSource::Tag {
                e.1 += 1
            } else {
                e.0 += 1
            }
        }
        match review::rows(&self.lib, self.model_id()) {
            Ok(rows) => self.table.set_rows(rows),
            Err(e) => self.status = format!("Cannot read the library: {e}"),
        }
        if let Some(id) = self.selected {
            self.evidence = review::evidence(&self.lib, id, self.settings.thresholds)
                .ok()
                .flatten();
        }
        self.reload_due = false;
    }

    fn start_job(&mut self, job: Job) -> Task<Message> {
        if self.job.is_some() {
            self.status = "Wait for the current job to finish, or cancel it.".into();
            return Task::none();
        }
        // Events are drained on every tick (10 per second while a job runs),
        // which keeps redraws bounded however fast the job reports.
        let (tx, events) = std::sync::mpsc::channel();
        let cancel = worker::start(
            self.paths.clone(),
            job,
            self.settings.thresholds,
            move |e| {
                let _ = tx.send(e);
            },
        );
        self.job = Some(Running {
            cancel,
            events,
            phase: "Starting".into(),
            done: 0,
            total: 0,
            current: String::new(),
            rate: 0.0,
        });
        Task::none()
    }

    /// Takes the events the running job sent since the last tick.
    fn drain_job_events(&mut self) {
        let pending: Vec<JobEvent> = match &self.job {
            Some(j) => j.events.try_iter().collect(),
            None => return,
        };
        for e in pending {
            self.on_job_event(e);
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

    fn on_job_event(&mut self, event: JobEvent) {
        match event {
            JobEvent::Phase(p) => {
                if let Some(j) = &mut self.job {
                    j.phase = p;
                    j.done = 0;
                    j.total = 0;
                }
            }
            JobEvent::Progress {
                done,
                total,
                current,
                rate,
            } => {
                if let Some(j) = &mut self.job {
                    j.done = done;
                    j.total = total;
                    j.current = current;
                    j.rate = rate;
                }
            }
            JobEvent::FileError { path, message } => self.errors.push((path, message)),
            JobEvent::Landed => self.reload_due = true,
            JobEvent::Finished(msg) | JobEvent::Failed(msg) => {
                self.job = None;
                self.status = msg;
                self.reload();
            }
        }
    }

    fn open_folder(&mut self, folder: PathBuf) -> Task<Message> {
        if !folder.is_dir() {
            self.status = format!("{} is not a folder", folder.display());
            return Task::none();
        }
        self.settings.remember_folder(&folder);
        self.save_settings();
        self.folder_input = folder.display().to_string();
        self.errors.clear();
        self.start_job(Job::ScanAndClassify(vec![folder]))
    }

    fn select(&mut self, id: i64) -> Task<Message> {
        if self.selected == Some(id) {
            return Task::none();
        }
        self.selected = Some(id);
        self.panel = Panel::Track;
        self.evidence = review::evidence(&self.lib, id, self.settings.thresholds)
            .ok()
            .flatten();
        self.current_slice = self
            .evidence
            .as_ref()
            .and_then(|e| {
                let w = e.proposal.winner?;
                (0..e.analysis.slices).find(|&i| e.slice_top(i).0 == w)
            })
            .unwrap_or(0);
        self.spectrogram = None;
        self.spectrogram_error = None;
        self.override_input.clear();
        let db = self.paths.database.clone();
        let thresholds = self.settings.thresholds;
        Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    review::open_track(&db, id, thresholds)
                        .map(|t| evidence::spectrogram_rgba(&t.spectrogram, &t.boundaries))
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            },
            move |r| Message::Spectrogram(id, r),
        )
    }

    fn play(&mut self, slice: usize) {
        let (Some(id), Some(e)) = (self.selected, &self.evidence) else {
            return;
        };
        let Some(path) = self.table.row(id).map(|r| r.path.clone()) else {
            return;
        };
        let start = e.slice_start_seconds(slice);
        if self.player.is_none() {
            self.player = Some(Player::open());
            if let Some(Err(msg)) = &self.player {
                // Said once; previews stay off for this session.
                self.status = msg.clone();
            }
        }
        if let Some(Ok(player)) = &mut self.player {
            if self.playing == Some(slice) && player.is_playing() {
                player.stop();
                self.playing = None;
                return;
            }
            match player.play_slice(&path, start, e.patch_seconds) {
                Ok(()) => {
                    self.playing = Some(slice);
                    self.current_slice = slice;
                }
                Err(e) => self.status = e,
            }
        }
    }

    fn decide(&mut self, result: anyhow::Result<String>) {
        match result {
            Ok(msg) => self.status = msg,
            Err(e) => self.status = format!("{e:#}"),
        }
        self.reload();
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        // The Apply confirmation is modal: nothing behind it may change the
        // decisions it shows.
        if self.confirm.is_some()
            && !matches!(
                message,
                Message::ApplyConfirm
                    | Message::ApplyCancel
                    | Message::Tick
                    | Message::Key(_)
                    | Message::Spectrogram(..)
            )
        {
            return Task::none();
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
                        rfd::AsyncFileDialog::new()
                            .set_title("Open a music folder")
                            .pick_folder()
                            .await
                            .map(|h| h.path().to_path_buf())
                    },
                    Message::FolderPicked,
                );
            }
            Message::FolderPicked(Some(p)) | Message::OpenRecent(p) => return self.open_folder(p),
            Message::FolderPicked(None) => {
                self.status =
                    "No folder chosen (if no dialog appeared, type the folder's path).".into();
            }
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
                    j.cancel.store(true, Ordering::Relaxed);
                    self.status = "Cancelling… (finished work is kept)".into();
                }
            }
            Message::ClassifyNow => return self.start_job(Job::Classify),
            Message::Tick => {
                self.drain_job_events();
                self.refresh_confirm();
                if self.reload_due {
                    self.reload();
                }
                if let Some(Ok(p)) = &self.player
                    && !p.is_playing()
                {
                    self.playing = None;
                }
            }
            Message::Table(m) => {
                if let Some(table::Event::Selected(id)) = self.table.update(m) {
                    return self.select(id);
                }
            }
            Message::Spectrogram(id, result) => {
                if self.selected == Some(id) {
                    match result {
                        Ok((w, h, rgba)) => {
                            self.spectrogram = Some((id, image::Handle::from_rgba(w, h, rgba)));
                            // The full analysis may have replaced a sampled one.
                            self.reload();
                        }
                        Err(e) => self.spectrogram_error = Some(e),
                    }
                }
            }
            Message::Strip(evidence::StripMessage::Hover(i)) => self.hovered_slice = i,
            Message::Strip(evidence::StripMessage::Play(i)) => self.play(i),
            Message::Accept => {
                if let (Some(id), Some(model)) = (self.selected, self.model_id()) {
                    let r = tags::accept(&mut self.lib, id, model).map(|g| format!("Accepted {g}"));
                    self.decide(r);
                    return self.move_selection(1);
                }
            }
            Message::OverrideInput(s) => self.override_input = s,
            Message::OverridePick(g) => {
                self.override_input = g;
                return self.update(Message::OverrideSubmit);
            }
            Message::OverrideSubmit => {
                if let Some(id) = self.selected {
                    // Written as chosen, never silently mapped to a super-genre.
                    let genre = self.vocab.spelling(&self.override_input);
                    let replace = self.settings.write.policy == WritePolicy::ReplaceAll;
                    let r = tags::override_genre(&mut self.lib, id, &genre, None, replace)
                        .map(|_| format!("Set {genre}"));
                    self.decide(r);
                    self.override_input.clear();
                    return self.move_selection(1);
                }
            }
            Message::Skip => return self.move_selection(1),
            Message::UndoDecision => {
                if let Some(id) = self.selected {
                    let r = tags::clear_label(&mut self.lib, id)
                        .map(|_| "Decision undone".to_string())
                        .map_err(anyhow::Error::from);
                    self.decide(r);
                }
            }
            Message::AcceptShare(v) => self.accept_share = v,
            Message::AcceptAbove => {
                let Some(model) = self.model_id() else {
                    return Task::none();
                };
                let ids: Vec<i64> = self
                    .table
                    .rows
                    .iter()
                    .filter(|r| {
                        r.state == review::ReviewState::Proposed && r.share >= self.accept_share
                    })
                    .map(|r| r.track_id)
                    .collect();
                let mut n = 0;
                for id in &ids {
                    if tags::accept(&mut self.lib, *id, model).is_ok() {
                        n += 1;
                    }
                }
                self.decide(Ok(format!(
                    "Accepted {n} proposals with ≥ {:.0}% of the votes",
                    self.accept_share * 100.0
                )));
            }
            Message::ApplyRequest => match tags::plan(&self.lib, self.settings.write) {
                Ok(plan) if plan.is_empty() => {
                    self.status = "Nothing to write: accept or override some tracks first.".into()
                }
                Ok(plan) => {
                    self.confirm = Some(ApplyReview {
                        plan,
                        changed: false,
                    })
                }
                Err(e) => self.status = format!("{e:#}"),
            },
            Message::ApplyCancel => self.confirm = None,
            Message::ApplyConfirm => {
                // Written is exactly what is shown: a plan that changed
                // since it was drawn is shown again instead of written.
                if self.refresh_confirm() {
                    return Task::none();
                }
                if let Some(review) = self.confirm.take() {
                    return self.start_job(Job::Apply(review.plan, self.settings.write));
                }
            }
            Message::UndoWrites => return self.start_job(Job::Undo(self.settings.write)),
            Message::Retrain => return self.start_job(Job::Retrain),
            Message::Show(p) => self.panel = p,
            Message::SliceThreshold(v) => {
                let t = self.thresholds();
                self.settings.thresholds = Some(Thresholds { slice: v, ..t });
            }
            Message::TrackThreshold(v) => {
                let t = self.thresholds();
                self.settings.thresholds = Some(Thresholds { track: v, ..t });
            }
            Message::ApplyThresholds => {
                self.save_settings();
                if let Some(m) = self.active_model().cloned() {
                    let th = self.thresholds();
                    let r =
                        sonotag_core::classify::revote(&mut self.lib, m.id, &m.card.classes, th)
                            .map(|n| format!("Re-voted {n} tracks with the new thresholds"));
                    self.decide(r);
                }
            }
            Message::ReplaceExisting(v) => {
                self.settings.write.policy = if v {
                    WritePolicy::ReplaceAll
                } else {
                    WritePolicy::FillEmpty
                };
                self.save_settings();
            }
            Message::Id3v23(v) => {
                self.settings.write.id3v23 = v;
                self.save_settings();
            }
            Message::DarkTheme(v) => {
                self.settings.dark_theme = v;
                self.save_settings();
            }
            Message::VocabEdit(action) => self.vocab_text.perform(action),
            Message::VocabSave => match toml::from_str::<Vocabulary>(&self.vocab_text.text()) {
                Ok(v) => {
                    let path = self.paths.vocabulary.clone();
                    match v.save(&path) {
                        Ok(()) => {
                            self.status = format!("Vocabulary saved to {}", path.display());
                            self.vocab = v;
                            self.reload();
                        }
                        Err(e) => self.status = e.to_string(),
                    }
                }
                Err(e) => {
                    self.status = format!("The vocabulary is not valid TOML, nothing saved: {e}")
                }
            },
            Message::VocabReset => {
                self.vocab_text = text_editor::Content::with_text(
                    &toml::to_string_pretty(&Vocabulary::default()).unwrap_or_default(),
                );
                self.status = "Default vocabulary loaded into the editor; Save to keep it.".into();
            }
            Message::Key(k) => return self.key(k),
        }
        Task::none()
    }

    fn thresholds(&self) -> Thresholds {
        self.settings
            .thresholds
            .or_else(|| self.active_model().map(|m| m.card.thresholds))
            .unwrap_or_default()
    }

    fn move_selection(&mut self, delta: i64) -> Task<Message> {
        match self.table.neighbour(self.selected, delta) {
            Some(id) => self.select(id),
            None => Task::none(),
        }
    }

    /// Rebuilds the open confirmation's plan from the library; true when it
    /// changed (or can no longer be built).
    fn refresh_confirm(&mut self) -> bool {
        let Some(review) = &mut self.confirm else {
            return false;
        };
        match tags::plan(&self.lib, self.settings.write) {
            Ok(plan) if plan == review.plan => false,
            Ok(plan) => {
                review.plan = plan;
                review.changed = true;
                true
            }
            Err(e) => {
                self.status = format!("{e:#}");
                self.confirm = None;
                true
            }
        }
    }

    fn key(&mut self, k: keyboard::Key) -> Task<Message> {
        if self.confirm.is_some() {
            // Behind the dialog nothing reacts; Esc closes it.
            if k == keyboard::Key::Named(key::Named::Escape) {
                self.confirm = None;
            }
            return Task::none();
        }
        match k.as_ref() {
            keyboard::Key::Named(key::Named::ArrowDown) | keyboard::Key::Character("j") => {
                self.move_selection(1)
            }
            keyboard::Key::Named(key::Named::ArrowUp) | keyboard::Key::Character("k") => {
                self.move_selection(-1)
            }
            keyboard::Key::Named(key::Named::Enter) => self.update(Message::Accept),
            keyboard::Key::Named(key::Named::Space) => {
                self.play(self.current_slice);
                Task::none()
            }
            keyboard::Key::Character("o") => iced::widget::operation::focus(OVERRIDE_INPUT),
            keyboard::Key::Character("u") => self.update(Message::UndoDecision),
            keyboard::Key::Named(key::Named::ArrowRight) | keyboard::Key::Character("l") => {
                if let Some(e) = &self.evidence {
                    self.current_slice =
                        (self.current_slice + 1).min(e.analysis.slices.saturating_sub(1));
                }
                Task::none()
            }
            keyboard::Key::Named(key::Named::ArrowLeft) | keyboard::Key::Character("h") => {
                self.current_slice = self.current_slice.saturating_sub(1);
                Task::none()
            }
            _ => Task::none(),
        }
    }

    /// Keyboard, dropped folders, and a tick only while something needs
    /// watching (a job, the Apply confirmation, a playing slice, a pending
    /// reload): an idle window does no work.
    pub fn subscription(&self) -> Subscription<Message> {
        let keys = keyboard::listen().filter_map(|e| match e {
            keyboard::Event::KeyPressed { key, .. } => Some(Message::Key(key)),
            _ => None,
        });
        let drops = iced::event::listen_with(|event, _, _| match event {
            iced::Event::Window(iced::window::Event::FileDropped(p)) => Some(Message::Dropped(p)),
            _ => None,
        });
        let watching = self.confirm.is_some() || self.playing.is_some() || self.reload_due;
        let tick = match (self.job.is_some(), watching) {
            (true, _) => iced::time::every(std::time::Duration::from_millis(100)),
            (false, true) => iced::time::every(std::time::Duration::from_millis(500)),
            (false, false) => return Subscription::batch([keys, drops]),
        }
        .map(|_| Message::Tick);
        Subscription::batch([keys, drops, tick])
    }

    /// The window.
    pub fn view(&self) -> Element<'_, Message> {
        let open = row![
            text_input("Music folder, e.g. ~/Music", &self.folder_input)
                .on_input(Message::FolderInput)
                .on_submit(Message::OpenTyped)
                .width(Length::Fill),
            button("Open").on_press(Message::OpenTyped),
            button("Browse…").on_press(Message::Browse),
            pick_list(
                self.settings
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
                &format!("Errors ({})", self.errors.len()),
                Panel::Errors,
                self.panel
            ),
            tab("Settings", Panel::Settings, self.panel),
            space().width(Length::Fill),
            button("Classify").on_press_maybe(self.job.is_none().then_some(Message::ClassifyNow)),
            button("Apply tags…")
                .on_press_maybe(self.job.is_none().then_some(Message::ApplyRequest)),
            button("Undo last write")
                .on_press_maybe(self.job.is_none().then_some(Message::UndoWrites)),
        ]
        .spacing(6);

        let progress: Element<'_, Message> = match &self.job {
            Some(j) => {
                let eta = if j.rate > 0.0 && j.total > j.done {
                    format!(" — ETA {:.0} s", (j.total - j.done) as f64 / j.rate)
                } else {
                    String::new()
                };
                column![
                    row![
                        text(format!(
                            "{}: {}/{} ({:.1}/s){eta}",
                            j.phase, j.done, j.total, j.rate
                        ))
                        .size(13),
                        space().width(Length::Fill),
                        button("Cancel").on_press(Message::Cancel),
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

        let side: Element<'_, Message> = match self.panel {
            Panel::Track => self.track_panel(),
            Panel::Retrain => self.retrain_panel(),
            Panel::Errors => self.errors_panel(),
            Panel::Settings => self.settings_panel(),
        };
        let body = row![
            container(self.table.view(self.selected).map(Message::Table))
                .width(Length::FillPortion(5)),
            container(scrollable(side)).width(Length::FillPortion(4)),
        ]
        .spacing(12)
        .height(Length::Fill);

        let main = column![open, tabs, progress, body].spacing(10).padding(12);
        match &self.confirm {
            Some(review) => iced::widget::stack![main, self.confirm_dialog(review)].into(),
            None => main.into(),
        }
    }

    fn track_panel(&self) -> Element<'_, Message> {
        let Some(id) = self.selected else {
            return text("Select a track to see its spectrogram and votes. Keys: ↑/↓ or j/k move, Enter accepts, o overrides, Space plays a slice, ←/→ pick the slice, u undoes.")
                .size(13)
                .into();
        };
        let Some(row) = self.table.row(id) else {
            return text("").into();
        };
        let byline = match (row.artist.is_empty(), row.album.is_empty()) {
            (true, true) => String::new(),
            (false, true) => row.artist.clone(),
            (true, false) => row.album.clone(),
            (false, false) => format!("{} — {}", row.artist, row.album),
        };
        let mut col = column![
            text(row.title.clone()).size(18),
            text(byline).size(13),
            text(row.path.display().to_string()).size(11),
        ]
        .spacing(6);
        col = col.push(match (&self.spectrogram, &self.spectrogram_error) {
            (Some((_, handle)), _) => Element::from(
                image(handle.clone())
                    .width(Length::Fill)
                    .height(150)
                    .content_fit(iced::ContentFit::Fill),
            ),
            (None, Some(e)) => text(format!("Cannot draw the spectrogram: {e}"))
                .size(13)
                .into(),
            (None, None) => text("Computing the spectrogram…").size(13).into(),
        });
        let Some(e) = &self.evidence else {
            col = col.push(text(match row.state {
                review::ReviewState::Error => {
                    format!("Error: {}", row.error.clone().unwrap_or_default())
                }
                _ => "Not classified yet.".to_string(),
            }));
            return col.into();
        };
        let strip: Element<'_, evidence::StripMessage> = canvas(evidence::SliceStrip {
            evidence: e,
            playing: self.playing,
        })
        .width(Length::Fill)
        .height(22)
        .into();
        col = col.push(strip.map(Message::Strip));
        let slice_info = match self.hovered_slice.or(Some(self.current_slice)) {
            Some(i) if i < e.analysis.slices => {
                let ranking = e
                    .slice_ranking(i, 3)
                    .into_iter()
                    .map(|(g, p)| format!("{g} {:.0}%", p * 100.0))
                    .collect::<Vec<_>>()
                    .join(", ");
                let (_, top) = e.slice_top(i);
                format!(
                    "Slice {} at {:.1} s: {ranking}{}  (click or Space to play)",
                    i + 1,
                    e.slice_start_seconds(i),
                    if top < e.thresholds.slice {
                        " — abstains"
                    } else {
                        ""
                    }
                )
            }
            _ => String::new(),
        };
        col = col.push(text(slice_info).size(12));
        col = col.push(
            canvas(evidence::Histogram { evidence: e })
                .width(Length::Fill)
                .height((e.classes.len() as f32 * 22.0).min(280.0)),
        );
        let verdict = match (&e.proposal.unsure, e.proposal.winner) {
            (None, Some(w)) => format!(
                "Proposed: {} with {:.0}% of {} votes (threshold {:.0}%).",
                e.classes[w],
                e.proposal.share * 100.0,
                e.proposal.cast(),
                e.thresholds.track * 100.0
            ),
            (Some(u), _) => format!(
                "Unsure: {}.",
                u.explain(e.proposal.share, e.thresholds.track)
            ),
            (None, None) => String::new(),
        };
        col = col.push(text(verdict).size(14));
        if let Some(d) = &row.decided {
            col = col.push(text(format!("Your decision: {d} ({})", row.state.label())).size(13));
        }
        let mut genres = self.vocab.genres.clone();
        for c in &e.classes {
            if !genres.contains(c) {
                genres.push(c.clone());
            }
        }
        col = col.push(
            row![
                button("Accept (Enter)").on_press_maybe(e.proposal.winner.map(|_| Message::Accept)),
                pick_list(genres, None::<String>, Message::OverridePick).placeholder("Override…"),
                text_input("or type a genre (o)", &self.override_input)
                    .id(OVERRIDE_INPUT)
                    .on_input(Message::OverrideInput)
                    .on_submit(Message::OverrideSubmit),
                button("Skip").on_press(Message::Skip),
                button("Undo (u)")
                    .on_press_maybe(row.decided.as_ref().map(|_| Message::UndoDecision)),
            ]
            .spacing(6),
        );
        col = col.push(
            row![
                text(format!(
                    "Accept all proposals with ≥ {:.0}% of votes",
                    self.accept_share * 100.0
                ))
                .size(13),
                slider(0.5..=1.0, self.accept_share, Message::AcceptShare)
                    .step(0.05)
                    .width(120),
                button("Accept all").on_press(Message::AcceptAbove),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
        );
        col.into()
    }

    fn retrain_panel(&self) -> Element<'_, Message> {
        let mut col = column![
            text("Trusted labels").size(18),
            text("Your accepted and overridden genres, plus genre tags the vocabulary knows. A genre needs 3 labelled tracks to become a class.").size(12),
        ]
        .spacing(6);
        for (g, (mine, tags)) in &self.label_counts {
            col = col.push(text(format!("{g}: {mine} decided, {tags} from tags")).size(13));
        }
        col = col.push(
            button("Retrain (seconds)")
                .on_press_maybe(self.job.is_none().then_some(Message::Retrain)),
        );
        col = col.push(text("Models").size(18));
        for m in &self.models {
            let pct = |v: &serde_json::Value, key: &str| {
                v.get(key).and_then(|x| x.as_f64()).map(|x| x * 100.0)
            };
            let metrics = m
                .card
                .metrics
                .iter()
                .map(|(k, v)| {
                    match (
                        pct(v, "accuracy"),
                        pct(v, "coverage"),
                        pct(v, "precision"),
                        pct(v, "before"),
                        pct(v, "after"),
                    ) {
                        (Some(a), Some(c), Some(p), _, _) => {
                            format!("{k}: accuracy {a:.0}%, coverage {c:.0}%, precision {p:.0}%")
                        }
                        (_, _, _, Some(b), Some(a)) => format!("{k}: {b:.0}% → {a:.0}%"),
                        _ => k.clone(),
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            col = col.push(
                text(format!(
                    "{}{} — {} genres. {metrics}",
                    if m.active { "● " } else { "  " },
                    m.name,
                    m.card.classes.len()
                ))
                .size(12),
            );
        }
        col.into()
    }

    fn errors_panel(&self) -> Element<'_, Message> {
        let mut col = column![text("Files that could not be read").size(18)].spacing(4);
        for (p, m) in &self.errors {
            col = col.push(text(format!("{p}: {m}")).size(12));
        }
        if self.errors.is_empty() {
            col = col.push(text("No errors in this session.").size(13));
        }
        col.into()
    }

    fn settings_panel(&self) -> Element<'_, Message> {
        let t = self.thresholds();
        column![
            text("Voting").size(18),
            row![
                text(format!("Slice confidence ≥ {:.2}", t.slice))
                    .size(13)
                    .width(200),
                slider(0.0..=0.95, t.slice, Message::SliceThreshold).step(0.05)
            ]
            .spacing(8),
            row![
                text(format!("Track share ≥ {:.0}%", t.track * 100.0))
                    .size(13)
                    .width(200),
                slider(0.3..=1.0, t.track, Message::TrackThreshold).step(0.05)
            ]
            .spacing(8),
            button("Apply thresholds (re-vote)").on_press(Message::ApplyThresholds),
            text("Writing tags").size(18),
            checkbox(self.settings.write.policy == WritePolicy::ReplaceAll)
                .label("Replace genres files already have (default: fill only empty ones)")
                .on_toggle(Message::ReplaceExisting),
            checkbox(self.settings.write.id3v23)
                .label("Write ID3v2.3 instead of ID3v2.4 (older players)")
                .on_toggle(Message::Id3v23),
            text("Appearance").size(18),
            checkbox(self.settings.dark_theme)
                .label("Dark theme")
                .on_toggle(Message::DarkTheme),
            text("Genres and super-genre map").size(18),
            text(format!(
                "`genres` are the canonical names; `map` sends sub-genres and spellings to them (used for tags and overrides). Saved in {}",
                self.paths.vocabulary.display()
            ))
            .size(12),
            text_editor(&self.vocab_text)
                .on_action(Message::VocabEdit)
                .height(260),
            row![
                button("Save vocabulary").on_press(Message::VocabSave),
                button("Defaults").on_press(Message::VocabReset),
            ]
            .spacing(8),
        ]
        .spacing(8)
        .into()
    }

    fn confirm_dialog<'a>(&self, review: &'a ApplyReview) -> Element<'a, Message> {
        let plan = &review.plan;
        let writes = plan
            .iter()
            .filter(|p| p.action != WriteAction::KeepExisting)
            .count();
        let mut list = column![].spacing(2);
        for p in plan {
            let old = if p.old_genres.is_empty() {
                "(none)".to_string()
            } else {
                p.old_genres.join("; ")
            };
            let note = match p.action {
                WriteAction::Fill => "",
                WriteAction::Replace => "  (replaces)",
                WriteAction::KeepExisting => {
                    "  (kept: the file has a genre; allow replacing in Settings)"
                }
            };
            let name = p
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mapped = match &p.mapped_from {
                Some(typed) => format!(" (super-genre of {typed})"),
                None => String::new(),
            };
            list =
                list.push(text(format!("{name}: {old} → {}{mapped}{note}", p.new_genre)).size(12));
        }
        let dialog = container(
            column![
                text(format!("Write the genre into {writes} files?")).size(18),
                text(if review.changed {
                    "Decisions changed while this was open: this is the plan now. Check it, then write."
                } else {
                    ""
                })
                .size(12),
                text("Original → new. Only the genre tag changes; audio is untouched; Undo restores it.").size(12),
                scrollable(list).height(300),
                row![
                    button("Cancel").on_press(Message::ApplyCancel),
                    button(text(format!("Write {writes} files"))).on_press_maybe((writes > 0).then_some(Message::ApplyConfirm)),
                ]
                .spacing(8),
            ]
            .spacing(10),
        )
        .padding(16)
        .max_width(720)
        .style(container::rounded_box);
        iced::widget::center(iced::widget::opaque(dialog)).into()
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
    .window_size((1280.0, 800.0))
    .run()
}
