//! The confirmation before a tag write is undone: a modal that says how
//! many files the undo will restore and lists them, so a double click on
//! "Undo last write" can never undo by accident.

use super::counted;
use crate::ui::background::with_library;
use crate::ui::widget::modal;
use iced::widget::{button, column, container, row, scrollable, text};
use iced::{Element, Length, Task};
use std::path::PathBuf;

/// What the undo would restore.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub id: i64,
    /// Each file with its genres now → as they were before the write.
    pub files: Vec<(PathBuf, String, String)>,
}

/// The open confirmation; `None` while the batch is read.
#[derive(Default)]
pub struct Dialog {
    batch: Option<Batch>,
}

/// Messages of the confirmation.
#[derive(Clone, Debug)]
pub enum Message {
    Loaded(Result<Option<Batch>, String>),
    Confirm,
    Cancel,
}

/// What the shell does for it.
pub enum Event {
    /// Undo the batch shown.
    Undo,
    Close,
    /// Closed by itself, saying why.
    Closed(String),
}

impl Dialog {
    /// An empty confirmation and the task that reads the latest open write
    /// (off the UI thread).
    pub fn open(database: PathBuf) -> (Self, Task<Message>) {
        let read = with_library(database, |lib| {
            let Some(id) = lib.latest_open_batch()? else {
                return Ok(None);
            };
            let files = lib
                .undoable_writes(id)?
                .into_iter()
                .map(|w| {
                    let words = sonotag_core::tags::state_in_words;
                    (w.path, words(&w.new_state), words(&w.old_state))
                })
                .collect();
            Ok(Some(Batch { id, files }))
        });
        (Self::default(), Task::perform(read, Message::Loaded))
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Loaded(Ok(Some(batch))) => {
                self.batch = Some(batch);
                None
            }
            Message::Loaded(Ok(None)) => Some(Event::Closed(
                "Nothing to undo: no tag write is open.".into(),
            )),
            Message::Loaded(Err(e)) => {
                Some(Event::Closed(format!("Cannot read the last write: {e}")))
            }
            Message::Confirm => self.batch.is_some().then_some(Event::Undo),
            Message::Cancel => Some(Event::Close),
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let body: Element<'_, Message> = match &self.batch {
            None => text("Reading the last write…").size(13).into(),
            Some(b) => {
                let n = b.files.len();
                let list = b
                    .files
                    .iter()
                    .fold(column![].spacing(2), |col, (path, now, before)| {
                        col.push(
                            text(format!("{}    {now} → {before}", path.display()))
                                .size(12)
                                .wrapping(iced::widget::text::Wrapping::None),
                        )
                    });
                column![
                    text(format!(
                        "Undo the write of {}?",
                        counted(n, "file", "files")
                    ))
                    .size(18),
                    text(
                        "Each file gets back exactly the bytes it had before the write; \
                         a file changed since is left alone and listed under Errors."
                    )
                    .size(12),
                    scrollable(list).height(Length::Fixed(300.0)),
                    row![
                        button("Keep the write (Esc)").on_press(Message::Cancel),
                        button(text(format!("Undo {}", counted(n, "file", "files"))))
                            .style(button::danger)
                            .on_press(Message::Confirm),
                    ]
                    .spacing(8),
                ]
                .spacing(10)
                .into()
            }
        };
        modal::dimmed(
            container(body)
                .padding(16)
                .max_width(900)
                .style(container::rounded_box),
        )
    }
}
