//! The library's schema: every migration since the first, applied in order
//! inside a transaction each, and the refusal of a file made by a newer build.

use super::{Library, LibraryError, Result};

/// Schema migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // v1: the analysis core and room for the model, review and tag history.
    r#"
    CREATE TABLE tracks (
        id            INTEGER PRIMARY KEY,
        path          BLOB NOT NULL UNIQUE,
        path_text     TEXT NOT NULL,
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        format        TEXT,
        duration_s    REAL,
        sample_rate   INTEGER,
        channels      INTEGER,
        bitrate_kbps  INTEGER,
        title         TEXT,
        artist        TEXT,
        album         TEXT,
        album_artist  TEXT,
        track_no      INTEGER,
        year          INTEGER,
        genres        TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
        status        TEXT NOT NULL DEFAULT 'ok',   -- ok | missing | error
        scanned_at    INTEGER NOT NULL
    );
    CREATE INDEX tracks_status ON tracks(status);

    CREATE TABLE scan_errors (
        path       BLOB PRIMARY KEY,
        path_text  TEXT NOT NULL,
        message    TEXT NOT NULL,
        at         INTEGER NOT NULL
    );

    CREATE TABLE models (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        path        TEXT NOT NULL,
        parent      INTEGER REFERENCES models(id),
        card        TEXT NOT NULL,               -- the model card JSON
        created_at  INTEGER NOT NULL,
        active      INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE analyses (
        track_id          INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        model_id          INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        features_version  INTEGER NOT NULL,
        slices            INTEGER NOT NULL,
        slice_starts      BLOB NOT NULL,   -- u32 LE column index per slice
        probabilities     BLOB NOT NULL,   -- u8 (p*255) slices × classes
        embeddings        BLOB NOT NULL,   -- f16 LE slices × dim
        decode_errors     INTEGER NOT NULL DEFAULT 0,
        created_at        INTEGER NOT NULL,
        PRIMARY KEY (track_id, model_id)
    );

    CREATE TABLE analysis_errors (
        track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        message    TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (track_id, model_id)
    );

    CREATE TABLE proposals (
        track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        genre      TEXT,
        share      REAL NOT NULL,
        votes      INTEGER NOT NULL,
        state      TEXT NOT NULL,          -- proposed | unsure
        created_at INTEGER NOT NULL,
        PRIMARY KEY (track_id, model_id)
    );

    CREATE TABLE labels (
        track_id   INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
        genre      TEXT NOT NULL,
        source     TEXT NOT NULL,          -- accepted | overridden | tag
        at         INTEGER NOT NULL
    );

    CREATE TABLE tag_batches (
        id         INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        undone_at  INTEGER
    );

    CREATE TABLE tag_writes (
        id           INTEGER PRIMARY KEY,
        batch_id     INTEGER NOT NULL REFERENCES tag_batches(id),
        track_id     INTEGER NOT NULL REFERENCES tracks(id),
        old_genres   TEXT NOT NULL,
        new_genres   TEXT NOT NULL,
        size_before  INTEGER NOT NULL,
        mtime_before INTEGER NOT NULL,
        size_after   INTEGER,
        mtime_after  INTEGER,
        error        TEXT
    );
    "#,
    // v2: a per-track permission to replace a genre the file already has.
    r#"
    ALTER TABLE labels ADD COLUMN replace_existing INTEGER NOT NULL DEFAULT 0;
    "#,
    // v3: byte-exact undo (hash of what was written, reverse patch),
    // per-file undo (a batch undone in part can be finished later), and
    // the genre typed when the user asked for its super-genre.
    r#"
    ALTER TABLE tag_writes ADD COLUMN written_sha256 TEXT;
    ALTER TABLE tag_writes ADD COLUMN undo_patch BLOB;
    ALTER TABLE tag_writes ADD COLUMN undone_at INTEGER;
    ALTER TABLE labels ADD COLUMN mapped_from TEXT;
    "#,
    // The file's identity (device:inode:ctime_ns) beside size and mtime: a
    // file swapped for another of the same size and mtime is noticed.
    r#"
    ALTER TABLE tracks ADD COLUMN identity TEXT;
    "#,
    // v5: the recording's key (audio/content_key.rs), so a moved, renamed or
    // re-tagged file keeps its track; and the files a scan skipped, each
    // with its reason, so every file under a folder is accounted for.
    r#"
    ALTER TABLE tracks ADD COLUMN audio_key TEXT;
    CREATE INDEX tracks_audio_key ON tracks(audio_key);
    CREATE TABLE scan_skips (
        path       BLOB PRIMARY KEY,
        path_text  TEXT NOT NULL,
        reason     TEXT NOT NULL,
        at         INTEGER NOT NULL
    );
    "#,
    // v6: several genres a track: the further genres a proposal names and
    // a decision keeps beside its first (JSON arrays; the first genre stays
    // in `genre`, the one retraining learns from), and the library's own
    // settings (how many genres its tracks get), which its stored
    // proposals depend on, so the window and the CLI agree; and the user's
    // decisions on descriptors (vocals, mood, era: ml/descriptors.rs).
    r#"
    ALTER TABLE proposals ADD COLUMN also_genres TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE labels ADD COLUMN also_genres TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE library_settings (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL            -- JSON
    );
    CREATE TABLE descriptor_labels (
        track_id  INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        aspect    TEXT NOT NULL,        -- vocals | mood | era
        value     TEXT NOT NULL,
        source    TEXT NOT NULL,        -- accepted | overridden
        at        INTEGER NOT NULL,
        PRIMARY KEY (track_id, aspect)
    );
    "#,
];

/// Current schema version of this build.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

impl Library {
    pub(super) fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(LibraryError::TooNew {
                path: self.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction().map_err(|e| LibraryError::Sqlite {
                path: self.path.clone(),
                source: e,
            })?;
            tx.execute_batch(sql)
                .and_then(|_| tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)))
                .and_then(|_| tx.commit())
                .map_err(|source| LibraryError::Sqlite {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Schema version stored in the file.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}
