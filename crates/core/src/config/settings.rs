//! User settings persisted as `settings.toml` in the config directory.

use crate::proposal::Thresholds;
use crate::tags::WriteSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything the user can set in the app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Voting thresholds; `None` uses the model card's.
    pub thresholds: Option<Thresholds>,
    pub write: WriteSettings,
    pub dark_theme: bool,
    /// Recently opened folders, newest first.
    pub recent_folders: Vec<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            thresholds: None,
            write: WriteSettings::default(),
            dark_theme: true,
            recent_folders: Vec::new(),
        }
    }
}

impl Settings {
    /// Loads `path`; a missing or unreadable file gives the defaults (and a
    /// warning in the log).
    pub fn load(path: &Path) -> Self {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!("{}: {e}; using default settings", path.display());
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    /// Writes the settings (creating the folder).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = toml::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// Puts `folder` first in the recent list (at most 8 kept).
    pub fn remember_folder(&mut self, folder: &Path) {
        self.recent_folders.retain(|f| f != folder);
        self.recent_folders.insert(0, folder.to_path_buf());
        self.recent_folders.truncate(8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_recent_folders() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s/settings.toml");
        let mut s = Settings::load(&p);
        assert_eq!(s, Settings::default());
        for i in 0..10 {
            s.remember_folder(Path::new(&format!("/m/{i}")));
        }
        s.remember_folder(Path::new("/m/3"));
        assert_eq!(s.recent_folders.len(), 8);
        assert_eq!(s.recent_folders[0], Path::new("/m/3"));
        s.thresholds = Some(Thresholds {
            slice: 0.4,
            track: 0.6,
        });
        s.save(&p).unwrap();
        assert_eq!(Settings::load(&p), s);
    }
}
