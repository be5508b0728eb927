//! Drives the real views with iced's headless simulator: open a folder by
//! typed path, watch the job finish, select a track, see its evidence,
//! accept one, override one, undo and redo a decision, apply with the
//! review (modal, rebuilt when decisions change, rows left out), undo the
//! write — checking the library and the files' tags at each step; and a
//! long list paged by keys, searched and accepted in one batch. The tasks
//! each update returns are run to the end, as the runtime would.

use super::{App, Message, track};
use iced::Task;
use iced::futures::StreamExt;
use iced_test::runtime::{Action, task::into_stream};
use iced_test::simulator;
use lofty::prelude::*;
use std::collections::VecDeque;
use std::path::Path;

/// Sends `message`, then runs every task it leads to, feeding their
/// messages back, until nothing is left.
fn send(app: &mut App, message: Message) {
    let task = app.update(message);
    run(app, task);
}

fn run(app: &mut App, task: Task<Message>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut pending = VecDeque::from([task]);
    while let Some(task) = pending.pop_front() {
        let Some(mut stream) = into_stream(task) else {
            continue;
        };
        rt.block_on(async {
            while let Some(action) = stream.next().await {
                if let Action::Output(m) = action {
                    pending.push_back(app.update(m));
                }
            }
        });
    }
}

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
        send(app, m);
    }
}

fn shows(app: &App, label: &str) -> bool {
    let mut ui = simulator(app.view());
    ui.find(label).is_ok()
}

/// Panics unless the widget showing `label` lies wholly inside a window of
/// the smallest supported size ([`super::MIN_WINDOW`]), scrolled to the top.
fn assert_within_smallest_window<S>(app: &App, label: S)
where
    S: iced_test::Selector + Send + std::fmt::Debug + Clone,
    S::Output: iced_test::selector::Bounded + Clone + Send,
{
    use iced_test::selector::Bounded;
    let mut ui = iced_test::Simulator::with_size(Default::default(), super::MIN_WINDOW, app.view());
    let target = ui
        .find(label.clone())
        .unwrap_or_else(|e| panic!("{label:?} not shown: {e}"));
    let window = iced::Rectangle::with_size(super::MIN_WINDOW);
    let shown = target.visible_bounds();
    assert!(
        shown.is_some_and(|b| window.contains(b.position())
            && b.x + b.width <= window.width + 0.5
            && b.y + b.height <= window.height + 0.5),
        "{label:?} is outside a {}×{} window: {:?}",
        window.width,
        window.height,
        target.bounds()
    );
}

/// Whether some text of the window starts with `prefix`.
fn shows_starting(app: &App, prefix: &str) -> bool {
    use iced_test::selector::Candidate;
    let mut ui = simulator(app.view());
    ui.find(|c: Candidate<'_>| match c {
        Candidate::Text { content, .. } if content.starts_with(prefix) => Some(()),
        _ => None,
    })
    .is_ok()
}

fn key(app: &mut App, k: iced::keyboard::Key) {
    send(app, Message::Key(k, iced::keyboard::Modifiers::empty()));
}

fn genre_tag(path: &Path) -> Vec<String> {
    let f = lofty::read_from_path(path).unwrap();
    f.tag(f.primary_tag_type())
        .map(|t| t.get_strings(ItemKey::Genre).map(str::to_string).collect())
        .unwrap_or_default()
}

/// A temporary folder holding a private Sonotag home (library, settings,
/// vocabulary) and an empty `music` folder; the folder lives as long as the
/// returned guard.
fn private_home() -> (
    tempfile::TempDir,
    sonotag_core::paths::Paths,
    std::path::PathBuf,
) {
    let dir = tempfile::tempdir().unwrap();
    let paths = sonotag_core::paths::Paths::in_folder(&dir.path().join("sonotag"));
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    (dir, paths, music)
}

#[test]
fn review_flow_in_the_simulator() {
    let (_home, paths, music) = private_home();
    for i in 0..3u64 {
        let stereo = sonotag_core::synth::music_like(6.0, 44_100, i + 10);
        sonotag_core::synth::write_wav(&music.join(format!("song {i}.wav")), &stereo, 44_100, 2)
            .unwrap();
    }
    let db = paths.database.clone();
    let (mut app, init) = App::new(paths.clone(), None);
    run(&mut app, init);

    // Open the folder by typed path.
    send(&mut app, Message::FolderInput(music.display().to_string()));
    click(&mut app, "Open");
    assert!(!app.busy(), "{}", app.status());
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
    let first = app.track.selected.expect("a track is selected");
    let evidence = app.track.evidence.as_ref().expect("evidence loaded");
    assert_eq!(evidence.analysis.slices, 2);
    let winner = evidence
        .proposal
        .winner
        .map(|w| evidence.classes[w].clone());
    // The evidence explains itself: axes under the spectrogram, and the
    // current slice in words; l / → moves to the next slice.
    assert!(shows_starting(&app, "time →"), "no axis caption");
    assert!(shows_starting(&app, "Slice 1 of 2 at 0.0 s: "));
    key(&mut app, iced::keyboard::Key::Character("l".into()));
    assert!(shows_starting(&app, "Slice 2 of 2 at 3.0 s: "));

    // At the smallest window the layout is made for, the decision
    // controls and the review's columns are on screen, none pushed out.
    for label in [
        "Skip",
        "Proposed",
        "Decided",
        "Apply tags…",
        "Undo last write",
    ] {
        assert_within_smallest_window(&app, label);
    }
    assert_within_smallest_window(&app, iced::widget::Id::new(track::OVERRIDE_INPUT));

    // Accept it (moves to the next track), then override the next one.
    if let Some(w) = &winner {
        let accept = format!("Accept {w} (Enter)");
        assert_within_smallest_window(&app, accept.as_str());
        click(&mut app, &accept);
    } else {
        send(
            &mut app,
            Message::Track(track::Message::OverridePick("Jazz".into())),
        );
    }
    let second = app.track.selected.expect("moved to the next track");
    assert_ne!(first, second);
    send(
        &mut app,
        Message::Track(track::Message::OverrideInput("drum and bass".into())),
    );
    send(&mut app, Message::Track(track::Message::OverrideSubmit));
    let rows = sonotag_core::review::rows(&app.lib, app.model_id()).unwrap();
    let decided: Vec<_> = rows.iter().filter_map(|r| r.decided.clone()).collect();
    assert_eq!(decided.len(), 2, "{rows:?}");
    assert!(
        decided.contains(&"Electronic".to_string()),
        "the vocabulary maps drum and bass"
    );
    let decided_now = |app: &App| {
        sonotag_core::review::rows(&app.lib, app.model_id())
            .unwrap()
            .iter()
            .filter(|r| r.decided.is_some())
            .count()
    };
    // The table shows the decisions once reloaded.
    assert_eq!(
        app.table
            .rows
            .iter()
            .filter(|r| r.decided.is_some())
            .count(),
        2
    );

    // u undoes the last decision and goes back to its track; U redoes it.
    use iced::keyboard::{Key, key::Named};
    key(&mut app, Key::Character("u".into()));
    assert_eq!(decided_now(&app), 1, "{}", app.status());
    assert_eq!(app.track.selected, Some(second));
    key(&mut app, Key::Character("u".into()));
    assert_eq!(decided_now(&app), 0, "two steps back");
    key(&mut app, Key::Character("U".into()));
    key(&mut app, Key::Character("U".into()));
    assert_eq!(decided_now(&app), 2, "and two forward: {}", app.status());
    key(&mut app, Key::Character("U".into()));
    assert_eq!(app.status(), "Nothing to redo.");

    // Apply shows the confirmation with original → new, then writes.
    click(&mut app, "Apply tags…");
    assert!(app.confirm.is_some());
    assert!(shows(&app, "Write 2 files"));
    // Modal: keys and buttons behind it change nothing; Esc closes it.
    for m in [
        Message::Key(Key::Character("u".into()), Default::default()),
        Message::Key(Key::Named(Named::Enter), Default::default()),
        Message::UndoDecision,
        Message::Track(track::Message::AcceptAbove),
    ] {
        send(&mut app, m);
    }
    assert_eq!(decided_now(&app), 2, "nothing behind the dialog reacted");
    key(&mut app, Key::Named(Named::Escape));
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
    elsewhere.clear_label(second).unwrap();
    click(&mut app, "Write 2 files");
    assert!(!app.busy(), "a stale plan is never written");
    assert!(shows(&app, "Write 1 files"));
    assert!(shows(
        &app,
        "Decisions changed while this was open: this is the plan now. Check it, then write."
    ));
    send(
        &mut app,
        Message::Track(track::Message::OverrideInput("drum and bass".into())),
    );
    assert!(
        app.track.override_input.is_empty(),
        "typing behind the dialog is ignored"
    );
    sonotag_core::workflow::decide::set_genre(&mut elsewhere, second, &second_genre, None, false)
        .unwrap();
    send(&mut app, Message::Watch);
    assert!(
        shows(&app, "Write 2 files"),
        "a commit elsewhere rebuilds the plan"
    );
    // A row can be left out of the write, and put back.
    use super::apply;
    send(
        &mut app,
        Message::Apply(apply::Message::Include(second, false)),
    );
    assert!(shows(&app, "Write 1 files"));
    assert!(shows(&app, "Left out of this write"));
    send(
        &mut app,
        Message::Apply(apply::Message::Include(second, true)),
    );
    click(&mut app, "Write 2 files");
    assert!(!app.busy());
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

    // Undo asks once more, then restores the files.
    click(&mut app, "Undo last write");
    assert!(genre_tag(&written[0].0).len() == 1, "nothing undone yet");
    assert_eq!(app.undo_write_files, 2, "the confirmation counts the files");
    click(&mut app, "Confirm undo (2 files)");
    for (path, _) in &written {
        assert!(
            genre_tag(path).is_empty(),
            "{} still tagged",
            path.display()
        );
    }

    // The vocabulary is edited in the settings panel and saved as TOML.
    click(&mut app, "Settings");
    use super::settings;
    send(&mut app, Message::Settings(settings::Message::VocabReset));
    click(&mut app, "Save vocabulary");
    let saved = paths.vocabulary.clone();
    let vocab = sonotag_core::genres::Vocabulary::load(&saved).unwrap();
    assert_eq!(vocab.canonical("trap").as_deref(), Some("Hip-Hop"));
    assert!(saved.exists(), "{}", app.status());

    // Opened again, the window says what the library holds.
    let (mut again, init) = App::new(paths.clone(), None);
    run(&mut again, init);
    assert!(
        again.status().starts_with("Library: 3 tracks — "),
        "{}",
        again.status()
    );
}

/// Whether row text `label` is built, i.e. in view: the list builds only
/// the rows it shows.
fn in_view(app: &App, label: &str) -> bool {
    let mut ui = iced_test::Simulator::with_size(Default::default(), super::MIN_WINDOW, app.view());
    ui.find(label).is_ok()
}

#[test]
fn paging_search_and_accept_above_in_a_long_list() {
    use super::table;
    use iced::keyboard::{Key, key::Named};
    let (_home, paths, music) = private_home();
    // More rows than a 1024×640 window shows; names that sort naturally.
    let n = 60u64;
    for i in 0..n {
        let mono = sonotag_core::synth::music_like(3.2, 16_000, i);
        sonotag_core::synth::write_wav(&music.join(format!("clip {i}.wav")), &mono, 16_000, 1)
            .unwrap();
    }
    let (mut app, init) = App::new(paths, None);
    run(&mut app, init);
    send(&mut app, Message::FolderInput(music.display().to_string()));
    click(&mut app, "Open");
    assert_eq!(app.table.rows.len(), n as usize, "{}", app.status());
    let title_of = |app: &App| {
        let id = app.track.selected.expect("a selection");
        app.table.row(id).unwrap().title.clone()
    };

    // Natural order, and the keys page through it with the selection kept
    // in view.
    key(&mut app, Key::Character("j".into()));
    assert_eq!(title_of(&app), "clip 0.wav");
    assert!(in_view(&app, "clip 0.wav"));
    assert!(
        !in_view(&app, "clip 59.wav"),
        "rows out of view are not built"
    );
    key(&mut app, Key::Named(Named::End));
    assert_eq!(title_of(&app), "clip 59.wav");
    assert!(in_view(&app, "clip 59.wav"), "End scrolls to the last row");
    key(&mut app, Key::Named(Named::Home));
    assert_eq!(title_of(&app), "clip 0.wav");
    assert!(in_view(&app, "clip 0.wav"));
    key(&mut app, Key::Named(Named::PageDown));
    let page = app.table.page() as usize;
    assert!(page > 1);
    assert_eq!(title_of(&app), format!("clip {page}.wav"));
    assert!(2 * page < n as usize, "the list is longer than two pages");
    key(&mut app, Key::Named(Named::PageDown));
    let far = format!("clip {}.wav", 2 * page);
    assert_eq!(title_of(&app), far);
    assert!(in_view(&app, &far), "Page Down keeps the selection in view");
    key(&mut app, Key::Named(Named::PageUp));
    assert_eq!(title_of(&app), format!("clip {page}.wav"));
    // The scrollbar jumps the list, e.g. to the end.
    send(
        &mut app,
        Message::Table(table::Message::ScrollTo(f32::MAX / 4.0)),
    );

    // Search: Enter in the box hands the keys back and decides nothing.
    send(
        &mut app,
        Message::Table(table::Message::Search("clip 4".into())),
    );
    assert_eq!(app.table.shown.len(), 11, "clip 4 and clip 40–49");
    assert!(
        in_view(&app, "clip 4.wav") && in_view(&app, "clip 49.wav"),
        "the results show from the top, whatever the list was scrolled to"
    );
    send(&mut app, Message::Table(table::Message::SearchDone));
    assert!(
        app.table.rows.iter().all(|r| r.decided.is_none()),
        "Enter in search accepted something"
    );
    send(
        &mut app,
        Message::Table(table::Message::Search(String::new())),
    );

    // "Accept N tracks" counts what it will accept before it is pressed,
    // and accepts exactly that many.
    let proposed = |app: &App, share: f32| {
        app.table
            .rows
            .iter()
            .filter(|r| r.state == sonotag_core::review::ReviewState::Proposed && r.share >= share)
            .count()
    };
    send(&mut app, Message::Track(track::Message::AcceptShare(0.5)));
    let expected = proposed(&app, 0.5);
    assert!(expected > 0, "some synthetic clips are proposed");
    let label = format!("Accept {expected} tracks");
    assert_within_smallest_window(&app, label.as_str());
    click(&mut app, &label);
    let decided = app
        .table
        .rows
        .iter()
        .filter(|r| r.decided.is_some())
        .count();
    assert_eq!(decided, expected, "{}", app.status());
    // One `u` takes the whole batch back.
    key(&mut app, Key::Character("u".into()));
    assert!(
        app.table.rows.iter().all(|r| r.decided.is_none()),
        "{}",
        app.status()
    );
}

/// What the command line (or another window) commits shows in the open
/// window at its next look, with no click (issue 22, item 1).
#[test]
fn a_decision_made_elsewhere_shows_without_a_click() {
    let (_home, paths, music) = private_home();
    for i in 0..2u64 {
        let mono = sonotag_core::synth::music_like(3.2, 16_000, i);
        sonotag_core::synth::write_wav(&music.join(format!("clip {i}.wav")), &mono, 16_000, 1)
            .unwrap();
    }
    let (mut app, init) = App::new(paths.clone(), None);
    run(&mut app, init);
    send(&mut app, Message::FolderInput(music.display().to_string()));
    click(&mut app, "Open");
    assert_eq!(app.table.rows.len(), 2, "{}", app.status());
    send(&mut app, Message::Watch); // the window's own commits, seen
    let id = app.table.rows[0].track_id;
    assert!(app.table.rows[0].decided.is_none());
    let mut elsewhere = sonotag_core::store::Library::open(&paths.database).unwrap();
    sonotag_core::workflow::decide::set_genre(&mut elsewhere, id, "Jazz", None, false).unwrap();
    send(&mut app, Message::Watch);
    let row = app.table.row(id).unwrap();
    assert_eq!(row.decided.as_deref(), Some("Jazz"), "{row:?}");
    // Nothing changed since: a look costs one pragma and reloads nothing.
    send(&mut app, Message::Watch);
    assert!(!app.reloading);
}

/// Without a desktop portal the folder dialog answers at once; the window
/// says so and asks for a typed path, rather than "No folder chosen"
/// (issue 22, item 7).
#[test]
fn browse_without_a_folder_dialog_asks_for_a_typed_path() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        eprintln!("skipped: a session bus may show a real dialog here");
        return;
    }
    let (_home, paths, _music) = private_home();
    let (mut app, init) = App::new(paths, None);
    run(&mut app, init);
    click(&mut app, "Browse…");
    assert!(
        app.status().contains("No folder dialog is available"),
        "{}",
        app.status()
    );
}
