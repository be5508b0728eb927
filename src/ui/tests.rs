//! Drives the real views with iced's headless simulator: open a folder by
//! typed path, watch the job finish, select a track, see its evidence,
//! accept one, override one, apply with the confirmation, undo — checking
//! the library and the files' tags at each step.

use super::{App, Message};
use iced_test::simulator;
use lofty::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Clicks the widget showing `label` and feeds the produced messages back.
fn click(app: &mut App, label: &str) {
    let messages: Vec<Message> = {
        let mut ui = simulator(app.view());
        ui.click(label)
            .unwrap_or_else(|e| panic!("cannot click {label:?}: {e}"));
        ui.into_messages().collect()
    };
    assert!(
        !messages.is_empty(),
        "clicking {label:?} produced no message"
    );
    for m in messages {
        let _ = app.update(m);
    }
}

fn shows(app: &App, label: &str) -> bool {
    let mut ui = simulator(app.view());
    ui.find(label).is_ok()
}

fn wait_for_job(app: &mut App) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while app.busy() {
        assert!(
            Instant::now() < deadline,
            "job did not finish: {}",
            app.status()
        );
        std::thread::sleep(Duration::from_millis(50));
        let _ = app.update(Message::Tick);
    }
}

fn genre_tag(path: &Path) -> Vec<String> {
    let f = lofty::read_from_path(path).unwrap();
    f.tag(f.primary_tag_type())
        .map(|t| t.get_strings(ItemKey::Genre).map(str::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn review_flow_in_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    // The library, settings and vocabulary live in a private folder.
    let paths = sonotag_core::paths::Paths::in_folder(&dir.path().join("sonotag"));
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    for i in 0..3u64 {
        let stereo = sonotag_core::synth::music_like(6.0, 44_100, i + 10);
        sonotag_core::synth::write_wav(&music.join(format!("song {i}.wav")), &stereo, 44_100, 2)
            .unwrap();
    }
    let db = paths.database.clone();
    let (mut app, _) = App::new(paths.clone(), None);

    // Open the folder by typed path.
    let _ = app.update(Message::FolderInput(music.display().to_string()));
    click(&mut app, "Open");
    assert!(app.busy());
    wait_for_job(&mut app);
    assert_eq!(app.table.rows.len(), 3, "{}", app.status());
    use sonotag_core::review::ReviewState;
    assert!(
        app.table
            .rows
            .iter()
            .all(|r| matches!(r.state, ReviewState::Proposed | ReviewState::Unsure)),
        "every track classified: {:?}",
        app.table.rows
    );

    // Select a track: its histogram and verdict appear.
    click(&mut app, "song 0.wav");
    let first = app.selected.expect("a track is selected");
    let evidence = app.evidence.as_ref().expect("evidence loaded");
    assert_eq!(evidence.analysis.slices, 2);
    let winner = evidence
        .proposal
        .winner
        .map(|w| evidence.classes[w].clone());

    // Accept it (moves to the next track), then override the next one.
    if winner.is_some() {
        click(&mut app, "Accept (Enter)");
    } else {
        let _ = app.update(Message::OverridePick("Jazz".into()));
    }
    let second = app.selected.expect("moved to the next track");
    assert_ne!(first, second);
    let _ = app.update(Message::OverrideInput("drum and bass".into()));
    let _ = app.update(Message::OverrideSubmit);
    let rows = sonotag_core::review::rows(&app.lib, app.model_id()).unwrap();
    let decided: Vec<_> = rows.iter().filter_map(|r| r.decided.clone()).collect();
    assert_eq!(decided.len(), 2, "{rows:?}");
    assert!(
        decided.contains(&"Electronic".to_string()),
        "the vocabulary maps drum and bass"
    );

    // Apply shows the confirmation with original → new, then writes.
    click(&mut app, "Apply tags…");
    assert!(app.confirm.is_some());
    assert!(shows(&app, "Write 2 files"));
    // Modal: keys and buttons behind it change nothing; Esc closes it.
    use iced::keyboard::{Key, key::Named};
    for m in [
        Message::Key(Key::Character("u".into())),
        Message::Key(Key::Named(Named::Enter)),
        Message::UndoDecision,
        Message::AcceptAbove,
    ] {
        let _ = app.update(m);
    }
    let decided_now = || {
        sonotag_core::review::rows(&app.lib, app.model_id())
            .unwrap()
            .iter()
            .filter(|r| r.decided.is_some())
            .count()
    };
    assert_eq!(decided_now(), 2, "nothing behind the dialog reacted");
    let _ = app.update(Message::Key(Key::Named(Named::Escape)));
    assert!(app.confirm.is_none());
    click(&mut app, "Apply tags…");
    // A decision retracted elsewhere (the command line) while the dialog is
    // open: the dialog shows the new plan, and a click on the old one
    // writes nothing until the new plan has been seen.
    let mut elsewhere = sonotag_core::store::Library::open(&db).unwrap();
    let second_genre = rows
        .iter()
        .find(|r| r.track_id == second)
        .and_then(|r| r.decided.clone())
        .unwrap();
    sonotag_core::tags::clear_label(&mut elsewhere, second).unwrap();
    click(&mut app, "Write 2 files");
    assert!(!app.busy(), "a stale plan is never written");
    assert!(shows(&app, "Write 1 files"));
    assert!(shows(
        &app,
        "Decisions changed while this was open: this is the plan now. Check it, then write."
    ));
    let _ = app.update(Message::OverrideInput("drum and bass".into()));
    assert!(
        app.override_input.is_empty(),
        "typing behind the dialog is ignored"
    );
    sonotag_core::tags::override_genre(&mut elsewhere, second, &second_genre, None, false).unwrap();
    let _ = app.update(Message::Tick);
    assert!(shows(&app, "Write 2 files"), "ticks keep the plan current");
    click(&mut app, "Write 2 files");
    wait_for_job(&mut app);
    let written: Vec<_> = rows
        .iter()
        .filter(|r| r.decided.is_some())
        .map(|r| (r.path.clone(), r.decided.clone().unwrap()))
        .collect();
    for (path, genre) in &written {
        assert_eq!(genre_tag(path), vec![genre.clone()], "{}", path.display());
    }
    let states: Vec<_> = sonotag_core::review::rows(&app.lib, app.model_id())
        .unwrap()
        .into_iter()
        .map(|r| r.state)
        .collect();
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == ReviewState::Written)
            .count(),
        2
    );

    // Undo restores the files.
    click(&mut app, "Undo last write");
    wait_for_job(&mut app);
    for (path, _) in &written {
        assert!(
            genre_tag(path).is_empty(),
            "{} still tagged",
            path.display()
        );
    }

    // The vocabulary is edited in the settings panel and saved as TOML.
    click(&mut app, "Settings");
    let _ = app.update(Message::VocabReset);
    // (Below the fold of the simulator's window: send what the button sends.)
    assert!(shows(&app, "Save vocabulary"));
    let _ = app.update(Message::VocabSave);
    let saved = paths.vocabulary.clone();
    let vocab = sonotag_core::genres::Vocabulary::load(&saved).unwrap();
    assert_eq!(vocab.canonical("trap").as_deref(), Some("Hip-Hop"));
    assert!(saved.exists(), "{}", app.status());
}
