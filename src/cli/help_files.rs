//! The man pages and shell completions, made from the command line's own
//! definition (`args::Cli`), so they cannot say other than `--help` does.
//! `packaging/build-deb.sh` runs `sonotag help-files` and the .deb installs
//! what it writes; nothing here runs for a user.

use super::args::Cli;
use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// The shells whose completions ship, with the file name each expects in
/// its vendor folder.
const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "sonotag"),
    (Shell::Zsh, "_sonotag"),
    (Shell::Fish, "sonotag.fish"),
];

/// Writes `man/sonotag.1` (and a page per command, `sonotag-scan.1`…)
/// and `completions/{bash,zsh,fish}/…` under `out`; returns the files.
pub fn write(out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let man = out.join("man");
    std::fs::create_dir_all(&man).with_context(|| format!("cannot make {}", man.display()))?;
    // Not built first: generate_to turns the help subcommand off before it
    // builds, which a built command would already have added.
    clap_mangen::generate_to(Cli::command(), &man)
        .with_context(|| format!("cannot write the man pages into {}", man.display()))?;
    let mut written = files_in(&man)?;
    for (shell, name) in SHELLS {
        let dir = out.join("completions").join(shell.to_string());
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot make {}", dir.display()))?;
        let path = dir.join(name);
        let mut file = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        clap_complete::generate(shell, &mut Cli::command(), "sonotag", &mut file);
        written.push(path);
    }
    Ok(written)
}

fn files_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    Ok(files)
}
