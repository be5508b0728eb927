//! What the shell does for its screens: routing each screen's message to
//! it and carrying out the event it returns (open a folder, start a job,
//! record a decision, step through the decision history, move the
//! selection, reload the library's rows).

use super::background::{self, Loaded, Reloads, blocking, with_library};
use super::keys::{self, Command, Move};
use super::screen::{
    Panel, PanelMessage, Request, apply, folder, progress, table, toolbar, track, undo_write,
};
use super::{App, Input, LIST_FOCUS, Message, Modal, jobs};
use iced::Task;
use iced::widget::operation::focus;
use sonotag_core::catalog::review::ReviewState;
use sonotag_core::ml::model::ModelRow;
use sonotag_core::store::Library;
use sonotag_core::workflow::decide::{self, Decision, DecisionReport, Step};
use sonotag_core::workflow::{Phase, Progress};
use std::path::PathBuf;

/// What the side panels read of the window: the shell's fields, borrowed
/// one by one, so that a panel can be updated meanwhile. The row is the
/// selected track's, or that of the track given.
macro_rules! shared {
    ($app:ident) => {
        shared!($app, $app.panels.track.selected)
    };
    ($app:ident, $selected:expr) => {
        $crate::ui::screen::Shared {
            lib: $app.lib.as_ref(),
            paths: &$app.paths,
            settings: &$app.settings,
            vocab: &$app.vocab,
            models: &$app.models,
            row: $selected.and_then(|id| $app.table.row(id)),
            busy: $app.job.is_some(),
            window: $app.window,
        }
    };
}
pub(super) use shared;

/// A screen's own tasks come back as [`Message::Returned`].
fn returned<M: Send + 'static>(task: Task<M>, wrap: fn(M) -> Input) -> Task<Message> {
    task.map(move |m| Message::Returned(wrap(m)))
}

impl App {
    /// The library is open: say what recovery did, read the rows, and open
    /// the folder given on the command line.
    pub(super) fn on_opened(
        &mut self,
        opened: Result<background::Handoff<background::Opened>, String>,
    ) -> Task<Message> {
        let opened = opened.and_then(|h| h.take().ok_or_else(|| "opened twice".to_string()));
        let background::Opened { lib, recovered } = match opened {
            Ok(o) => o,
            Err(e) => {
                self.greeting = false;
                self.status = format!(
                    "Cannot open the library {}: {e}",
                    self.paths.database.display()
                );
                return Task::none();
            }
        };
        if self.status == "Opening the library…" {
            self.status = "Open a music folder to start.".into();
        }
        // Interrupted tag writes of an earlier run were finished or rolled
        // back before anything else; what was done is listed under Errors.
        match recovered {
            Ok(recovered) if !recovered.is_empty() => {
                self.greeting = false;
                self.status = format!(
                    "{} interrupted tag writes from an earlier run were resolved: see Errors",
                    recovered.len()
                );
                self.panels.errors.session.extend(
                    recovered
                        .into_iter()
                        .map(|r| (r.path.display().to_string(), r.message)),
                );
            }
            Ok(_) => {}
            Err(e) => {
                self.greeting = false;
                self.status = format!("Could not check for interrupted tag writes: {e}");
            }
        }
        self.reloads = Reloads::watching(&lib);
        self.lib = Some(lib);
        let mut tasks = vec![self.reload_now()];
        if let Some(f) = self.pending_folder.take() {
            tasks.push(self.open_folder(f));
        }
        Task::batch(tasks)
    }

    /// One screen's message, to that screen; then what it asked for.
    pub(super) fn route(&mut self, input: Input) -> Task<Message> {
        match input {
            Input::Folder(m) => {
                let (task, event) = self.folder.update(m);
                let then = match event {
                    Some(folder::Event::Open(p)) => self.open_folder(p),
                    Some(folder::Event::Status(s)) => self.say(s),
                    None => Task::none(),
                };
                Task::batch([returned(task, Input::Folder), then])
            }
            Input::Toolbar(m) => match self.toolbar.update(m) {
                Some(toolbar::Event::Show(p)) => {
                    self.panel = p;
                    Task::none()
                }
                Some(toolbar::Event::Step(s)) => self.step_history(s),
                Some(toolbar::Event::Classify) => self.start_job(jobs::Job::Classify),
                Some(toolbar::Event::Apply) => Task::perform(
                    apply::plan(self.paths.database.clone(), self.settings.write),
                    Message::PlanReady,
                ),
                Some(toolbar::Event::Help) => {
                    self.modal = Some(Modal::Help);
                    Task::none()
                }
                Some(toolbar::Event::UndoWrite) => {
                    let (dialog, read) = undo_write::Dialog::open(self.paths.database.clone());
                    self.modal = Some(Modal::UndoWrite(dialog));
                    returned(read, Input::UndoWrite)
                }
                None => Task::none(),
            },
            Input::Progress(progress::Message::Cancel) => {
                if let Some(j) = &self.job {
                    j.cancel();
                    self.status =
                        "Cancelling after the current file… (finished work is kept)".into();
                }
                Task::none()
            }
            Input::Table(m) => {
                let (task, event) = self.table.update(m);
                let task = returned(task, Input::Table);
                let then = match event {
                    Some(table::Event::Selected(id)) => self.select(id),
                    Some(table::Event::LeaveSearch) => focus(LIST_FOCUS),
                    // After a search, filter or sort the selected track,
                    // where it is still shown, stays in view.
                    Some(table::Event::Reordered) => self.reveal_selection(),
                    None => Task::none(),
                };
                Task::batch([task, then])
            }
            Input::Panel(m) => {
                let (task, request) = self.panels.update(m, shared!(self));
                let then = match request {
                    Some(r) => self.carry_out(r),
                    None => Task::none(),
                };
                Task::batch([returned(task, Input::Panel), then])
            }
            Input::Apply(m) => {
                let Some(Modal::Apply(dialog)) = &mut self.modal else {
                    return Task::none();
                };
                let (task, event) =
                    dialog.update(m, self.paths.database.clone(), self.settings.write);
                let then = match event {
                    Some(apply::Event::Write(plan)) => {
                        let reveal = self.close_dialog();
                        let write = self.settings.write;
                        Task::batch([reveal, self.start_job(jobs::Job::Apply(plan, write))])
                    }
                    Some(apply::Event::Close) => self.close_dialog(),
                    Some(apply::Event::Status(s)) => self.say(s),
                    None => Task::none(),
                };
                Task::batch([returned(task, Input::Apply), then])
            }
            Input::UndoWrite(m) => {
                let Some(Modal::UndoWrite(dialog)) = &mut self.modal else {
                    return Task::none();
                };
                match dialog.update(m) {
                    Some(undo_write::Event::Undo) => {
                        let reveal = self.close_dialog();
                        let write = self.settings.write;
                        Task::batch([reveal, self.start_job(jobs::Job::Undo(write))])
                    }
                    Some(undo_write::Event::Close) => self.close_dialog(),
                    Some(undo_write::Event::Closed(s)) => {
                        Task::batch([self.close_dialog(), self.say(s)])
                    }
                    None => Task::none(),
                }
            }
            Input::Key(k, mods) => self.key(&k, mods),
        }
    }

    fn say(&mut self, status: String) -> Task<Message> {
        self.status = status;
        Task::none()
    }

    /// Carries out what a side panel asked for.
    fn carry_out(&mut self, request: Request) -> Task<Message> {
        match request {
            Request::Status(s) => self.say(s),
            Request::Decide(d) => Task::batch([self.decide(d), focus(LIST_FOCUS)]),
            Request::Move(delta) => self.move_selection(delta),
            Request::LeaveInput => focus(LIST_FOCUS),
            Request::Retrain { use_tags } => self.start_job(jobs::Job::Retrain { use_tags }),
            Request::UseModel(name) => Task::perform(
                with_library(self.paths.database.clone(), move |lib| {
                    sonotag_core::workflow::retrain::use_model(lib, &name).map(|r| r.to_string())
                }),
                Message::Changed,
            ),
            Request::Revote(th) => {
                self.settings.thresholds = Some(th);
                if let Err(e) = self.save_settings() {
                    return self.say(e);
                }
                let Some(m) = self.active_model().cloned() else {
                    return self.say("No model has classified this library yet.".into());
                };
                Task::perform(
                    with_library(self.paths.database.clone(), move |lib| {
                        sonotag_core::catalog::analyse::revote(lib, m.id, &m.card.classes, th)
                            .map(|n| format!("Re-voted {n} tracks with the new thresholds"))
                    }),
                    Message::Changed,
                )
            }
            Request::Describe {
                track,
                aspect,
                value,
                suggested,
            } => Task::perform(
                with_library(self.paths.database.clone(), move |lib| {
                    use sonotag_core::store::DecisionSource;
                    let source = if suggested {
                        DecisionSource::Accepted
                    } else {
                        DecisionSource::Overridden
                    };
                    lib.set_descriptor_label(track, aspect, value.as_deref().map(|v| (v, source)))?;
                    Ok(match value {
                        Some(v) => format!("{}: {v}", aspect.label()),
                        None => format!("{}: decision cleared", aspect.label()),
                    })
                }),
                Message::Changed,
            ),
            Request::Describes(on) => Task::perform(
                with_library(self.paths.database.clone(), move |lib| {
                    lib.set_describes(on)?;
                    Ok(if on {
                        "The track view suggests vocals, mood, era and other genres".to_string()
                    } else {
                        "Descriptors off".to_string()
                    })
                }),
                Message::Changed,
            ),
            Request::SeveralGenres(several) => {
                let model = self.active_model().cloned();
                let th = sonotag_core::proposal::Thresholds::in_force(
                    self.settings.thresholds,
                    model.as_ref().map(|m| m.card.thresholds),
                );
                Task::perform(
                    with_library(self.paths.database.clone(), move |lib| {
                        lib.set_several_genres(several)?;
                        let Some(m) = model else {
                            return Ok("Kept; it applies when the library is classified".into());
                        };
                        sonotag_core::catalog::analyse::revote(lib, m.id, &m.card.classes, th)
                            .map(|n| format!("Re-voted {n} tracks: {}", several.in_words()))
                    }),
                    Message::Changed,
                )
            }
            Request::SaveSettings(settings) => {
                self.settings = settings;
                match self.save_settings() {
                    Ok(()) => Task::none(),
                    Err(e) => self.say(e),
                }
            }
            Request::ForgetMissing => Task::perform(
                with_library(self.paths.database.clone(), |lib| {
                    let n = lib.forget_missing()?;
                    Ok(format!(
                        "Forgot {n} missing tracks, with their decisions and history"
                    ))
                }),
                Message::Changed,
            ),
            Request::VocabularySaved(vocab) => {
                self.vocab = vocab;
                self.status = format!("Vocabulary saved to {}", self.paths.vocabulary.display());
                self.request_reload()
            }
        }
    }

    /// Saves the settings; the error names the file.
    fn save_settings(&self) -> Result<(), String> {
        self.settings.save(&self.paths.settings).map_err(|e| {
            format!(
                "Cannot save settings to {}: {e}",
                self.paths.settings.display()
            )
        })
    }

    fn key(&mut self, k: &iced::keyboard::Key, mods: iced::keyboard::Modifiers) -> Task<Message> {
        if self.modal.is_some() {
            // Behind a dialog nothing reacts; Esc closes it.
            return if keys::closes_modal(k) {
                self.close_dialog()
            } else {
                Task::none()
            };
        }
        match keys::command(k, mods) {
            Some(Command::Move(m)) => self.move_selection(match m {
                Move::Rows(n) => n,
                Move::Pages(n) => n * self.table.page(),
                Move::First => i64::MIN / 2,
                Move::Last => i64::MAX / 2,
            }),
            Some(Command::Track(m)) => self.route(Input::Panel(PanelMessage::Track(m))),
            Some(Command::Leave) => {
                let stop = self.route(Input::Panel(PanelMessage::Track(track::Message::Stop)));
                Task::batch([stop, focus(LIST_FOCUS)])
            }
            Some(Command::Focus(id)) => focus(id),
            Some(Command::Step(s)) => self.step_history(s),
            Some(Command::Help) => {
                self.modal = Some(Modal::Help);
                Task::none()
            }
            Some(Command::Quit) => iced::exit(),
            None => Task::none(),
        }
    }

    pub(super) fn active_model(&self) -> Option<&ModelRow> {
        self.models.iter().find(|m| m.active)
    }

    pub(super) fn model_id(&self) -> Option<i64> {
        self.active_model().map(|m| m.id)
    }

    /// How many undecided proposals "Accept all" would accept now.
    pub(super) fn accept_count(&self) -> usize {
        self.table
            .rows
            .iter()
            .filter(|r| {
                r.state == ReviewState::Proposed && r.share >= self.panels.track.accept_share
            })
            .count()
    }

    /// What the library holds, said when the window opens on it (recorded
    /// read errors included, so a restart does not hide them).
    /// Tracks of the library with no analysis by the active model yet.
    fn unclassified(&self) -> usize {
        self.table
            .rows
            .iter()
            .filter(|r| r.state == ReviewState::Pending)
            .count()
    }

    fn library_summary(&self) -> String {
        use ReviewState as S;
        let count = |f: &dyn Fn(S) -> bool| self.table.rows.iter().filter(|r| f(r.state)).count();
        let review = count(&|s| matches!(s, S::Proposed | S::Unsure));
        let decided = count(&|s| matches!(s, S::Accepted | S::Overridden));
        let written = count(&|s| s == S::Written);
        let mut said = format!(
            "Library: {} — {review} to review, {decided} decided and not yet written, {written} written.",
            super::screen::counted(self.table.rows.len(), "track", "tracks")
        );
        let unreadable = self.panels.errors.library.len();
        if unreadable > 0 {
            said.push_str(&format!(
                " {} could not be read or analysed: see Errors.",
                super::screen::counted(unreadable, "file", "files")
            ));
        }
        said
    }

    /// Reads the library's rows again, soon (debounced).
    pub(super) fn request_reload(&mut self) -> Task<Message> {
        match self.reloads.request(&self.paths, &self.vocab) {
            Some(load) => Task::perform(load, Message::Reloaded),
            None => Task::none(),
        }
    }

    /// Reads the library's rows again at once.
    pub(super) fn reload_now(&mut self) -> Task<Message> {
        Task::perform(
            self.reloads.now(&self.paths, &self.vocab),
            Message::Reloaded,
        )
    }

    /// Reloads the views (and rebuilds an open Apply review) when the
    /// library changed since the last look.
    /// The regular look: files changed under the watched folders (once
    /// they are quiet, and no job runs) are scanned and classified; commits
    /// made elsewhere are read.
    pub(super) fn watch_library(&mut self) -> Task<Message> {
        if self.job.is_none()
            && let Some(watch) = &self.watch
            && watch.settled()
        {
            let roots = watch.roots().to_vec();
            self.status = "Files changed in the folder: scanning them".into();
            return self.start_job(jobs::Job::ScanAndClassify(roots));
        }
        if !self
            .lib
            .as_ref()
            .is_some_and(|lib| self.reloads.changed(lib))
        {
            return Task::none();
        }
        Task::batch([self.request_reload(), self.rebuild_plan()])
    }

    pub(super) fn on_reloaded(&mut self, loaded: Loaded) -> Task<Message> {
        let due = self.reloads.landed();
        let mut moved = false;
        let mut resume = 0;
        match loaded {
            Ok(s) => {
                let mut s =
                    std::sync::Arc::try_unwrap(s).unwrap_or_else(|shared| (*shared).clone());
                let place = |app: &Self| {
                    let selected = app.panels.track.selected;
                    selected.and_then(|id| app.table.position(id))
                };
                let before = place(self);
                self.table.set_prepared(std::mem::take(&mut s.rows));
                moved = place(self) != before;
                self.models = std::mem::take(&mut s.models);
                self.undoable_write = s.undoable_write;
                self.panels.reloaded(&s, shared!(self));
                if std::mem::take(&mut self.greeting) && !self.table.rows.is_empty() {
                    self.status = self.library_summary();
                    resume = self.unclassified();
                }
            }
            Err(e) => self.status = format!("Cannot read the library: {e}"),
        }
        // The selected row moved (a sort by state after Accept all): it
        // stays in view. One that did not move leaves the list where the
        // user scrolled it.
        let reveal = if moved {
            self.reveal_selection()
        } else {
            Task::none()
        };
        let again = if due {
            self.request_reload()
        } else {
            Task::none()
        };
        // A classification cut short (the window closed, a kill, Ctrl+C in
        // the CLI) goes on by itself when the library is opened again.
        let resumed = if resume > 0 && self.job.is_none() && self.pending_folder.is_none() {
            let said = format!(
                "{} {} not classified yet (the last classification was cut short): classifying {} now.",
                super::screen::counted(resume, "track", "tracks"),
                if resume == 1 { "was" } else { "were" },
                if resume == 1 { "it" } else { "them" }
            );
            let job = self.start_job(jobs::Job::Classify);
            self.status = said;
            job
        } else {
            Task::none()
        };
        Task::batch([reveal, self.rebuild_plan(), again, resumed])
    }

    /// Builds an open Apply review's plan again (decisions changed).
    fn rebuild_plan(&self) -> Task<Message> {
        if !matches!(self.modal, Some(Modal::Apply(_))) {
            return Task::none();
        }
        returned(
            apply::Dialog::rebuild(self.paths.database.clone(), self.settings.write),
            Input::Apply,
        )
    }

    /// Closes the Apply review; the list it covered comes back scrolled to
    /// the selected track, not to the top.
    fn close_dialog(&mut self) -> Task<Message> {
        self.modal = None;
        self.reveal_selection()
    }

    /// Scrolls the list so that the selected track is in view.
    fn reveal_selection(&mut self) -> Task<Message> {
        match self.panels.track.selected {
            Some(id) => returned(self.table.reveal(id), Input::Table),
            None => Task::none(),
        }
    }

    /// A tag write or its undo is running: decisions stay as they are until
    /// it ends (the write follows the plan it was given).
    pub(super) fn writing(&self) -> bool {
        self.job
            .as_ref()
            .is_some_and(|j| matches!(j.phase, Some(Phase::Writing | Phase::Undoing)))
    }

    fn start_job(&mut self, job: jobs::Job) -> Task<Message> {
        if self.job.is_some() {
            return self.say("Wait for the current job to finish, or cancel it.".into());
        }
        let (running, task) = jobs::start(self.paths.clone(), job, self.settings.thresholds);
        self.job = Some(running);
        task.map(Message::Job)
    }

    pub(super) fn on_job(&mut self, update: jobs::Update) -> Task<Message> {
        match update {
            jobs::Update::Progress(p) => {
                if let Progress::FileError { path, message } = &p
                    && self.writing()
                {
                    // Read errors live in the library; write errors here.
                    self.panels
                        .errors
                        .session
                        .push((path.clone(), message.clone()));
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
                self.status = match &result {
                    // The band holds a few lines; the panel says the rest.
                    Ok(jobs::Report::Retrained(r)) => r.headline(),
                    Ok(report) => report.to_string(),
                    Err(e) => e.clone(),
                };
                if let Ok(jobs::Report::Retrained(r)) = result {
                    self.panels.retrain.finished(r);
                }
                self.request_reload()
            }
        }
    }

    pub(super) fn open_folder(&mut self, folder: PathBuf) -> Task<Message> {
        if !folder.is_dir() {
            return self.say(format!("{} is not a folder", folder.display()));
        }
        self.settings.remember_folder(&folder);
        if let Err(e) = self.save_settings() {
            self.status = e;
        }
        self.folder.opened(&folder);
        match sonotag_core::catalog::watch::FolderWatch::start(std::slice::from_ref(&folder)) {
            Ok(watch) => self.watch = Some(watch),
            // The folder is still scanned; only live updates are lost.
            Err(e) => self.status = format!("{e}: changes show after the next Open"),
        }
        self.start_job(jobs::Job::ScanAndClassify(vec![folder]))
    }

    fn select(&mut self, id: i64) -> Task<Message> {
        self.panel = Panel::Track;
        let reveal = returned(self.table.reveal(id), Input::Table);
        let load = self.panels.track.select(id, shared!(self, Some(id)));
        Task::batch([
            reveal,
            returned(load.map(PanelMessage::Track), Input::Panel),
        ])
    }

    fn move_selection(&mut self, delta: i64) -> Task<Message> {
        match self.table.neighbour(self.panels.track.selected, delta) {
            Some(id) => self.select(id),
            None => Task::none(),
        }
    }

    /// Records a decision off the UI thread; a single-track decision moves
    /// on to the next track at once.
    fn decide(&mut self, decision: Decision) -> Task<Message> {
        let model = self.model_id();
        let one_track = match &decision {
            Decision::Accept(t)
            | Decision::AcceptOne { tracks: t, .. }
            | Decision::Override { tracks: t, .. } => t.len() == 1,
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
    fn step_history(&mut self, step: Step) -> Task<Message> {
        if self.writing() {
            return self.say(
                "Tags are being written: undo and redo of decisions wait until it ends.".into(),
            );
        }
        let Some((report, steps)) = self.history.take(step) else {
            return self.say(match step {
                Step::Undo => "No decision to undo in this session.".into(),
                Step::Redo => "Nothing to redo.".into(),
            });
        };
        let database = self.paths.database.clone();
        Task::perform(
            blocking(move || {
                let restored = Library::open(&database)
                    .map_err(|e| e.to_string())
                    .and_then(|mut lib| {
                        decide::restore(&mut lib, &steps).map_err(|e| format!("{e:#}"))
                    });
                Ok((report, restored))
            }),
            move |r| match r {
                Ok((report, result)) => Message::Restored {
                    step,
                    report,
                    result,
                },
                Err(e) => Message::Decided(Err(e)),
            },
        )
    }

    pub(super) fn on_restored(
        &mut self,
        step: Step,
        report: DecisionReport,
        result: Result<(), String>,
    ) -> Task<Message> {
        let (done, failed) = match step {
            Step::Undo => ("Undone", "undo"),
            Step::Redo => ("Redone", "redo"),
        };
        match result {
            Ok(()) => {
                self.status = format!("{done}: {}", report.what);
                let only = match report.changes.as_slice() {
                    [one] => Some(one.track_id),
                    _ => None,
                };
                self.history.finish(step, report, true);
                let show = only.map_or(Task::none(), |id| self.select(id));
                Task::batch([show, self.request_reload()])
            }
            Err(e) => {
                self.status = format!("Could not {failed}: {e}");
                self.history.finish(step, report, false);
                Task::none()
            }
        }
    }
}
