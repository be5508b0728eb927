//! The promise "only the genre changes", checked on files nobody here made:
//! the test data of two other tag libraries (mutagen and TagLib), fetched by
//! `packaging/fetch-tag-corpus.sh` into `target/tag-corpus/` (or the folder
//! in `SONOTAG_TAG_CORPUS`). Every file Sonotag scans gets a genre through
//! the real apply, and then:
//!
//! - (a) every tag item other than the genre is identical, as mutagen's raw
//!   parse reports it (frames with their encodings, comments in order with
//!   their keys' case, atoms, APE items, pictures) — an independent reader;
//! - (b) the new genre reads back in lofty, mutagen and ffprobe;
//! - (c) the decoded audio is unchanged;
//! - (d) undo restores every byte.
//!
//! A refused file must carry a reason and keep its bytes. The test skips,
//! saying why, when the corpus is absent (no network at fetch time), unless
//! `SONOTAG_REQUIRE_TAG_CORPUS` is set, as the test script sets it after a
//! successful fetch.

mod common;

use lofty::prelude::*;
use serde_json::Value;
use sonotag_core::cancel::Cancel;
use sonotag_core::store::Library;
use sonotag_core::tags::{self, WritePolicy, WriteSettings};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const GENRE: &str = "Reggae";

fn corpus_dir() -> PathBuf {
    std::env::var_os("SONOTAG_TAG_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tag-corpus"))
}

/// The corpus folder, or `None` (the test skips, saying so) when it was
/// not fetched; where the test script fetched it, its absence fails.
fn corpus_or_skip() -> Option<PathBuf> {
    let corpus = corpus_dir();
    if corpus.is_dir() {
        return Some(corpus);
    }
    assert!(
        std::env::var_os("SONOTAG_REQUIRE_TAG_CORPUS").is_none(),
        "the tag corpus is required but {} is missing",
        corpus.display()
    );
    eprintln!(
        "skipped: no tag corpus at {} (run packaging/fetch-tag-corpus.sh)",
        corpus.display()
    );
    None
}

fn python() -> Option<String> {
    common::python_with_mutagen()
}

fn mutagen_dump(python: &str, files: &[PathBuf]) -> BTreeMap<String, Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/tag_dump.py");
    let out = Command::new(python)
        .arg(script)
        .args(files)
        .output()
        .expect("runs the dump script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the dump is JSON")
}

/// Genre values ffprobe reports (format and stream tags, any key case).
fn ffprobe_genres(path: &Path) -> Result<Vec<String>, String> {
    Ok(ffprobe_tags(path)?
        .into_iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("genre"))
        .map(|(_, v)| v)
        .collect())
}

/// Every tag ffprobe reports (format and stream tags), as key and value.
fn ffprobe_tags(path: &Path) -> Result<Vec<(String, String)>, String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format_tags:stream_tags",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .map_err(|e| format!("ffprobe: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    let mut tag_maps = vec![v["format"]["tags"].clone()];
    if let Some(streams) = v["streams"].as_array() {
        tag_maps.extend(streams.iter().map(|s| s["tags"].clone()));
    }
    for tags in tag_maps {
        if let Some(map) = tags.as_object() {
            for (k, v) in map {
                found.push((k.clone(), v.as_str().unwrap_or_default().to_string()));
            }
        }
    }
    Ok(found)
}

fn lofty_genres(path: &Path) -> Result<Vec<String>, String> {
    let f = lofty::read_from_path(path).map_err(|e| e.to_string())?;
    Ok(f.tags()
        .iter()
        .flat_map(|t| {
            t.get_strings(ItemKey::Genre)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect())
}

fn audio_digest(path: &Path) -> Option<Vec<u32>> {
    sonotag_core::audio::decode_file(path)
        .ok()
        .map(|(samples, _)| samples.iter().map(|s| s.to_bits()).collect())
}

/// The MPEG frames of the MP3 fixture, without its tags.
fn mp3_audio() -> Vec<u8> {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tone.mp3"))
            .unwrap();
    let start = if bytes.starts_with(b"ID3") {
        10 + bytes[6..10]
            .iter()
            .fold(0usize, |a, &b| (a << 7) | b as usize)
    } else {
        0
    };
    let end = if bytes.len() >= 128 && &bytes[bytes.len() - 128..][..3] == b"TAG" {
        bytes.len() - 128
    } else {
        bytes.len()
    };
    bytes[start..end].to_vec()
}

/// A library in `dir` with `music` scanned into it.
fn scanned(dir: &Path, music: &Path) -> Library {
    let mut lib = Library::open(&dir.join("lib.sqlite")).unwrap();
    sonotag_core::catalog::walk::scan(
        &mut lib,
        &[music.to_path_buf()],
        &Cancel::new(),
        &mut |_| {},
    )
    .unwrap();
    lib
}

/// The parts of a dump that must not change. A tag the write had to
/// create brings its own version (ID3), vendor (Vorbis) or APE tag; mutagen's length
/// is an estimate from the file's size for some MP3s, so the decoded audio
/// is compared instead.
fn kept_part(dump: &Value, before: &Value) -> Value {
    let mut v = dump.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("genre");
        map.remove("genre_values");
        for created in ["id3_version", "vendor", "ape"] {
            // mutagen reports an ID3v1-only file as version 1.x.
            let v1_only = before[created].get(0).and_then(Value::as_u64) == Some(1);
            if before.get(created).is_none() || v1_only {
                map.remove(created);
            }
        }
        if let Some(info) = map.get_mut("info").and_then(Value::as_object_mut) {
            info.remove("length");
        }
    }
    v
}

#[test]
fn only_the_genre_changes_in_other_libraries_test_files() {
    corpus_write(&[GENRE]);
}

/// The same with two genres: each format keeps them as its readers
/// expect, and mutagen reads them back as two values (one frame joined
/// with "; " in ID3v2.3 and v2.2, whose frames hold one value).
#[test]
fn several_genres_are_written_as_each_format_keeps_them() {
    corpus_write(&[GENRE, "Ska"]);
}

/// The values mutagen should read from a genre field of `reader` after a
/// write of `genres`.
fn expected_values(reader: &str, dump: &Value, genres: &[&str]) -> Vec<String> {
    let id3_major = dump["id3_version"].get(1).and_then(Value::as_u64);
    if reader == "id3" && id3_major.is_some_and(|m| m < 4) {
        vec![genres.join("; ")]
    } else {
        genres.iter().map(|g| g.to_string()).collect()
    }
}

/// Writes `genres` into every corpus file Sonotag scans, checks (a)–(d),
/// and that every reader sees all of them.
fn corpus_write(genres: &[&str]) {
    let decided = genres.join("; ");
    let Some(corpus) = corpus_or_skip() else {
        return;
    };
    let python = python().expect("a python3 with mutagen (Debian: python3-mutagen)");
    Command::new("ffprobe")
        .arg("-version")
        .output()
        .expect("ffprobe (Debian: ffmpeg)");

    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    // One folder per source library; file names get its name as a prefix.
    for source in std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
    {
        let source = source.file_name().to_string_lossy().into_owned();
        for entry in std::fs::read_dir(corpus.join(&source)).unwrap().flatten() {
            let name = format!("{source}-{}", entry.file_name().to_string_lossy());
            if !entry.path().is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path()).unwrap();
            // Bare tags (unsynchronised, extended headers, odd APE tags)
            // become MP3s around the same audio.
            match entry.path().extension().and_then(|e| e.to_str()) {
                Some("id3") => std::fs::write(
                    music.join(format!("{name}.mp3")),
                    [bytes, mp3_audio()].concat(),
                )
                .unwrap(),
                Some("apev2") => std::fs::write(
                    music.join(format!("{name}.mp3")),
                    [mp3_audio(), bytes].concat(),
                )
                .unwrap(),
                _ => std::fs::write(music.join(name), bytes).unwrap(),
            }
        }
    }
    let mut lib = scanned(dir.path(), &music);
    let tracks = lib.tracks(&Default::default()).unwrap();
    let scanned: Vec<PathBuf> = tracks
        .iter()
        .filter(|t| t.info.format.is_some())
        .map(|t| t.path.clone())
        .collect();
    assert!(
        scanned.len() >= 10,
        "only {} corpus files scanned",
        scanned.len()
    );
    for t in tracks.iter().filter(|t| t.info.format.is_some()) {
        sonotag_core::workflow::decide::set_genre(&mut lib, t.id, &decided, None, true).unwrap();
    }
    let before_bytes: BTreeMap<PathBuf, Vec<u8>> = scanned
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    let before_dump = mutagen_dump(&python, &scanned);
    let before_audio: BTreeMap<PathBuf, Option<Vec<u32>>> = scanned
        .iter()
        .map(|p| (p.clone(), audio_digest(p)))
        .collect();
    // Whether lofty sees this file's genre field at all: it reads the file,
    // and finds a genre wherever mutagen does.
    let before_lofty: BTreeMap<PathBuf, bool> = scanned
        .iter()
        .map(|p| {
            let mutagen_genre = before_dump[&*p.to_string_lossy()]["genre"]
                .as_array()
                .is_some_and(|g| !g.is_empty());
            let sees = lofty_genres(p).is_ok_and(|g| !g.is_empty() || !mutagen_genre);
            (p.clone(), sees)
        })
        .collect();
    // Likewise for ffprobe (which reads no tags at all in some files, such
    // as an APE tag followed by ID3v1 in Monkey's Audio).
    let before_ffprobe: BTreeMap<PathBuf, bool> = scanned
        .iter()
        .map(|p| {
            let mutagen_genre = before_dump[&*p.to_string_lossy()]["genre"]
                .as_array()
                .is_some_and(|g| !g.is_empty());
            let mutagen_items = before_dump[&*p.to_string_lossy()]["items"]
                .as_array()
                .is_some_and(|i| !i.is_empty());
            let sees = ffprobe_tags(p).is_ok_and(|tags| {
                let genre = tags.iter().any(|(k, _)| k.eq_ignore_ascii_case("genre"));
                genre || (!mutagen_genre && (!tags.is_empty() || !mutagen_items))
            });
            (p.clone(), sees)
        })
        .collect();

    let settings = WriteSettings {
        policy: WritePolicy::ReplaceAll,
        ..Default::default()
    };
    let plan = tags::plan(&lib, settings).unwrap();
    let started = std::time::Instant::now();
    let report = tags::apply(&mut lib, &plan, settings).unwrap();
    let apply_s = started.elapsed().as_secs_f64();

    let written: Vec<PathBuf> = report
        .outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .map(|o| o.path.clone())
        .collect();
    let after_dump = mutagen_dump(&python, &written);
    let mut failures = Vec::new();
    let mut multi_valued_fields = 0;
    let mut fail = |path: &Path, what: String| {
        failures.push(format!(
            "{}: {what}",
            path.file_name().unwrap().to_string_lossy()
        ))
    };
    for o in &report.outcomes {
        let name = o.path.file_name().unwrap().to_string_lossy().into_owned();
        match &o.error {
            Some(reason) => {
                eprintln!("refused  {name}: {reason}");
                if reason.trim().is_empty() {
                    fail(&o.path, "refused without a reason".into());
                }
                if std::fs::read(&o.path).unwrap() != before_bytes[&o.path] {
                    fail(&o.path, "refused, yet its bytes changed".into());
                }
            }
            None => {
                let key = o.path.to_string_lossy().into_owned();
                let (old, new) = (&before_dump[&key], &after_dump[&key]);
                if old.get("error").is_none() {
                    if new.get("error").is_some() {
                        fail(
                            &o.path,
                            format!("mutagen can no longer read it: {}", new["error"]),
                        );
                    } else if kept_part(old, old) != kept_part(new, old) {
                        fail(
                            &o.path,
                            format!(
                                "other tags changed:\n  before {}\n  after  {}",
                                kept_part(old, old),
                                kept_part(new, old)
                            ),
                        );
                    } else if !genres.iter().all(|g| new["genre"].to_string().contains(g)) {
                        fail(
                            &o.path,
                            format!("mutagen reads no new genre: {}", new["genre"]),
                        );
                    } else {
                        for field in new["genre_values"].as_array().into_iter().flatten() {
                            let reader = field[0].as_str().unwrap_or_default();
                            let values: Vec<String> = field[1]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect();
                            if values != expected_values(reader, new, genres) {
                                fail(&o.path, format!("mutagen reads {reader} {values:?}"));
                            }
                        }
                        multi_valued_fields += usize::from(
                            new["genre_values"]
                                .as_array()
                                .is_some_and(|f| !f.is_empty()),
                        );
                    }
                }
                // lofty reads each value apart, or one joined ID3v2.3 text.
                let lofty_sees = |g: &[String]| {
                    genres.iter().all(|want| {
                        g.iter()
                            .any(|v| v.split("; ").chain(v.split('\0')).any(|v| v == *want))
                    })
                };
                if before_lofty[&o.path] && !lofty_genres(&o.path).is_ok_and(|g| lofty_sees(&g)) {
                    fail(&o.path, format!("lofty reads {:?}", lofty_genres(&o.path)));
                }
                match ffprobe_genres(&o.path) {
                    Ok(g) if g.iter().any(|g| g.contains(GENRE)) => {}
                    // ffprobe could not read the file's genre before either.
                    _ if !before_ffprobe[&o.path] => {}
                    other => fail(&o.path, format!("ffprobe reads {other:?}")),
                }
                if before_audio[&o.path].is_some() && audio_digest(&o.path) != before_audio[&o.path]
                {
                    fail(&o.path, "the decoded audio changed".into());
                }
                eprintln!("written  {name}");
            }
        }
    }
    let undo = tags::undo(&mut lib, None, settings).unwrap();
    for o in undo.outcomes.iter().filter(|o| o.error.is_some()) {
        fail(&o.path, format!("undo failed: {:?}", o.error));
    }
    for (path, bytes) in &before_bytes {
        if std::fs::read(path).unwrap() != *bytes {
            fail(path, "undo did not restore the exact bytes".into());
        }
    }
    eprintln!(
        "tag corpus, {decided}: {} files scanned, {} written, {} refused; {} read back by \
         mutagen value by value; apply {:.1} ms per file",
        scanned.len(),
        written.len(),
        report.outcomes.len() - written.len(),
        multi_valued_fields,
        1000.0 * apply_s / report.outcomes.len().max(1) as f64
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// TagLib's `005411.id3` holds a genre ("(80)", Folk) that the scan's tag
/// reader does not see, so the plan says the file has none and would only
/// fill it. With replacing off, the exact parse finds the genre and the
/// file is kept, not silently replaced.
#[test]
fn a_genre_the_scan_missed_is_not_replaced_without_leave() {
    let tag = corpus_dir().join("taglib/005411.id3");
    if !tag.exists() {
        eprintln!("skipped: no {}", tag.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let mp3 = music.join("folk.mp3");
    std::fs::write(&mp3, [std::fs::read(&tag).unwrap(), mp3_audio()].concat()).unwrap();
    let before = std::fs::read(&mp3).unwrap();
    let mut lib = scanned(dir.path(), &music);
    let id = lib.track_by_path(&mp3).unwrap().unwrap().id;
    sonotag_core::workflow::decide::set_genre(&mut lib, id, GENRE, None, false).unwrap();
    let plan = tags::plan(&lib, WriteSettings::default()).unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(
        plan[0].action,
        tags::Action::Fill,
        "the scan saw no genre: {:?}",
        plan[0]
    );
    let report = tags::apply(&mut lib, &plan, WriteSettings::default()).unwrap();
    let why = report.outcomes[0].error.clone().unwrap_or_default();
    assert!(why.contains("already has a genre (Folk)"), "{why}");
    assert_eq!(std::fs::read(&mp3).unwrap(), before);
}

/// Every file of the corpus (other libraries' odd files: WMA, APE, WavPack,
/// Musepack, DSF, damaged headers, bare tags) is a track, an error with its
/// cause or a skip with its reason: none goes unaccounted, and the count
/// the scan prints adds up to the files on disk. The copy is made fresh
/// for each run, so a rescan after everything moved re-links every track.
#[test]
fn every_corpus_file_is_a_track_an_error_or_a_skip() {
    let Some(corpus) = corpus_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("corpus");
    fn copy_tree(from: &Path, to: &Path) -> usize {
        std::fs::create_dir_all(to).unwrap();
        let mut files = 0;
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                files += copy_tree(&entry.path(), &to.join(entry.file_name()));
            } else if kind.is_file() && entry.file_name() != ".complete" {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
                files += 1;
            }
        }
        files
    }
    let on_disk = copy_tree(&corpus, &music);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    let scan = |lib: &mut Library, root: &Path| {
        sonotag_core::catalog::walk::scan(lib, &[root.to_path_buf()], &Cancel::new(), &mut |_| {})
            .unwrap()
    };
    let (summary, problems) = scan(&mut lib, &music);
    let accounted = summary.added + summary.errors + summary.skipped;
    assert_eq!(accounted, on_disk, "{summary:?}");
    let skips = lib.scan_skips().unwrap();
    assert_eq!(skips.len(), summary.skipped);
    assert!(skips.iter().all(|s| !s.reason.is_empty()), "{skips:?}");
    assert!(
        problems.iter().all(|p| !p.message.is_empty()),
        "{problems:?}"
    );
    eprintln!(
        "{on_disk} files: {} tracks, {} errors, {} skipped ({} of them audio this build cannot \
         decode)",
        summary.added, summary.errors, summary.skipped, summary.skipped_audio
    );
    // OptimFROG has no decoder here; with ffmpeg absent, WMA, APE, WavPack
    // and the rest join it.
    assert!(
        summary.skipped_audio > 0,
        "the corpus holds OptimFROG files: {skips:?}"
    );
    if sonotag_core::audio::external::available() {
        let formats: std::collections::BTreeSet<String> = lib
            .tracks(&Default::default())
            .unwrap()
            .into_iter()
            .filter_map(|t| t.info.format)
            .collect();
        for format in [
            "WMA",
            "APE",
            "WavPack",
            "Musepack",
            "DSD",
            "True Audio",
            "TAK",
        ] {
            assert!(formats.contains(format), "no {format} track: {formats:?}");
        }
        assert!(
            skips.iter().all(|s| !s.reason.contains("ffmpeg")),
            "{skips:?}"
        );
    }

    // The whole corpus folder moved: every track re-linked, none added.
    let moved = dir.path().join("moved corpus");
    std::fs::rename(&music, &moved).unwrap();
    let (again, _) = scan(&mut lib, &moved);
    assert_eq!(
        (again.moved, again.added, again.missing),
        (summary.added, 0, 0),
        "{again:?}"
    );
}

/// Seeded damage to the corpus files read through ffmpeg (Monkey's Audio,
/// WavPack, Musepack, WMA, DSD, True Audio, TAK, AC-3), files other projects
/// made: every case is handled (no panic, no hang), memory stays small.
#[test]
fn fuzzed_corpus_files_read_through_ffmpeg_are_all_handled() {
    let Some(corpus) = corpus_or_skip() else {
        return;
    };
    if !sonotag_core::audio::external::available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let sources: Vec<PathBuf> = [
        "taglib/mac-399.ape",
        "taglib/tagged.wv",
        "mutagen/click.mpc",
        "mutagen/sv8_header.mpc",
        "taglib/silence-1.wma",
        "mutagen/5644800-2ch-s01-silence.dsf",
        "mutagen/5644800-2ch-s01-silence.dff",
        "taglib/tagged.tta",
        "mutagen/silence-44-s.tak",
        "mutagen/silence-44-s.ac3",
    ]
    .iter()
    .map(|name| corpus.join(name))
    .collect();
    for s in &sources {
        assert!(s.is_file(), "{} is not in the corpus", s.display());
    }
    let work = tempfile::tempdir().unwrap();
    let campaign = sonotag_core::dev::fuzz::Campaign {
        sources,
        seed: 36,
        first: 0,
        cases: 200,
        limit: std::time::Duration::from_secs(60),
    };
    let mut failures = Vec::new();
    let summary = sonotag_core::dev::fuzz::campaign(&campaign, work.path(), &mut |r| {
        if r.verdict != sonotag_core::dev::fuzz::Verdict::Handled {
            failures.push(format!("{r:?}"));
        }
    })
    .unwrap();
    eprintln!("{summary:?}");
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(summary.handled, 200);
    assert!(summary.peak_rss_mb < 500.0, "{} MB", summary.peak_rss_mb);
}
