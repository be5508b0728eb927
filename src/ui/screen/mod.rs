//! The window's screens. Each owns its state and messages; its `update`
//! returns a task and, where the shell must act, an event; its `view`
//! draws it. A screen reads what it needs from arguments and never
//! reaches into another.

pub mod apply;
pub mod errors;
pub mod folder;
pub mod progress;
pub mod retrain;
pub mod settings;
pub mod table;
pub mod toolbar;
pub mod track;
pub mod undo_write;

/// Which side panel is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Track,
    Retrain,
    Settings,
    Errors,
}

/// "1 track", "2 tracks": a count with its noun, singular or plural.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `s` cut to `max` characters, the last one an ellipsis, when it is longer.
pub fn ellipsized(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular() {
        assert_eq!(super::counted(1, "track", "tracks"), "1 track");
        assert_eq!(super::counted(0, "track", "tracks"), "0 tracks");
        assert_eq!(super::counted(2, "file", "files"), "2 files");
    }
}
