//! Genre vocabulary and the super-genre map.
//!
//! The article merges sub-genres into broad super-genres so each has enough
//! songs. Sonotag ships a default map (Concertos/Baroque/Opera → Classical,
//! House/Techno/Dubstep → Electronic, Rap/Trap → Hip-Hop, …) that the user can
//! edit as `genres.toml` in the config directory:
//!
//! ```toml
//! [map]
//! "Synthwave" = "Electronic"
//! "Bossa Nova" = "Jazz"
//! ```
//!
//! Matching ignores case, spaces, hyphens and punctuation ("hip hop",
//! "Hip-Hop" and "hiphop" are one genre).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The eleven genres of the default model.
pub const DEFAULT_GENRES: &[&str] = &[
    "Blues",
    "Classical",
    "Country",
    "Disco",
    "Electronic",
    "Hip-Hop",
    "Jazz",
    "Metal",
    "Pop",
    "Reggae",
    "Rock",
];

/// Default sub-genre → super-genre pairs.
const DEFAULT_MAP: &[(&str, &str)] = &[
    ("Concertos", "Classical"),
    ("Concerto", "Classical"),
    ("Baroque", "Classical"),
    ("Opera", "Classical"),
    ("Orchestral", "Classical"),
    ("Symphony", "Classical"),
    ("Chamber Music", "Classical"),
    ("Romantic", "Classical"),
    ("Soundtrack", "Classical"),
    ("House", "Electronic"),
    ("Techno", "Electronic"),
    ("Trance", "Electronic"),
    ("Dubstep", "Electronic"),
    ("Drum & Bass", "Electronic"),
    ("Drum and Bass", "Electronic"),
    ("DnB", "Electronic"),
    ("Electro", "Electronic"),
    ("Electronica", "Electronic"),
    ("EDM", "Electronic"),
    ("Ambient", "Electronic"),
    ("Industrial", "Electronic"),
    ("Synthpop", "Electronic"),
    ("Dance", "Electronic"),
    ("Rap", "Hip-Hop"),
    ("Trap", "Hip-Hop"),
    ("Gangsta", "Hip-Hop"),
    ("Hip Hop", "Hip-Hop"),
    ("Bebop", "Jazz"),
    ("Swing", "Jazz"),
    ("Big Band", "Jazz"),
    ("Fusion", "Jazz"),
    ("Heavy Metal", "Metal"),
    ("Death Metal", "Metal"),
    ("Black Metal", "Metal"),
    ("Thrash Metal", "Metal"),
    ("Hard Rock", "Rock"),
    ("Classic Rock", "Rock"),
    ("Alternative", "Rock"),
    ("Alternative Rock", "Rock"),
    ("Indie", "Rock"),
    ("Indie Rock", "Rock"),
    ("Punk", "Rock"),
    ("Grunge", "Rock"),
    ("Rock & Roll", "Rock"),
    ("Dancehall", "Reggae"),
    ("Ska", "Reggae"),
    ("Dub", "Reggae"),
    ("Bluegrass", "Country"),
    ("Folk", "Country"),
    ("Americana", "Country"),
    ("Rhythm & Blues", "Blues"),
    ("Funk", "Disco"),
    ("Soul", "Pop"),
    ("R&B", "Pop"),
    ("Pop Rock", "Pop"),
    ("K-Pop", "Pop"),
];

/// Normalises a genre name for matching.
pub fn key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric() || *c == '&')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The user's vocabulary: canonical genres and aliases mapping to them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    /// Canonical genres, in display order.
    pub genres: Vec<String>,
    /// Alias → canonical genre.
    pub map: BTreeMap<String, String>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Self {
            genres: DEFAULT_GENRES.iter().map(|s| s.to_string()).collect(),
            map: DEFAULT_MAP
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }
}

/// Errors reading the vocabulary file, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct VocabularyError {
    pub path: PathBuf,
    pub reason: String,
}

impl Vocabulary {
    /// The canonical genre for a tag value, or `None` when unknown.
    pub fn canonical(&self, name: &str) -> Option<String> {
        let k = key(name);
        if k.is_empty() {
            return None;
        }
        if let Some(g) = self.genres.iter().find(|g| key(g) == k) {
            return Some(g.clone());
        }
        self.map
            .iter()
            .find(|(alias, _)| key(alias) == k)
            .map(|(_, target)| target.clone())
    }

    /// Canonical display form of a name: the vocabulary's spelling when known,
    /// the name itself (trimmed) otherwise — users may have their own genres.
    pub fn display(&self, name: &str) -> String {
        self.canonical(name)
            .unwrap_or_else(|| name.trim().to_string())
    }

    /// How to write a genre the user chose: the vocabulary's spelling when
    /// it names one of its genres or mapped names (any case), else exactly
    /// what was typed (trimmed). Never mapped to a super-genre: "soul" is
    /// written "Soul", not "Pop".
    pub fn spelling(&self, name: &str) -> String {
        let k = key(name);
        self.genres
            .iter()
            .chain(self.map.keys())
            .find(|g| key(g) == k)
            .cloned()
            .unwrap_or_else(|| name.trim().to_string())
    }

    /// Checks that every mapping leads to one of the genres: a map entry
    /// pointing at a genre that does not exist would silently invent one.
    /// The error lists every bad entry.
    pub fn validate(&self) -> Result<(), String> {
        let bad: Vec<String> = self
            .map
            .iter()
            .filter(|(_, target)| !self.genres.iter().any(|g| key(g) == key(target)))
            .map(|(alias, target)| format!("{alias:?} → {target:?}"))
            .collect();
        if self.genres.is_empty() {
            return Err("`genres` is empty: list at least one genre".into());
        }
        match bad.as_slice() {
            [] => Ok(()),
            _ => Err(format!(
                "these mappings lead to genres not in `genres`: {} (add the genre, or map to an existing one)",
                bad.join(", ")
            )),
        }
    }

    /// Loads `path`, or the defaults when it does not exist.
    pub fn load(path: &Path) -> Result<Self, VocabularyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut v: Vocabulary = toml::from_str(&text).map_err(|e| VocabularyError {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
                if v.genres.is_empty() {
                    v.genres = Self::default().genres;
                }
                Ok(v)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(VocabularyError {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Writes the vocabulary as TOML.
    pub fn save(&self, path: &Path) -> Result<(), VocabularyError> {
        let err = |reason: String| VocabularyError {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(path, text).map_err(|e| err(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_keeps_what_the_user_chose() {
        let v = Vocabulary::default();
        assert_eq!(v.spelling("hip-hop"), "Hip-Hop");
        assert_eq!(v.spelling(" soul "), "Soul");
        assert_eq!(v.spelling("Zeuhl"), "Zeuhl");
        assert_eq!(v.spelling("Folk"), "Folk");
        // Learning still maps it to a super-genre.
        assert_ne!(v.display("Soul"), "Soul");
    }

    #[test]
    fn validation_names_every_mapping_to_an_unknown_genre() {
        assert!(Vocabulary::default().validate().is_ok());
        let mut v = Vocabulary::default();
        v.map.insert("dubstep".into(), "Bass Music".into());
        v.map.insert("grime".into(), "UK Rap".into());
        let err = v.validate().unwrap_err();
        assert!(err.contains("\"dubstep\" → \"Bass Music\""), "{err}");
        assert!(err.contains("\"grime\" → \"UK Rap\""), "{err}");
    }

    #[test]
    fn maps_sub_genres_and_spellings() {
        let v = Vocabulary::default();
        assert_eq!(v.canonical("hiphop").as_deref(), Some("Hip-Hop"));
        assert_eq!(v.canonical("Hip Hop").as_deref(), Some("Hip-Hop"));
        assert_eq!(v.canonical("Concertos").as_deref(), Some("Classical"));
        assert_eq!(v.canonical("drum & bass").as_deref(), Some("Electronic"));
        assert_eq!(v.canonical("Trap").as_deref(), Some("Hip-Hop"));
        assert_eq!(v.canonical("Polka"), None);
        assert_eq!(v.display("  Polka "), "Polka");
    }

    #[test]
    fn round_trips_through_toml() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("genres.toml");
        assert_eq!(Vocabulary::load(&p).unwrap(), Vocabulary::default());
        let mut v = Vocabulary::default();
        v.map.insert("Synthwave".into(), "Electronic".into());
        v.save(&p).unwrap();
        let back = Vocabulary::load(&p).unwrap();
        assert_eq!(back.canonical("synthwave").as_deref(), Some("Electronic"));
        std::fs::write(&p, "genres = 3").unwrap();
        assert!(
            Vocabulary::load(&p)
                .unwrap_err()
                .to_string()
                .contains("genres.toml")
        );
    }
}
