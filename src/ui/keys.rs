//! The keyboard map of the library view: what each key does, as a
//! command the shell carries out. Behind a modal screen only Esc counts.

use crate::ui::screen::{table, track};
use iced::keyboard::{Key, Modifiers, key::Named};
use sonotag_core::workflow::decide::Step;

/// What a key asks for.
#[derive(Clone, Debug)]
pub enum Command {
    /// Move the selection by this many rows (±a page, or to either end).
    Move(Move),
    /// A message for the track screen (accept, play, step through slices).
    Track(track::Message),
    /// Stop playback and give the keyboard back to the list.
    Leave,
    /// Put the keyboard in this text field.
    Focus(&'static str),
    Step(Step),
    /// Show the list of keys ([`KEYS`]).
    Help,
    /// Close the window, as its close button does.
    Quit,
}

/// Every key of the library view with what it does, as the Keys dialog
/// (F1 or ?) lists them; [`command`] is the map itself.
pub const KEYS: &[(&str, &str)] = &[
    ("↓ / j, ↑ / k", "next / previous track"),
    (
        "Page Down / Page Up, Home / End",
        "a page down / up, first / last track",
    ),
    ("Enter", "accept the proposal"),
    ("o", "type an override genre"),
    ("s", "skip: leave the track undecided, go to the next"),
    ("Space", "play the current slice"),
    ("→ / l, ← / h", "next / previous slice"),
    ("/", "search"),
    ("u, Ctrl+Z", "undo the last decision"),
    ("Shift+U, Ctrl+Shift+Z, Ctrl+Y", "redo"),
    ("Esc", "stop playing, back to the list; close a dialog"),
    ("F1, ?", "this list"),
    (
        "Ctrl+Q",
        "quit (what a job finished is kept; it resumes at the next Open)",
    ),
];

/// How far a key moves the selection.
#[derive(Clone, Copy, Debug)]
pub enum Move {
    Rows(i64),
    Pages(i64),
    First,
    Last,
}

/// The command of `key` with `mods`, if it has one.
pub fn command(key: &Key, mods: Modifiers) -> Option<Command> {
    use Key::{Character, Named as N};
    Some(match key.as_ref() {
        N(Named::ArrowDown) | Character("j") => Command::Move(Move::Rows(1)),
        N(Named::ArrowUp) | Character("k") => Command::Move(Move::Rows(-1)),
        N(Named::PageDown) => Command::Move(Move::Pages(1)),
        N(Named::PageUp) => Command::Move(Move::Pages(-1)),
        N(Named::Home) => Command::Move(Move::First),
        N(Named::End) => Command::Move(Move::Last),
        N(Named::Enter) => Command::Track(track::Message::Accept),
        N(Named::Space) => Command::Track(track::Message::PlayCurrent),
        N(Named::ArrowRight) | Character("l") => Command::Track(track::Message::StepSlice(1)),
        N(Named::ArrowLeft) | Character("h") => Command::Track(track::Message::StepSlice(-1)),
        N(Named::Escape) => Command::Leave,
        Character("o") => Command::Focus(track::OVERRIDE_INPUT),
        Character("s") => Command::Track(track::Message::Skip),
        Character("/") => Command::Focus(table::SEARCH),
        Character("U") => Command::Step(Step::Redo),
        Character("u") if mods.shift() => Command::Step(Step::Redo),
        Character("u") => Command::Step(Step::Undo),
        Character("z") if mods.command() && mods.shift() => Command::Step(Step::Redo),
        Character("z") if mods.command() => Command::Step(Step::Undo),
        Character("y") if mods.command() => Command::Step(Step::Redo),
        Character("q") if mods.command() => Command::Quit,
        N(Named::F1) | Character("?") => Command::Help,
        _ => return None,
    })
}

/// Whether `key` closes a modal screen.
pub fn closes_modal(key: &Key) -> bool {
    *key == Key::Named(Named::Escape)
}

#[cfg(test)]
mod tests {
    /// The manual's key list is the window's: every key the Keys dialog
    /// shows is a row of `docs/keys.md`, said the same way.
    #[test]
    fn the_manual_lists_every_key_as_the_window_does() {
        let manual = include_str!("../../docs/keys.md");
        for (keys, what) in super::KEYS {
            let row = format!("| {keys} | {what} |");
            assert!(manual.contains(&row), "docs/keys.md lacks {row}");
        }
    }
}
