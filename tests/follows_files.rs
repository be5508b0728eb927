//! The library follows the files: a library scanned, classified, half
//! decided and partly written is reorganised the way other tools do it
//! (every file moved into new folders, a third renamed, a few re-tagged by
//! mutagen, a copy added), and after one rescan every decision, analysis and
//! undo-able write is on the right file, nothing is analysed again, and the
//! copy is a track of its own. Music: GTZAN clips (skipped without
//! `../shared/data`); re-tagging needs python3-mutagen (skipped without it).

mod common;

use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn gtzan() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/gtzan-mini");
    dir.join("labels.tsv").exists().then_some(dir)
}

/// Runs `sonotag --db DB ARGS` with its settings and caches inside `home`.
fn sonotag(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("--db")
        .arg(home.join("lib.sqlite"))
        .args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sets the genre with mutagen, the way another tagger would.
fn retag_with_mutagen(python: &str, path: &Path, genre: &str) {
    let script = "import sys, mutagen\n\
                  f = mutagen.File(sys.argv[1], easy=True)\n\
                  f['genre'] = [sys.argv[2]]\n\
                  f.save()\n";
    let ok = Command::new(python)
        .args(["-c", script])
        .arg(path)
        .arg(genre)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mutagen could not tag {}", path.display());
}

/// path → (decided genre) for every decision.
fn decisions(db: &Path) -> HashMap<PathBuf, String> {
    let c = Connection::open(db).unwrap();
    let mut stmt = c
        .prepare("SELECT t.path_text, l.genre FROM labels l JOIN tracks t ON t.id = l.track_id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((PathBuf::from(r.get::<_, String>(0)?), r.get(1)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// path → (track id, analysis time) for every analysis.
fn analyses(db: &Path) -> HashMap<PathBuf, (i64, i64)> {
    let c = Connection::open(db).unwrap();
    let mut stmt = c
        .prepare(
            "SELECT t.path_text, t.id, a.created_at FROM analyses a
             JOIN tracks t ON t.id = a.track_id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            PathBuf::from(r.get::<_, String>(0)?),
            (r.get(1)?, r.get(2)?),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn genre_tag(path: &Path) -> Option<String> {
    use lofty::file::TaggedFileExt;
    use lofty::tag::Accessor;
    let f = lofty::read_from_path(path).unwrap();
    f.primary_tag()
        .and_then(|t| t.genre())
        .map(|g| g.into_owned())
}

#[test]
fn decisions_analyses_and_undo_follow_moved_renamed_and_retagged_files() {
    let (Some(data), Some(python)) = (gtzan(), common::python_with_mutagen()) else {
        eprintln!("skipped: ../shared/data/gtzan-mini or python3-mutagen not present");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = home.join("lib.sqlite");
    let library = home.join("Music");
    let before = library.join("incoming");
    std::fs::create_dir_all(&before).unwrap();
    let genres = ["blues", "jazz", "metal", "reggae"];
    let mut originals = Vec::new();
    for g in genres {
        for i in 0..3 {
            let name = format!("{g}.0000{i}.mp3");
            let to = before.join(&name);
            // Written fresh: the shared data is read-only, a user's music is not.
            std::fs::write(&to, std::fs::read(data.join(g).join(&name)).unwrap()).unwrap();
            originals.push(to);
        }
    }
    let lib = library.to_str().unwrap();
    let (ok, said, err) = sonotag(home, &["scan", lib]);
    assert!(ok && said.contains("12 added"), "{said}{err}");
    let (ok, _, err) = sonotag(home, &["classify"]);
    assert!(ok, "{err}");
    let analysed = analyses(&db);
    assert_eq!(analysed.len(), 12, "{analysed:?}");

    // Half decided: six overridden, each with a genre of its own name.
    let decided: Vec<&PathBuf> = originals.iter().step_by(2).collect();
    for (i, p) in decided.iter().enumerate() {
        let genre = format!("Genre {i}");
        let (ok, _, err) = sonotag(home, &["override", p.to_str().unwrap(), &genre]);
        assert!(ok, "{err}");
    }
    // Written into the files: an undo-able batch.
    let (ok, said, err) = sonotag(home, &["apply", "--yes"]);
    assert!(ok, "{said}{err}");
    assert_eq!(genre_tag(decided[0]).as_deref(), Some("Genre 0"));

    // Reorganised: every file into Artist/Album-like folders, a third
    // renamed, three re-tagged by another tool (one of them written by
    // Sonotag), a copy of one added under a new name, and the old folder
    // gone.
    let mut moved_to: HashMap<PathBuf, PathBuf> = HashMap::new();
    for (i, from) in originals.iter().enumerate() {
        let folder = library
            .join(format!("Artist {}", i % 4))
            .join(format!("Album {}", i % 3));
        std::fs::create_dir_all(&folder).unwrap();
        let name = from.file_name().unwrap().to_str().unwrap();
        let name = if i % 3 == 0 {
            format!("{:02} renamed {name}", i + 1)
        } else {
            name.to_string()
        };
        let to = folder.join(name);
        std::fs::rename(from, &to).unwrap();
        moved_to.insert(from.clone(), to);
    }
    std::fs::remove_dir(&before).unwrap();
    let retagged = [&originals[1], &originals[5], &originals[2]];
    for from in retagged {
        retag_with_mutagen(&python, &moved_to[from], "Polka");
    }
    let copy = library.join("copies").join("a copy.mp3");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(&moved_to[&originals[3]], &copy).unwrap();

    let (ok, said, err) = sonotag(home, &["scan", lib]);
    assert!(ok, "{err}");
    assert!(
        said.contains("1 added") && said.contains("12 moved") && said.contains("0 missing"),
        "{said}"
    );

    // Every decision on the file it was made for.
    let now = decisions(&db);
    assert_eq!(now.len(), decided.len(), "{now:?}");
    for (i, p) in decided.iter().enumerate() {
        assert_eq!(
            now.get(&moved_to[*p]).map(String::as_str),
            Some(format!("Genre {i}").as_str()),
            "{} → {}: {now:?}",
            p.display(),
            moved_to[*p].display()
        );
    }
    // Every analysis on its file, the same analysis (nothing re-analysed).
    let after = analyses(&db);
    for (from, (id, at)) in &analysed {
        assert_eq!(
            after.get(&moved_to[from]),
            Some(&(*id, *at)),
            "{}",
            from.display()
        );
    }
    let (ok, said, err) = sonotag(home, &["classify"]);
    assert!(ok, "{err}");
    assert_eq!(
        analyses(&db).len(),
        13,
        "only the copy is analysed: {said}{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM tracks"),
        13,
        "0 false matches"
    );

    // Undo follows the files where they are now; the one another tool
    // re-tagged since is refused, and says why.
    let (_, said, err) = sonotag(home, &["undo", "--yes"]);
    let told = format!("{said}{err}");
    for p in &decided {
        let now = &moved_to[*p];
        if retagged.contains(p) {
            assert_eq!(genre_tag(now).as_deref(), Some("Polka"), "{told}");
            assert!(
                told.contains(now.file_name().unwrap().to_str().unwrap()),
                "{told}"
            );
        } else {
            assert_ne!(
                genre_tag(now).as_deref().map(|g| g.starts_with("Genre")),
                Some(true),
                "{} still carries the written genre: {told}",
                now.display()
            );
        }
    }
}

#[test]
fn an_unplugged_drive_is_reported_not_turned_into_missing_tracks() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let drive = home.join("drive");
    std::fs::create_dir_all(drive.join("album")).unwrap();
    for i in 0..3u64 {
        let samples = sonotag_core::dev::synth::music_like(2.0, 22_050, i + 1);
        sonotag_core::dev::synth::write_wav(
            &drive.join("album").join(format!("{i}.wav")),
            &samples,
            22_050,
            1,
        )
        .unwrap();
    }
    std::fs::write(drive.join("album").join("cover.jpg"), b"an image").unwrap();
    // Audio nothing here decodes (WavPack and the like go through ffmpeg).
    std::fs::write(drive.join("album").join("song.ofr"), b"OFR ").unwrap();
    let root = drive.to_str().unwrap();
    let (ok, said, _) = sonotag(home, &["scan", root]);
    assert!(
        ok && said.contains("3 added") && said.contains("2 skipped"),
        "{said}"
    );
    assert!(said.contains("1 of them audio"), "{said}");
    let (_, errors, _) = sonotag(home, &["errors"]);
    assert!(
        errors.contains("song.ofr: OptimFROG: not decoded"),
        "{errors}"
    );
    let (_, skipped, _) = sonotag(home, &["errors", "--skipped"]);
    assert!(skipped.contains("cover.jpg: an image"), "{skipped}");

    // The mount point empty (drive unplugged): reported, nothing missing.
    let away = home.join("away");
    std::fs::rename(&drive, &away).unwrap();
    std::fs::create_dir_all(&drive).unwrap();
    let (ok, said, _) = sonotag(home, &["scan", root]);
    assert!(
        ok && said.contains("0 missing") && said.contains("is not there"),
        "{said}"
    );
    // The folder itself gone: the same.
    std::fs::remove_dir(&drive).unwrap();
    let (ok, said, _) = sonotag(home, &["scan", root]);
    assert!(
        ok && said.contains("0 missing") && said.contains("is not there"),
        "{said}"
    );
    let db = home.join("lib.sqlite");
    assert_eq!(
        count(&db, "SELECT count(*) FROM tracks WHERE status = 'ok'"),
        3
    );

    // Plugged in elsewhere and scanned there: the same three tracks.
    let (ok, said, _) = sonotag(home, &["scan", away.to_str().unwrap()]);
    assert!(
        ok && said.contains("3 moved") && said.contains("0 added"),
        "{said}"
    );
    // Files deleted for good: missing, kept until the user forgets them.
    std::fs::remove_file(away.join("album").join("0.wav")).unwrap();
    let (_, said, _) = sonotag(home, &["scan", away.to_str().unwrap()]);
    assert!(said.contains("1 missing"), "{said}");
    let (_, missing, _) = sonotag(home, &["tracks", "--missing"]);
    assert!(missing.contains("0.wav"), "{missing}");
    let (ok, said, _) = sonotag(home, &["forget"]);
    assert!(ok && said.contains("1 missing tracks forgotten"), "{said}");
    assert_eq!(count(&db, "SELECT count(*) FROM tracks"), 2);
}
