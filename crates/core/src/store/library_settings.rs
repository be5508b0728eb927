//! The `library_settings` table: settings that belong to one library
//! rather than to the person's window, because what the library stores
//! depends on them (its proposals name as many genres as its setting
//! allows), so the window and the CLI vote the same way on it.

use super::{Library, Result};
use crate::proposal::SeveralGenres;
use rusqlite::{OptionalExtension, params};

const SEVERAL_GENRES: &str = "several_genres";

impl Library {
    /// How many genres this library's tracks may get (the default until the
    /// user sets it).
    pub fn several_genres(&self) -> Result<SeveralGenres> {
        let stored: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT value FROM library_settings WHERE key = ?1",
                [SEVERAL_GENRES],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(stored
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default())
    }

    /// Keeps the several-genre setting; the caller re-votes the proposals.
    pub fn set_several_genres(&mut self, several: SeveralGenres) -> Result<()> {
        let value = serde_json::to_string(&several).expect("settings serialise");
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO library_settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![SEVERAL_GENRES, value],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_kept_per_library() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = Library::open(&dir.path().join("l.sqlite")).unwrap();
        assert_eq!(lib.several_genres().unwrap(), SeveralGenres::default());
        lib.set_several_genres(SeveralGenres::ONE).unwrap();
        lib.set_several_genres(SeveralGenres::ONE).unwrap();
        let again = Library::open(&dir.path().join("l.sqlite")).unwrap();
        assert_eq!(again.several_genres().unwrap(), SeveralGenres::ONE);
    }
}
