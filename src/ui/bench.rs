//! `sonotag bench --window-tracks N`: the window on a made-up library of N
//! tracks, without a screen. Prints how long the window takes to open (the
//! UI-thread part and the background read of the rows) and, for each
//! action a reviewer takes, the longest time its update and next frame
//! (view, layout at 1280×800 and drawing into iced's software renderer's
//! primitives, not rasterising) hold the UI thread. Work the window hands to the background (reads, decisions,
//! plans) is timed separately: it never blocks the window. Prints figures
//! only; it asserts nothing.

use super::background::load_snapshot;
use super::frames::Frames;
use super::screen::{table, track};
use super::{App, Input, Message};
use iced::keyboard::{Key, Modifiers, key::Named};
use sonotag_core::config::paths::Paths;
use sonotag_core::ml::model::ModelCard;
use sonotag_core::store::Library;
use sonotag_core::workflow::decide::{self, Decision};
use std::time::{Duration, Instant};

/// One timed UI-thread step: the update, and the next frame's view, layout
/// and drawing into primitives. Rasterising is timed apart (`rasters`).
fn ui_step(app: &mut App, frames: &mut Frames, message: Message) -> Duration {
    let t = Instant::now();
    let _task = app.update(message);
    let updated = t.elapsed();
    frames.next(app);
    updated + frames.last_build
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the benchmark on `tracks` made-up tracks.
pub fn run(tracks: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let paths = Paths::in_folder(dir.path());
    let t = Instant::now();
    sonotag_core::dev::bench::synthetic_library(&paths.database, tracks, 7)?;
    println!(
        "made-up library: {tracks} tracks, one in ten decided, in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Opening: the UI-thread part, then the rows read in the background,
    // then taking them in and drawing the first full frame.
    let mut frames = Frames::new(super::DEFAULT_WINDOW).map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    let (mut app, _task) = App::new(paths.clone(), None);
    frames.next(&app);
    let shown = t.elapsed();
    // The library opens in the background; what the UI thread does with it
    // (taking it in and asking for the rows) is timed like any message.
    let t = Instant::now();
    let opened = tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(super::background::open_library(paths.database.clone()));
    let open_read = t.elapsed();
    let took_library = ui_step(&mut app, &mut frames, Message::Opened(opened));
    let t = Instant::now();
    let snapshot = load_snapshot(&paths, &app.vocab).map_err(anyhow::Error::msg)?;
    let read = t.elapsed();
    let taken = ui_step(
        &mut app,
        &mut frames,
        Message::Reloaded(Ok(std::sync::Arc::new(snapshot))),
    );
    println!(
        "window open: {:.0} ms to the first frame; library opened in the background in {:.0} ms, \
         taken in in {:.0} ms; rows read in the background in {:.0} ms, \
         taken in and drawn in {:.0} ms: {:.0} ms until {} rows show",
        ms(shown),
        ms(open_read),
        ms(took_library),
        ms(read),
        ms(taken),
        ms(shown + open_read + took_library + read + taken),
        app.table.rows.len()
    );

    let mut worst: Vec<(String, Duration)> = Vec::new();
    let mut time = |name: &str, app: &mut App, messages: Vec<Message>| {
        let longest = messages
            .into_iter()
            .map(|m| ui_step(app, &mut frames, m))
            .max()
            .unwrap_or_default();
        worst.push((name.to_string(), longest));
    };
    let key = |k: Key| Message::User(Input::Key(k, Modifiers::empty()));
    let first = app.table.rows[app.table.shown[0]].track_id;
    time(
        "select a track",
        &mut app,
        vec![Message::from(table::Message::Select(first))],
    );
    time(
        "j × 200 (next track)",
        &mut app,
        (0..200).map(|_| key(Key::Character("j".into()))).collect(),
    );
    time(
        "Page Down × 20",
        &mut app,
        (0..20).map(|_| key(Key::Named(Named::PageDown))).collect(),
    );
    time(
        "End, Home",
        &mut app,
        vec![key(Key::Named(Named::End)), key(Key::Named(Named::Home))],
    );
    let typed: Vec<Message> = ["A", "Al", "Alb", "Albu", "Album 12"]
        .iter()
        .map(|s| Message::from(table::Message::Search(s.to_string())))
        .collect();
    time("search, per keystroke", &mut app, typed);
    time(
        "clear the search",
        &mut app,
        vec![Message::from(table::Message::Search(String::new()))],
    );
    time(
        "sort by artist, by title (natural order)",
        &mut app,
        vec![
            Message::from(table::Message::Sort(table::Column::Artist)),
            Message::from(table::Message::Sort(table::Column::Title)),
        ],
    );
    time(
        "filter: needs review, all",
        &mut app,
        vec![
            Message::from(table::Message::Filter(table::Filter::NeedsReview)),
            Message::from(table::Message::Filter(table::Filter::All)),
        ],
    );
    time(
        "Enter (accept; the write goes to the background)",
        &mut app,
        vec![Message::from(track::Message::Accept)],
    );
    time(
        "Accept all ≥ 90 % (handed to the background)",
        &mut app,
        vec![Message::from(track::Message::AcceptAbove)],
    );

    // The background halves, timed on their own.
    let mut lib = Library::open(&paths.database)?;
    let model = lib.active_model::<ModelCard>()?.map(|m| m.id);
    let t = Instant::now();
    let report = decide::decide(&mut lib, model, &Decision::AcceptAbove { min_share: 0.9 })?;
    let accept_all = t.elapsed();
    let accepted = report.changes.len();
    time(
        "taking in the decision",
        &mut app,
        vec![Message::Decided(Ok(report.clone()))],
    );
    let t = Instant::now();
    decide::restore(&mut lib, &report.undo_steps())?;
    let undo_all = t.elapsed();
    let t = Instant::now();
    let snapshot = load_snapshot(&paths, &app.vocab).map_err(anyhow::Error::msg)?;
    let reload = t.elapsed();
    time(
        "taking in a reload",
        &mut app,
        vec![Message::Reloaded(Ok(std::sync::Arc::new(snapshot)))],
    );
    let t = Instant::now();
    let plan = sonotag_core::tags::plan(&lib, Default::default())?;
    let planning = t.elapsed();
    let planned = plan.len();
    time(
        "opening the Apply review",
        &mut app,
        vec![Message::PlanReady(Ok(plan))],
    );
    time(
        "closing it (Esc)",
        &mut app,
        vec![key(Key::Named(Named::Escape))],
    );

    println!("\nUI thread, longest block per action (update + next frame):");
    for (name, d) in &worst {
        println!("  {name:<50} {:>7.1} ms", ms(*d));
    }
    let (name, d) = worst
        .iter()
        .max_by_key(|(_, d)| *d)
        .expect("actions were timed");
    println!("longest UI-thread block: {:.1} ms ({name})", ms(*d));
    let mut rasters = frames.rasters.clone();
    rasters.sort();
    println!(
        "rasterising a frame whole (tiny-skia, the renderer without a GPU; \
         every frame is repainted whole): median {:.1} ms, longest {:.1} ms over {} frames",
        ms(rasters[rasters.len() / 2]),
        ms(*rasters.last().expect("frames were drawn")),
        rasters.len()
    );
    println!(
        "frames left with stale pixels: {}{}",
        frames.stale_frames,
        frames
            .first_stale
            .as_ref()
            .map(|s| format!(" (the first: {s})"))
            .unwrap_or_default()
    );
    println!("\nin the background (the window stays responsive meanwhile):");
    println!(
        "  reading every row again                           {:>7.0} ms",
        ms(reload)
    );
    println!(
        "  Accept all ≥ 90 %: {accepted} decisions in one transaction {:>7.0} ms",
        ms(accept_all)
    );
    println!(
        "  undoing them                                      {:>7.0} ms",
        ms(undo_all)
    );
    println!(
        "  building the Apply plan ({planned} files)              {:>7.0} ms",
        ms(planning)
    );
    Ok(())
}
