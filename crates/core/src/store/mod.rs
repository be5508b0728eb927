//! The SQLite library file: schema, migrations and typed access to tracks.
//!
//! One file (default `~/.local/share/sonotag/library.sqlite`) holds
//! everything Sonotag knows: scanned tracks and their tags, scan errors,
//! analyses stamped with the feature and model version, proposals, trusted
//! labels, tag-write history (for undo) and registered models. WAL mode lets
//! the GUI read while a background job writes; foreign keys are enforced.
//!
//! This module is the only one that speaks SQL: the connection is private,
//! and each table group has typed functions in its own file (`labels`,
//! `tag_history`, `analyses`, `models`, `track_rows`, `tracks`); the schema
//! and its migrations are in `schema`.
//!
//! Paths are stored as raw bytes (`path` BLOB) so non-UTF-8 file names survive
//! a round trip, with a lossy `path_text` beside them for display and search.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

mod analyses;
mod labels;
mod library_settings;
mod models;
mod schema;
mod tag_history;
mod track_rows;
mod tracks;

pub use analyses::{Analysis, Outcome, PendingTrack, ProposalRow};
pub use labels::{DecisionRow, DecisionSource, Label, LabelledFile, TrackLabel, is_written};
pub use library_settings::DescriptorLabel;
pub use models::ModelRecord;
pub use schema::SCHEMA_VERSION;
pub use tag_history::{Batch, BatchState, NewWrite, TagWrite, WriteKind};
pub use track_rows::TrackRow;
pub use tracks::{
    FileError, FileStamp, Relink, ScanError, ScannedFile, SkippedFile, Track, TrackFilter,
    TrackInfo, TrackStatus,
};

/// Errors from the library file; each names the database path.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("library {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("library {}: cannot create folder: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "library {}: written by a newer Sonotag (schema {found}, this build knows {known}); upgrade Sonotag",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

pub type Result<T> = std::result::Result<T, LibraryError>;

/// Serialises a path as a (lossy) string, for JSON output.
pub fn serialize_path_str<S: serde::Serializer>(
    p: &Path,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Raw bytes of a path (lossless on Unix).
pub fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().as_bytes().to_vec()
    }
}

/// Path from raw bytes stored by [`path_bytes`].
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// A list of genres as a JSON column stores it.
pub(crate) fn genres_json(genres: &[String]) -> String {
    serde_json::to_string(genres).expect("strings serialise")
}

/// A JSON genre column's values (none where it cannot be read).
pub(crate) fn genres_from_json(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 as a civil date (year, month, day), proleptic
/// Gregorian, after H. Hinnant's algorithm.
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A time stored by the library (seconds since 1970) as people read it:
/// `2026-11-28 05:10 UTC`.
pub fn utc_text(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// An open library file.
pub struct Library {
    conn: Connection,
    path: PathBuf,
}

impl Library {
    /// Opens (creating if needed) the library at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LibraryError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| LibraryError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let mut lib = Self {
            conn,
            path: path.to_path_buf(),
        };
        lib.configure()?;
        lib.migrate()?;
        Ok(lib)
    }

    /// The file this library lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A number that changes whenever another connection (another process,
    /// or another connection of this one) commits to the library: a cheap
    /// way for a view to know it is stale.
    pub fn data_version(&self) -> Result<i64> {
        self.read(|c| c.query_row("PRAGMA data_version", [], |r| r.get(0)))
    }

    /// Wraps a rusqlite error with the library path.
    pub fn err(&self, source: rusqlite::Error) -> LibraryError {
        LibraryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn configure(&mut self) -> Result<()> {
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 10000;",
            )
            .map_err(|e| self.err(e))
    }

    /// Runs read-only queries `f` on the connection, naming the library in
    /// an error.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        f(&self.conn).map_err(|e| self.err(e))
    }

    /// Runs `f` inside one transaction (committed when `f` succeeds).
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        let wrap = |source| LibraryError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        let out = f(&tx).map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_reads_like_a_calendar() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_text(1_795_842_600), "2026-11-28 05:10 UTC");
    }

    #[test]
    fn migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sub/lib.sqlite");
        let mut lib = Library::open(&db).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        let info = TrackInfo {
            genres: vec!["Rock".into(), "Blues".into()],
            ..Default::default()
        };
        let id = lib
            .transaction(|tx| tracks::upsert_track(tx, Path::new("/m/a.mp3"), 10, 5, &info))
            .unwrap();
        drop(lib);
        let lib = Library::open(&db).unwrap();
        let t = lib.track(id).unwrap().unwrap();
        assert_eq!(t.info.genres, vec!["Rock", "Blues"]);
        let f = TrackFilter {
            genre: Some("blues".into()),
            ..Default::default()
        };
        assert_eq!(lib.tracks(&f).unwrap().len(), 1);
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lib.sqlite");
        drop(Library::open(&db).unwrap());
        let c = Connection::open(&db).unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
        drop(c);
        let err = Library::open(&db).err().unwrap().to_string();
        assert!(err.contains("newer Sonotag"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_round_trip() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/m/caf\xe9.mp3"));
        assert_eq!(path_from_bytes(path_bytes(p)), p);
    }
}
