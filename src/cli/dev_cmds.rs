//! Tools for developers: `sonotag fuzz` and `sonotag bench` (figures,
//! no assertions).

use super::*;
use sonotag_core::ml::look::Voting;

/// `sonotag bench`.
pub fn bench(args: super::args::BenchArgs) -> anyhow::Result<ExitCode> {
    let super::args::BenchArgs {
        seconds,
        tracks,
        scan_files,
        inference_only,
        classify_only,
        sample,
        music,
        memory_tracks,
        window_tracks,
        apply_files,
        retrain_tracks,
        apply_large_mib,
        scan_only,
    } = args;
    if scan_only {
        bench::bench_scan_only(scan_files)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(n) = apply_large_mib {
        bench::bench_apply_large(n)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(n) = retrain_tracks {
        bench::bench_retrain_library(n, 1)?;
        bench::bench_retrain_library(10 * n, 10)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(n) = apply_files {
        bench::bench_apply(n)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(n) = window_tracks {
        crate::ui::bench::run(n)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(n) = memory_tracks {
        bench::bench_memory(n)?;
        return Ok(ExitCode::SUCCESS);
    }
    if inference_only {
        let archs: Vec<sonotag_core::ml::scratch_cnn::Architecture> = [
            (vec![16, 32, 64, 64], 2),
            (vec![8, 16, 32, 64], 2),
            (vec![16, 32, 64], 4),
            (vec![8, 16, 32, 64], 4),
        ]
        .into_iter()
        .map(
            |(channels, input_pool)| sonotag_core::ml::scratch_cnn::Architecture {
                channels,
                input_pool,
                ..Default::default()
            },
        )
        .collect();
        bench::bench_inference(&archs)?;
        bench::bench_musicnn_inference()?;
        bench::bench_retrain_head(5_000)?;
        bench::bench_retrain_musicnn_head(5_000)?;
        bench::bench_retrain_library(50_000, 10)?;
        return Ok(ExitCode::SUCCESS);
    }
    bench::run(&bench::BenchOptions {
        seconds,
        parallel_tracks: tracks,
        scan_files,
        classify_only,
        voting: sample.map_or(Voting::SecondLook, Voting::Evenly),
        music,
        ..Default::default()
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn fuzz_cmd(
    cases: u64,
    seed: u64,
    first: u64,
    limit_s: u64,
    sources: Vec<PathBuf>,
    keep: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    use sonotag_core::dev::fuzz::{self, Verdict};
    let sources = if sources.is_empty() {
        fuzz::default_sources()
    } else {
        sources
    };
    anyhow::ensure!(
        !sources.is_empty(),
        "no good files to mutate: name some audio files"
    );
    let scratch = tempfile::tempdir()?;
    let work = match keep {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            dir
        }
        None => scratch.path().to_path_buf(),
    };
    let mut done = 0u64;
    let campaign = fuzz::Campaign {
        sources,
        seed,
        first,
        cases,
        limit: std::time::Duration::from_secs(limit_s),
    };
    let summary = fuzz::campaign(&campaign, &work, &mut |r| {
        done += 1;
        match &r.verdict {
            Verdict::Handled => {}
            Verdict::Panicked(m) => {
                eprintln!(
                    "case {} ({}, {:?}): panic: {m}",
                    r.case, r.source, r.mutation
                )
            }
            Verdict::Hung => eprintln!(
                "case {} ({}, {:?}): still running after {limit_s} s",
                r.case, r.source, r.mutation
            ),
        }
        if done.is_multiple_of(500) {
            eprintln!(
                "{done}/{cases} cases, peak memory {:.0} MB",
                fuzz::peak_rss_mb()
            );
        }
    })?;
    println!(
        "{} cases (seed {seed}) in {:.0} s: {} handled, {} panics, {} hangs; \
         {} stage errors reported clearly; slowest case {} ms; peak memory {:.0} MB",
        summary.cases,
        summary.seconds,
        summary.handled,
        summary.panics,
        summary.hangs,
        summary.clear_errors,
        summary.slowest_ms,
        summary.peak_rss_mb
    );
    if summary.panics + summary.hangs > 0 {
        println!("failing cases are kept in {}", work.display());
        if work == scratch.path() {
            let _ = scratch.keep();
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
