//! The man pages and completions the .deb installs: made from the command
//! line's own definition, one page per command, every command completed in
//! bash, zsh and fish, and the hidden packaging command in none of them.

use std::process::Command;

/// Every command `sonotag --help` lists.
fn listed_commands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn man_pages_and_completions_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("help-files")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let commands = listed_commands();
    assert!(commands.len() > 20, "{commands:?}");
    let read = |p: &str| {
        std::fs::read_to_string(dir.path().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
    };
    // roff escapes every hyphen.
    let main = read("man/sonotag.1").replace("\\-", "-");
    assert!(main.contains(".TH sonotag 1"), "not a man page");
    assert!(
        main.contains("library.sqlite"),
        "the man page names the files"
    );
    for c in &commands {
        assert!(main.contains(c.as_str()), "sonotag.1 does not list {c}");
        let page = read(&format!("man/sonotag-{c}.1"));
        assert!(
            page.contains(".TH sonotag-"),
            "sonotag-{c}.1 is not a man page"
        );
    }
    assert!(
        !main.contains("help-files"),
        "the packaging command is hidden"
    );
    for file in [
        "completions/bash/sonotag",
        "completions/zsh/_sonotag",
        "completions/fish/sonotag.fish",
    ] {
        let text = read(file);
        for c in &commands {
            assert!(text.contains(c.as_str()), "{file} does not complete {c}");
        }
        assert!(text.contains("--min-share"), "{file} lacks the flags");
    }
    let bash = Command::new("bash")
        .arg("-n")
        .arg(dir.path().join("completions/bash/sonotag"))
        .output()
        .unwrap();
    assert!(
        bash.status.success(),
        "{}",
        String::from_utf8_lossy(&bash.stderr)
    );
    // Where man is installed, the page renders without a warning.
    if let Ok(r) = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(dir.path().join("man/sonotag.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
    {
        let text = String::from_utf8_lossy(&r.stdout);
        assert!(r.status.success() && text.contains("scan"), "{text}");
    }
}
