//! The Apply review: a modal list of every planned write with its full
//! path, original → new genre and what will happen, rows that can be left
//! out, and a Write button that writes exactly what is shown. The plan is
//! rebuilt (off the UI thread) whenever decisions may have changed; a click
//! on a plan that changed meanwhile shows the new plan instead of writing.

use super::counted;
use crate::ui::widget::long_list::{self, Scroll};
use iced::widget::text::Wrapping;
use iced::widget::{button, checkbox, column, container, responsive, row, text, tooltip};
use iced::{Element, Length, Task};
use sonotag_core::store::Library;
use sonotag_core::tags::{self, Action, PlannedWrite, WriteSettings};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The open dialog.
pub struct Dialog {
    plan: Vec<PlannedWrite>,
    /// Tracks the user left out of this write.
    excluded: BTreeSet<i64>,
    /// The plan changed while the dialog was open: it needs a fresh look.
    changed: bool,
    scroll: Scroll,
}

/// The list's id, for scrolling it.
const LIST: &str = "apply-list";

/// Height of one planned write, fixed so only the rows in view are built
/// (opening the review of 5,000 writes took 550 ms with every row built).
const ROW_HEIGHT: f32 = 24.0;

/// Messages of the dialog.
#[derive(Clone, Debug)]
pub enum Message {
    Confirm,
    Cancel,
    Include(i64, bool),
    Scrolled(f32, f32),
    ScrollTo(f32),
    /// A plan rebuilt in the background; `confirming` when Write asked.
    Planned {
        plan: Result<Vec<PlannedWrite>, String>,
        confirming: bool,
    },
}

/// What the window must do after a dialog message.
pub enum Event {
    /// Write these lines (the plan minus the rows left out).
    Write(Vec<PlannedWrite>),
    Close,
    Status(String),
}

/// Builds the write plan off the UI thread, in natural order of paths.
pub fn plan(
    database: PathBuf,
    settings: WriteSettings,
) -> impl Future<Output = Result<Vec<PlannedWrite>, String>> {
    crate::ui::background::blocking(move || {
        let lib = Library::open(&database).map_err(|e| e.to_string())?;
        let mut plan = tags::plan(&lib, settings).map_err(|e| format!("{e:#}"))?;
        // As people sort file names: "2 - Intro" before "10 - Outro".
        plan.sort_by(|a, b| {
            super::table::natural_cmp(&a.path.to_string_lossy(), &b.path.to_string_lossy())
        });
        Ok(plan)
    })
}

impl Dialog {
    pub fn new(plan: Vec<PlannedWrite>) -> Self {
        Self {
            plan,
            excluded: BTreeSet::new(),
            changed: false,
            scroll: Scroll::default(),
        }
    }

    /// A task that rebuilds the plan (decisions may have changed).
    pub fn rebuild(database: PathBuf, settings: WriteSettings) -> Task<Message> {
        Task::perform(plan(database, settings), |plan| Message::Planned {
            plan,
            confirming: false,
        })
    }

    fn unwritable(&self) -> usize {
        let none = |p: &&PlannedWrite| p.action == Action::Unwritable;
        self.plan.iter().filter(none).count()
    }

    fn writes(&self) -> usize {
        self.plan
            .iter()
            .filter(|p| p.action.writes() && !self.excluded.contains(&p.track_id))
            .count()
    }

    /// Handles a message; `database` and `settings` rebuild the plan.
    pub fn update(
        &mut self,
        message: Message,
        database: PathBuf,
        settings: WriteSettings,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Cancel => (Task::none(), Some(Event::Close)),
            Message::Scrolled(offset, viewport) => {
                self.scroll = Scroll { offset, viewport };
                (Task::none(), None)
            }
            Message::ScrollTo(offset) => (self.scroll.to(LIST, offset), None),
            Message::Include(id, on) => {
                if on {
                    self.excluded.remove(&id);
                } else {
                    self.excluded.insert(id);
                }
                (Task::none(), None)
            }
            // Written is exactly what is shown: the plan is built again
            // first, and a plan that changed is shown instead of written.
            Message::Confirm => (
                Task::perform(plan(database, settings), |plan| Message::Planned {
                    plan,
                    confirming: true,
                }),
                None,
            ),
            Message::Planned { plan: Err(e), .. } => (Task::none(), Some(Event::Status(e))),
            Message::Planned { plan, confirming } => {
                let plan = plan.expect("errors handled above");
                if plan != self.plan {
                    let ids: BTreeSet<i64> = plan.iter().map(|p| p.track_id).collect();
                    self.excluded.retain(|id| ids.contains(id));
                    self.plan = plan;
                    self.changed = true;
                    return (Task::none(), None);
                }
                if !confirming {
                    return (Task::none(), None);
                }
                let chosen = self
                    .plan
                    .iter()
                    .filter(|p| !self.excluded.contains(&p.track_id))
                    .cloned()
                    .collect();
                (Task::none(), Some(Event::Write(chosen)))
            }
        }
    }

    /// The dialog over the window.
    pub fn view(&self) -> Element<'_, Message> {
        let writes = self.writes();
        let kept = self
            .plan
            .iter()
            .filter(|p| p.action == Action::KeepExisting)
            .count();
        let header = row![
            text("").width(24),
            text("File").size(12).width(Length::FillPortion(6)),
            text("Original").size(12).width(Length::FillPortion(2)),
            text("New").size(12).width(Length::FillPortion(2)),
            text("What happens").size(12).width(Length::FillPortion(3)),
        ]
        .spacing(6)
        // Aligned with the rows, which have the scrollbar beside them.
        .padding(iced::Padding::ZERO.right(long_list::WIDTH));
        let row_at = |i: usize| -> Element<'_, Message> {
            let p = &self.plan[i];
            let old = if p.old_genres.is_empty() {
                "(none)".to_string()
            } else {
                p.old_genres.join("; ")
            };
            let new = match &p.mapped_from {
                Some(typed) => format!("{} (super-genre of {typed})", p.new_genres.join("; ")),
                None => p.new_genres.join("; "),
            };
            let included = !self.excluded.contains(&p.track_id);
            let (what, toggle): (&str, Element<'_, Message>) = match p.action {
                Action::KeepExisting => ("Kept: has a genre", text("–").width(24).into()),
                Action::Unwritable => (
                    "Not written: format not supported",
                    text("–").width(24).into(),
                ),
                Action::Fill if included => ("Gets a genre", include_box(p.track_id, true)),
                Action::Replace if included => ("Genre replaced", include_box(p.track_id, true)),
                _ => ("Left out of this write", include_box(p.track_id, false)),
            };
            let cell = |s: String, portion: u16| {
                container(text(s).size(12).wrapping(Wrapping::None))
                    .width(Length::FillPortion(portion))
                    .clip(true)
            };
            // The file's name first, then its folder: a clipped long path
            // still shows which file it is; the whole path is its tooltip.
            let name = p
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let folder = p
                .path
                .parent()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let file = tooltip(
                cell(format!("{name}   in {folder}"), 6),
                container(text(p.path.display().to_string()).size(12))
                    .padding(4)
                    .style(container::rounded_box),
                tooltip::Position::Bottom,
            );
            row![
                toggle,
                file,
                cell(old, 2),
                cell(new, 2),
                cell(what.to_string(), 3),
            ]
            .spacing(6)
            .height(ROW_HEIGHT)
            .align_y(iced::Alignment::Center)
            .into()
        };
        let list = responsive(move |size| {
            long_list::view(
                LIST,
                self.scroll,
                self.plan.len(),
                ROW_HEIGHT,
                size.height,
                row_at,
                Message::Scrolled,
                Message::ScrollTo,
            )
        });
        let dialog = container(
            column![
                text(format!(
                    "Write the genre into {}?",
                    counted(writes, "file", "files")
                )).size(18),
                text(if self.changed {
                    "Decisions changed while this was open: this is the plan now. Check it, then write."
                } else {
                    "Only the genre tag changes; audio is untouched; Undo last write restores every file."
                })
                .size(12),
                text(format!(
                    "{} planned: {writes} to write, {kept} kept{}, {} left out{}. Untick a row to leave it out.",
                    self.plan.len(),
                    if kept > 0 {
                        " (their files have a genre; Settings allows replacing it)"
                    } else {
                        ""
                    },
                    self.excluded.len(),
                    match self.unwritable() {
                        0 => String::new(),
                        n => format!(", {n} in formats Sonotag does not write (WMA, DSD, TTA…)"),
                    }
                ))
                .size(12),
                header,
                list,
                row![
                    button("Cancel (Esc)").on_press(Message::Cancel),
                    button(text(format!("Write {}", counted(writes, "file", "files"))))
                        .on_press_maybe((writes > 0).then_some(Message::Confirm)),
                ]
                .spacing(8),
            ]
            .spacing(10),
        )
        .padding(16)
        .max_width(1100)
        .max_height(560)
        .style(container::rounded_box)
        .id(DIALOG);
        crate::ui::widget::modal::dimmed(dialog)
    }
}

/// The dialog's box, found by tests.
pub const DIALOG: &str = "apply-review";

fn include_box<'a>(track_id: i64, on: bool) -> Element<'a, Message> {
    checkbox(on)
        .on_toggle(move |v| Message::Include(track_id, v))
        .width(24)
        .into()
}
