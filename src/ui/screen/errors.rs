//! The errors screen: every file the library could not read or analyse
//! and every audio file a scan skipped (kept in the library, so they
//! survive a restart), the tracks whose files are missing, with the one
//! button that forgets them, and the problems of this session's tag writes
//! and undos.

use super::{Request, Shared, SidePanel};
use crate::ui::background::Snapshot;
use iced::widget::{button, column, text};
use iced::{Element, Task};
use sonotag_core::store::FileError;

/// Missing files listed by path; the list's filter shows the rest.
const MISSING_LISTED: usize = 50;

/// The errors screen's state.
#[derive(Default)]
pub struct Errors {
    /// Read and analysis errors recorded in the library.
    pub library: Vec<FileError>,
    /// Write, undo and recovery problems of this session: (path, cause).
    pub session: Vec<(String, String)>,
    /// Tracks whose files are gone.
    pub missing: Vec<std::path::PathBuf>,
    /// Forget missing was pressed once: the second press forgets.
    confirming: bool,
}

/// Messages of the errors screen.
#[derive(Clone, Debug)]
pub enum Message {
    ClearSession,
    ForgetMissing,
}

impl Errors {
    pub fn count(&self) -> usize {
        self.library.len() + self.session.len() + self.missing.len()
    }
}

impl SidePanel for Errors {
    type Message = Message;

    fn new(_: Shared<'_>) -> Self {
        Self::default()
    }

    fn tab(&self) -> String {
        format!("Errors ({})", self.count())
    }

    fn update(&mut self, message: Message, _: Shared<'_>) -> (Task<Message>, Option<Request>) {
        match message {
            Message::ClearSession => self.session.clear(),
            Message::ForgetMissing if !self.confirming => self.confirming = true,
            Message::ForgetMissing => {
                self.confirming = false;
                return (Task::none(), Some(Request::ForgetMissing));
            }
        }
        (Task::none(), None)
    }

    fn reloaded(&mut self, library: &Snapshot, _: Shared<'_>) {
        self.library = library.file_errors.clone();
        self.missing = library.missing.clone();
    }

    fn view<'a>(&'a self, shared: Shared<'a>) -> Element<'a, Message> {
        let mut col = column![text("Files that could not be read").size(18)].spacing(4);
        for e in &self.library {
            col = col.push(
                text(if e.stage == "skipped" {
                    format!("{}: {} (skipped)", e.path.display(), e.message)
                } else {
                    format!("{}: {} ({} failed)", e.path.display(), e.message, e.stage)
                })
                .size(12),
            );
        }
        if self.library.is_empty() {
            col = col.push(text("None: every file in the library could be read.").size(13));
        }
        if !self.missing.is_empty() {
            col = col.push(text(format!("Missing files ({})", self.missing.len())).size(18));
            col = col.push(
                text(
                    "Gone from where they were; their decisions and history are kept. Scan the \
                     folder they moved to and they follow.",
                )
                .size(12),
            );
            for p in self.missing.iter().take(MISSING_LISTED) {
                col = col.push(text(p.display().to_string()).size(12));
            }
            if self.missing.len() > MISSING_LISTED {
                col = col.push(
                    text(format!(
                        "… and {} more (the list's \"Missing files\" filter shows all)",
                        self.missing.len() - MISSING_LISTED
                    ))
                    .size(12),
                );
            }
            let label = if self.confirming {
                format!(
                    "Forget these {} tracks and their history? Press again",
                    self.missing.len()
                )
            } else {
                "Forget missing".to_string()
            };
            col = col.push(
                button(text(label)).on_press_maybe((!shared.busy).then_some(Message::ForgetMissing)),
            );
        }
        col = col.push(text("Tag writes and undos in this session").size(18));
        for (p, m) in &self.session {
            col = col.push(text(format!("{p}: {m}")).size(12));
        }
        if self.session.is_empty() {
            col = col.push(text("No problems.").size(13));
        } else {
            col = col.push(button("Clear this list").on_press(Message::ClearSession));
        }
        col.into()
    }
}
