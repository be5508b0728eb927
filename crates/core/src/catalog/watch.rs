//! Watching a library's folders, so that files added, changed, moved or
//! removed by other programs show without a rescan click.
//!
//! The operating system's notifications (inotify, FSEvents, ReadDirectory-
//! ChangesW, through the `notify` crate) only say that something changed;
//! what changed is worked out by the ordinary incremental scan
//! ([`super::walk`]), which is cheap when little did. A copy in progress
//! sends many events, so a change is reported only once the folders have
//! been quiet for a moment ([`FolderWatch::settled`]). Reads (access
//! events) and the library's own files are not changes.

use crate::audio::formats::is_audio_candidate;
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the folders must be quiet before a change is reported.
pub const QUIET: Duration = Duration::from_millis(800);

/// A watch over some folders, recursively, for as long as it lives.
pub struct FolderWatch {
    roots: Vec<PathBuf>,
    /// The last change seen and not yet reported.
    last_change: Arc<Mutex<Option<Instant>>>,
    _watcher: notify::RecommendedWatcher,
}

impl FolderWatch {
    /// Starts watching `roots` (each recursively). Errors (a folder that
    /// cannot be watched, the system's limit on watches) name the folder.
    pub fn start(roots: &[PathBuf]) -> Result<Self, String> {
        let last_change: Arc<Mutex<Option<Instant>>> = Arc::default();
        let seen = last_change.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if matches!(event.kind, EventKind::Access(_))
                    || !event.paths.iter().any(|p| matters(p))
                {
                    return;
                }
                if let Ok(mut last) = seen.lock() {
                    *last = Some(Instant::now());
                }
            })
            .map_err(|e| format!("cannot watch folders: {e}"))?;
        for root in roots {
            watcher
                .watch(root, RecursiveMode::Recursive)
                .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
        }
        Ok(Self {
            roots: roots.to_vec(),
            last_change,
            _watcher: watcher,
        })
    }

    /// The folders watched.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// True once, when something changed and the folders have been quiet
    /// for [`QUIET`] since: the moment to rescan.
    pub fn settled(&self) -> bool {
        let Ok(mut last) = self.last_change.lock() else {
            return false;
        };
        match *last {
            Some(at) if at.elapsed() >= QUIET => {
                *last = None;
                true
            }
            _ => false,
        }
    }
}

/// Whether a change at `path` can change the library: an audio file, a
/// folder (moved or removed whole), or anything gone (it may have been
/// either). The library's database and journal, should they sit inside a
/// music folder, are not.
fn matters(path: &Path) -> bool {
    let own = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains(".sqlite") || n.contains("sonotag-journal"));
    !own && (is_audio_candidate(path) || path.is_dir() || !path.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_copied_in_is_reported_once_the_folder_is_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let watch = FolderWatch::start(&[dir.path().to_path_buf()]).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not music").unwrap();
        std::thread::sleep(QUIET + Duration::from_millis(300));
        assert!(!watch.settled(), "a text file is not a change");
        let sub = dir.path().join("album");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("new.mp3"), b"ID3").unwrap();
        let t0 = Instant::now();
        while !watch.settled() {
            assert!(t0.elapsed() < Duration::from_secs(5), "no change reported");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(t0.elapsed() >= QUIET - Duration::from_millis(100));
        assert!(!watch.settled(), "reported once");
    }
}
