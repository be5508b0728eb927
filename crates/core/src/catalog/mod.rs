//! The library's tracks from folder to proposal: [`walk`] finds audio files
//! and records what their tags say, [`analyse`] runs the active model over
//! them and stores analyses and proposals, [`review`] gathers what the review
//! screens show, [`watch`] notices when files change under the folders.
//! Each works on a [`crate::store::Library`]; the user's actions reach them
//! through [`crate::workflow`].

pub mod analyse;
pub mod review;
pub mod walk;
pub mod watch;
