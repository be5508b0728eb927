//! The settings screen: voting thresholds, how tags are written, the theme,
//! and the genre vocabulary edited as TOML (checked before it is saved).
//! The window owns the settings and the vocabulary; this screen edits
//! drafts of them and asks the window to keep what the user applies.

use super::{Request, Shared, SidePanel};
use iced::widget::{button, checkbox, column, pick_list, row, slider, text, text_editor};
use iced::{Element, Length, Task};
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::config::paths::Paths;
use sonotag_core::config::settings::Settings;
use sonotag_core::proposal::{SeveralGenres, Thresholds};
use sonotag_core::tags::WritePolicy;
use sonotag_core::tags::formats::Id3v23Join;

/// The settings screen's state: the drafts being edited. The settings and
/// the vocabulary themselves belong to the window, which saves what this
/// screen asks it to.
pub struct SettingsScreen {
    /// Thresholds moved on the sliders and not yet applied.
    draft: Option<Thresholds>,
    /// The least share for a further genre while its slider moves.
    least_share_draft: Option<f32>,
    /// The library's own settings as last read (at opening and after each
    /// reload, not at every frame).
    library: LibrarySettings,
    vocab_text: text_editor::Content,
    /// Why the edited vocabulary was not saved (shown under the editor).
    vocab_error: Option<String>,
}

/// Messages of the settings screen.
#[derive(Clone, Debug)]
pub enum Message {
    SliceThreshold(f32),
    TrackThreshold(f32),
    ApplyThresholds,
    /// How many genres a track may get (re-votes at once).
    MostGenres(usize),
    LeastShare(f32),
    /// The least-share slider let go: re-vote.
    ApplyLeastShare,
    /// Descriptors on or off for this library.
    Describes(bool),
    ReplaceExisting(bool),
    Id3v23(bool),
    V23Join(Id3v23Join),
    DarkTheme(bool),
    VocabEdit(text_editor::Action),
    VocabSave,
    VocabReset,
}

/// Reads the settings and the vocabulary; the second is the default, and
/// the problem is said, when the vocabulary file cannot be used.
pub fn load(paths: &Paths) -> (Settings, Vocabulary, Option<String>) {
    let settings = Settings::load(&paths.settings);
    match Vocabulary::load(&paths.vocabulary) {
        Ok(v) => (settings, v, None),
        Err(e) => (
            settings,
            Vocabulary::default(),
            Some(format!(
                "{e}; the default vocabulary is used until it is fixed"
            )),
        ),
    }
}

/// The settings a library keeps itself (see `store::library_settings`).
#[derive(Clone, Copy, Debug, Default)]
struct LibrarySettings {
    several: SeveralGenres,
    describes: bool,
}

impl LibrarySettings {
    fn read(shared: Shared<'_>) -> Self {
        shared.lib.map_or_else(Self::default, |lib| Self {
            several: lib.several_genres().unwrap_or_default(),
            describes: lib.describes().unwrap_or(false),
        })
    }
}

impl SettingsScreen {
    /// The thresholds shown: the draft, else those in force.
    fn thresholds(&self, shared: Shared<'_>) -> Thresholds {
        self.draft.unwrap_or_else(|| shared.thresholds())
    }

    /// The library's several-genre setting, with the slider's draft.
    fn several(&self) -> SeveralGenres {
        let kept = self.library.several;
        SeveralGenres {
            least_share: self.least_share_draft.unwrap_or(kept.least_share),
            ..kept
        }
    }

    /// `settings` changed by `change`, to be kept and saved.
    fn changed(shared: Shared<'_>, change: impl FnOnce(&mut Settings)) -> Option<Request> {
        let mut settings = shared.settings.clone();
        change(&mut settings);
        Some(Request::SaveSettings(settings))
    }
}

impl SidePanel for SettingsScreen {
    type Message = Message;

    fn new(shared: Shared<'_>) -> Self {
        Self {
            draft: None,
            least_share_draft: None,
            library: LibrarySettings::read(shared),
            vocab_text: text_editor::Content::with_text(
                &toml::to_string_pretty(shared.vocab).unwrap_or_default(),
            ),
            vocab_error: None,
        }
    }

    fn tab(&self) -> String {
        "Settings".into()
    }

    fn update(&mut self, message: Message, shared: Shared<'_>) -> (Task<Message>, Option<Request>) {
        let request = match message {
            Message::SliceThreshold(v) => {
                self.draft = Some(Thresholds {
                    slice: v,
                    ..self.thresholds(shared)
                });
                None
            }
            Message::TrackThreshold(v) => {
                self.draft = Some(Thresholds {
                    track: v,
                    ..self.thresholds(shared)
                });
                None
            }
            Message::ApplyThresholds => {
                let t = self.thresholds(shared);
                self.draft = None;
                Some(Request::Revote(t))
            }
            Message::ReplaceExisting(v) => Self::changed(shared, |s| {
                s.write.policy = if v {
                    WritePolicy::ReplaceAll
                } else {
                    WritePolicy::FillEmpty
                }
            }),
            Message::MostGenres(most) => Some(Request::SeveralGenres(SeveralGenres {
                most,
                ..self.several()
            })),
            Message::LeastShare(v) => {
                self.least_share_draft = Some(v);
                None
            }
            Message::ApplyLeastShare => {
                let several = self.several();
                self.least_share_draft = None;
                Some(Request::SeveralGenres(several))
            }
            Message::Describes(on) => Some(Request::Describes(on)),
            Message::Id3v23(v) => Self::changed(shared, |s| s.write.id3v23 = v),
            Message::V23Join(j) => Self::changed(shared, |s| s.write.v23_join = j),
            Message::DarkTheme(v) => Self::changed(shared, |s| s.dark_theme = v),
            Message::VocabEdit(action) => {
                self.vocab_text.perform(action);
                None
            }
            Message::VocabSave => {
                let checked = toml::from_str::<Vocabulary>(&self.vocab_text.text())
                    .map_err(|e| format!("Nothing saved: not valid TOML: {e}"))
                    .and_then(|v| {
                        v.validate()
                            .map_err(|e| format!("Nothing saved: {e}"))
                            .map(|()| v)
                    })
                    .and_then(|v| {
                        v.save(&shared.paths.vocabulary)
                            .map_err(|e| e.to_string())
                            .map(|()| v)
                    });
                match checked {
                    Ok(v) => {
                        self.vocab_error = None;
                        Some(Request::VocabularySaved(v))
                    }
                    Err(e) => {
                        self.vocab_error = Some(e);
                        None
                    }
                }
            }
            Message::VocabReset => {
                self.vocab_text = text_editor::Content::with_text(
                    &toml::to_string_pretty(&Vocabulary::default()).unwrap_or_default(),
                );
                // The error was about the text just replaced.
                self.vocab_error = None;
                Some(Request::Status(
                    "Default vocabulary loaded into the editor; Save to keep it.".into(),
                ))
            }
        };
        (Task::none(), request)
    }

    /// The library's settings may have changed (here, or elsewhere).
    fn reloaded(&mut self, _: &crate::ui::background::Snapshot, shared: Shared<'_>) {
        self.library = LibrarySettings::read(shared);
    }

    /// The screen, with what the active model's proposals were measured
    /// to be worth.
    fn view<'a>(&'a self, shared: Shared<'a>) -> Element<'a, Message> {
        let t = self.thresholds(shared);
        let worth = shared.active_model().and_then(|m| m.card.worth());
        let settings = shared.settings;
        let several = self.several();
        // Save sits above the editor, and the error below it, so neither
        // pushes the other out of view.
        column![
            text("Voting").size(18),
            row![
                text(format!("Slice confidence ≥ {:.2}", t.slice))
                    .size(13)
                    .width(200),
                slider(0.0..=0.95, t.slice, Message::SliceThreshold).step(0.05)
            ]
            .spacing(8),
            row![
                text(format!("Track share ≥ {:.0}%", t.track * 100.0))
                    .size(13)
                    .width(200),
                slider(0.3..=1.0, t.track, Message::TrackThreshold).step(0.05)
            ]
            .spacing(8),
            button("Apply thresholds (re-vote)").on_press(Message::ApplyThresholds),
            text(worth.unwrap_or_else(|| {
                "This model's card says nothing of how often its proposals are right.".into()
            }))
            .size(12),
            text("Several genres").size(18),
            row![
                text("At most").size(13),
                pick_list([1, 2, 3], Some(several.most.clamp(1, 3)), Message::MostGenres)
                    .text_size(13),
                text(format!(
                    "genres a track; another needs ≥ {:.0}% of the votes",
                    several.least_share * 100.0
                ))
                .size(13),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
            slider(0.1..=0.5, several.least_share, Message::LeastShare)
                .step(0.01)
                .on_release(Message::ApplyLeastShare),
            checkbox(self.library.describes)
                .label("Suggest vocals, mood, era and other genres")
                .on_toggle(Message::Describes),
            text("Writing tags").size(18),
            checkbox(settings.write.policy == WritePolicy::ReplaceAll)
                .label("Replace genres files already have (default: fill only empty ones)")
                .on_toggle(Message::ReplaceExisting),
            row![
                checkbox(settings.write.id3v23)
                    .label("Write ID3v2.3 (old players), genres joined by")
                    .on_toggle(Message::Id3v23),
                pick_list(
                    [Id3v23Join::Semicolon, Id3v23Join::Slash, Id3v23Join::Nul],
                    Some(settings.write.v23_join),
                    Message::V23Join
                )
                .text_size(13),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
            text("Appearance").size(18),
            checkbox(settings.dark_theme)
                .label("Dark theme")
                .on_toggle(Message::DarkTheme),
            text("Genres and super-genre map").size(18),
            text(format!(
                "`genres` are the canonical names; `map` sends sub-genres and spellings to them (used for tags and overrides); every mapping must lead to one of the genres. Saved in {}",
                shared.paths.vocabulary.display()
            ))
            .size(12),
            row![
                button("Save vocabulary").on_press(Message::VocabSave),
                button("Defaults").on_press(Message::VocabReset),
            ]
            .spacing(8),
            text(self.vocab_error.clone().unwrap_or_default()).size(12),
            text_editor(&self.vocab_text)
                .on_action(Message::VocabEdit)
                .height(260),
        ]
        .spacing(8)
        .width(Length::Fill)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_clear_the_error_of_the_text_they_replace() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_folder(dir.path());
        let (settings, vocab, _) = load(&paths);
        let shared = Shared::before_opening(&paths, &settings, &vocab);
        let mut screen = SettingsScreen::new(shared);
        screen.vocab_text = text_editor::Content::with_text("not [valid toml");
        let _ = screen.update(Message::VocabSave, shared);
        assert!(
            screen.vocab_error.is_some(),
            "a broken vocabulary is refused"
        );
        let _ = screen.update(Message::VocabReset, shared);
        assert!(screen.vocab_error.is_none(), "{:?}", screen.vocab_error);
    }
}
