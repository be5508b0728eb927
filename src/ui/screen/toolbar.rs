//! The toolbar: the side panel's tabs, undo and redo of decisions, the
//! library-wide actions (classify, apply tags, undo the last write, offered
//! only while there is one) and Help. Undoing
//! a write asks twice, the second time with the number of files it would
//! restore.

use super::Panel;
use iced::widget::{button, row, space, text};
use iced::{Element, Length};
use sonotag_core::workflow::decide::Step;

/// The toolbar: it keeps no state of its own.
#[derive(Debug, Default)]
pub struct Toolbar;

/// Messages of the toolbar.
#[derive(Clone, Debug)]
pub enum Message {
    Show(Panel),
    Step(Step),
    Classify,
    Apply,
    UndoWrite,
    Help,
}

/// What the toolbar asks of the shell.
#[derive(Clone, Debug)]
pub enum Event {
    Show(Panel),
    Step(Step),
    Classify,
    /// Build the write plan and open the Apply review.
    Apply,
    /// Ask before undoing the latest tag write.
    UndoWrite,
    /// Show the keys and the About.
    Help,
}

/// What the toolbar shows besides its own state.
pub struct Shown {
    pub panel: Panel,
    /// Every side panel's tab, in order.
    pub tabs: Vec<(Panel, String)>,
    pub can_undo: bool,
    pub can_redo: bool,
    /// A job runs: library-wide actions wait.
    pub busy: bool,
    /// Tags are being written: decisions stay as they are.
    pub writing: bool,
    /// The library holds a tag write to undo.
    pub can_undo_write: bool,
}

impl Toolbar {
    pub fn update(&mut self, message: Message) -> Option<Event> {
        Some(match message {
            Message::Show(p) => Event::Show(p),
            Message::Step(s) => Event::Step(s),
            Message::Classify => Event::Classify,
            Message::Apply => Event::Apply,
            Message::UndoWrite => Event::UndoWrite,
            Message::Help => Event::Help,
        })
    }

    pub fn view(&self, shown: Shown) -> Element<'_, Message> {
        let tabs = shown.tabs.into_iter().map(|(panel, label)| {
            let b = button(text(label).size(13)).on_press(Message::Show(panel));
            Element::from(if panel == shown.panel {
                b.style(button::primary)
            } else {
                b.style(button::secondary)
            })
        });
        let small = |label: String| button(text(label).size(13));
        row(tabs)
            .push(
                row![
                    space().width(Length::Fill),
                    small("Undo decision (u)".into()).on_press_maybe(
                        (shown.can_undo && !shown.writing).then_some(Message::Step(Step::Undo))
                    ),
                    small("Redo (U)".into()).on_press_maybe(
                        (shown.can_redo && !shown.writing).then_some(Message::Step(Step::Redo))
                    ),
                    small("Classify".into())
                        .on_press_maybe((!shown.busy).then_some(Message::Classify)),
                    small("Apply tags…".into())
                        .on_press_maybe((!shown.busy).then_some(Message::Apply)),
                    small("Undo last write…".into()).on_press_maybe(
                        (!shown.busy && shown.can_undo_write).then_some(Message::UndoWrite)
                    ),
                    small("Help (F1)".into()).on_press(Message::Help),
                ]
                .spacing(6)
                .width(Length::Fill)
                .align_y(iced::Alignment::Center),
            )
            .spacing(6)
            .align_y(iced::Alignment::Center)
            .into()
    }
}
