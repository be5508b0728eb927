//! Files above the large-file size are rewritten without being held whole
//! (issue 23): only a window at each end is read, the audio is moved on
//! disk a chunk at a time, the journal's copy is streamed, and the promises
//! hold as for small files: the genre reads back, the audio decodes the
//! same, undo is byte-exact, and a kill mid-move is rolled back. The size is
//! lowered to 256 KiB for this test binary (its own process).

use lofty::prelude::*;
use sonotag_core::cancel::Cancel;
use sonotag_core::store::Library;
use sonotag_core::tags::{self, Interrupt, WritePolicy, WriteSettings};
use std::path::{Path, PathBuf};

fn lower_the_large_file_size() {
    // SAFETY: set once, before any thread of this test binary reads it.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| unsafe { std::env::set_var("SONOTAG_LARGE_FILE_BYTES", "262144") });
}

/// An MP3 of about 1.6 MB: an ID3v2.4 tag without padding (a new genre must
/// grow it and move all the audio), then the fixture's frames 100 times.
fn large_mp3(path: &Path) {
    let fixture =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tone.mp3"))
            .unwrap();
    let size = 10
        + fixture[6..10]
            .iter()
            .fold(0usize, |a, &b| (a << 7) | b as usize);
    let end = if &fixture[fixture.len() - 128..][..3] == b"TAG" {
        fixture.len() - 128
    } else {
        fixture.len()
    };
    let frames = &fixture[size..end];
    let title = b"\x03Large";
    let mut tag = b"ID3\x04\x00\x00\x00\x00\x00".to_vec();
    tag.push((10 + title.len()) as u8);
    tag.extend_from_slice(b"TIT2\x00\x00\x00");
    tag.push(title.len() as u8);
    tag.extend_from_slice(&[0, 0]);
    tag.extend_from_slice(title);
    let mut out = tag;
    for _ in 0..100 {
        out.extend_from_slice(frames);
    }
    std::fs::write(path, out).unwrap();
}

struct Library_ {
    dir: tempfile::TempDir,
    lib: Library,
    files: Vec<PathBuf>,
}

fn library() -> Library_ {
    lower_the_large_file_size();
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let mp3 = music.join("large.mp3");
    large_mp3(&mp3);
    let wav = music.join("large.wav");
    sonotag_core::dev::synth::write_wav(
        &wav,
        &sonotag_core::dev::synth::music_like(30.0, 22_050, 3),
        22_050,
        1,
    )
    .unwrap();
    let ogg = music.join("large.ogg");
    let mut bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tone.ogg"))
            .unwrap();
    bytes.resize(bytes.len() + 400_000, 0);
    std::fs::write(&ogg, bytes).unwrap();
    let files = vec![mp3, wav, ogg];
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    sonotag_core::catalog::walk::scan(&mut lib, &[music], &Cancel::new(), &mut |_| {}).unwrap();
    for f in &files {
        let id = lib.track_by_path(f).unwrap().unwrap().id;
        sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
    }
    Library_ { dir, lib, files }
}

const SETTINGS: WriteSettings = WriteSettings {
    policy: WritePolicy::ReplaceAll,
    id3v23: false,
    v23_join: sonotag_core::tags::formats::Id3v23Join::Semicolon,
};

fn genres(path: &Path) -> Vec<String> {
    let f = lofty::read_from_path(path).unwrap();
    f.tags()
        .iter()
        .flat_map(|t| {
            t.get_strings(ItemKey::Genre)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn audio(path: &Path) -> Vec<u32> {
    sonotag_core::audio::decode_file(path)
        .unwrap()
        .0
        .iter()
        .map(|s| s.to_bits())
        .collect()
}

#[test]
fn large_files_are_written_and_undone_exactly_without_being_held() {
    let mut l = library();
    let before: Vec<Vec<u8>> = l.files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let sounds: Vec<Vec<u32>> = l.files[..2].iter().map(|f| audio(f)).collect();
    let plan = tags::plan(&l.lib, SETTINGS).unwrap();
    let report = tags::apply(&mut l.lib, &plan, SETTINGS).unwrap();
    assert_eq!(report.written, 2, "{:?}", report.outcomes);
    let ogg = report
        .outcomes
        .iter()
        .find(|o| o.path == l.files[2])
        .unwrap();
    assert!(
        ogg.error.as_deref().unwrap().contains("an Ogg file over"),
        "{ogg:?}"
    );
    assert_eq!(std::fs::read(&l.files[2]).unwrap(), before[2]);
    for (f, sound) in l.files[..2].iter().zip(&sounds) {
        assert!(genres(f).contains(&"Reggae".to_string()), "{}", f.display());
        assert!(audio(f) == *sound, "{}: the audio changed", f.display());
    }
    assert!(
        std::fs::metadata(&l.files[0]).unwrap().len() > before[0].len() as u64,
        "the MP3's tag grew"
    );
    let undo = tags::undo(&mut l.lib, None, SETTINGS).unwrap();
    assert!(undo.outcomes.iter().all(|o| o.error.is_none()), "{undo:?}");
    for (f, b) in l.files.iter().zip(&before) {
        assert!(
            std::fs::read(f).unwrap() == *b,
            "{}: undo is not exact",
            f.display()
        );
    }
}

/// The library with its large MP3's write stopped at `at`, as a kill
/// would, and the MP3's bytes from before.
fn killed_writing_the_mp3(at: Interrupt) -> (Library_, Vec<u8>) {
    let mut l = library();
    let original = std::fs::read(&l.files[0]).unwrap();
    let plan: Vec<_> = tags::plan(&l.lib, SETTINGS)
        .unwrap()
        .into_iter()
        .filter(|p| p.path == l.files[0])
        .collect();
    tags::apply_until(&mut l.lib, &plan, SETTINGS, Some(at)).unwrap();
    (l, original)
}

#[test]
fn a_large_write_killed_while_moving_the_audio_is_rolled_back() {
    let (l, original) = killed_writing_the_mp3(Interrupt::MidWrite);
    assert_ne!(
        std::fs::read(&l.files[0]).unwrap(),
        original,
        "the kill left a torn file"
    );
    drop(l.lib);
    let mut lib = Library::open(&l.dir.path().join("lib.sqlite")).unwrap();
    let recovered = tags::recover(&mut lib).unwrap();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(
        recovered[0].message.contains("rolled back"),
        "{recovered:?}"
    );
    assert!(std::fs::read(&l.files[0]).unwrap() == original);
}

#[test]
fn a_large_write_killed_after_the_move_is_completed_and_undoable() {
    let (l, original) = killed_writing_the_mp3(Interrupt::AfterWrite);
    drop(l.lib);
    let mut lib = Library::open(&l.dir.path().join("lib.sqlite")).unwrap();
    let recovered = tags::recover(&mut lib).unwrap();
    assert!(
        recovered[0].message.contains("now recorded"),
        "{recovered:?}"
    );
    assert!(genres(&l.files[0]).contains(&"Reggae".to_string()));
    let undo = tags::undo(&mut lib, None, SETTINGS).unwrap();
    assert!(undo.outcomes.iter().all(|o| o.error.is_none()), "{undo:?}");
    assert!(std::fs::read(&l.files[0]).unwrap() == original);
}
