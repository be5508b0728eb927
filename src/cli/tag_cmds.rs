//! Writing genres into files and taking writes back: `apply` (with its
//! review of original → new), `undo`, `history`.

use super::*;

/// `sonotag undo`.
pub fn undo(paths: &Paths, batch: Option<i64>) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    let mut terminal = progress::Terminal::new();
    let report = workflow::apply::undo_tags(
        &mut lib,
        batch,
        Default::default(),
        &Cancel::new(),
        &mut |p| terminal.on(p),
    )?;
    terminal.finish();
    for o in report.outcomes.iter().filter(|o| o.error.is_none()) {
        println!("restored {}", o.path.display());
    }
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// `sonotag history`.
pub fn history(paths: &Paths) -> anyhow::Result<ExitCode> {
    let lib = open_library(paths)?;
    let batches = sonotag_core::tags::batches(&lib)?;
    if batches.is_empty() {
        println!("no tag writes yet: `sonotag apply` writes accepted genres");
    }
    for b in batches {
        println!(
            "batch {:>4}  {:>5} files  {}{}",
            b.id,
            b.files,
            sonotag_core::store::utc_text(b.at),
            if b.undone { "  (undone)" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn apply_cmd(
    lib: &mut Library,
    dry_run: bool,
    settings: sonotag_core::tags::WriteSettings,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    use sonotag_core::tags::{self, Action};
    let plan = tags::plan(lib, settings)?;
    if plan.is_empty() {
        println!("nothing to write: accept or override some proposals first");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &plan {
        println!("{p}");
    }
    let writes = plan.iter().filter(|p| p.action.writes()).count();
    let kept = plan
        .iter()
        .filter(|p| p.action == Action::KeepExisting)
        .count();
    if kept > 0 {
        println!("({kept} files keep their genre: use --replace-existing or `override --replace`)");
    }
    let unwritable = plan.len() - writes - kept;
    if unwritable > 0 {
        println!("({unwritable} files are in formats Sonotag does not write genres into)");
    }
    if dry_run || writes == 0 {
        println!("{writes} files would be written (dry run)");
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            anyhow::bail!("not a terminal: pass --yes to write {writes} files without asking");
        }
        print!("Write the genre into {writes} files? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !answer.trim().eq_ignore_ascii_case("y") {
            println!("nothing written");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut terminal = progress::Terminal::new();
    let report = workflow::apply::write_tags(lib, &plan, settings, &Cancel::new(), &mut |p| {
        terminal.on(p)
    })?;
    terminal.finish();
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}
