//! Safe genre writing and undo.
//!
//! The user's files are precious, so every write follows the same rules:
//!
//! - only tracks with a trusted label (accepted or overridden) are written,
//!   and by default only where the file has **no** genre yet; replacing an
//!   existing genre needs the per-track `replace` flag or the global policy;
//! - a file whose size or mtime differ from the library's (changed since the
//!   scan) is refused, as is a read-only or vanished file — per-file errors;
//! - the old genre values and the file's stamp are stored before writing;
//! - the file is rewritten in place under a journal (see [`in_place`], [`journal`]),
//!   so a crash never leaves a half-written file;
//! - only the genre field changes ([`formats`]: ID3v2 TCON, the
//!   ID3v1 genre byte, APE Genre, Vorbis GENRE, MP4 ©gen, RIFF IGNR); every
//!   other frame, comment, atom and picture keeps its bytes, audio is never
//!   touched, and a file that cannot be edited exactly is refused with the
//!   reason;
//! - every apply is a batch, and [`undo`] restores each file's previous genre
//!   values exactly (removing the tag again where Sonotag had to create it).

//!
//! The folder: [`formats`] (the exact genre edit per format), [`in_place`]
//! (locks, stamps, in-place rewrites, undo patches), [`journal`] (writes in
//! progress), [`write`] (apply), [`undo`], [`recover`] (what a crash left).

pub mod formats;
mod in_place;
mod journal;
pub mod read;
mod recover;
mod undo;
mod write;

pub use in_place::{
    INTERRUPTED, Interrupt, LockedFile, MAX_WRITE_BYTES, Patch, Rewrite, Stamp, WriteLock,
    identity_text, large_file_bytes, sha256_hex,
};
pub use journal::{Journal, JournalEntry};
pub use recover::{Recovered, recover};
pub use undo::{UndoReport, batches, undo, undo_watched};
pub use write::{ApplyReport, FileOutcome, Watch, apply, apply_until, apply_watched};

use crate::store::{Library, is_written};
use formats::EditOptions;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Whether existing genres may be replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WritePolicy {
    /// Fill only files without a genre (default); per-track `replace` flags
    /// still allow replacing.
    #[default]
    FillEmpty,
    /// Replace existing genres everywhere.
    ReplaceAll,
}

/// Options for writing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteSettings {
    pub policy: WritePolicy,
    /// Write ID3v2.3 instead of v2.4 (for old players).
    pub id3v23: bool,
    /// How several genres share one ID3v2.3 frame.
    #[serde(default)]
    pub v23_join: formats::Id3v23Join,
}

/// What an apply would do to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    /// The file has no genre: it gets one.
    Fill,
    /// The file's genre is replaced (allowed by policy or per track).
    Replace,
    /// The file has another genre and replacing was not allowed.
    KeepExisting,
    /// No editor here writes this format (WMA, DSD…): said before the write.
    Unwritable,
}

impl Action {
    /// Whether the write changes the file.
    pub fn writes(&self) -> bool {
        matches!(self, Action::Fill | Action::Replace)
    }
}

/// One line of the confirmation: original → new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedWrite {
    pub track_id: i64,
    #[serde(serialize_with = "crate::store::serialize_path_str")]
    pub path: PathBuf,
    pub old_genres: Vec<String>,
    /// The decided genres, the first one first.
    pub new_genres: Vec<String>,
    /// What the user typed, when they asked for its super-genre instead.
    pub mapped_from: Option<String>,
    pub action: Action,
}

impl std::fmt::Display for PlannedWrite {
    /// The plan line both shells show: `path: original → new  [note]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let old = if self.old_genres.is_empty() {
            "(none)".to_string()
        } else {
            self.old_genres.join("; ")
        };
        write!(
            f,
            "{}: {old} → {}",
            self.path.display(),
            self.new_genres.join("; ")
        )?;
        if let Some(typed) = &self.mapped_from {
            write!(f, " (super-genre of {typed})")?;
        }
        match self.action {
            Action::Fill => Ok(()),
            Action::Replace => write!(f, "  [replaces]"),
            Action::KeepExisting => write!(f, "  [kept: the file has a genre, replacing is off]"),
            Action::Unwritable => write!(
                f,
                "  [not written: {}]",
                formats::refused_format(&self.path).unwrap_or_default()
            ),
        }
    }
}

/// Lists labelled tracks whose file genre differs from the label.
pub fn plan(lib: &Library, settings: WriteSettings) -> anyhow::Result<Vec<PlannedWrite>> {
    let mut out = Vec::new();
    for f in lib.labelled_files()? {
        if is_written(&f.file_genres, &f.genres) {
            continue;
        }
        let action = if formats::refused_format(&f.path).is_some() {
            Action::Unwritable
        } else if f.file_genres.is_empty() {
            Action::Fill
        } else if f.replace || settings.policy == WritePolicy::ReplaceAll {
            Action::Replace
        } else {
            Action::KeepExisting
        };
        out.push(PlannedWrite {
            track_id: f.track_id,
            path: f.path,
            old_genres: f.file_genres,
            new_genres: f.genres,
            mapped_from: f.mapped_from,
            action,
        });
    }
    Ok(out)
}

/// Genre values as stored for undo (`tag` = the tag existed before).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct GenreState {
    genres: Vec<String>,
    tag: bool,
}

impl GenreState {
    /// As people read it: the genres, "no genre" for a tag without one,
    /// "no tag" where the file had none.
    fn in_words(&self) -> String {
        match (self.tag, self.genres.is_empty()) {
            (false, _) => "no tag".into(),
            (true, true) => "no genre".into(),
            (true, false) => self.genres.join("; "),
        }
    }
}

/// A genre state as the history stores it (for undo), in words; the stored
/// text itself if it cannot be read.
pub fn state_in_words(stored: &str) -> String {
    serde_json::from_str::<GenreState>(stored)
        .map(|s| s.in_words())
        .unwrap_or_else(|_| stored.to_string())
}

/// A panic in the tag library on a damaged file becomes that file's error.
fn guard_tag_library<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    crate::audio::catch_panic(f).unwrap_or_else(|m| {
        Err(format!(
            "the tag library failed on damaged data ({m}); nothing was changed"
        ))
    })
}

/// The file's genre state as read, and its bytes with `state` as its
/// genres (one parse for both). Each tag the file has that carries a genre
/// gets the same genres (an old genre left in ID3v1 or APE would contradict
/// the new one in other players); the main tag is created when the file
/// has none. Only the genre fields and the sizes around them change: see
/// [`formats`]; a file that cannot be edited exactly is refused.
pub(crate) fn with_genres(
    bytes: &[u8],
    path: &Path,
    state: &GenreState,
    settings: WriteSettings,
) -> Result<(GenreState, Vec<u8>), String> {
    let (before, splices) = genre_splices(bytes, path, state, settings)?;
    Ok((before, splices.apply(bytes)?))
}

/// [`with_genres`] as the ranges that change, for a large file whose
/// `bytes` are an image holding only its ends. Ogg pages run through the
/// whole file, so a large Ogg file is refused.
pub(crate) fn genre_splices(
    bytes: &[u8],
    path: &Path,
    state: &GenreState,
    settings: WriteSettings,
) -> Result<(GenreState, formats::Splices), String> {
    guard_tag_library(|| {
        let options = EditOptions {
            id3v23: settings.id3v23,
            v23_join: settings.v23_join,
        };
        let edited = formats::set_genres(bytes, path, Some(&state.genres), options)?;
        let before = GenreState {
            genres: edited.before,
            tag: edited.had_tag,
        };
        Ok((before, edited.splices))
    })
}

/// The bytes a write of `genre` would give the file held in `bytes` (for
/// the fuzz harness: the write path meets damaged files too).
#[cfg(any(test, feature = "dev-tools"))]
pub(crate) fn rewritten_with_genre(
    bytes: &[u8],
    path: &Path,
    genre: &str,
) -> Result<Vec<u8>, String> {
    let state = GenreState {
        genres: vec![genre.to_string()],
        tag: true,
    };
    with_genres(bytes, path, &state, WriteSettings::default()).map(|(_, b)| b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_genre_state_reads_as_words() {
        assert_eq!(
            state_in_words(r#"{"genres":["Pop","Soul"],"tag":true}"#),
            "Pop; Soul"
        );
        assert_eq!(state_in_words(r#"{"genres":[],"tag":true}"#), "no genre");
        assert_eq!(state_in_words(r#"{"genres":[],"tag":false}"#), "no tag");
        assert_eq!(state_in_words("garbled"), "garbled");
    }
}
