//! The settings screen: voting thresholds, how tags are written, the theme,
//! and the genre vocabulary edited as TOML (checked before it is saved).
//! It owns the settings and the vocabulary; the window reads them.

use iced::widget::{button, checkbox, column, row, slider, text, text_editor};
use iced::{Element, Length};
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::config::paths::Paths;
use sonotag_core::config::settings::Settings;
use sonotag_core::proposal::Thresholds;
use sonotag_core::tags::WritePolicy;

/// The settings screen's state.
pub struct SettingsScreen {
    pub settings: Settings,
    pub vocab: Vocabulary,
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
    ReplaceExisting(bool),
    Id3v23(bool),
    DarkTheme(bool),
    VocabEdit(text_editor::Action),
    VocabSave,
    VocabReset,
}

/// What the window must do after a settings message.
pub enum Event {
    /// Re-vote every track with these thresholds (off the UI thread).
    Revote(Thresholds),
    /// The vocabulary changed: reload what depends on it.
    VocabularySaved,
    Status(String),
}

impl SettingsScreen {
    pub fn load(paths: &Paths) -> (Self, Option<String>) {
        let settings = Settings::load(&paths.settings);
        let (vocab, problem) = match Vocabulary::load(&paths.vocabulary) {
            Ok(v) => (v, None),
            Err(e) => (
                Vocabulary::default(),
                Some(format!(
                    "{e}; the default vocabulary is used until it is fixed"
                )),
            ),
        };
        let text = toml::to_string_pretty(&vocab).unwrap_or_default();
        (
            Self {
                settings,
                vocab,
                vocab_text: text_editor::Content::with_text(&text),
                vocab_error: None,
            },
            problem,
        )
    }

    /// The thresholds in force: the user's, else the model's own.
    pub fn thresholds(&self, model: Option<Thresholds>) -> Thresholds {
        Thresholds::in_force(self.settings.thresholds, model)
    }

    /// Saves the settings; the error names the file.
    pub fn save(&self, paths: &Paths) -> Option<Event> {
        self.settings.save(&paths.settings).err().map(|e| {
            Event::Status(format!(
                "Cannot save settings to {}: {e}",
                paths.settings.display()
            ))
        })
    }

    /// Handles a message; `model` holds the active model's own thresholds.
    pub fn update(
        &mut self,
        message: Message,
        paths: &Paths,
        model: Option<Thresholds>,
    ) -> Option<Event> {
        match message {
            Message::SliceThreshold(v) => {
                let t = self.thresholds(model);
                self.settings.thresholds = Some(Thresholds { slice: v, ..t });
                None
            }
            Message::TrackThreshold(v) => {
                let t = self.thresholds(model);
                self.settings.thresholds = Some(Thresholds { track: v, ..t });
                None
            }
            Message::ApplyThresholds => self
                .save(paths)
                .or(Some(Event::Revote(self.thresholds(model)))),
            Message::ReplaceExisting(v) => {
                self.settings.write.policy = if v {
                    WritePolicy::ReplaceAll
                } else {
                    WritePolicy::FillEmpty
                };
                self.save(paths)
            }
            Message::Id3v23(v) => {
                self.settings.write.id3v23 = v;
                self.save(paths)
            }
            Message::DarkTheme(v) => {
                self.settings.dark_theme = v;
                self.save(paths)
            }
            Message::VocabEdit(action) => {
                self.vocab_text.perform(action);
                None
            }
            Message::VocabSave => {
                let checked = toml::from_str::<Vocabulary>(&self.vocab_text.text())
                    .map_err(|e| format!("not valid TOML: {e}"))
                    .and_then(|v| v.validate().map(|()| v));
                match checked {
                    Ok(v) => match v.save(&paths.vocabulary) {
                        Ok(()) => {
                            self.vocab = v;
                            self.vocab_error = None;
                            Some(Event::VocabularySaved)
                        }
                        Err(e) => {
                            self.vocab_error = Some(e.to_string());
                            None
                        }
                    },
                    Err(e) => {
                        self.vocab_error = Some(format!("Nothing saved: {e}"));
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
                Some(Event::Status(
                    "Default vocabulary loaded into the editor; Save to keep it.".into(),
                ))
            }
        }
    }

    /// The screen; `model` holds the active model's own thresholds and
    /// `worth` what its proposals were measured to be worth.
    pub fn view<'a>(
        &'a self,
        paths: &'a Paths,
        model: Option<Thresholds>,
        worth: Option<String>,
    ) -> Element<'a, Message> {
        let t = self.thresholds(model);
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
            text("Writing tags").size(18),
            checkbox(self.settings.write.policy == WritePolicy::ReplaceAll)
                .label("Replace genres files already have (default: fill only empty ones)")
                .on_toggle(Message::ReplaceExisting),
            checkbox(self.settings.write.id3v23)
                .label("Write ID3v2.3 instead of ID3v2.4 (older players)")
                .on_toggle(Message::Id3v23),
            text("Appearance").size(18),
            checkbox(self.settings.dark_theme)
                .label("Dark theme")
                .on_toggle(Message::DarkTheme),
            text("Genres and super-genre map").size(18),
            text(format!(
                "`genres` are the canonical names; `map` sends sub-genres and spellings to them (used for tags and overrides); every mapping must lead to one of the genres. Saved in {}",
                paths.vocabulary.display()
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
        let (mut screen, _) = SettingsScreen::load(&paths);
        screen.vocab_text = text_editor::Content::with_text("not [valid toml");
        screen.update(Message::VocabSave, &paths, None);
        assert!(
            screen.vocab_error.is_some(),
            "a broken vocabulary is refused"
        );
        screen.update(Message::VocabReset, &paths, None);
        assert!(screen.vocab_error.is_none(), "{:?}", screen.vocab_error);
    }
}
