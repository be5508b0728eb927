//! The toolbar: the side panel's tabs, undo and redo of decisions, and the
//! library-wide actions (classify, apply tags, undo the last write). Undoing
//! a write asks twice, the second time with the number of files it would
//! restore.

use super::Panel;
use iced::widget::{button, row, space, text};
use iced::{Element, Length};
use sonotag_core::store::Library;
use sonotag_core::workflow::decide::Step;

/// The toolbar's state: whether "Undo last write" waits for its second press.
#[derive(Debug, Default)]
pub struct Toolbar {
    /// Files the second press would restore; `None` when not armed.
    undo_write_armed: Option<usize>,
}

/// Messages of the toolbar.
#[derive(Clone, Debug)]
pub enum Message {
    Show(Panel),
    Step(Step),
    Classify,
    Apply,
    UndoWrite,
}

/// What the toolbar asks of the shell.
#[derive(Clone, Debug)]
pub enum Event {
    Show(Panel),
    Step(Step),
    Classify,
    /// Build the write plan and open the Apply review.
    Apply,
    UndoWrite,
    Status(String),
}

/// What the toolbar shows besides its own state.
pub struct Shown {
    pub panel: Panel,
    pub errors: usize,
    pub can_undo: bool,
    pub can_redo: bool,
    /// A job runs: library-wide actions wait.
    pub busy: bool,
    /// Tags are being written: decisions stay as they are.
    pub writing: bool,
}

impl Toolbar {
    /// Anything else the user does cancels a pending "Confirm undo".
    pub fn disarm(&mut self) {
        self.undo_write_armed = None;
    }

    /// `lib` is `None` until the library is open.
    pub fn update(&mut self, message: Message, lib: Option<&Library>) -> Option<Event> {
        Some(match message {
            Message::Show(p) => Event::Show(p),
            Message::Step(s) => Event::Step(s),
            Message::Classify => Event::Classify,
            Message::Apply => Event::Apply,
            Message::UndoWrite => {
                if self.undo_write_armed.take().is_some() {
                    return Some(Event::UndoWrite);
                }
                // Say how much the second press will undo.
                let files = lib.and_then(|lib| {
                    let open = lib.latest_open_batch().ok().flatten()?;
                    let batch = lib.batches().ok()?.into_iter().find(|x| x.id == open)?;
                    Some(batch.files)
                });
                let Some(files) = files else {
                    return Some(Event::Status(
                        "Nothing to undo: no tag write is open.".into(),
                    ));
                };
                self.undo_write_armed = Some(files);
                Event::Status(format!(
                    "Press \"Confirm undo\" to restore the {files} files of the latest tag write \
                     as they were before it; anything else cancels."
                ))
            }
        })
    }

    pub fn view(&self, shown: Shown) -> Element<'_, Message> {
        let tab = |label: String, panel: Panel| {
            let b = button(text(label).size(13)).on_press(Message::Show(panel));
            if panel == shown.panel {
                b.style(button::primary)
            } else {
                b.style(button::secondary)
            }
        };
        let small = |label: String| button(text(label).size(13));
        row![
            tab("Track".into(), Panel::Track),
            tab("Retrain".into(), Panel::Retrain),
            tab(format!("Errors ({})", shown.errors), Panel::Errors),
            tab("Settings".into(), Panel::Settings),
            space().width(Length::Fill),
            small("Undo decision (u)".into()).on_press_maybe(
                (shown.can_undo && !shown.writing).then_some(Message::Step(Step::Undo))
            ),
            small("Redo (U)".into()).on_press_maybe(
                (shown.can_redo && !shown.writing).then_some(Message::Step(Step::Redo))
            ),
            small("Classify".into()).on_press_maybe((!shown.busy).then_some(Message::Classify)),
            small("Apply tags…".into()).on_press_maybe((!shown.busy).then_some(Message::Apply)),
            small(match self.undo_write_armed {
                Some(files) => format!("Confirm undo ({files} files)"),
                None => "Undo last write".to_string(),
            })
            .on_press_maybe((!shown.busy).then_some(Message::UndoWrite)),
        ]
        .spacing(6)
        .align_y(iced::Alignment::Center)
        .into()
    }
}
