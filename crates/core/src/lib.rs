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
pub mod base_set;
#[cfg(any(test, feature = "dev-tools"))]
pub mod bench;
pub mod cancel;
pub mod classify;
pub mod eval;
pub mod features;
#[cfg(any(test, feature = "dev-tools"))]
pub mod fuzz;
pub mod genres;
pub mod head;
pub mod model;
pub mod musicnn;
pub mod paths;
pub mod retrain;
pub mod review;
pub mod rng;
pub mod scan;
pub mod settings;
pub mod simulate;
pub mod spectrogram;
pub mod store;
#[cfg(any(test, feature = "dev-tools"))]
pub mod synth;
pub mod tags;
pub mod train;
pub mod transfer;
pub mod vote;
pub mod workflow;

/// The repository this build came from (the top of the workspace), where
/// `models/` and the test fixtures live: the last place shipped files are
/// looked for, after the installed locations.
pub fn source_tree() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}
