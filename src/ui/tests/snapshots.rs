//! Snapshots: parts of the window drawn as they are on screen (tiny-skia,
//! each frame over the last, at 1280×800 with the bundled font) and
//! compared with PNGs committed in `tests/snapshots/`. A frame drawn half,
//! a caption cut or a panel left blank fails here.
//!
//! `SONOTAG_UPDATE_SNAPSHOTS=1 cargo test --release snapshots` draws them
//! anew after an intended change; look at every changed PNG before
//! committing it. A mismatch leaves what was drawn in
//! `target/snapshot-diffs/`, beside the committed PNG's name.

use super::*;
use crate::ui::frames::{Frames, Picture};
use crate::ui::screen::{apply, track};
use iced::keyboard::key::Named;
use std::path::Path;

/// More differing pixels than this share of the picture fail it: room for
/// a glyph drawn a shade apart on another CPU, never for a missing word.
const TOLERATED_SHARE: f64 = 0.001;

/// A channel differing by more than this makes a pixel differ.
const TOLERATED_LEVELS: u8 = 32;

/// Draws `app`'s next frame over the last of `frames`, as the window shows
/// it, and compares the widget with `id` with the snapshot `name`.
fn assert_snapshot(frames: &mut Frames, app: &App, id: &'static str, name: &str) {
    let size = crate::ui::DEFAULT_WINDOW;
    if let Some(stale) = frames.next(app) {
        panic!("{name}: the frame on screen is not whole: {stale}");
    }
    let region = window_at(app, size)
        .find(iced::widget::Id::new(id))
        .unwrap_or_else(|e| panic!("{name}: {id} is not shown: {e}"))
        .bounds();
    let drawn = frames.picture(region);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let path = dir.join(format!("{name}.png"));
    if std::env::var_os("SONOTAG_UPDATE_SNAPSHOTS").is_some() {
        save(&drawn, &path);
        return;
    }
    let expected = image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{name}: no snapshot at {} ({e}); SONOTAG_UPDATE_SNAPSHOTS=1 draws it",
                path.display()
            )
        })
        .to_rgba8();
    let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/snapshot-diffs")
        .join(format!("{name}.png"));
    if (expected.width(), expected.height()) != (drawn.width, drawn.height) {
        save(&drawn, &kept);
        panic!(
            "{name}: drawn {}×{}, the snapshot is {}×{} (what was drawn: {})",
            drawn.width,
            drawn.height,
            expected.width(),
            expected.height(),
            kept.display()
        );
    }
    let differing = drawn
        .rgba
        .chunks(4)
        .zip(expected.as_raw().chunks(4))
        .filter(|(a, b)| {
            a.iter()
                .zip(*b)
                .any(|(x, y)| x.abs_diff(*y) > TOLERATED_LEVELS)
        })
        .count();
    let allowed = (TOLERATED_SHARE * (drawn.width * drawn.height) as f64) as usize;
    if differing > allowed {
        save(&drawn, &kept);
        panic!(
            "{name}: {differing} pixels differ from {} (at most {allowed} may); what was drawn: {}",
            path.display(),
            kept.display()
        );
    }
}

/// The window's frames, the first drawn from `app` as it is now.
fn window_frames(app: &App) -> Frames {
    let mut frames = Frames::new(crate::ui::DEFAULT_WINDOW).unwrap();
    frames.next(app);
    frames
}

fn save(picture: &Picture, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbaImage::from_raw(picture.width, picture.height, picture.rgba.clone())
        .expect("a whole picture")
        .save(path)
        .unwrap_or_else(|e| panic!("cannot save {}: {e}", path.display()));
}

#[test]
fn the_evidence_of_three_tracks_is_drawn_whole() {
    let home = fixed_home("snapshot-evidence");
    let mut app = opened(&home, Clips::Songs(3));
    let mut frames = window_frames(&app);
    for i in 0..3 {
        click(&mut app, &format!("song {i}.wav"));
        let name = format!("evidence-song-{i}");
        assert_snapshot(&mut frames, &app, crate::ui::SIDE_PANEL, &name);
    }
    // A slice picked with the keys: its description is drawn at once.
    named_key(&mut app, Named::ArrowLeft);
    assert_snapshot(
        &mut frames,
        &app,
        track::HISTOGRAM,
        "histogram-song-2-first-slice",
    );
}

#[test]
fn the_apply_review_is_drawn_whole() {
    let home = fixed_home("snapshot-apply");
    let mut app = opened(&home, Clips::Songs(3));
    click(&mut app, "song 0.wav");
    let mut frames = window_frames(&app);
    named_key(&mut app, Named::Enter);
    named_key(&mut app, Named::Enter);
    frames.next(&app);
    click(&mut app, "Apply tags…");
    assert_snapshot(&mut frames, &app, apply::DIALOG, "apply-review");
}

#[test]
fn settings_are_drawn_whole() {
    let home = fixed_home("snapshot-settings");
    let mut app = opened(&home, Clips::Songs(2));
    click(&mut app, "song 0.wav");
    let mut frames = window_frames(&app);
    click(&mut app, "Settings");
    assert_snapshot(&mut frames, &app, crate::ui::SIDE_PANEL, "settings");
}
