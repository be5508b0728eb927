//! The `library_settings` table and the descriptor decisions: settings that belong to one library
//! rather than to the person's window, because what the library stores
//! depends on them (its proposals name as many genres as its setting
//! allows), so the window and the CLI vote the same way on it.

use super::{DecisionSource, Library, Result, now};
use crate::ml::descriptors::Aspect;
use crate::proposal::SeveralGenres;
use rusqlite::{OptionalExtension, params};

const SEVERAL_GENRES: &str = "several_genres";
const DESCRIPTORS: &str = "descriptors";

/// A descriptor the user decided for a track.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DescriptorLabel {
    pub aspect: Aspect,
    pub value: String,
    pub source: DecisionSource,
}

impl Library {
    /// The descriptors decided for a track, by aspect.
    pub fn descriptor_labels(&self, track_id: i64) -> Result<Vec<DescriptorLabel>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT aspect, value, source FROM descriptor_labels WHERE track_id = ?1
                 ORDER BY aspect",
            )?;
            let rows = stmt.query_map([track_id], |r| {
                let aspect: String = r.get(0)?;
                Ok((aspect, r.get(1)?, r.get(2)?))
            })?;
            Ok(rows
                .filter_map(|row| {
                    let (aspect, value, source) = row.ok()?;
                    Some(DescriptorLabel {
                        aspect: aspect.parse().ok()?,
                        value,
                        source,
                    })
                })
                .collect())
        })
    }

    /// Records (`Some`) or forgets (`None`) a track's descriptor of `aspect`.
    pub fn set_descriptor_label(
        &mut self,
        track_id: i64,
        aspect: Aspect,
        decided: Option<(&str, DecisionSource)>,
    ) -> Result<()> {
        self.transaction(|tx| {
            match decided {
                Some((value, source)) => tx.execute(
                    "INSERT INTO descriptor_labels (track_id, aspect, value, source, at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(track_id, aspect) DO UPDATE SET value = excluded.value,
                         source = excluded.source, at = excluded.at",
                    params![track_id, aspect.as_str(), value, source, now()],
                )?,
                None => tx.execute(
                    "DELETE FROM descriptor_labels WHERE track_id = ?1 AND aspect = ?2",
                    params![track_id, aspect.as_str()],
                )?,
            };
            Ok(())
        })
    }

    /// Whether the track view suggests descriptors (vocals, mood, era,
    /// genres beyond the model's): off until the user turns them on.
    pub fn describes(&self) -> Result<bool> {
        Ok(self.setting(DESCRIPTORS)?.unwrap_or(false))
    }

    pub fn set_describes(&mut self, on: bool) -> Result<()> {
        self.put_setting(DESCRIPTORS, &on)
    }

    fn setting<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let stored: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT value FROM library_settings WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(stored.and_then(|text| serde_json::from_str(&text).ok()))
    }

    fn put_setting<T: serde::Serialize>(&mut self, key: &str, value: &T) -> Result<()> {
        let value = serde_json::to_string(value).expect("settings serialise");
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO library_settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    /// How many genres this library's tracks may get (the default until the
    /// user sets it).
    pub fn several_genres(&self) -> Result<SeveralGenres> {
        Ok(self.setting(SEVERAL_GENRES)?.unwrap_or_default())
    }

    /// Keeps the several-genre setting; the caller re-votes the proposals.
    pub fn set_several_genres(&mut self, several: SeveralGenres) -> Result<()> {
        self.put_setting(SEVERAL_GENRES, &several)
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
        assert!(
            !lib.describes().unwrap(),
            "descriptors are off until turned on"
        );
        lib.set_describes(true).unwrap();
        let again = Library::open(&dir.path().join("l.sqlite")).unwrap();
        assert_eq!(again.several_genres().unwrap(), SeveralGenres::ONE);
        assert!(again.describes().unwrap());
    }

    #[test]
    fn a_descriptor_decision_is_kept_changed_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = Library::open(&dir.path().join("l.sqlite")).unwrap();
        let info = crate::store::TrackInfo::default();
        let id = lib
            .transaction(|tx| {
                super::super::tracks::upsert_track(
                    tx,
                    std::path::Path::new("/m/a.mp3"),
                    10,
                    5,
                    &info,
                )
            })
            .unwrap();
        lib.set_descriptor_label(
            id,
            Aspect::Vocals,
            Some(("Instrumental", DecisionSource::Accepted)),
        )
        .unwrap();
        lib.set_descriptor_label(
            id,
            Aspect::Vocals,
            Some(("Vocals", DecisionSource::Overridden)),
        )
        .unwrap();
        lib.set_descriptor_label(id, Aspect::Mood, Some(("Mellow", DecisionSource::Accepted)))
            .unwrap();
        let kept = lib.descriptor_labels(id).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(
            (kept[1].aspect, kept[1].value.as_str()),
            (Aspect::Vocals, "Vocals")
        );
        lib.set_descriptor_label(id, Aspect::Vocals, None).unwrap();
        assert_eq!(lib.descriptor_labels(id).unwrap().len(), 1);
    }
}
