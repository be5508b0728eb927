//! The window's screens. Each owns its state and messages; its `update`
//! returns a task and, where the shell must act, an event (a side panel's
//! is a [`Request`]); its `view` draws it. A screen reads what it needs
//! from arguments and never reaches into another.
//!
//! The side panels (the tabs beside the list) share one shape,
//! [`SidePanel`], and are registered in one place, the `side_panels!` list
//! at the end of this file: a line there declares the panel's module, its
//! tab, its messages, its place in the window's routing and its view.

pub mod apply;
pub mod folder;
pub mod help;
pub mod progress;
pub mod table;
pub mod toolbar;
pub mod undo_write;

use crate::ui::background::Snapshot;
use iced::{Element, Task};
use sonotag_core::catalog::review::ReviewRow;
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::config::paths::Paths;
use sonotag_core::config::settings::Settings;
use sonotag_core::ml::model::ModelRow;
use sonotag_core::proposal::Thresholds;
use sonotag_core::store::Library;
use sonotag_core::workflow::decide::Decision;

/// What every side panel may read of the window, for one update or view.
#[derive(Clone, Copy)]
pub struct Shared<'a> {
    /// `None` until the library is open (or when it cannot be).
    pub lib: Option<&'a Library>,
    pub paths: &'a Paths,
    pub settings: &'a Settings,
    pub vocab: &'a Vocabulary,
    pub models: &'a [ModelRow],
    /// The selected track's row in the list.
    pub row: Option<&'a ReviewRow>,
    /// A job runs: library-wide actions wait.
    pub busy: bool,
    /// The window's size, which the evidence follows.
    pub window: iced::Size,
}

impl<'a> Shared<'a> {
    /// What the panels see before the library is open: no tracks, no
    /// models, the window at its default size.
    pub fn before_opening(paths: &'a Paths, settings: &'a Settings, vocab: &'a Vocabulary) -> Self {
        Self {
            lib: None,
            paths,
            settings,
            vocab,
            models: &[],
            row: None,
            busy: false,
            window: crate::ui::DEFAULT_WINDOW,
        }
    }

    /// The model whose proposals the library shows.
    pub fn active_model(&self) -> Option<&'a ModelRow> {
        self.models.iter().find(|m| m.active)
    }

    /// The active model's own thresholds (what its card calibrated).
    pub fn model_thresholds(&self) -> Option<Thresholds> {
        self.active_model().map(|m| m.card.thresholds)
    }

    /// The thresholds in force: the user's, else the model's own.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds::in_force(self.settings.thresholds, self.model_thresholds())
    }

    /// The genres offered for overriding: the vocabulary's, then any the
    /// active model knows besides.
    pub fn genres(&self) -> Vec<String> {
        let mut genres = self.vocab.genres.clone();
        for g in self.active_model().iter().flat_map(|m| &m.card.classes) {
            if !genres.contains(g) {
                genres.push(g.clone());
            }
        }
        genres
    }
}

/// What a side panel asks of the shell, which owns what panels share.
#[derive(Debug)]
pub enum Request {
    /// Say this in the status line.
    Status(String),
    /// Record a decision (off the UI thread).
    Decide(Decision),
    /// Select the track this many rows away.
    Move(i64),
    /// Give the keyboard back to the list.
    LeaveInput,
    /// Retrain the head on the trusted labels.
    Retrain { use_tags: bool },
    /// Make the model of this name the active one.
    UseModel(String),
    /// Keep these thresholds and re-vote every track with them.
    Revote(Thresholds),
    /// Record (or forget) a track's descriptor; `suggested` when the value
    /// is the listener's suggestion (accepted), else the user's own.
    Describe {
        track: i64,
        aspect: sonotag_core::ml::descriptors::Aspect,
        value: Option<String>,
        suggested: bool,
    },
    /// Turn the library's descriptors on or off.
    Describes(bool),
    /// Keep this several-genre setting in the library and re-vote.
    SeveralGenres(sonotag_core::proposal::SeveralGenres),
    /// Keep and save these settings.
    SaveSettings(Settings),
    /// This vocabulary was saved: use it, and reload what depends on it.
    VocabularySaved(Vocabulary),
    /// Forget the tracks whose files are missing, with their history.
    ForgetMissing,
}

/// A panel beside the list, behind a tab of the toolbar.
pub trait SidePanel: Sized {
    type Message: Clone + std::fmt::Debug + Send + 'static;

    /// The panel when the window opens.
    fn new(shared: Shared<'_>) -> Self;

    /// The tab's label.
    fn tab(&self) -> String;

    /// Handles one of the panel's messages.
    fn update(
        &mut self,
        message: Self::Message,
        shared: Shared<'_>,
    ) -> (Task<Self::Message>, Option<Request>);

    /// Draws the panel (in a scrollable when it is taller than the window).
    fn view<'a>(&'a self, shared: Shared<'a>) -> Element<'a, Self::Message>;

    /// What stays above the scrolling part, whatever the window's height
    /// or how far it was scrolled (the track's name, verdict and decision).
    fn pinned<'a>(&'a self, _shared: Shared<'a>) -> Option<Element<'a, Self::Message>> {
        None
    }

    /// The library was read again: take what the panel shows from it.
    fn reloaded(&mut self, _library: &Snapshot, _shared: Shared<'_>) {}
}

/// Declares the side panels, in their tabs' order: for each its module,
/// its state (a [`SidePanel`]) and its name in [`Panel`]. From this list
/// come the [`Panel`] names, the [`Panels`] the window holds, and the
/// [`PanelMessage`] routing and view of each.
macro_rules! side_panels {
    ($($module:ident :: $state:ident as $name:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Which side panel is open.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Panel { $($name),* }

        impl Panel {
            /// Every panel, in its tab's order.
            pub const ALL: &[Panel] = &[$(Panel::$name),*];
        }

        /// The side panels' states.
        pub struct Panels { $(pub $module: $module::$state),* }

        /// A message of one side panel.
        #[derive(Clone, Debug)]
        pub enum PanelMessage { $($name(<$module::$state as SidePanel>::Message)),* }

        $(impl From<<$module::$state as SidePanel>::Message> for PanelMessage {
            fn from(m: <$module::$state as SidePanel>::Message) -> Self {
                PanelMessage::$name(m)
            }
        }

        /// What a panel's view produces is the user's.
        impl From<<$module::$state as SidePanel>::Message> for crate::ui::Message {
            fn from(m: <$module::$state as SidePanel>::Message) -> Self {
                PanelMessage::$name(m).into()
            }
        })*

        impl Panels {
            pub fn new(shared: Shared<'_>) -> Self {
                Self { $($module: SidePanel::new(shared)),* }
            }

            /// The tab of `panel`.
            pub fn tab(&self, panel: Panel) -> String {
                match panel { $(Panel::$name => self.$module.tab()),* }
            }

            /// A message, to its panel.
            pub fn update(
                &mut self,
                message: PanelMessage,
                shared: Shared<'_>,
            ) -> (Task<PanelMessage>, Option<Request>) {
                match message {$(
                    PanelMessage::$name(m) => {
                        let (task, request) = self.$module.update(m, shared);
                        (task.map(PanelMessage::$name), request)
                    }
                )*}
            }

            /// The open panel.
            pub fn view<'a>(&'a self, panel: Panel, shared: Shared<'a>) -> Element<'a, PanelMessage> {
                match panel {
                    $(Panel::$name => self.$module.view(shared).map(PanelMessage::$name)),*
                }
            }

            /// The open panel's part that never scrolls, if it has one.
            pub fn pinned<'a>(&'a self, panel: Panel, shared: Shared<'a>) -> Option<Element<'a, PanelMessage>> {
                match panel {
                    $(Panel::$name => self.$module.pinned(shared).map(|e| e.map(PanelMessage::$name))),*
                }
            }

            /// Every panel takes what it shows from a new read of the library.
            pub fn reloaded(&mut self, library: &Snapshot, shared: Shared<'_>) {
                $(self.$module.reloaded(library, shared);)*
            }
        }
    };
}

side_panels! {
    track::Track as Track,
    retrain::Retrain as Retrain,
    errors::Errors as Errors,
    settings::SettingsScreen as Settings,
}

pub use sonotag_core::words::counted;

/// `s` cut to `max` characters, the last one an ellipsis, when it is longer.
pub fn ellipsized(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular() {
        assert_eq!(super::counted(1, "track", "tracks"), "1 track");
        assert_eq!(super::counted(0, "track", "tracks"), "0 tracks");
        assert_eq!(super::counted(2, "file", "files"), "2 files");
    }
}
