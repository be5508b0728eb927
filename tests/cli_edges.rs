//! The command line at its edges: a reader that closes the pipe early and a
//! machine without a display end with a quiet exit or one clear line, never
//! a panic and a backtrace.

use std::io::Read;
use std::process::{Command, Stdio};

fn sonotag() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let tone = sonotag_core::synth::tone(440.0, 0.2, 8_000, 0.3);
    // Enough tracks that the JSON listing overflows the pipe buffer.
    for i in 0..400 {
        sonotag_core::synth::write_wav(&music.join(format!("t{i:03}.wav")), &tone, 8_000, 1)
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

#[test]
fn no_display_is_one_line_not_a_backtrace() {
    let out = sonotag()
        .arg("gui")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no display"), "{stderr}");
}

#[test]
fn override_writes_the_genre_typed_and_maps_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let song = music.join("song.wav");
    let tone = sonotag_core::synth::tone(440.0, 1.0, 8_000, 0.3);
    sonotag_core::synth::write_wav(&song, &tone, 8_000, 1).unwrap();
    let db = dir.path().join("lib.sqlite");
    let run = |args: &[&str]| {
        let out = sonotag()
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .output()
            .unwrap();
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
