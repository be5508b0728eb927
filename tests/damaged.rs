//! Damaged input: every bad file is one clear error naming it, quickly and
//! in little memory, and never stops the good files beside it.
//!
//! Uses generated damage (sample rates no recording has, an Opus header with
//! zero channels, a FIFO) and, when present, the files that broke the
//! 2026-11-27 build (`../shared/data/fuzz-regressions/`). A run is killed
//! after 60 s: that guards against hangs, it does not time anything.

use sonotag_core::ml::model::ModelCard;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sonotag(db: &Path, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("XDG_CONFIG_HOME", db.parent().unwrap().join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("sonotag {args:?} hung (killed after 60 s)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Damaged files made from good ones: (name, bytes).
fn generated_damage() -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("good.wav");
    sonotag_core::dev::synth::write_wav(
        &wav,
        &sonotag_core::dev::synth::music_like(4.0, 44_100, 1),
        44_100,
        1,
    )
    .unwrap();
    let good = std::fs::read(&wav).unwrap();
    let with_rate = |rate: u32| {
        let mut b = good.clone();
        b[24..28].copy_from_slice(&rate.to_le_bytes());
        b
    };
    let mut opus = std::fs::read("tests/fixtures/tone.opus").unwrap();
    let head = opus
        .windows(8)
        .position(|w| w == b"OpusHead")
        .expect("fixture has an OpusHead");
    opus[head + 9] = 0; // channel count
    vec![
        ("rate-11hz.wav".into(), with_rate(11)),
        ("rate-huge.wav".into(), with_rate(i32::MAX as u32)),
        ("zero-channels.opus".into(), opus),
        ("header-only.wav".into(), good[..44].to_vec()),
        ("unknown-codec.wav".into(), {
            let mut b = good.clone();
            b[20..22].copy_from_slice(&0x1234u16.to_le_bytes());
            b
        }),
    ]
}

fn regression_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fuzz-regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e != "md"))
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        eprintln!("{} absent: generated damage only", dir.display());
    }
    files.sort();
    files
}

#[test]
fn each_damaged_file_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.sqlite");
    let mut files = regression_files();
    for (name, bytes) in generated_damage() {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    for file in &files {
        for command in ["info", "spectrogram"] {
            let mut args = vec![command, file.to_str().unwrap()];
            let png = dir.path().join("out.png");
            if command == "spectrogram" {
                args.extend(["-o", png.to_str().unwrap()]);
            }
            let out = sonotag(&db, &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{command} {}: {stderr}",
                file.display()
            );
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(stderr.contains(name), "{command}: {stderr}");
            assert!(!stderr.contains("panicked"), "{command}: {stderr}");
        }
    }
}

#[test]
fn a_pipe_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("stream.mp3");
    let status = Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo unavailable");
        return;
    }
    let db = dir.path().join("unused.sqlite");
    let out = sonotag(
        &db,
        &["spectrogram", fifo.to_str().unwrap(), "-o", "/dev/null"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn damaged_files_never_stop_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let mut bad = 0;
    for file in regression_files() {
        std::fs::copy(&file, music.join(file.file_name().unwrap())).unwrap();
        bad += 1;
    }
    for (name, bytes) in generated_damage() {
        std::fs::write(music.join(name), bytes).unwrap();
        bad += 1;
    }
    for i in 0..3u64 {
        let samples = sonotag_core::dev::synth::music_like(8.0, 44_100, 20 + i);
        sonotag_core::dev::synth::write_wav(
            &music.join(format!("good-{i}.wav")),
            &samples,
            44_100,
            1,
        )
        .unwrap();
    }
    let db = dir.path().join("lib.sqlite");
    let scan = sonotag(&db, &["scan", music.to_str().unwrap()]);
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let classify = sonotag(&db, &["classify", "--full"]);
    let text = String::from_utf8_lossy(&classify.stdout);
    assert!(
        classify.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&classify.stderr)
    );
    let lib = sonotag_core::store::Library::open(&db).unwrap();
    let model = lib.active_model::<ModelCard>().unwrap().unwrap();
    for i in 0..3 {
        let t = lib
            .track_by_path(&music.join(format!("good-{i}.wav")))
            .unwrap()
            .expect("good file scanned");
        assert!(
            lib.analysis(t.id, model.id).unwrap().is_some(),
            "good-{i}.wav classified: {text}"
        );
    }
    // Every bad file is listed by `errors`, by name.
    let errors = sonotag(&db, &["errors"]);
    let listed = String::from_utf8_lossy(&errors.stdout);
    for entry in std::fs::read_dir(&music).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("good-") {
            assert!(
                listed.contains(&name),
                "{name} missing from errors:\n{listed}"
            );
        }
    }
    assert!(bad >= 4);
}

#[test]
fn a_file_damaged_after_the_scan_is_listed_as_an_analysis_error() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let song = music.join("song.wav");
    let samples = sonotag_core::dev::synth::music_like(6.0, 44_100, 5);
    sonotag_core::dev::synth::write_wav(&song, &samples, 44_100, 1).unwrap();
    let db = dir.path().join("lib.sqlite");
    assert!(
        sonotag(&db, &["scan", music.to_str().unwrap()])
            .status
            .success()
    );
    // Damaged between the scan and the analysis: the decoder meets it.
    std::fs::write(&song, vec![0x5a; 5_000]).unwrap();
    let classify = sonotag(&db, &["classify", "--full"]);
    assert!(
        classify.status.success(),
        "{}",
        String::from_utf8_lossy(&classify.stderr)
    );
    assert!(String::from_utf8_lossy(&classify.stdout).contains("1 error,"));
    let listed = String::from_utf8_lossy(&sonotag(&db, &["errors"]).stdout).into_owned();
    assert!(
        listed.contains("song.wav") && listed.contains("analysis failed"),
        "{listed}"
    );
}

/// A few hundred seeded mutations of the fixtures in every format through
/// every stage: no panic escapes, nothing hangs, memory stays small. The
/// long campaign is `sonotag fuzz --cases 10000`.
#[test]
fn fuzzed_fixtures_are_all_handled() {
    let work = tempfile::tempdir().unwrap();
    let sources = sonotag_core::dev::fuzz::default_sources();
    // WavPack and WMA join when ffmpeg is there to read them.
    let expected = if sonotag_core::audio::external::available() {
        10
    } else {
        8
    };
    assert_eq!(
        sources.len(),
        expected,
        "one fixture per format: {sources:?}"
    );
    let mut failures = Vec::new();
    let campaign = sonotag_core::dev::fuzz::Campaign {
        sources,
        seed: 2026,
        first: 0,
        cases: 320,
        limit: Duration::from_secs(60),
    };
    let summary = sonotag_core::dev::fuzz::campaign(&campaign, work.path(), &mut |r| {
        if r.verdict != sonotag_core::dev::fuzz::Verdict::Handled {
            failures.push(format!("{r:?}"));
        }
    })
    .unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(summary.handled, 320);
    assert!(summary.clear_errors > 0, "the damage was noticed");
    assert!(summary.peak_rss_mb < 500.0, "{} MB", summary.peak_rss_mb);
}

/// A file cut short (an interrupted copy: its header states 20 s, a
/// fraction of a second is there) is said as damaged, with both lengths,
/// not proposed as an unsure track "shorter than one patch" (issue 38).
#[test]
fn a_file_cut_short_is_an_error_with_both_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let wav = dir.path().join("whole.wav");
    let samples = sonotag_core::dev::synth::music_like(20.0, 22_050, 9);
    sonotag_core::dev::synth::write_wav(&wav, &samples, 22_050, 1).unwrap();
    let mp3 = dir.path().join("whole.mp3");
    if !sonotag_core::dev::bench::ffmpeg_encode(&wav, &mp3, &["-c:a", "libmp3lame", "-b:a", "128k"])
    {
        eprintln!("skipped: no ffmpeg with libmp3lame to make the MP3");
        return;
    }
    // As `head -c 5000 song.mp3 > cut.mp3` leaves it.
    let song = music.join("cut.mp3");
    std::fs::write(&song, &std::fs::read(&mp3).unwrap()[..5_000]).unwrap();
    let db = dir.path().join("lib.sqlite");
    assert!(
        sonotag(&db, &["scan", music.to_str().unwrap()])
            .status
            .success()
    );
    let classify = sonotag(&db, &["classify"]);
    let said = String::from_utf8_lossy(&classify.stdout).into_owned();
    assert!(said.contains("1 error,"), "{said}");
    let listed = String::from_utf8_lossy(&sonotag(&db, &["errors"]).stdout).into_owned();
    assert!(
        listed.contains("cut.mp3")
            && listed.contains("cut short")
            && listed.contains("where the file states"),
        "{listed}"
    );
}
