//! Helpers shared by integration tests (each test file that needs one says
//! `mod common;`).

use std::process::Command;

/// A Python with mutagen, the independent tag library the tests check
/// against and re-tag with: `SONOTAG_PYTHON`, Debian's (python3-mutagen),
/// else the one on PATH.
pub fn python_with_mutagen() -> Option<String> {
    let candidates = [
        std::env::var("SONOTAG_PYTHON").ok(),
        Some("/usr/bin/python3".into()),
        Some("python3".into()),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import mutagen"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}
