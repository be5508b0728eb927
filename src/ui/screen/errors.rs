//! The errors screen: every file the library could not read or analyse
//! (kept in the library, so they survive a restart), and the problems of
//! this session's tag writes and undos.

use super::{Request, Shared, SidePanel};
use crate::ui::background::Snapshot;
use iced::widget::{button, column, text};
use iced::{Element, Task};
use sonotag_core::store::FileError;

/// The errors screen's state.
#[derive(Default)]
pub struct Errors {
    /// Read and analysis errors recorded in the library.
    pub library: Vec<FileError>,
    /// Write, undo and recovery problems of this session: (path, cause).
    pub session: Vec<(String, String)>,
}

/// Messages of the errors screen.
#[derive(Clone, Debug)]
pub enum Message {
    ClearSession,
}

impl Errors {
    pub fn count(&self) -> usize {
        self.library.len() + self.session.len()
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
        }
        (Task::none(), None)
    }

    fn reloaded(&mut self, library: &Snapshot, _: Shared<'_>) {
        self.library = library.file_errors.clone();
    }

    fn view<'a>(&'a self, _: Shared<'a>) -> Element<'a, Message> {
        let mut col = column![text("Files that could not be read").size(18)].spacing(4);
        for e in &self.library {
            col = col.push(
                text(format!(
                    "{}: {} ({} failed)",
                    e.path.display(),
                    e.message,
                    e.stage
                ))
                .size(12),
            );
        }
        if self.library.is_empty() {
            col = col.push(text("None: every file in the library could be read.").size(13));
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
