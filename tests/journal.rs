//! The journal folder as an attack surface, and the order of durability
//! (issue 23): a symlinked or foreign journal is refused, junk in it never
//! hangs or bloats a command, an entry the library does not vouch for is
//! set aside untouched, a kill never leaves a pending row, a lost landing
//! is recovered from what the file holds, and a second apply of the same
//! plan writes nothing.

use sonotag_core::cancel::Cancel;
use sonotag_core::store::Library;
use sonotag_core::tags::Interrupt;
use sonotag_core::tags::{self, WriteSettings};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

struct Setup {
    dir: tempfile::TempDir,
    lib: Library,
    track: PathBuf,
}

impl Setup {
    fn journal(&self) -> PathBuf {
        self.dir.path().join("lib.sqlite.tag-journal")
    }

    fn reopen(self) -> Self {
        let Setup { dir, lib, track } = self;
        drop(lib);
        let lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
        Setup { dir, lib, track }
    }
}

/// A library with one MP3 labelled Reggae (not yet written).
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let track = music.join("tone.mp3");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tone.mp3"),
        &track,
    )
    .unwrap();
    let mut lib = Library::open(&dir.path().join("lib.sqlite")).unwrap();
    sonotag_core::catalog::walk::scan(&mut lib, &[music], &Cancel::new(), &mut |_| {}).unwrap();
    let id = lib.track_by_path(&track).unwrap().unwrap().id;
    sonotag_core::workflow::decide::set_genre(&mut lib, id, "Reggae", None, true).unwrap();
    Setup { dir, lib, track }
}

fn apply(lib: &mut Library) -> anyhow::Result<tags::ApplyReport> {
    let plan = tags::plan(lib, WriteSettings::default()).unwrap();
    tags::apply(lib, &plan, WriteSettings::default())
}

#[test]
fn a_symlinked_journal_deletes_nothing_and_refuses_writes() {
    let mut s = setup();
    let docs = s.dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("notes.json"), b"{\"a\":1}").unwrap();
    std::fs::write(docs.join("backup.orig"), b"x").unwrap();
    std::fs::write(docs.join("3-apply-1-1.json"), b"{}").unwrap();
    std::os::unix::fs::symlink(&docs, s.journal()).unwrap();
    let recovered = tags::recover(&mut s.lib).unwrap();
    assert!(
        recovered.iter().any(|r| r.message.contains("symlink")),
        "{recovered:?}"
    );
    let before = std::fs::read(&s.track).unwrap();
    let err = apply(&mut s.lib).unwrap_err().to_string();
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::read(&s.track).unwrap(), before, "nothing written");
    for name in ["notes.json", "backup.orig", "3-apply-1-1.json"] {
        assert!(docs.join(name).exists(), "{name} is still there");
    }
}

#[test]
fn a_journal_others_may_write_into_is_not_trusted() {
    let mut s = setup();
    std::fs::create_dir(s.journal()).unwrap();
    std::fs::set_permissions(s.journal(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = apply(&mut s.lib).unwrap_err().to_string();
    assert!(err.contains("mode 777"), "{err}");
}

#[test]
fn a_planted_entry_naming_a_foreign_file_is_set_aside() {
    let mut s = setup();
    apply(&mut s.lib).unwrap(); // makes the journal folder, as Sonotag would
    let foreign = s.dir.path().join("x.conf");
    std::fs::write(&foreign, b"the user's config").unwrap();
    let attacker = b"attacker's bytes";
    let sha = |b: &[u8]| sonotag_core::tags::sha256_hex(b);
    let entry = serde_json::json!({
        "write_id": 1, "kind": "apply",
        "path": foreign.to_string_lossy().as_bytes(),
        "before_sha256": sha(attacker), "after_sha256": sha(b"whatever"),
    });
    std::fs::write(s.journal().join("1-apply-9-9.json"), entry.to_string()).unwrap();
    std::fs::write(s.journal().join("1-apply-9-9.orig"), attacker).unwrap();
    // A second entry whose .orig is a symlink to a secret.
    let secret = s.dir.path().join("secret");
    std::fs::write(&secret, b"secret").unwrap();
    let entry2 = serde_json::json!({
        "write_id": 1, "kind": "apply",
        "path": s.track.to_string_lossy().as_bytes(),
        "before_sha256": sha(b"secret"), "after_sha256": sha(b"x"),
    });
    std::fs::write(s.journal().join("1-apply-9-10.json"), entry2.to_string()).unwrap();
    std::os::unix::fs::symlink(&secret, s.journal().join("1-apply-9-10.orig")).unwrap();
    let track_before = std::fs::read(&s.track).unwrap();

    let mut s = s.reopen();
    let recovered = tags::recover(&mut s.lib).unwrap();
    // The symlinked copy's entry and copy, and the foreign entry.
    assert_eq!(recovered.len(), 3, "{recovered:?}");
    assert_eq!(std::fs::read(&foreign).unwrap(), b"the user's config");
    assert_eq!(std::fs::read(&s.track).unwrap(), track_before);
    let kept = s.journal().join("kept");
    assert!(kept.join("1-apply-9-9.orig").exists());
    assert!(
        std::fs::symlink_metadata(kept.join("1-apply-9-10.orig"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself was moved, its target never read"
    );
    // Nothing anywhere holds the secret but the secret.
    for e in std::fs::read_dir(&kept).unwrap().flatten() {
        if !e.file_type().unwrap().is_symlink() {
            assert_ne!(std::fs::read(e.path()).unwrap(), b"secret");
        }
    }
    assert!(
        tags::recover(&mut s.lib).unwrap().is_empty(),
        "resolved once"
    );
}

#[test]
fn junk_in_the_journal_neither_hangs_nor_bloats() {
    let mut s = setup();
    apply(&mut s.lib).unwrap();
    let fifo = std::ffi::CString::new(
        s.journal()
            .join("9-apply-1-1.json")
            .to_string_lossy()
            .as_bytes(),
    )
    .unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::write(s.journal().join("9-apply-1-1.orig"), b"x").unwrap();
    std::os::unix::fs::symlink("/dev/zero", s.journal().join("8-apply-1-1.json")).unwrap();
    std::fs::write(s.journal().join("8-apply-1-1.orig"), b"x").unwrap();
    let started = std::time::Instant::now();
    let recovered = tags::recover(&mut s.lib).unwrap();
    assert!(started.elapsed().as_secs() < 10, "no hang");
    assert_eq!(recovered.len(), 4, "{recovered:?}");
}

#[test]
fn a_kill_before_the_journal_leaves_no_pending_row() {
    let mut s = setup();
    let before = std::fs::read(&s.track).unwrap();
    let plan = tags::plan(&s.lib, WriteSettings::default()).unwrap();
    tags::apply_until(
        &mut s.lib,
        &plan,
        WriteSettings::default(),
        Some(Interrupt::BeforeJournal),
    )
    .unwrap();
    let mut s = s.reopen();
    assert_eq!(s.lib.unresolved_writes().unwrap().len(), 1);
    let recovered = tags::recover(&mut s.lib).unwrap();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(
        recovered[0].message.contains("nothing was changed"),
        "{recovered:?}"
    );
    assert!(s.lib.unresolved_writes().unwrap().is_empty());
    assert_eq!(
        s.lib.batches().unwrap()[0].files,
        0,
        "history counts no write"
    );
    assert_eq!(std::fs::read(&s.track).unwrap(), before);
    // The write can still be made.
    assert_eq!(apply(&mut s.lib).unwrap().written, 1);
}

#[test]
fn a_lost_landing_is_recovered_from_what_the_file_holds() {
    let mut s = setup();
    let before = std::fs::read(&s.track).unwrap();
    assert_eq!(apply(&mut s.lib).unwrap().written, 1);
    let written = std::fs::read(&s.track).unwrap();
    // Power lost before the WAL tail with the landing reached the disk,
    // after the journal entry was removed: the row is pending again.
    drop(s.lib);
    let conn = rusqlite::Connection::open(s.dir.path().join("lib.sqlite")).unwrap();
    conn.execute(
        "UPDATE tag_writes SET size_after = NULL, mtime_after = NULL",
        [],
    )
    .unwrap();
    drop(conn);
    s.lib = Library::open(&s.dir.path().join("lib.sqlite")).unwrap();
    let recovered = tags::recover(&mut s.lib).unwrap();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(
        recovered[0].message.contains("now recorded"),
        "{recovered:?}"
    );
    assert_eq!(std::fs::read(&s.track).unwrap(), written);
    let undo = tags::undo(&mut s.lib, None, WriteSettings::default()).unwrap();
    assert!(undo.outcomes.iter().all(|o| o.error.is_none()), "{undo:?}");
    assert_eq!(std::fs::read(&s.track).unwrap(), before);
}

#[test]
fn a_second_apply_of_the_same_plan_writes_nothing() {
    let mut s = setup();
    let plan = tags::plan(&s.lib, WriteSettings::default()).unwrap();
    let first = tags::apply(&mut s.lib, &plan, WriteSettings::default()).unwrap();
    assert_eq!(first.written, 1);
    let second = tags::apply(&mut s.lib, &plan, WriteSettings::default()).unwrap();
    assert_eq!(second.written, 0);
    assert_eq!(second.batch_id, None);
    assert!(second.to_string().contains("nothing to write"), "{second}");
    assert_eq!(s.lib.batches().unwrap().len(), 1);
}

#[test]
fn a_file_swapped_for_another_of_the_same_size_and_time_is_refused() {
    let mut s = setup();
    let bytes = std::fs::read(&s.track).unwrap();
    let mtime = std::fs::metadata(&s.track).unwrap().modified().unwrap();
    // Another file, same bytes, size and mtime, moved into place.
    let other = s.dir.path().join("other.mp3");
    std::fs::write(&other, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&other)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::rename(&other, &s.track).unwrap();
    let report = apply(&mut s.lib).unwrap();
    assert_eq!(report.written, 0);
    let why = report.outcomes[0].error.clone().unwrap();
    assert!(why.contains("replaced"), "{why}");
    assert_eq!(std::fs::read(&s.track).unwrap(), bytes);
    // After a rescan it is the reviewed file again, and is written.
    sonotag_core::catalog::walk::scan(
        &mut s.lib,
        &[s.track.parent().unwrap().to_path_buf()],
        &Cancel::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(apply(&mut s.lib).unwrap().written, 1);
}

/// Three names of one file (hard links), all decided: one write, and every
/// name recorded as written; one undo, and every name recorded as undone
/// (issue 22, item 10).
#[test]
fn hard_linked_names_are_one_write_and_one_undo() {
    let mut s = setup();
    let music = s.track.parent().unwrap().to_path_buf();
    let names = [s.track.clone(), music.join("b.mp3"), music.join("c.mp3")];
    std::fs::hard_link(&names[0], &names[1]).unwrap();
    std::fs::hard_link(&names[0], &names[2]).unwrap();
    sonotag_core::catalog::walk::scan(
        &mut s.lib,
        std::slice::from_ref(&music),
        &Cancel::new(),
        &mut |_| {},
    )
    .unwrap();
    for n in &names[1..] {
        let id = s.lib.track_by_path(n).unwrap().unwrap().id;
        sonotag_core::workflow::decide::set_genre(&mut s.lib, id, "Reggae", None, true).unwrap();
    }
    let before = std::fs::read(&names[0]).unwrap();
    let report = apply(&mut s.lib).unwrap();
    assert_eq!(report.written, 3, "{:?}", report.outcomes);
    assert!(
        tags::plan(&s.lib, WriteSettings::default())
            .unwrap()
            .is_empty(),
        "all recorded"
    );
    let undo = tags::undo(&mut s.lib, None, WriteSettings::default()).unwrap();
    assert_eq!(undo.outcomes.len(), 3);
    assert!(undo.outcomes.iter().all(|o| o.error.is_none()), "{undo:?}");
    assert_eq!(std::fs::read(&names[0]).unwrap(), before);
    assert!(
        s.lib.latest_open_batch().unwrap().is_none(),
        "the batch is undone"
    );
}
