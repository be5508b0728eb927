//! The window's messages: what the user did, addressed to one screen, and
//! what background work brings back.

use super::background;
use super::jobs;
use super::screen::{PanelMessage, apply, folder, progress, table, toolbar, undo_write};
use iced::keyboard::{self, Modifiers};
use sonotag_core::tags::PlannedWrite;
use sonotag_core::workflow::decide::{DecisionReport, Step};

/// What the user did, addressed to one screen (or the keyboard map).
#[derive(Clone, Debug)]
pub enum Input {
    Folder(folder::Message),
    Toolbar(toolbar::Message),
    Progress(progress::Message),
    Table(table::Message),
    /// A message of one of the side panels.
    Panel(PanelMessage),
    Apply(apply::Message),
    UndoWrite(undo_write::Message),
    Key(keyboard::Key, Modifiers),
}

/// Messages of the window.
#[derive(Clone, Debug)]
pub enum Message {
    /// From a view or the keyboard: behind a modal screen only its own
    /// messages (and its keys) are delivered.
    User(Input),
    /// What a screen's own background work brought back: always delivered.
    Returned(Input),
    Job(jobs::Update),
    Reloaded(background::Loaded),
    Decided(Result<DecisionReport, String>),
    /// An undo or redo of a decision finished (`Err`: why it did not).
    Restored {
        step: Step,
        report: DecisionReport,
        result: Result<(), String>,
    },
    /// Background work on the library finished (a re-vote, a switch of
    /// model, forgetting missing tracks): what to say, then a reload.
    Changed(Result<String, String>),
    PlanReady(Result<Vec<PlannedWrite>, String>),
    /// A slice plays: its place moves.
    Tick,
    /// Look whether the library changed elsewhere.
    Watch,
    /// The window was resized.
    Resized(iced::Size),
    /// The screen the window opened on, and its size, if the system says.
    Monitor(Option<(iced::window::Id, iced::Size)>),
    /// The library was opened in the background (`Err`: why it could not be).
    Opened(Result<background::Handoff<background::Opened>, String>),
}

/// Messages a screen's view produces, as the user's.
macro_rules! user_messages {
    ($($screen:ident => $variant:ident),* $(,)?) => {$(
        impl From<$screen::Message> for Message {
            fn from(m: $screen::Message) -> Self {
                Message::User(Input::$variant(m))
            }
        }
    )*};
}
user_messages!(folder => Folder, toolbar => Toolbar, progress => Progress, table => Table,
    apply => Apply, undo_write => UndoWrite);

impl From<PanelMessage> for Message {
    fn from(m: PanelMessage) -> Self {
        Message::User(Input::Panel(m))
    }
}
