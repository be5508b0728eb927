//! The command line at its edges: a reader that closes the pipe early and a
//! machine without a display end with a quiet exit or one clear line, never
//! a panic and a backtrace.

use std::io::Read;
use std::process::{Command, Stdio};

fn sonotag() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
}

/// Runs `sonotag --db DB ARGS` with its settings and caches inside `home`,
/// never the user's.
fn run_in(home: &std::path::Path, db: &std::path::Path, args: &[&str]) -> std::process::Output {
    sonotag()
        .arg("--db")
        .arg(db)
        .args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let tone = sonotag_core::dev::synth::tone(440.0, 0.2, 8_000, 0.3);
    // Enough tracks that the JSON listing overflows the pipe buffer.
    for i in 0..400 {
        sonotag_core::dev::synth::write_wav(&music.join(format!("t{i:03}.wav")), &tone, 8_000, 1)
            .unwrap();
    }
    let db = dir.path().join("lib.sqlite");
    let scan = sonotag()
        .arg("--db")
        .arg(&db)
        .arg("scan")
        .arg(&music)
        .output()
        .unwrap();
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let mut child = sonotag()
        .arg("--db")
        .arg(&db)
        .args(["tracks", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take()); // like `| head -c 16`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

/// `sonotag gui` with X's `DISPLAY` as given (`None`: unset) and no
/// Wayland: it must end with exit 1 and one line saying `expected`.
fn gui_refuses_in_one_line(display: Option<&str>, expected: &str) {
    let mut cmd = sonotag();
    cmd.arg("gui")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET");
    match display {
        Some(d) => cmd.env("DISPLAY", d),
        None => cmd.env_remove("DISPLAY"),
    };
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn no_display_is_one_line_not_a_backtrace() {
    gui_refuses_in_one_line(None, "no display");
}

#[test]
fn a_display_nobody_serves_is_one_line_not_a_panic() {
    gui_refuses_in_one_line(Some(":987"), "cannot open the display :987");
}

#[test]
fn override_writes_the_genre_typed_and_maps_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let song = music.join("song.wav");
    let tone = sonotag_core::dev::synth::tone(440.0, 1.0, 8_000, 0.3);
    sonotag_core::dev::synth::write_wav(&song, &tone, 8_000, 1).unwrap();
    let db = dir.path().join("lib.sqlite");
    let run = |args: &[&str]| {
        let out = run_in(dir.path(), &db, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["scan", music.to_str().unwrap()]);
    let label = || -> String {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT genre FROM labels", [], |r| r.get(0))
            .unwrap()
    };
    run(&["override", song.to_str().unwrap(), "soul"]);
    assert_eq!(label(), "Soul");
    let plan = run(&["apply", "--dry-run"]);
    assert!(plan.contains("Soul"), "{plan}");
    let said = run(&["override", song.to_str().unwrap(), "Soul", "--super-genre"]);
    assert_eq!(label(), "Pop");
    assert!(said.contains("Soul → Pop"), "{said}");
    let plan = run(&["apply", "--dry-run"]);
    assert!(plan.contains("→ Pop (super-genre of Soul)"), "{plan}");
    // Without the flag again, the mapping note goes.
    run(&["override", song.to_str().unwrap(), "Pop"]);
    let plan = run(&["apply", "--dry-run"]);
    assert!(!plan.contains("super-genre"), "{plan}");
}

#[test]
fn the_review_commands_name_paths_show_ids_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let songs: Vec<_> = (0..3u64)
        .map(|i| {
            let path = music.join(format!("song {i}.wav"));
            let stereo = sonotag_core::dev::synth::music_like(6.0, 22_050, i + 20);
            sonotag_core::dev::synth::write_wav(&path, &stereo, 22_050, 2).unwrap();
            path
        })
        .collect();
    let db = dir.path().join("lib.sqlite");
    let run = |args: &[&str]| {
        let out = run_in(dir.path(), &db, args);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let labels = || -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT count(*) FROM labels", [], |r| r.get(0))
            .unwrap()
    };
    assert!(run(&["scan", music.to_str().unwrap()]).0);
    assert!(run(&["classify"]).0);

    // Every proposal line starts with the track id `accept` takes.
    let (ok, listing, _) = run(&["proposals"]);
    assert!(ok);
    let ids: Vec<String> = listing
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{listing}");
    assert!(ids.iter().all(|id| id.parse::<i64>().is_ok()), "{listing}");

    // Nothing written yet: history says so rather than printing nothing.
    let (ok, history, _) = run(&["history"]);
    assert!(ok && history.contains("no tag writes yet"), "{history}");

    // One unknown path among good ones: the good ones are accepted, the
    // unknown one is named by its path, and the exit status says so.
    let missing = music.join("not there.wav");
    let (ok, said, err) = run(&[
        "accept",
        songs[0].to_str().unwrap(),
        &ids[1],
        missing.to_str().unwrap(),
    ]);
    assert!(!ok, "an unknown path fails the command: {said}");
    assert!(err.contains("not there.wav"), "{err}");
    assert_eq!(labels(), 2, "{said}{err}");

    // --min-share accepts every undecided proposal above the share (never
    // an unsure track).
    let third_proposed =
        listing.lines().nth(2).unwrap().split_whitespace().nth(1) == Some("proposed");
    let (ok, said, err) = run(&["accept", "--min-share", "0.5"]);
    assert!(ok, "{err}");
    assert_eq!(labels(), 2 + i64::from(third_proposed), "{listing}{said}");

    // Writing prints no decoder or tag-library chatter, and history shows
    // a readable date.
    let (ok, said, err) = run(&["apply", "--yes"]);
    assert!(ok, "{err}");
    for noise in ["WARN", "lofty", "symphonia"] {
        assert!(!said.contains(noise) && !err.contains(noise), "{said}{err}");
    }
    let (_, history, _) = run(&["history"]);
    let year = history
        .split_whitespace()
        .find(|w| w.len() == 10 && w.as_bytes()[4] == b'-' && w.as_bytes()[7] == b'-');
    assert!(year.is_some(), "a YYYY-MM-DD date: {history}");
    assert!(run(&["undo"]).0);
}

/// Several genres from the command line (issue 37): typed with ";", shown
/// in the plan, written as separate Vorbis comments, read back as two by
/// the next scan (the track is written), undone byte for byte; and the
/// library's genres-per-track setting shown and set.
#[test]
fn several_genres_are_typed_written_read_back_and_undone() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let song = music.join("song.flac");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::copy(fixtures.join("tone.flac"), &song).unwrap();
    let original = std::fs::read(&song).unwrap();
    let db = dir.path().join("lib.sqlite");
    let run = |args: &[&str]| {
        let out = run_in(dir.path(), &db, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = run(&["genres-per-track"]);
    assert!(said.contains("up to 2 genres a track"), "{said}");
    run(&["scan", music.to_str().unwrap()]);
    run(&[
        "override",
        song.to_str().unwrap(),
        "blues; Rock;  blues",
        "--replace",
    ]);
    let plan = run(&["apply", "--dry-run"]);
    assert!(plan.contains("→ Blues; Rock"), "{plan}");
    run(&["apply", "--yes"]);
    let tagged = lofty::read_from_path(&song).unwrap();
    let tag = lofty::prelude::TaggedFileExt::primary_tag(&tagged).unwrap();
    let genres: Vec<&str> = tag.get_strings(lofty::prelude::ItemKey::Genre).collect();
    assert_eq!(genres, ["Blues", "Rock"], "two GENRE comments");
    run(&["scan", music.to_str().unwrap()]);
    let listing = run(&["tracks"]);
    assert!(listing.contains("Blues; Rock"), "{listing}");
    let plan = run(&["apply", "--dry-run"]);
    assert!(
        !plan.contains("song.flac"),
        "written, so not planned again: {plan}"
    );
    run(&["undo"]);
    assert_eq!(
        std::fs::read(&song).unwrap(),
        original,
        "undo is byte-exact"
    );
    let said = run(&["genres-per-track", "1"]);
    assert!(said.contains("one genre a track"), "{said}");
    let said = run(&["genres-per-track"]);
    assert!(said.contains("one genre a track"), "{said}");
}
