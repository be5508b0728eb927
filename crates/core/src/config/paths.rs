//! Where Sonotag keeps its files, resolved once per run and handed to
//! everything that needs one: the command line, the window and the jobs
//! all read the same `Paths` instead of each asking the environment.

use std::path::{Path, PathBuf};

/// The files of one Sonotag setup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The library database.
    pub database: PathBuf,
    /// User settings (`settings.toml`).
    pub settings: PathBuf,
    /// The genre vocabulary and super-genre map (`genres.toml`).
    pub vocabulary: PathBuf,
    /// Models made by retraining this library, beside the database.
    pub models: PathBuf,
}

impl Paths {
    /// The user's setup: `database` when given (`--db` or `SONOTAG_DB`),
    /// else `library.sqlite` in the platform's data folder; settings and
    /// vocabulary in its config folder (`~/.config/sonotag/`).
    pub fn for_user(database: Option<PathBuf>) -> Self {
        let dirs = directories::ProjectDirs::from("org", "sonotag", "sonotag");
        let database = database.unwrap_or_else(|| match &dirs {
            Some(d) => d.data_dir().join("library.sqlite"),
            None => PathBuf::from("sonotag-library.sqlite"),
        });
        let config = dirs
            .as_ref()
            .map(|d| d.config_dir().to_path_buf())
            .unwrap_or_default();
        Self {
            models: models_beside(&database),
            settings: config.join("settings.toml"),
            vocabulary: config.join("genres.toml"),
            database,
        }
    }

    /// Everything in one folder: for tests and portable setups.
    pub fn in_folder(dir: &Path) -> Self {
        Self {
            database: dir.join("library.sqlite"),
            settings: dir.join("settings.toml"),
            vocabulary: dir.join("genres.toml"),
            models: dir.join("models"),
        }
    }
}

fn models_beside(database: &Path) -> PathBuf {
    database
        .parent()
        .map(|p| p.join("models"))
        .unwrap_or_else(|| PathBuf::from("models"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_database_keeps_its_models_beside_it() {
        let p = Paths::for_user(Some(PathBuf::from("/music/lib.sqlite")));
        assert_eq!(p.database, PathBuf::from("/music/lib.sqlite"));
        assert_eq!(p.models, PathBuf::from("/music/models"));
        assert!(p.vocabulary.ends_with("genres.toml"));
        let q = Paths::in_folder(Path::new("/tmp/x"));
        assert_eq!(q.settings, PathBuf::from("/tmp/x/settings.toml"));
    }
}
