//! Scanning end to end through the `sonotag` binary: odd names, bad files,
//! symlink loops, incremental rescans; the database is checked each time.

use lofty::prelude::*;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn sonotag(db: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rows(db: &Path, sql: &str) -> Vec<(String, String)> {
    let c = Connection::open(db).unwrap();
    let mut stmt = c.prepare(sql).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn scan_rescan_and_listing() {
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("Music");
    let db = tmp.path().join("lib.sqlite");
    let nested = music.join("Ärtist with spaces/Album — 1");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::copy(fixture("tone.mp3"), nested.join("01 Première.mp3")).unwrap();
    std::fs::copy(fixture("tone.flac"), nested.join("02 日本語.flac")).unwrap();
    std::fs::copy(fixture("tone.ogg"), music.join("loose.OGG")).unwrap();
    std::fs::copy(fixture("tone.opus"), music.join("opus.opus")).unwrap();
    std::fs::copy(fixture("tone.m4a"), music.join("aac.m4a")).unwrap();
    std::fs::copy(fixture("tone.wav"), music.join("pcm.wav")).unwrap();
    // Bad files.
    std::fs::write(music.join("empty.mp3"), b"").unwrap();
    std::fs::write(music.join("readme.mp3"), "just text\n".repeat(100)).unwrap();
    let mut corrupt = std::fs::read(fixture("tone.flac")).unwrap();
    corrupt[..4].copy_from_slice(b"XXXX");
    std::fs::write(music.join("corrupt.flac"), corrupt).unwrap();
    std::fs::write(music.join("cover.jpg"), b"not scanned").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&music, nested.join("loop")).unwrap();
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9 latin1.mp3");
        std::fs::copy(fixture("tone.mp3"), music.join(odd)).unwrap();
    }

    let (ok, out, err) = sonotag(&db, &["scan", music.to_str().unwrap()]);
    assert!(ok, "scan failed: {err}");
    assert!(out.contains("7 added"), "{out}\n{err}");
    assert!(out.contains("1 skipped"), "cover.jpg: {out}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM tracks WHERE status='ok'"),
        7
    );
    let errors = rows(
        &db,
        "SELECT path_text, message FROM scan_errors ORDER BY path_text",
    );
    let names: Vec<&str> = errors
        .iter()
        .map(|(p, _)| Path::new(p).file_name().unwrap().to_str().unwrap())
        .collect();
    assert!(names.contains(&"empty.mp3"), "{errors:?}");
    assert!(names.contains(&"readme.mp3"), "{errors:?}");
    assert!(names.contains(&"corrupt.flac"), "{errors:?}");
    assert!(errors.iter().any(|(_, m)| m.contains("0 bytes")));
    assert!(errors.iter().any(|(_, m)| m.contains("loop")), "{errors:?}");

    // Tags and properties were read.
    let (_, json, _) = sonotag(&db, &["tracks", "--genre", "jazz", "--json"]);
    let tracks: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tracks = tracks.as_array().unwrap();
    assert_eq!(tracks.len(), 6, "all but the untagged WAV carry Jazz");
    let premiere = tracks
        .iter()
        .find(|t| t["path"].as_str().unwrap().ends_with("01 Première.mp3"))
        .unwrap();
    assert_eq!(premiere["title"], "Fixture");
    assert_eq!(premiere["artist"], "Sonotag");
    assert_eq!(premiere["sample_rate"], 44100);
    assert!((premiere["duration_s"].as_f64().unwrap() - 2.0).abs() < 0.1);

    let (ok, errs, _) = sonotag(&db, &["errors"]);
    assert!(ok && errs.contains("readme.mp3"), "{errs}");

    // Rescan with nothing changed.
    let (_, out, _) = sonotag(&db, &["scan", music.to_str().unwrap()]);
    assert!(
        out.contains("0 added, 0 updated, 7 unchanged, 0 moved, 0 missing"),
        "{out}"
    );

    // Modify one tag, delete one file, add one.
    let edited = nested.join("02 日本語.flac");
    let mut file = lofty::read_from_path(&edited).unwrap();
    file.primary_tag_mut().unwrap().set_genre("Blues".into());
    file.save_to_path(&edited, lofty::config::WriteOptions::default())
        .unwrap();
    std::fs::remove_file(music.join("pcm.wav")).unwrap();
    std::fs::copy(fixture("tone-alac.m4a"), nested.join("03 new.m4a")).unwrap();
    let (_, out, _) = sonotag(&db, &["scan", music.to_str().unwrap()]);
    assert!(
        out.contains("1 added, 1 updated, 5 unchanged, 0 moved, 1 missing"),
        "{out}"
    );
    let (_, blues, _) = sonotag(&db, &["tracks", "--genre", "Blues"]);
    assert!(blues.contains("日本語"), "{blues}");
    let (_, missing, _) = sonotag(&db, &["tracks", "--missing"]);
    assert!(missing.contains("pcm.wav"), "{missing}");
    assert_eq!(count(&db, "SELECT count(*) FROM tracks"), 8, "missing kept");

    // The file comes back: no longer missing.
    std::fs::copy(fixture("tone.wav"), music.join("pcm.wav")).unwrap();
    let (_, out, _) = sonotag(&db, &["scan", music.to_str().unwrap()]);
    assert!(out.contains("0 added, 1 updated"), "{out}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM tracks WHERE status='missing'"),
        0
    );
}

#[test]
fn info_and_spectrogram_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lib.sqlite");
    let (ok, out, err) = sonotag(
        &db,
        &["info", fixture("tone.ogg").to_str().unwrap(), "--json"],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tags"]["genres"][0], "Jazz");
    assert_eq!(v["columns"], 100);
    assert_eq!(v["slices"], 0);

    let png = tmp.path().join("s.png");
    let (ok, _, err) = sonotag(
        &db,
        &[
            "spectrogram",
            fixture("tone.mp3").to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
            "--grid",
        ],
    );
    assert!(ok, "{err}");
    let img = image::open(&png).unwrap();
    assert_eq!(img.height(), 128);

    // Usage errors exit non-zero with a message naming the problem.
    let (ok, _, err) = sonotag(&db, &["info", "/no/such/file.mp3"]);
    assert!(!ok && err.contains("/no/such/file.mp3"), "{err}");
    let (ok, _, err) = sonotag(&db, &["scan"]);
    assert!(!ok && err.contains("DIRS"), "{err}");
}

#[test]
fn gtzan_mini_scans_completely() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/gtzan-mini");
    if !data.join("labels.tsv").exists() {
        eprintln!("skipped: {} not present", data.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lib.sqlite");
    let (ok, out, err) = sonotag(&db, &["scan", data.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("100 added"), "{out}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM tracks WHERE status='ok'"),
        100
    );
    // Durations agree with the decoded audio within 0.1 s.
    let c = Connection::open(&db).unwrap();
    let mut stmt = c
        .prepare("SELECT path_text, duration_s FROM tracks ORDER BY path_text LIMIT 10")
        .unwrap();
    let listed: Vec<(String, f64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (path, duration) in listed {
        let (samples, _) = sonotag_core::audio::decode_file(Path::new(&path)).unwrap();
        let decoded = samples.len() as f64 / 22_050.0;
        assert!(
            (decoded - duration).abs() < 0.1,
            "{path}: tag {duration}, decoded {decoded}"
        );
    }
}

/// A decision can be listed and taken back from the command line, and
/// `override` can never be used to retract one (issue 22, item 9).
#[test]
fn decisions_are_listed_and_cleared_never_overridden_with_none() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    for name in ["tone.mp3", "tone.flac"] {
        std::fs::copy(fixture(name), music.join(name)).unwrap();
    }
    let db = dir.path().join("lib.sqlite");
    assert!(sonotag(&db, &["scan", music.to_str().unwrap()]).0);
    let mp3 = music.join("tone.mp3");
    let flac = music.join("tone.flac");
    assert!(sonotag(&db, &["override", mp3.to_str().unwrap(), "Jazz"]).0);
    assert!(sonotag(&db, &["override", flac.to_str().unwrap(), "Blues"]).0);
    let (ok, _, err) = sonotag(&db, &["override", mp3.to_str().unwrap(), "none"]);
    assert!(!ok);
    assert!(err.contains("sonotag clear"), "{err}");
    let (ok, out, err) = sonotag(&db, &["decisions"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Jazz") && out.contains("Blues") && out.contains("overridden"),
        "{out}"
    );
    assert!(err.contains("2 decisions"), "{err}");
    let (ok, json, _) = sonotag(&db, &["decisions", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(sonotag(&db, &["clear", mp3.to_str().unwrap()]).0);
    let (_, out, _) = sonotag(&db, &["decisions"]);
    assert!(!out.contains("Jazz") && out.contains("Blues"), "{out}");
    assert!(sonotag(&db, &["clear", "--all"]).0);
    assert_eq!(count(&db, "SELECT count(*) FROM labels"), 0);
}
