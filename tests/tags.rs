//! Tag writing on every format: write, read back, audio unchanged, undo
//! restores exactly; refusals for changed and read-only files.

use lofty::prelude::*;
use sonotag::library::Library;
use sonotag::tags::{self, Action, WritePolicy, WriteSettings};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

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
    let (summary, problems) = sonotag::scan::scan(
        &mut lib,
        std::slice::from_ref(&music),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.added, FIXTURES.len(), "{problems:?}");
    (dir, lib, music)
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
        tags::override_genre(&mut lib, id, "Reggae", true).unwrap();
        before.push((
            path.clone(),
            all_tag_items(&path),
            genres(&path),
            sonotag::audio::decode_file(&path).unwrap().0,
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
        let after = sonotag::audio::decode_file(path).unwrap().0;
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
    let (summary, _) = sonotag::scan::scan(
        &mut lib,
        std::slice::from_ref(&music),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.unchanged, FIXTURES.len());
    assert!(tags::plan(&lib, settings).unwrap().is_empty());

    let (_, outcomes) = tags::undo(&mut lib, None, settings).unwrap();
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    for (path, items, old_genres, samples) in &before {
        assert_eq!(&genres(path), old_genres, "{}", path.display());
        assert_eq!(
            &all_tag_items(path),
            items,
            "{}: tags not restored exactly",
            path.display()
        );
        assert_eq!(&sonotag::audio::decode_file(path).unwrap().0, samples);
    }
    assert!(tags::batches(&lib).unwrap()[0].undone);
}

#[test]
fn fill_only_policy_keeps_existing_genres() {
    let (_dir, mut lib, music) = setup();
    let mp3 = music.join("tone.mp3");
    let wav = music.join("tone.wav");
    let id = id_of(&lib, &mp3);
    tags::override_genre(&mut lib, id, "Rock", false).unwrap();
    let id = id_of(&lib, &wav);
    tags::override_genre(&mut lib, id, "Rock", false).unwrap();
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
    tags::override_genre(&mut lib, id, "Pop", true).unwrap();
    let id = id_of(&lib, &locked);
    tags::override_genre(&mut lib, id, "Pop", true).unwrap();
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
    // Undo of a batch without successful writes restores nothing and fails nothing.
    let (_, outcomes) = tags::undo(&mut lib, None, WriteSettings::default()).unwrap();
    assert!(outcomes.is_empty());
}
