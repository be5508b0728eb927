//! Sonotag's core: puts genres on a music library by listening to it.
//!
//! This crate holds the whole domain and knows nothing of the GUI (no
//! window, sound-output or command-line crates).
//! Pipeline order: [`scan`] (walk + tags) → [`store`] (SQLite, the only SQL) →
//! [`audio`] (decode to mono 22,050 Hz) → [`spectrogram`] (mel image,
//! 128×128 slices) → [`model`] (CNN) → [`vote`] (slice votes → proposal) →
//! [`classify`] (analyses and proposals in the library); [`train`],
//! [`retrain`] and [`eval`] make and judge models; [`genres`] maps tag values
//! to super-genres. The binary's command line and window are thin shells.

pub mod audio;
pub mod cancel;
pub mod catalog;
pub mod config;
#[cfg(any(test, feature = "dev-tools"))]
pub mod dev;
pub mod features;
pub mod ml;
pub mod proposal;
pub mod rng;
pub mod store;
pub mod tags;
pub mod words;
pub mod workflow;

/// The repository this build came from (the top of the workspace), where
/// `models/` and the test fixtures live: the last place shipped files are
/// looked for, after the installed locations.
pub fn source_tree() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}
