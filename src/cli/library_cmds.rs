//! The library's own commands: open the window, scan folders, list tracks
//! and read errors, look at one file (its tags, its spectrogram).

use super::*;
use sonotag_core::features::spectrogram;

/// `sonotag scan`.
pub fn scan(paths: &Paths, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    run_scan(&mut lib, &dirs)
}

/// `sonotag tracks`.
pub fn tracks(
    paths: &Paths,
    genre: Option<String>,
    missing: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let lib = open_library(paths)?;
    let tracks = lib.tracks(&TrackFilter { genre, missing })?;
    print_list(json, &tracks, "tracks", |t| {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            t.info.artist.as_deref().unwrap_or("-"),
            t.info.title.as_deref().unwrap_or("-"),
            t.info.album.as_deref().unwrap_or("-"),
            if t.info.genres.is_empty() {
                "-".to_string()
            } else {
                t.info.genres.join("; ")
            },
            t.info.duration_s.map_or("-".into(), format_duration),
            t.path.display()
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag forget`.
pub fn forget(paths: &Paths) -> anyhow::Result<ExitCode> {
    let mut lib = open_library(paths)?;
    let forgotten = lib.forget_missing()?;
    println!("{forgotten} missing tracks forgotten, with their decisions and history");
    Ok(ExitCode::SUCCESS)
}

/// `sonotag errors`.
pub fn errors(paths: &Paths, skipped: bool, json: bool) -> anyhow::Result<ExitCode> {
    let lib = open_library(paths)?;
    if skipped {
        let skips = lib.scan_skips()?;
        print_list(json, &skips, "skipped files", |s| {
            format!("{}: {}", s.path.display(), s.reason)
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let errors = lib.file_errors()?;
    print_list(json, &errors, "errors", |e| {
        if e.stage == "skipped" {
            format!("{}: {} (skipped)", e.path.display(), e.message)
        } else {
            format!("{}: {} ({} failed)", e.path.display(), e.message, e.stage)
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `sonotag spectrogram`.
pub fn spectrogram(file: PathBuf, output: PathBuf, grid: bool) -> anyhow::Result<ExitCode> {
    let (spec, report) = spectrogram::analyse_file(&file)?;
    spec.to_image(grid)
        .save(&output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!(
        "{}: {} columns ({:.1} s), {} slices{} → {}",
        file.display(),
        spec.columns(),
        report.seconds(),
        spec.slice_count(),
        if report.corrupt_packets > 0 {
            format!(", {} corrupt packets skipped", report.corrupt_packets)
        } else {
            String::new()
        },
        output.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn gui(paths: &Paths, folder: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    // winit panics without a display; say it in one line instead.
    #[cfg(all(unix, not(target_os = "macos")))]
    if ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .all(|v| std::env::var_os(v).is_none_or(|s| s.is_empty()))
    {
        anyhow::bail!(
            "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); \
             run Sonotag in a desktop session, or use the command line (sonotag --help)"
        );
    }
    // A local X display whose server is not there makes winit panic too.
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("WAYLAND_DISPLAY").is_none_or(|s| s.is_empty())
        && let Some(display) = std::env::var("DISPLAY").ok().filter(|d| d.starts_with(':'))
        && let Some(number) = display[1..].split('.').next().filter(|n| !n.is_empty())
        && !Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
    {
        anyhow::bail!(
            "cannot open the display {display}: no X server is running there; check DISPLAY, \
             or use the command line (sonotag --help)"
        );
    }
    crate::ui::run(paths.clone(), folder)
        .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_scan(lib: &mut Library, dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut terminal = progress::Terminal::new();
    let report = workflow::scan::scan_folders(lib, dirs, &Cancel::new(), &mut |p| terminal.on(p))?;
    terminal.finish();
    println!("{report}");
    if !report.problems.is_empty() {
        eprintln!("(`sonotag errors` lists the files that could not be read)");
    }
    if report.summary.skipped > 0 {
        eprintln!("(`sonotag errors --skipped` lists the skipped files and why)");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn info(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    if !file.exists() {
        anyhow::bail!("{}: no such file", file.display());
    }
    let tags = sonotag_core::tags::read::read_info(file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let analysis = spectrogram::analyse_file(file);
    let (columns, slices, decoded_s, corrupt, decode_error) = match &analysis {
        Ok((spec, report)) => (
            spec.columns(),
            spec.slice_count(),
            report.seconds(),
            report.corrupt_packets,
            None,
        ),
        Err(e) => (0, 0, 0.0, 0, Some(e.to_string())),
    };
    if json {
        let value = serde_json::json!({
            "path": file.to_string_lossy(),
            "tags": tags,
            "decoded_seconds": decoded_s,
            "columns": columns,
            "slices": slices,
            "corrupt_packets": corrupt,
            "decode_error": decode_error,
            "features_version": spectrogram::FEATURES_VERSION,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!("file:         {}", file.display());
    println!("format:       {}", opt(&tags.format));
    println!(
        "duration:     {}",
        tags.duration_s
            .map_or("-".into(), |d| format!("{d:.2} s ({})", format_duration(d)))
    );
    println!(
        "audio:        {} Hz, {} channels, {} kbit/s",
        tags.sample_rate.map_or("-".into(), |v| v.to_string()),
        tags.channels.map_or("-".into(), |v| v.to_string()),
        tags.bitrate_kbps.map_or("-".into(), |v| v.to_string())
    );
    println!("title:        {}", opt(&tags.title));
    println!("artist:       {}", opt(&tags.artist));
    println!("album:        {}", opt(&tags.album));
    println!("album artist: {}", opt(&tags.album_artist));
    println!(
        "track:        {}",
        tags.track_no.map_or("-".into(), |v| v.to_string())
    );
    println!(
        "year:         {}",
        tags.year.map_or("-".into(), |v| v.to_string())
    );
    println!(
        "genres:       {}",
        if tags.genres.is_empty() {
            "-".into()
        } else {
            tags.genres.join("; ")
        }
    );
    match decode_error {
        None => println!(
            "analysis:     {decoded_s:.2} s decoded, {columns} columns, {slices} slices of 2.56 s{}",
            if corrupt > 0 {
                format!(", {corrupt} corrupt packets skipped")
            } else {
                String::new()
            }
        ),
        Some(e) => println!("analysis:     failed: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn format_duration(s: f64) -> String {
    let s = s.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}
