//! Tag writing on every format: write, read back, audio unchanged, undo
//! restores exactly; refusals for changed and read-only files.

use lofty::prelude::*;
use sonotag_core::cancel::Cancel;
use sonotag_core::store::Library;
use sonotag_core::tags::{self, Action, WritePolicy, WriteSettings};
use std::path::{Path, PathBuf};

const FIXTURES: &[&str] = &[
    "tone.mp3",
    "tone.flac",
    "tone.ogg",
    "tone.opus",
    "tone.m4a",
    "tone-alac.m4a",
    "tone.wav",
    "tone.aiff",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn genres(path: &Path) -> Vec<String> {
    let f = lofty::read_from_path(path).unwrap();
    f.tag(f.primary_tag_type())
        .map(|t| t.get_strings(ItemKey::Genre).map(str::to_string).collect())
        .unwrap_or_default()
}

fn all_tag_items(path: &Path) -> Vec<(String, String)> {
    let f = lofty::read_from_path(path).unwrap();
    let mut items: Vec<(String, String)> = f
        .tags()
        .iter()
        .flat_map(|t| {
            t.items()
                .map(|i| (format!("{:?}", i.key()), format!("{:?}", i.value())))
                .collect::<Vec<_>>()
        })
        .collect();
    items.sort();
    items
}

fn setup() -> (tempfile::TempDir, Library, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    for name in FIXTURES {
        std::fs::copy(fixture(name), music.join(name)).unwrap();
    }
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    let (summary, problems) = rescan(&mut lib, &music);
    assert_eq!(summary.added, FIXTURES.len(), "{problems:?}");
    (dir, lib, music)
}

fn rescan(
    lib: &mut Library,
    music: &Path,
) -> (
    sonotag_core::catalog::walk::ScanSummary,
    Vec<sonotag_core::catalog::walk::FileProblem>,
) {
    sonotag_core::catalog::walk::scan(lib, &[music.to_path_buf()], &Cancel::new(), &mut |_| {})
        .unwrap()
}

fn id_of(lib: &Library, path: &Path) -> i64 {
    lib.track_by_path(path).unwrap().unwrap().id
}

#[test]
fn write_read_back_audio_unchanged_undo_exact() {
    let (_dir, mut lib, music) = setup();
    let mut before = Vec::new();
    for name in FIXTURES {
        let path = music.join(name);
        let id = id_of(&lib, &path);
        sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
        before.push((
            path.clone(),
            all_tag_items(&path),
            genres(&path),
            sonotag_core::audio::decode_file(&path).unwrap().0,
        ));
    }
    let settings = WriteSettings::default();
    let plan = tags::plan(&lib, settings).unwrap();
    assert_eq!(plan.len(), FIXTURES.len());
    let wav = plan.iter().find(|p| p.path.ends_with("tone.wav")).unwrap();
    assert_eq!(wav.action, Action::Fill, "the WAV fixture has no genre");
    let mp3 = plan.iter().find(|p| p.path.ends_with("tone.mp3")).unwrap();
    assert_eq!(mp3.old_genres, vec!["Jazz"]);
    assert_eq!(mp3.action, Action::Replace);

    let report = tags::apply(&mut lib, &plan, settings).unwrap();
    assert_eq!(report.written, FIXTURES.len(), "{:?}", report.outcomes);
    for (path, _, _, samples) in &before {
        assert_eq!(genres(path), vec!["Reggae"], "{}", path.display());
        let after = sonotag_core::audio::decode_file(path).unwrap().0;
        assert_eq!(&after, samples, "{}: audio changed", path.display());
        // No temporary files left behind.
        let leftovers: Vec<_> = std::fs::read_dir(&music)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("sonotag-tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
    // The library knows the new genre, and a rescan sees nothing changed.
    let (summary, _) = rescan(&mut lib, &music);
    assert_eq!(summary.unchanged, FIXTURES.len());
    assert!(tags::plan(&lib, settings).unwrap().is_empty());

    let outcomes = tags::undo(&mut lib, None, settings).unwrap().outcomes;
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    for (path, items, old_genres, samples) in &before {
        assert_eq!(&genres(path), old_genres, "{}", path.display());
        assert_eq!(
            &all_tag_items(path),
            items,
            "{}: tags not restored exactly",
            path.display()
        );
        assert_eq!(&sonotag_core::audio::decode_file(path).unwrap().0, samples);
    }
    assert!(tags::batches(&lib).unwrap()[0].undone);
}

#[test]
fn fill_only_policy_keeps_existing_genres() {
    let (_dir, mut lib, music) = setup();
    let mp3 = music.join("tone.mp3");
    let wav = music.join("tone.wav");
    let id = id_of(&lib, &mp3);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Rock", None, false).unwrap();
    let id = id_of(&lib, &wav);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Rock", None, false).unwrap();
    let plan = tags::plan(&lib, WriteSettings::default()).unwrap();
    let report = tags::apply(&mut lib, &plan, WriteSettings::default()).unwrap();
    assert_eq!(report.written, 1);
    assert_eq!(report.kept_existing, 1);
    assert_eq!(genres(&mp3), vec!["Jazz"]);
    assert_eq!(genres(&wav), vec!["Rock"]);
    // The global policy allows it.
    let all = WriteSettings {
        policy: WritePolicy::ReplaceAll,
        id3v23: true,
        ..Default::default()
    };
    let plan = tags::plan(&lib, all).unwrap();
    assert_eq!(plan.len(), 1);
    tags::apply(&mut lib, &plan, all).unwrap();
    assert_eq!(genres(&mp3), vec!["Rock"]);
}

#[test]
fn changed_and_read_only_files_are_refused() {
    let (_dir, mut lib, music) = setup();
    let changed = music.join("tone.flac");
    let locked = music.join("tone.ogg");
    let id = id_of(&lib, &changed);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Pop", None, true).unwrap();
    let id = id_of(&lib, &locked);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Pop", None, true).unwrap();
    // Edited by another program after the scan.
    let mut f = lofty::read_from_path(&changed).unwrap();
    f.primary_tag_mut()
        .unwrap()
        .set_title("Edited elsewhere".into());
    f.save_to_path(&changed, lofty::config::WriteOptions::default())
        .unwrap();
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&locked, perms).unwrap();
    let original_locked = std::fs::read(&locked).unwrap();

    let plan = tags::plan(&lib, WriteSettings::default()).unwrap();
    let report = tags::apply(&mut lib, &plan, WriteSettings::default()).unwrap();
    assert_eq!(report.written, 0);
    let msg = |p: &Path| {
        report
            .outcomes
            .iter()
            .find(|o| o.path == p)
            .and_then(|o| o.error.clone())
            .unwrap()
    };
    assert!(msg(&changed).contains("changed since"), "{}", msg(&changed));
    assert!(msg(&locked).contains("read-only"), "{}", msg(&locked));
    assert_eq!(std::fs::read(&locked).unwrap(), original_locked);
    assert_eq!(genres(&changed), vec!["Jazz"]);
    // A batch without successful writes changed nothing: "undo the latest"
    // passes over it and says there is nothing to undo.
    let err = tags::undo(&mut lib, None, WriteSettings::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing to undo"), "{err}");
}

// ---- Files are sacred: links, owners, attributes, planted names, locks,
// ---- interrupted writes and byte-exact undo.

use sonotag_core::tags::{Interrupt, WriteLock};
use std::os::unix::fs::MetadataExt;

fn label_all(lib: &mut Library, music: &Path, genre: &str) {
    for name in FIXTURES {
        let id = id_of(lib, &music.join(name));
        sonotag_core::workflow::decide::set_genre(lib, id, genre, None, true).unwrap();
    }
}

fn snapshot(music: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    FIXTURES
        .iter()
        .map(|n| (music.join(n), std::fs::read(music.join(n)).unwrap()))
        .collect()
}

fn apply_all(lib: &mut Library) -> tags::ApplyReport {
    let plan = tags::plan(lib, WriteSettings::default()).unwrap();
    tags::apply(lib, &plan, WriteSettings::default()).unwrap()
}

#[test]
fn undo_restores_every_byte_and_id3v23_stays_v23() {
    let (_dir, mut lib, music) = setup();
    // Make the MP3's tag ID3v2.3, as many taggers write it.
    let mp3 = music.join("tone.mp3");
    let f = lofty::read_from_path(&mp3).unwrap();
    f.save_to_path(
        &mp3,
        lofty::config::WriteOptions::default().use_id3v23(true),
    )
    .unwrap();
    assert_eq!(std::fs::read(&mp3).unwrap()[..4], *b"ID3\x03");
    rescan(&mut lib, &music);
    label_all(&mut lib, &music, "Reggae");
    let before = snapshot(&music);
    let report = apply_all(&mut lib);
    assert_eq!(report.written, FIXTURES.len(), "{:?}", report.outcomes);
    assert_eq!(
        std::fs::read(&mp3).unwrap()[..4],
        *b"ID3\x03",
        "the ID3 version was kept"
    );
    assert_eq!(genres(&mp3), vec!["Reggae"]);
    let outcomes = tags::undo(&mut lib, None, WriteSettings::default())
        .unwrap()
        .outcomes;
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    for (path, bytes) in before {
        assert!(
            std::fs::read(&path).unwrap() == bytes,
            "{}: undo did not restore the exact bytes",
            path.display()
        );
    }
    let err = tags::undo(&mut lib, None, WriteSettings::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nothing to undo") && err.contains("1 batches"),
        "{err}"
    );
}

#[test]
fn secondary_tags_get_the_same_genre() {
    let (_dir, mut lib, music) = setup();
    let mp3 = music.join("tone.mp3");
    // An ID3v1 tag at the end that says Jazz too.
    let mut v1 = lofty::id3::v1::Id3v1Tag::new();
    v1.genre = Some(8); // Jazz
    v1.title = Some("Tone".into());
    lofty::tag::TagExt::save_to_path(&v1, &mp3, Default::default()).unwrap();
    rescan(&mut lib, &music);
    let id = id_of(&lib, &mp3);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
    assert_eq!(apply_all(&mut lib).written, 1);
    let f = lofty::read_from_path(&mp3).unwrap();
    for tag in f.tags() {
        let g: Vec<&str> = tag.get_strings(ItemKey::Genre).collect();
        assert_eq!(g, vec!["Reggae"], "{:?}", tag.tag_type());
    }
    assert!(f.tag(lofty::tag::TagType::Id3v1).is_some());
}

#[test]
fn links_owner_mode_and_attributes_are_kept() {
    let (dir, mut lib, music) = setup();
    let flac = music.join("tone.flac");
    let other_name = dir.path().join("hard-link.flac");
    std::fs::hard_link(&flac, &other_name).unwrap();
    // A track that is a symlink to a file elsewhere.
    let elsewhere = dir.path().join("elsewhere.ogg");
    std::fs::rename(music.join("tone.ogg"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, music.join("tone.ogg")).unwrap();
    // Unusual mode, another owner, a user attribute.
    let mp3 = music.join("tone.mp3");
    std::fs::set_permissions(&mp3, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&mp3, Some(4321), Some(4321)).unwrap();
    }
    let xattr_set = {
        let c = std::ffi::CString::new(mp3.as_os_str().as_encoded_bytes()).unwrap();
        let rc = unsafe {
            libc::setxattr(
                c.as_ptr(),
                c"user.rating".as_ptr(),
                b"5".as_ptr().cast(),
                1,
                0,
            )
        };
        rc == 0
    };
    rescan(&mut lib, &music);
    let inode = std::fs::metadata(&flac).unwrap().ino();
    label_all(&mut lib, &music, "Reggae");
    let report = apply_all(&mut lib);
    assert_eq!(report.written, FIXTURES.len(), "{:?}", report.outcomes);

    let meta = std::fs::metadata(&flac).unwrap();
    assert_eq!(
        (meta.ino(), meta.nlink()),
        (inode, 2),
        "the hard link is kept"
    );
    assert_eq!(
        genres(&other_name),
        vec!["Reggae"],
        "both names see the write"
    );
    let link = std::fs::symlink_metadata(music.join("tone.ogg")).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "the symlink is still a symlink"
    );
    assert_eq!(
        genres(&elsewhere),
        vec!["Reggae"],
        "written through to its target"
    );
    let meta = std::fs::metadata(&mp3).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640);
    if root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 4321), "owner kept");
    }
    if xattr_set {
        let c = std::ffi::CString::new(mp3.as_os_str().as_encoded_bytes()).unwrap();
        let mut buf = [0u8; 8];
        let n = unsafe {
            libc::getxattr(
                c.as_ptr(),
                c"user.rating".as_ptr(),
                buf.as_mut_ptr().cast(),
                8,
            )
        };
        assert_eq!(&buf[..n.max(0) as usize], b"5", "user attribute kept");
    }
}

#[test]
fn planted_names_beside_a_track_are_never_touched() {
    let (dir, mut lib, music) = setup();
    // Names the old writer used for its temporary copies.
    let planted = music.join(".tone.sonotag-tmp.mp3");
    std::fs::write(&planted, b"someone else's file").unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, b"outside the library").unwrap();
    std::os::unix::fs::symlink(&outside, music.join(".tone.sonotag-tmp.flac")).unwrap();
    // A name near the 255-byte limit.
    let long = music.join(format!("{}.wav", "x".repeat(250)));
    std::fs::copy(music.join("tone.wav"), &long).unwrap();
    let (summary, _) = rescan(&mut lib, &music);
    assert_eq!(
        summary.added, 1,
        "only the long name is new; leftovers are not tracks"
    );
    label_all(&mut lib, &music, "Reggae");
    let id = id_of(&lib, &long);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
    let report = apply_all(&mut lib);
    assert_eq!(report.written, FIXTURES.len() + 1, "{:?}", report.outcomes);
    assert_eq!(genres(&long), vec!["Reggae"]);
    assert_eq!(std::fs::read(&planted).unwrap(), b"someone else's file");
    assert_eq!(std::fs::read(&outside).unwrap(), b"outside the library");
    let names: Vec<String> = std::fs::read_dir(&music)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        FIXTURES.len() + 3,
        "nothing new in the folder: {names:?}"
    );
}

#[test]
fn a_second_writer_is_refused_and_locked_files_are_left_alone() {
    let (_dir, mut lib, music) = setup();
    label_all(&mut lib, &music, "Reggae");
    let before = snapshot(&music);
    let held = WriteLock::acquire(lib.path()).unwrap();
    let plan = tags::plan(&lib, WriteSettings::default()).unwrap();
    let err = tags::apply(&mut lib, &plan, WriteSettings::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("another Sonotag"), "{err}");
    let err = tags::undo(&mut lib, None, WriteSettings::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("another Sonotag"), "{err}");
    assert_eq!(snapshot(&music), before);
    drop(held);
    // Another program holds an advisory lock on one file.
    let flac = std::fs::File::open(music.join("tone.flac")).unwrap();
    flac.lock().unwrap();
    let report = apply_all(&mut lib);
    assert_eq!(report.written, FIXTURES.len() - 1);
    let refused = report.outcomes.iter().find(|o| o.error.is_some()).unwrap();
    assert!(refused.path.ends_with("tone.flac"));
    assert!(refused.error.as_deref().unwrap().contains("lock"));
    assert_eq!(std::fs::read(music.join("tone.flac")).unwrap(), before[1].1);
}

#[test]
fn two_writers_at_once_never_change_audio() {
    let (dir, mut lib, music) = setup();
    label_all(&mut lib, &music, "Reggae");
    let audio: Vec<Vec<f32>> = FIXTURES
        .iter()
        .map(|n| sonotag_core::audio::decode_file(&music.join(n)).unwrap().0)
        .collect();
    drop(lib);
    let db = dir.path().join("lib.sqlite");
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut lib = Library::open(&db).unwrap();
                let mut refused = 0;
                for round in 0..6 {
                    let result = if (round + w) % 2 == 0 {
                        let plan = tags::plan(&lib, WriteSettings::default()).unwrap();
                        tags::apply(&mut lib, &plan, WriteSettings::default()).map(|_| ())
                    } else {
                        tags::undo(&mut lib, None, WriteSettings::default()).map(|_| ())
                    };
                    if let Err(e) = result {
                        let e = e.to_string();
                        assert!(
                            e.contains("another Sonotag") || e.contains("nothing to undo"),
                            "{e}"
                        );
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for (name, samples) in FIXTURES.iter().zip(&audio) {
        let now = sonotag_core::audio::decode_file(&music.join(name))
            .unwrap()
            .0;
        assert_eq!(&now, samples, "{name}: audio changed");
    }
}

/// A write stopped at `at`, as a kill would, then the next start.
fn interrupted_then_recovered(at: Interrupt) -> (tempfile::TempDir, Library, PathBuf, Vec<u8>) {
    let (dir, mut lib, music) = setup();
    let mp3 = music.join("tone.mp3");
    let id = id_of(&lib, &mp3);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
    let original = std::fs::read(&mp3).unwrap();
    let plan = tags::plan(&lib, WriteSettings::default()).unwrap();
    tags::apply_until(&mut lib, &plan, WriteSettings::default(), Some(at)).unwrap();
    drop(lib);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    let recovered = tags::recover(&mut lib).unwrap();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(recovered[0].resolved, "{recovered:?}");
    assert!(tags::recover(&mut lib).unwrap().is_empty(), "resolved once");
    // No ghosts: a rescan finds every file as the library knows it.
    let (summary, _) = rescan(&mut lib, &music);
    assert_eq!(summary.unchanged, FIXTURES.len(), "{at:?}");
    (dir, lib, mp3, original)
}

#[test]
fn a_write_killed_before_or_during_the_write_is_rolled_back() {
    for at in [Interrupt::AfterJournal, Interrupt::MidWrite] {
        let (dir, lib, mp3, original) = interrupted_then_recovered(at);
        assert!(std::fs::read(&mp3).unwrap() == original, "{at:?}");
        // The write can be made again.
        assert_eq!(tags::plan(&lib, WriteSettings::default()).unwrap().len(), 1);
        let kept = dir.path().join("lib.sqlite.tag-journal/kept");
        let kept_files = std::fs::read_dir(&kept).map(|d| d.count()).unwrap_or(0);
        assert_eq!(kept_files, usize::from(at == Interrupt::MidWrite), "{at:?}");
    }
}

#[test]
fn a_write_killed_after_the_write_is_completed_and_undoable() {
    let (_dir, mut lib, mp3, original) = interrupted_then_recovered(Interrupt::AfterWrite);
    assert_eq!(genres(&mp3), vec!["Reggae"]);
    assert!(
        tags::plan(&lib, WriteSettings::default())
            .unwrap()
            .is_empty()
    );
    let outcomes = tags::undo(&mut lib, None, WriteSettings::default())
        .unwrap()
        .outcomes;
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].error.is_none(), "{outcomes:?}");
    assert!(std::fs::read(&mp3).unwrap() == original);
}

#[test]
fn undo_resolves_an_interrupted_write_itself() {
    let (dir, mut lib, music) = setup();
    let flac = music.join("tone.flac");
    let id = id_of(&lib, &flac);
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
    let original = std::fs::read(&flac).unwrap();
    let plan = tags::plan(&lib, WriteSettings::default()).unwrap();
    tags::apply_until(
        &mut lib,
        &plan,
        WriteSettings::default(),
        Some(Interrupt::AfterWrite),
    )
    .unwrap();
    drop(lib);
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    let outcomes = tags::undo(&mut lib, None, WriteSettings::default())
        .unwrap()
        .outcomes;
    assert_eq!(outcomes.len(), 1, "the completed write is undone");
    assert!(std::fs::read(&flac).unwrap() == original);
}

#[test]
fn undo_of_an_edited_file_keeps_the_batch_open() {
    let (_dir, mut lib, music) = setup();
    label_all(&mut lib, &music, "Reggae");
    apply_all(&mut lib);
    let flac = music.join("tone.flac");
    let mut f = lofty::read_from_path(&flac).unwrap();
    f.primary_tag_mut().unwrap().set_title("Edited".into());
    f.save_to_path(&flac, Default::default()).unwrap();
    let tags::UndoReport {
        batch_id: batch,
        outcomes,
        ..
    } = tags::undo(&mut lib, None, WriteSettings::default()).unwrap();
    let failed: Vec<_> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .error
            .as_deref()
            .unwrap()
            .contains("changed since Sonotag wrote it")
    );
    assert_eq!(
        genres(&flac),
        vec!["Reggae"],
        "the edited file is left alone"
    );
    assert!(
        !tags::batches(&lib).unwrap()[0].undone,
        "batch {batch} stays open"
    );
    // Running undo again retries only what is left.
    let again = tags::undo(&mut lib, Some(batch), WriteSettings::default())
        .unwrap()
        .outcomes;
    assert_eq!(again.len(), 1);
}

#[test]
fn a_file_the_user_may_not_write_is_refused() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to act as another user");
        return;
    }
    use std::os::unix::process::CommandExt;
    let (dir, mut lib, music) = setup();
    label_all(&mut lib, &music, "Reggae");
    drop(lib);
    // The folder and library are writable by everyone; the files are root's 0644.
    for p in [dir.path(), &music] {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .unwrap();
        }
    }
    let before = snapshot(&music);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .args(["--db"])
        .arg(dir.path().join("lib.sqlite"))
        .args(["apply", "--yes"])
        .env("HOME", dir.path())
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert_eq!(snapshot(&music), before);
    for (path, _) in before {
        assert_eq!(
            std::fs::metadata(&path).unwrap().uid(),
            0,
            "{}",
            path.display()
        );
    }
}

/// Formats read through ffmpeg (issue 36): WavPack gets its genre in an
/// APEv2 tag, read back by lofty, with the audio unchanged and undo exact;
/// WMA, with no exact edit here, is marked in the plan as not written, by
/// name, and kept.
#[test]
fn wavpack_gets_its_genre_in_an_ape_tag_and_wma_is_not_written_by_name() {
    if !sonotag_core::audio::external::available() {
        eprintln!("skipped: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let (wv, wma) = (music.join("tone.wv"), music.join("tone.wma"));
    std::fs::copy(fixture("tone.wv"), &wv).unwrap();
    std::fs::copy(fixture("tone.wma"), &wma).unwrap();
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    let (summary, problems) = rescan(&mut lib, &music);
    assert_eq!(summary.added, 2, "{problems:?}");
    let wma_track = lib.track_by_path(&wma).unwrap().unwrap();
    assert_eq!(wma_track.info.format.as_deref(), Some("WMA"));
    assert!((wma_track.info.duration_s.unwrap() - 2.0).abs() < 0.1);
    let before = (std::fs::read(&wv).unwrap(), std::fs::read(&wma).unwrap());
    let audio = sonotag_core::audio::decode_file(&wv).unwrap().0;
    for path in [&wv, &wma] {
        let id = id_of(&lib, path);
        sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
    }
    let settings = WriteSettings::default();
    let plan = tags::plan(&lib, settings).unwrap();
    // The plan says before the write that the WMA file gets no genre.
    let wma_plan = plan.iter().find(|p| p.path == wma).unwrap();
    assert_eq!(wma_plan.action, Action::Unwritable);
    let line = wma_plan.to_string();
    assert!(
        line.contains("not written: Sonotag does not write genres into WMA"),
        "{line}"
    );
    let report = tags::apply(&mut lib, &plan, settings).unwrap();
    assert_eq!(report.written, 1, "{:?}", report.outcomes);
    assert!(
        report.outcomes.iter().all(|o| o.path != wma),
        "{:?}",
        report.outcomes
    );
    assert_eq!(std::fs::read(&wma).unwrap(), before.1);
    assert_eq!(genres(&wv), vec!["Reggae"]);
    assert_eq!(sonotag_core::audio::decode_file(&wv).unwrap().0, audio);
    // The rescan sees the written file as the same, unchanged track.
    let (again, _) = rescan(&mut lib, &music);
    assert_eq!((again.added, again.unchanged), (0, 2), "{again:?}");
    let undo = tags::undo(&mut lib, None, settings).unwrap();
    assert!(undo.outcomes.iter().all(|o| o.error.is_none()), "{undo:?}");
    assert_eq!(std::fs::read(&wv).unwrap(), before.0);
}
