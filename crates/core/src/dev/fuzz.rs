//! A seeded fuzz harness for every path a damaged file takes through
//! Sonotag: reading its tags and its audio key (the scan), decoding it for the display and for
//! each backbone's features (classify), and preparing a tag write.
//!
//! Cases are mutations of known-good files (byte flips, truncations, zeroed
//! headers, huge or tiny values in header fields, garbage), reproducible
//! from the seed and case number. Each case runs on a watched thread: a case
//! that outlives the time limit counts as a hang, a panic that escapes the
//! per-file guards counts as a panic, and the peak resident memory of the
//! process is reported. The test suite runs a few hundred cases; `sonotag
//! fuzz --cases 10000` runs the long campaign.

use crate::features::FeatureKind;
use crate::rng::Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How one file was damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mutation {
    /// A few bytes flipped, mostly in the header.
    Flips,
    /// Cut short.
    Truncate,
    /// A run of the header zeroed.
    ZeroHeader,
    /// A 32-bit header field set to a huge value.
    HugeSize,
    /// A 32-bit header field set to a tiny value (rates of 1–11 Hz).
    TinyValue,
    /// Random bytes in the middle, or a copy of the header spliced in.
    Splice,
    /// Nothing but random bytes, with the format's extension.
    Garbage,
}

const MUTATIONS: [Mutation; 7] = [
    Mutation::Flips,
    Mutation::Truncate,
    Mutation::ZeroHeader,
    Mutation::HugeSize,
    Mutation::TinyValue,
    Mutation::Splice,
    Mutation::Garbage,
];

/// The damaged bytes of case `case` made from `good`.
pub fn mutate(good: &[u8], seed: u64, case: u64) -> (Mutation, Vec<u8>) {
    let mut rng = Rng::new(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut below = |n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    let mutation = MUTATIONS[below(MUTATIONS.len())];
    let mut bytes = good.to_vec();
    let header = bytes.len().min(512);
    match mutation {
        Mutation::Flips => {
            for _ in 0..1 + below(16) {
                let span = if below(2) == 0 { header } else { bytes.len() };
                let at = below(span);
                bytes[at] ^= 1 << below(8);
            }
        }
        Mutation::Truncate => bytes.truncate(below(bytes.len())),
        Mutation::ZeroHeader => {
            let at = below(header);
            let len = 1 + below(64);
            let end = (at + len).min(bytes.len());
            bytes[at..end].fill(0);
        }
        Mutation::HugeSize | Mutation::TinyValue => {
            let at = below(header.saturating_sub(4)) & !1;
            let value: u32 = if mutation == Mutation::HugeSize {
                [u32::MAX, 0x7FFF_FFFF, 0x8000_0000, 400_000_000, 1 << 24][below(5)]
            } else {
                1 + below(11) as u32
            };
            let field = if below(2) == 0 {
                value.to_le_bytes()
            } else {
                value.to_be_bytes()
            };
            if at + 4 <= bytes.len() {
                bytes[at..at + 4].copy_from_slice(&field);
            }
        }
        Mutation::Splice => {
            let at = below(bytes.len());
            let insert: Vec<u8> = if below(2) == 0 {
                (0..1 + below(4096)).map(|_| below(256) as u8).collect()
            } else {
                good[..header].to_vec()
            };
            bytes.splice(at..at, insert);
        }
        Mutation::Garbage => {
            let len = 1 + below(64 * 1024);
            bytes = (0..len).map(|_| below(256) as u8).collect();
        }
    }
    (mutation, bytes)
}

/// What one case did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every stage ended with a result or a clear error.
    Handled,
    /// A panic escaped a stage (its message).
    Panicked(String),
    /// A stage did not finish within the limit.
    Hung,
}

/// One fuzz case and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub case: u64,
    pub source: String,
    pub mutation: Mutation,
    pub verdict: Verdict,
    /// Stages that reported a clear error (out of 4).
    pub errors: usize,
    pub millis: u128,
}

/// Figures of a campaign.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub cases: usize,
    pub handled: usize,
    pub panics: usize,
    pub hangs: usize,
    /// Stage errors: damaged files reported as such (expected).
    pub clear_errors: usize,
    pub slowest_ms: u128,
    pub peak_rss_mb: f64,
    pub seconds: f64,
}

/// Peak resident memory of this process so far, in MB.
pub fn peak_rss_mb() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    if ok {
        // SAFETY: initialised by the successful call above.
        unsafe { usage.assume_init() }.ru_maxrss as f64 / 1024.0
    } else {
        0.0
    }
}

/// Runs every stage on `path`; returns how many reported a clear error.
/// Panics only if a guard is missing.
fn run_stages(path: &Path) -> usize {
    let mut errors = 0;
    let info = crate::tags::read::read_info(path);
    errors += usize::from(info.is_err());
    let duration = info.ok().and_then(|i| i.duration_s);
    for kind in [FeatureKind::DisplayMel, FeatureKind::MusicnnMel] {
        errors += usize::from(
            kind.analyse_for_classification(path, duration, Some(4))
                .is_err(),
        );
    }
    errors += usize::from(crate::audio::content_key::audio_key(path).is_err());
    let bytes = std::fs::read(path).unwrap_or_default();
    errors += usize::from(crate::tags::rewritten_with_genre(&bytes, path, "Fuzz").is_err());
    errors
}

/// Which cases to run.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// Good files, mutated in turn.
    pub sources: Vec<PathBuf>,
    pub seed: u64,
    /// Case numbers `first..first + cases`.
    pub first: u64,
    pub cases: u64,
    /// A case still running after this counts as hung.
    pub limit: Duration,
}

/// Runs the campaign's cases in the scratch folder `work` (failing cases
/// stay there). `on_case` sees each result as it lands.
pub fn campaign(
    c: &Campaign,
    work: &Path,
    on_case: &mut dyn FnMut(&CaseResult),
) -> anyhow::Result<Summary> {
    campaign_with(c, work, on_case, run_stages)
}

/// [`campaign`] with the stages to run on each case.
fn campaign_with(
    c: &Campaign,
    work: &Path,
    on_case: &mut dyn FnMut(&CaseResult),
    stages: fn(&Path) -> usize,
) -> anyhow::Result<Summary> {
    let Campaign {
        sources,
        seed,
        first,
        cases,
        limit,
    } = c.clone();
    anyhow::ensure!(!sources.is_empty(), "no files to mutate");
    let goods: Vec<(PathBuf, Vec<u8>)> = sources
        .iter()
        .map(|p| Ok((p.clone(), std::fs::read(p)?)))
        .collect::<std::io::Result<_>>()?;
    let started = Instant::now();
    let mut summary = Summary::default();
    for case in first..first + cases {
        let (source, good) = &goods[(case % goods.len() as u64) as usize];
        let (mutation, bytes) = mutate(good, seed, case);
        let ext = source
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = work.join(format!("case-{case}.{ext}"));
        std::fs::write(&path, &bytes)?;
        let t = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name(format!("fuzz-{case}"))
            .spawn(move || {
                let outcome = crate::audio::catch_panic(|| stages(&thread_path));
                let _ = tx.send(outcome);
            })?;
        let (verdict, errors) = match rx.recv_timeout(limit) {
            Ok(Ok(errors)) => (Verdict::Handled, errors),
            Ok(Err(message)) => (Verdict::Panicked(message), 0),
            // The thread is left behind: Rust cannot stop it.
            Err(_) => (Verdict::Hung, 0),
        };
        let result = CaseResult {
            case,
            source: source
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            mutation,
            verdict,
            errors,
            millis: t.elapsed().as_millis(),
        };
        summary.cases += 1;
        summary.clear_errors += result.errors;
        summary.slowest_ms = summary.slowest_ms.max(result.millis);
        match result.verdict {
            Verdict::Handled => {
                summary.handled += 1;
                let _ = std::fs::remove_file(&path);
            }
            // Kept for reproduction.
            Verdict::Panicked(_) => summary.panics += 1,
            Verdict::Hung => summary.hangs += 1,
        }
        on_case(&result);
    }
    summary.peak_rss_mb = peak_rss_mb();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The good files the project's tests use, one per format (`tone.*`), when
/// the source tree is at hand.
pub fn default_sources() -> Vec<PathBuf> {
    let dir = crate::source_tree().join("tests/fixtures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    crate::audio::formats::is_audio_candidate(p)
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("tone"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_and_varied() {
        let good: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
        let a = mutate(&good, 7, 3);
        assert_eq!(a, mutate(&good, 7, 3));
        let kinds: std::collections::HashSet<_> = (0..200)
            .map(|c| format!("{:?}", mutate(&good, 7, c).0))
            .collect();
        assert_eq!(kinds.len(), MUTATIONS.len());
        let changed = (0..50).filter(|&c| mutate(&good, 7, c).1 != good).count();
        assert!(changed >= 45, "{changed} of 50 cases changed the file");
    }

    #[test]
    fn escaped_panics_and_hangs_are_caught_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("good.wav");
        std::fs::write(&source, vec![1u8; 2048]).unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        fn misbehaving(path: &Path) -> usize {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            match name.as_str() {
                "case-1.wav" => panic!("a decoder bug"),
                "case-2.wav" => {
                    // Outlives the limit by far; the thread is abandoned.
                    std::thread::sleep(Duration::from_secs(60));
                    0
                }
                _ => 1,
            }
        }
        let mut seen = Vec::new();
        let c = Campaign {
            sources: vec![source],
            seed: 1,
            first: 0,
            cases: 4,
            // Generous, so that a loaded machine never makes a trivial case
            // look hung.
            limit: Duration::from_secs(3),
        };
        let summary = campaign_with(
            &c,
            &work,
            &mut |r| seen.push(r.verdict.clone()),
            misbehaving,
        )
        .unwrap();
        assert_eq!((summary.handled, summary.panics, summary.hangs), (2, 1, 1));
        assert_eq!(seen[1], Verdict::Panicked("a decoder bug".into()));
        assert_eq!(seen[2], Verdict::Hung);
        assert_eq!(summary.clear_errors, 2);
        let kept: Vec<_> = std::fs::read_dir(&work).unwrap().flatten().collect();
        assert_eq!(kept.len(), 2, "the failing cases stay for reproduction");
    }
}
