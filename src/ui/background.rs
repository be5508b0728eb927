//! Work the window hands to the background, and keeping its views of the
//! library fresh.
//!
//! Every read and write of the library except one track's evidence runs
//! on the runtime's blocking pool ([`blocking`], [`with_library`]). The
//! rows, models, label counts and file errors are read in one
//! [`Snapshot`]; [`Reloads`] debounces the requests for one, so that a job
//! committing every second never makes the window reload more than a few
//! times a second, and notices commits made elsewhere (the command line,
//! another window) by the library's data version.

use crate::ui::screen::{retrain, table};
use sonotag_core::catalog::review;
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::config::paths::Paths;
use sonotag_core::ml::model::ModelCard;
use sonotag_core::ml::model::ModelRow;
use sonotag_core::store::{DecisionSource, FileError, Library};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A reload waits this long, so that several changes in a row make one.
const RELOAD_DEBOUNCE: Duration = Duration::from_millis(150);

/// How often the window looks whether the library changed elsewhere.
pub const WATCH_EVERY: Duration = Duration::from_millis(700);

/// Runs blocking work on the runtime's blocking pool; a panic becomes an
/// error message instead of taking the window down.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(format!("background work failed: {e}")))
}

/// A value made in the background and handed to the window once: messages
/// must be `Clone`, a library connection is not.
pub struct Handoff<T>(Arc<std::sync::Mutex<Option<T>>>);

impl<T> Clone for Handoff<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Handoff<T> {
    pub fn new(value: T) -> Self {
        Self(Arc::new(std::sync::Mutex::new(Some(value))))
    }

    /// The value, the first time only.
    pub fn take(&self) -> Option<T> {
        self.0.lock().ok()?.take()
    }
}

impl<T> std::fmt::Debug for Handoff<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handoff")
    }
}

/// The library as the window starts with it: opened (migrated when an
/// older Sonotag made it) and with the tag writes an earlier run left
/// interrupted finished or rolled back.
pub struct Opened {
    pub lib: Library,
    /// What recovery did, or why it could not look.
    pub recovered: Result<Vec<sonotag_core::tags::Recovered>, String>,
}

/// Opens the library at `database` and recovers interrupted writes, off the
/// UI thread (a migration or a recovery can take seconds).
pub async fn open_library(database: PathBuf) -> Result<Handoff<Opened>, String> {
    blocking(move || {
        let mut lib = Library::open(&database).map_err(|e| e.to_string())?;
        let recovered = sonotag_core::tags::recover(&mut lib).map_err(|e| e.to_string());
        Ok(Handoff::new(Opened { lib, recovered }))
    })
    .await
}

/// Runs `work` on its own library connection, off the UI thread.
pub fn with_library<T: Send + 'static>(
    database: PathBuf,
    work: impl FnOnce(&mut Library) -> anyhow::Result<T> + Send + 'static,
) -> impl Future<Output = Result<T, String>> {
    blocking(move || {
        let mut lib = Library::open(&database).map_err(|e| e.to_string())?;
        work(&mut lib).map_err(|e| format!("{e:#}"))
    })
}

/// Everything the window reads from the library in one go, off the UI
/// thread.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub rows: table::Prepared,
    pub models: Vec<ModelRow>,
    pub label_counts: retrain::LabelCounts,
    pub file_errors: Vec<FileError>,
    /// Tracks whose files are gone, by path.
    pub missing: Vec<PathBuf>,
    /// A tag write is there to undo.
    pub undoable_write: bool,
}

/// Reads a [`Snapshot`] (what a reload does in the background).
pub fn load_snapshot(paths: &Paths, vocab: &Vocabulary) -> Result<Snapshot, String> {
    let lib = Library::open(&paths.database).map_err(|e| e.to_string())?;
    let models = lib.models::<ModelCard>().map_err(|e| e.to_string())?;
    let active = models.iter().find(|m| m.active).map(|m| m.id);
    let mut label_counts = retrain::LabelCounts::new();
    for l in
        sonotag_core::ml::corrections::trusted_labels(&lib, vocab).map_err(|e| format!("{e:#}"))?
    {
        let e = label_counts.entry(l.genre).or_default();
        if l.source == DecisionSource::Tag {
            e.1 += 1
        } else {
            e.0 += 1
        }
    }
    Ok(Snapshot {
        rows: table::prepare(review::rows(&lib, active).map_err(|e| format!("{e:#}"))?),
        models,
        label_counts,
        file_errors: lib.file_errors().map_err(|e| e.to_string())?,
        missing: lib
            .tracks(&sonotag_core::store::TrackFilter {
                missing: true,
                ..Default::default()
            })
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|t| t.path)
            .collect(),
        undoable_write: lib
            .latest_open_batch()
            .map_err(|e| e.to_string())?
            .is_some(),
    })
}

/// A snapshot read in the background, shared so the message can be cloned.
pub type Loaded = Result<Arc<Snapshot>, String>;

/// When the window reads the library again.
#[derive(Debug, Default)]
pub struct Reloads {
    /// A reload is running; another is due after it.
    running: bool,
    due: bool,
    /// The library's data version when last looked at.
    seen_version: Option<i64>,
}

impl Reloads {
    /// Starts watching `lib` from its present version.
    pub fn watching(lib: &Library) -> Self {
        Self {
            seen_version: lib.data_version().ok(),
            ..Self::default()
        }
    }

    /// A reload soon (debounced), unless one is running: then one after it.
    pub fn request(
        &mut self,
        paths: &Paths,
        vocab: &Vocabulary,
    ) -> Option<impl Future<Output = Loaded> + use<>> {
        if self.running {
            self.due = true;
            return None;
        }
        Some(self.start(paths, vocab, RELOAD_DEBOUNCE))
    }

    /// A reload at once.
    pub fn now(
        &mut self,
        paths: &Paths,
        vocab: &Vocabulary,
    ) -> impl Future<Output = Loaded> + use<> {
        self.start(paths, vocab, Duration::ZERO)
    }

    fn start(
        &mut self,
        paths: &Paths,
        vocab: &Vocabulary,
        delay: Duration,
    ) -> impl Future<Output = Loaded> + use<> {
        self.running = true;
        let paths = paths.clone();
        let vocab = vocab.clone();
        async move {
            tokio::time::sleep(delay).await;
            blocking(move || load_snapshot(&paths, &vocab).map(Arc::new)).await
        }
    }

    /// A reload is running or due.
    #[cfg(test)]
    pub fn pending(&self) -> bool {
        self.running || self.due
    }

    /// A reload landed: whether another is due now.
    pub fn landed(&mut self) -> bool {
        self.running = false;
        std::mem::take(&mut self.due)
    }

    /// Whether the library changed since the last look (a commit anywhere).
    pub fn changed(&mut self, lib: &Library) -> bool {
        let Ok(version) = lib.data_version() else {
            return false;
        };
        let changed = self.seen_version.is_some_and(|seen| seen != version);
        self.seen_version = Some(version);
        changed
    }
}
