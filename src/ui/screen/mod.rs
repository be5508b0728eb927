//! The window's screens. Each owns its state and messages; its `update`
//! returns a task and, where the shell must act, an event; its `view`
//! draws it. A screen reads what it needs from arguments and never
//! reaches into another.

pub mod apply;
pub mod errors;
pub mod folder;
pub mod progress;
pub mod retrain;
pub mod settings;
pub mod table;
pub mod toolbar;
pub mod track;
pub mod undo_write;

/// Which side panel is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Track,
    Retrain,
    Settings,
    Errors,
}
