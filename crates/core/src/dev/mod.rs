//! Developer tools, built only with the `dev-tools` feature (and in tests):
//! [`bench`] prints speed figures, [`fuzz`] damages files to find crashes,
//! [`synth`] makes test audio, [`simulate`] and [`user`] play a user who
//! corrects tracks and retrains, to measure what corrections do. The application turns the feature on for its
//! `bench`, `fuzz` and `synth` commands; nothing in the product depends on them.

pub mod bench;
pub mod fuzz;
pub mod simulate;
pub mod synth;
pub mod user;
