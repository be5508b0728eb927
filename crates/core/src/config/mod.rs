//! What the user configures and where Sonotag keeps its files: [`settings`]
//! (`settings.toml`), [`genres`] (the vocabulary and super-genre map,
//! `genres.toml`) and [`paths`] (the folders, resolved once per run).

pub mod genres;
pub mod paths;
pub mod settings;
