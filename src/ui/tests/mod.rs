//! The window in iced's headless simulator, one test per flow (`flows`),
//! with the helpers they share here: a private Sonotag home, a library of
//! generated audio opened the way a user opens it, sending a message and
//! running every task it leads to, clicking by label, and checking what is
//! shown and where.

mod flows;
mod snapshots;

use super::{App, Input, Message};
use iced::Task;
use iced::futures::StreamExt;
use iced_test::runtime::{Action, task::into_stream};
use iced_test::simulator;
use lofty::prelude::*;
use sonotag_core::config::paths::Paths;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Sends `message`, then runs every task it leads to, feeding their
/// messages back, until nothing is left.
pub fn send(app: &mut App, message: impl Into<Message>) {
    let task = app.update(message.into());
    run(app, task);
}

pub fn run(app: &mut App, task: Task<Message>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
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

/// The messages `task` brings back, in order, without feeding them back.
pub fn outputs(task: Task<Message>) -> Vec<Message> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let Some(mut stream) = into_stream(task) else {
        return Vec::new();
    };
    rt.block_on(async {
        let mut out = Vec::new();
        while let Some(action) = stream.next().await {
            if let Action::Output(m) = action {
                out.push(m);
            }
        }
        out
    })
}

/// The messages a click on the widget showing `label` produces.
pub fn click_messages(app: &App, label: &str) -> Vec<Message> {
    let mut ui = simulator(app.view());
    ui.click(label)
        .unwrap_or_else(|e| panic!("cannot click {label:?}: {e}"));
    let messages: Vec<Message> = ui.into_messages().collect();
    assert!(
        !messages.is_empty(),
        "clicking {label:?} produced no message"
    );
    messages
}

/// Clicks the widget showing `label` and feeds the produced messages back.
pub fn click(app: &mut App, label: &str) {
    for m in click_messages(app, label) {
        send(app, m);
    }
}

pub fn shows(app: &App, label: &str) -> bool {
    let mut ui = simulator(app.view());
    ui.find(label).is_ok()
}

/// Whether some text of the window starts with `prefix`.
pub fn shows_starting(app: &App, prefix: &str) -> bool {
    use iced_test::selector::Candidate;
    let mut ui = simulator(app.view());
    ui.find(|c: Candidate<'_>| match c {
        Candidate::Text { content, .. } if content.starts_with(prefix) => Some(()),
        _ => None,
    })
    .is_ok()
}

/// Whether row text `label` is built, i.e. in view at the smallest
/// window: the list builds only the rows it shows.
/// The window drawn at `size`, to look for widgets and their bounds.
pub fn window_at(app: &App, size: iced::Size) -> iced_test::Simulator<'_, Message> {
    iced_test::Simulator::with_size(Default::default(), size, app.view())
}

pub fn in_view(app: &App, label: &str) -> bool {
    let mut ui = window_at(app, super::MIN_WINDOW);
    ui.find(label).is_ok()
}

/// Panics unless the widget showing `label` lies wholly inside a window of
/// the smallest supported size ([`super::MIN_WINDOW`]), scrolled to the top.
pub fn assert_within_smallest_window<S>(app: &App, label: S)
where
    S: iced_test::Selector + Send + std::fmt::Debug + Clone,
    S::Output: iced_test::selector::Bounded + Clone + Send,
{
    use iced_test::selector::Bounded;
    let mut ui = window_at(app, super::MIN_WINDOW);
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

pub fn key(app: &mut App, k: iced::keyboard::Key) {
    send(
        app,
        Message::User(Input::Key(k, iced::keyboard::Modifiers::empty())),
    );
}

pub fn char_key(app: &mut App, c: &str) {
    key(app, iced::keyboard::Key::Character(c.into()));
}

pub fn named_key(app: &mut App, k: iced::keyboard::key::Named) {
    key(app, iced::keyboard::Key::Named(k));
}

pub fn genre_tag(path: &Path) -> Vec<String> {
    let f = lofty::read_from_path(path).unwrap();
    f.tag(f.primary_tag_type())
        .map(|t| t.get_strings(ItemKey::Genre).map(str::to_string).collect())
        .unwrap_or_default()
}

/// A private Sonotag home (library, settings, vocabulary) and a `music`
/// folder, in a temporary folder that lives as long as `_home`.
pub struct Home {
    /// Removes the home when the test ends.
    pub _home: Box<dyn std::any::Any>,
    pub paths: Paths,
    pub music: PathBuf,
}

pub fn private_home() -> Home {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::in_folder(&dir.path().join("sonotag"));
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    Home {
        _home: Box::new(dir),
        paths,
        music,
    }
}

/// Removes a folder when dropped.
struct RemovedAfter(PathBuf);

impl Drop for RemovedAfter {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A home at a fixed path, `/tmp/sonotag-test-{name}`, so that the paths
/// the window shows are the same on every run and every machine (for
/// snapshots); it starts empty and is removed after the test.
pub fn fixed_home(name: &str) -> Home {
    // Not `temp_dir()`: TMPDIR may differ between machines, and the path
    // is drawn.
    let root = Path::new("/tmp").join(format!("sonotag-test-{name}"));
    let _ = std::fs::remove_dir_all(&root);
    let music = root.join("music");
    std::fs::create_dir_all(&music).unwrap();
    Home {
        paths: Paths::in_folder(&root.join("sonotag")),
        music,
        _home: Box::new(RemovedAfter(root)),
    }
}

/// What generated audio a test library holds.
pub enum Clips {
    /// `song {i}.wav`: 6 s of 44.1 kHz stereo, two patches each.
    Songs(u64),
    /// `clip {i}.wav`: 3.2 s of 16 kHz mono, names that sort naturally.
    Clips(u64),
}

/// The window, started on a private home whose music folder holds `clips`.
pub fn window_on(home: &Home, clips: Clips) -> App {
    write_clips(home, clips);
    let (mut app, init) = App::new(home.paths.clone(), None);
    run(&mut app, init);
    app
}

/// Writes `clips` into the home's music folder.
pub fn write_clips(home: &Home, clips: Clips) {
    match clips {
        Clips::Songs(n) => {
            for i in 0..n {
                let stereo = sonotag_core::dev::synth::music_like(6.0, 44_100, i + 10);
                sonotag_core::dev::synth::write_wav(
                    &home.music.join(format!("song {i}.wav")),
                    &stereo,
                    44_100,
                    2,
                )
                .unwrap();
            }
        }
        Clips::Clips(n) => {
            for i in 0..n {
                let mono = sonotag_core::dev::synth::music_like(3.2, 16_000, i);
                sonotag_core::dev::synth::write_wav(
                    &home.music.join(format!("clip {i}.wav")),
                    &mono,
                    16_000,
                    1,
                )
                .unwrap();
            }
        }
    }
}

/// The window with the music folder opened by typed path, scanned and
/// classified.
pub fn opened(home: &Home, clips: Clips) -> App {
    let mut app = window_on(home, clips);
    send(
        &mut app,
        super::screen::folder::Message::Input(home.music.display().to_string()),
    );
    click(&mut app, "Open");
    assert!(!app.busy(), "{}", app.status());
    app
}

/// How many tracks the library (not the window) holds a decision for.
pub fn decided_in_library(app: &App) -> usize {
    sonotag_core::catalog::review::rows(app.lib.as_ref().unwrap(), app.model_id())
        .unwrap()
        .iter()
        .filter(|r| r.decided.is_some())
        .count()
}

/// The title of the selected row.
pub fn selected_title(app: &App) -> String {
    let id = app.panels.track.selected.expect("a selection");
    app.table.row(id).unwrap().title.clone()
}
