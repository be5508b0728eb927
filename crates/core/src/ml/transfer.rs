//! Training a genre head on a pretrained backbone (transfer learning).
//!
//! With a few hundred labelled tracks a network trained from scratch learns
//! the recordings more than the genres; a backbone pretrained on 200k songs
//! ([`crate::ml::backbone::musicnn`]) already describes music, and a linear head on its
//! embeddings ([`LinearHead`]) is all that needs to be learned. Steps:
//!
//! 1. [`embed_tracks`]: every labelled track is decoded once and at most
//!    `max_patches_per_track` evenly spaced patches are embedded (long
//!    soundtracks must not outweigh 30-second clips).
//! 2. [`cross_validate`]: the tracks are split into folds by **track**,
//!    stratified by genre; each fold is predicted by a head trained on the
//!    others. These out-of-fold votes are what the voting thresholds are
//!    calibrated on ([`crate::ml::vote::calibrate`]), so thresholds never see a
//!    track the head was trained on, and never the evaluation tracks.
//! 3. [`fit`]: the final head on all training tracks.

use crate::features::slice_plan;
use crate::ml::backbone::Backbone;
use crate::ml::head::{HeadOptions, LinearHead};
use crate::ml::look::Voting;
use crate::ml::scratch_training::Skipped;
use crate::ml::vote::{Choice, Score, score};
use crate::rng::Rng;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One labelled track's embeddings.
#[derive(Clone, Debug)]
pub struct TrackEmbeddings {
    pub path: PathBuf,
    pub class: usize,
    /// `patches × dim`.
    pub embeddings: Vec<f32>,
    /// The backbone's embedding width.
    pub dim: usize,
    /// What the track weighs in training against an average track of its
    /// genre (1.0 unless [`weigh_by_source`] spread it).
    pub weight: f32,
}

/// Gives every source of a genre the same say in training: a track weighs
/// `(tracks of its genre / sources of its genre) / tracks of its genre from
/// its source`, so a genre's weights still sum to its track count (a
/// user's decision, weighing 10, stays worth 10 average tracks), but 58
/// pieces of one soundtrack no longer outvote 7 clips of another
/// collection. A head that hears one source most learns that source's
/// sound as the genre; out of fold this lifted the right answers on
/// sources left out (models/README.md, "Choosing the head").
pub fn weigh_by_source(tracks: &mut [TrackEmbeddings], sources: &[String]) {
    let classes: Vec<usize> = tracks.iter().map(|t| t.class).collect();
    for (t, w) in tracks.iter_mut().zip(source_weights(&classes, sources)) {
        t.weight = w;
    }
}

/// The weights of [`weigh_by_source`] for tracks of `classes` from `sources`.
pub fn source_weights(classes: &[usize], sources: &[String]) -> Vec<f32> {
    assert_eq!(classes.len(), sources.len(), "one source per track");
    let mut per_group: HashMap<(usize, &str), usize> = HashMap::new();
    for (&c, s) in classes.iter().zip(sources) {
        *per_group.entry((c, s.as_str())).or_default() += 1;
    }
    let mut per_class: HashMap<usize, (usize, usize)> = HashMap::new();
    for (&(class, _), &n) in &per_group {
        let e = per_class.entry(class).or_default();
        e.0 += n;
        e.1 += 1;
    }
    classes
        .iter()
        .zip(sources)
        .map(|(&c, s)| {
            let (class_tracks, class_sources) = per_class[&c];
            let group = per_group[&(c, s.as_str())];
            (class_tracks as f64 / class_sources as f64 / group as f64) as f32
        })
        .collect()
}

impl TrackEmbeddings {
    /// Number of embedded patches.
    pub fn patches(&self) -> usize {
        self.embeddings.len() / self.dim
    }

    /// The embeddings of the patches at `picks`.
    pub fn picked(&self, picks: &[usize]) -> Vec<f32> {
        let d = self.dim;
        picks
            .iter()
            .flat_map(|&k| self.embeddings[k * d..(k + 1) * d].iter().copied())
            .collect()
    }
}

/// Where embeddings of labelled files are cached between training runs
/// (`~/.cache/sonotag/embeddings`): a source-disjoint check trains several
/// heads on the same tracks, and embedding is the slow part.
pub fn default_cache_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "sonotag", "sonotag")
        .map(|d| d.cache_dir().join("embeddings"))
}

/// The cache file of `path`'s embeddings: keyed by the file's identity
/// (path, size, modification time), the feature version, the backbone
/// weights and the patch cap, so any change misses.
fn cache_file(
    dir: &Path,
    backbone: &dyn Backbone,
    path: &Path,
    max_patches: usize,
) -> Option<PathBuf> {
    use std::hash::{Hash, Hasher};
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        path.canonicalize().ok()?,
        meta.len(),
        mtime.as_nanos(),
        backbone.name(),
        backbone.version(),
        crate::ml::backbone::registered(backbone.name()).map(|r| r.sha256),
        max_patches,
    )
        .hash(&mut h);
    Some(dir.join(format!("{:016x}.f32", h.finish())))
}

fn read_cache(file: &Path, dim: usize) -> Option<Vec<f32>> {
    let bytes = std::fs::read(file).ok()?;
    (bytes.len() % (4 * dim) == 0 && !bytes.is_empty()).then(|| {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    })
}

fn write_cache(file: &Path, embeddings: &[f32]) {
    // A cache that cannot be written only costs time next run.
    let bytes: Vec<u8> = embeddings.iter().flat_map(|v| v.to_le_bytes()).collect();
    if let Some(dir) = file.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, file);
        }
    }
}

/// Decodes and embeds `rows` (path, class) in parallel; files that fail or
/// are shorter than one patch come back as skipped, with the reason. With
/// `cache`, embeddings computed before for the same file are reused.
pub fn embed_tracks(
    backbone: &dyn Backbone,
    rows: &[(PathBuf, usize)],
    max_patches_per_track: usize,
    cache: Option<&Path>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> (Vec<TrackEmbeddings>, Vec<Skipped>) {
    let done = AtomicUsize::new(0);
    let results: Vec<Result<TrackEmbeddings, Skipped>> = rows
        .par_iter()
        .map(|(path, class)| {
            let skipped = |reason: String| Skipped {
                path: path.clone(),
                reason,
            };
            let cached =
                cache.and_then(|dir| cache_file(dir, backbone, path, max_patches_per_track));
            let dim = backbone.embedding_width();
            if let Some(embeddings) = cached.as_deref().and_then(|f| read_cache(f, dim)) {
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, rows.len());
                return Ok(TrackEmbeddings {
                    path: path.clone(),
                    class: *class,
                    embeddings,
                    dim,
                    weight: 1.0,
                });
            }
            let outcome = backbone
                .features()
                .analyse_file(path)
                .map_err(|e| skipped(e.to_string()))
                .and_then(|patches| {
                    let n = patches.data.count();
                    if n == 0 {
                        return Err(skipped(format!(
                            "shorter than one {:.2} s patch",
                            backbone.patch_seconds()
                        )));
                    }
                    let data = patches
                        .data
                        .subset(&slice_plan(n, Some(max_patches_per_track)));
                    let embeddings = backbone
                        .embed(&data)
                        .map_err(|e| skipped(format!("inference failed: {e}")))?;
                    if let Some(file) = &cached {
                        write_cache(file, &embeddings);
                    }
                    Ok(TrackEmbeddings {
                        path: path.clone(),
                        class: *class,
                        embeddings,
                        dim,
                        weight: 1.0,
                    })
                });
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, rows.len());
            outcome
        })
        .collect();
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for r in results {
        match r {
            Ok(t) => ok.push(t),
            Err(s) => skipped.push(s),
        }
    }
    (ok, skipped)
}

/// A head trained on every patch of `tracks`, each track weighing its
/// weight however many patches it has.
pub fn fit(
    tracks: &[&TrackEmbeddings],
    classes: usize,
    opts: &HeadOptions,
) -> candle_core::Result<LinearHead> {
    let dim = tracks.first().map_or(1, |t| t.dim);
    LinearHead::train_on_tracks(
        tracks
            .iter()
            .map(|t| (t.embeddings.as_slice(), t.class, t.weight)),
        dim,
        classes,
        opts,
    )
}

/// Assigns each track a fold in `0..folds`, stratified by class and
/// shuffled with `seed`.
pub fn assign_folds(classes_of: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut fold = vec![0; classes_of.len()];
    let max_class = classes_of.iter().copied().max().unwrap_or(0);
    let mut offset = 0;
    for c in 0..=max_class {
        let mut idx: Vec<usize> = (0..classes_of.len())
            .filter(|&i| classes_of[i] == c)
            .collect();
        for i in (1..idx.len()).rev() {
            idx.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        // Continue the round-robin across classes so small classes do not
        // all land in fold 0.
        for (k, &i) in idx.iter().enumerate() {
            fold[i] = (offset + k) % folds.max(1);
        }
        offset += idx.len();
    }
    fold
}

/// How training tracks are split for cross-validation: which group judges
/// each track, and which tracks are judged by a head that never heard
/// their source.
#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    /// Group of each track; a head is trained per group, without it.
    pub group_of: Vec<usize>,
    pub groups: usize,
    /// The track's whole source was left out of its head's training.
    pub unseen: Vec<bool>,
    /// The sources left out whole, in group order.
    pub held_out: Vec<String>,
}

/// Groups tracks by source (the game, package or collection a file comes
/// from): every source that can be left out whole is one group, so its
/// tracks are judged as music from elsewhere. A source that holds every
/// training track of one of its genres cannot be left out (the head would
/// not know the genre: GTZAN's genre folders are such sources); its tracks
/// are spread over `folds` further groups, stratified by class, as are
/// tracks of no known source (an empty name: a user's own decisions).
pub fn group_by_source(
    classes_of: &[usize],
    sources: &[String],
    folds: usize,
    seed: u64,
) -> Grouping {
    let mut names: Vec<&String> = sources.iter().collect();
    names.sort();
    names.dedup();
    let can_leave_out = |s: &String| {
        !s.is_empty()
            && (0..classes_of.len())
                .filter(|&i| &sources[i] == s)
                .all(|i| {
                    (0..classes_of.len())
                        .any(|j| sources[j] != *s && classes_of[j] == classes_of[i])
                })
    };
    let held_out: Vec<String> = if names.len() > 1 {
        names
            .into_iter()
            .filter(|s| can_leave_out(s))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let rest: Vec<usize> = (0..classes_of.len())
        .filter(|&i| !held_out.contains(&sources[i]))
        .collect();
    let rest_folds = assign_folds(
        &rest.iter().map(|&i| classes_of[i]).collect::<Vec<_>>(),
        folds,
        seed,
    );
    let mut group_of = vec![0; classes_of.len()];
    let mut unseen = vec![false; classes_of.len()];
    for (i, s) in sources.iter().enumerate() {
        if let Some(g) = held_out.iter().position(|h| h == s) {
            group_of[i] = g;
            unseen[i] = true;
        }
    }
    for (k, &i) in rest.iter().enumerate() {
        group_of[i] = held_out.len() + rest_folds[k];
    }
    Grouping {
        groups: held_out.len() + if rest.is_empty() { 0 } else { folds.max(1) },
        group_of,
        unseen,
        held_out,
    }
}

/// Out-of-fold patch probabilities of every track: `(probabilities of its
/// voting patches, class)`, in the order of `tracks`, each from the head
/// trained without the track's group.
pub fn cross_validate(
    tracks: &[TrackEmbeddings],
    classes: usize,
    grouping: &Grouping,
    voting: Voting,
    opts: &HeadOptions,
) -> candle_core::Result<Vec<crate::ml::vote::LabelledTrack>> {
    let groups: Vec<usize> = (0..grouping.groups).collect();
    let heads = groups
        .par_iter()
        .map(|&g| {
            let train: Vec<&TrackEmbeddings> = tracks
                .iter()
                .zip(&grouping.group_of)
                .filter(|(_, k)| **k != g)
                .map(|(t, _)| t)
                .collect();
            fit(&train, classes, opts)
        })
        .collect::<candle_core::Result<Vec<LinearHead>>>()?;
    Ok(tracks
        .iter()
        .zip(&grouping.group_of)
        .map(|(t, &g)| {
            let probs = voting.probabilities(t.patches(), classes, |picks| {
                heads[g].probabilities(&t.picked(picks))
            });
            (probs, t.class)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_left_out_whole_unless_it_alone_holds_a_genre() {
        // Two games of genre 0, one of genre 1 only, and a collection whose
        // genre-2 folder is the only genre 2 there is.
        let classes = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2];
        let sources: Vec<String> = [
            "a", "a", "b", "b", "c", "c", "col/x", "col/x", "col/x", "col/x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let g = group_by_source(&classes, &sources, 2, 7);
        // a and b each hold genre 0, which the other also has: left out.
        // c alone holds genre 1, col/x alone genre 2: spread over folds.
        assert_eq!(g.held_out, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(g.groups, 4);
        for i in 0..classes.len() {
            assert_eq!(g.unseen[i], i < 4, "track {i}");
        }
        assert!(g.group_of[..2].iter().all(|&k| k == 0));
        assert!(g.group_of[2..4].iter().all(|&k| k == 1));
        assert!(g.group_of[4..].iter().all(|&k| k == 2 || k == 3));
        // Tracks of no known source are never left out whole.
        let mut unknown = sources.clone();
        unknown[0] = String::new();
        unknown[1] = String::new();
        let g = group_by_source(&classes, &unknown, 2, 7);
        assert_eq!(g.held_out, vec!["b".to_string()]);
        assert!(!g.unseen[0] && !g.unseen[1] && g.unseen[2]);
        // One source only: plain folds by track, nothing unseen.
        let one = vec!["same".to_string(); classes.len()];
        let g = group_by_source(&classes, &one, 3, 7);
        assert!(g.held_out.is_empty() && g.unseen.iter().all(|&u| !u));
        assert_eq!(g.groups, 3);
    }

    #[test]
    fn each_source_of_a_genre_weighs_alike_and_the_genre_keeps_its_total() {
        // Genre 0: six tracks of source a, two of b; genre 1: one of c.
        let classes = [0, 0, 0, 0, 0, 0, 0, 0, 1];
        let sources: Vec<String> = ["a", "a", "a", "a", "a", "a", "b", "b", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let w = source_weights(&classes, &sources);
        // 8 tracks, 2 sources: each source sums to 4.
        assert!(
            w[..6].iter().all(|&x| (x - 4.0 / 6.0).abs() < 1e-6),
            "{w:?}"
        );
        assert!(w[6..8].iter().all(|&x| (x - 2.0).abs() < 1e-6), "{w:?}");
        assert_eq!(w[8], 1.0);
        let genre0: f32 = w[..8].iter().sum();
        assert!((genre0 - 8.0).abs() < 1e-5);
    }

    #[test]
    fn folds_are_stratified_and_cover_every_fold() {
        let classes = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2];
        let folds = assign_folds(&classes, 5, 1);
        for f in 0..5 {
            assert!(folds.contains(&f));
        }
        for c in 0..2 {
            let mut seen: Vec<usize> = (0..classes.len())
                .filter(|&i| classes[i] == c)
                .map(|i| folds[i])
                .collect();
            seen.sort();
            assert_eq!(seen, vec![0, 1, 2, 3, 4], "class {c}");
        }
    }
}

/// Settings of [`train_head_model`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct TransferOptions {
    pub head: HeadOptions,
    /// Cross-validation folds for calibrating the thresholds.
    pub folds: usize,
    /// The patches that vote during calibration: as `classify` samples
    /// them, so the thresholds fit the votes users see.
    pub calibration: Voting,
    /// Precision the thresholds must reach on the out-of-fold votes.
    pub target_precision: f32,
}

impl Default for TransferOptions {
    fn default() -> Self {
        Self {
            head: HeadOptions::default(),
            folds: 10,
            calibration: Voting::SecondLook,
            target_precision: 0.95,
        }
    }
}

/// A trained head with its calibrated thresholds.
pub struct TransferTrained {
    pub head: LinearHead,
    pub thresholds: crate::proposal::Thresholds,
    pub calibrated: bool,
    /// Top-1 track accuracy of the out-of-fold votes (no abstention).
    pub cross_validated_accuracy: f32,
    /// Each source left out whole, as the shipped thresholds judge it.
    pub unseen_sources: Vec<(String, Score)>,
    pub notes: Vec<String>,
}

/// Calibrates thresholds by cross-validation on `tracks` (grouped by
/// `sources`, one per track: see [`group_by_source`]) and trains the final
/// head on all of them.
pub fn train_head_model(
    tracks: &[TrackEmbeddings],
    sources: &[String],
    classes: usize,
    opts: &TransferOptions,
) -> candle_core::Result<TransferTrained> {
    let classes_of: Vec<usize> = tracks.iter().map(|t| t.class).collect();
    let grouping = group_by_source(&classes_of, sources, opts.folds, opts.head.seed);
    let oof = cross_validate(tracks, classes, &grouping, opts.calibration, &opts.head)?;
    let plurality = crate::proposal::Thresholds {
        slice: 0.0,
        track: 0.0,
    };
    let top1 = score(&oof, classes, plurality, |_| true);
    let cross_validated_accuracy = top1.accuracy();
    let mut notes = vec![format!(
        "thresholds calibrated on out-of-fold votes of the {} training tracks ({}; {} voting); top-1 cross-validated accuracy {:.1}%",
        oof.len(),
        if grouping.held_out.is_empty() {
            format!("{}-fold cross-validation by track", opts.folds)
        } else {
            format!(
                "each of the sources {} left out whole, the others {}-fold by track",
                grouping.held_out.join(", "),
                opts.folds
            )
        },
        opts.calibration.describe(),
        cross_validated_accuracy * 100.0
    )];
    let (thresholds, calibrated) = match crate::ml::vote::choose_thresholds(
        &oof,
        &grouping.unseen,
        classes,
        opts.target_precision,
        None,
    ) {
        Choice::Reached(c) => {
            notes.push(format!(
                "calibrated for {:.0}% precision overall and on the sources left out: {:.1}% precision at {:.1}% coverage out of fold",
                opts.target_precision * 100.0,
                c.precision * 100.0,
                c.coverage * 100.0
            ));
            (c.thresholds, true)
        }
        // Unreachable: the most careful thresholds that still propose for
        // a quarter of the tracks, and the card says so.
        Choice::MostPrecise(c) => {
            notes.push(format!(
                "{:.0}% precision unreachable out of fold for a quarter of the tracks: the thresholds most precise on the sources left out kept ({:.1}% precision at {:.1}% coverage overall)",
                opts.target_precision * 100.0,
                c.precision * 100.0,
                c.coverage * 100.0
            ));
            (c.thresholds, true)
        }
        Choice::None => {
            notes.push(format!(
                "{:.0}% precision unreachable out of fold: the article's thresholds kept",
                opts.target_precision * 100.0
            ));
            (crate::proposal::Thresholds::default(), false)
        }
    };
    let unseen_sources: Vec<(String, Score)> = grouping
        .held_out
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let figures = crate::ml::vote::score_with_leading(&oof, classes, thresholds, |i| {
                grouping.group_of[i] == g
            });
            (name.clone(), figures)
        })
        .collect();
    for (name, f) in &unseen_sources {
        notes.push(format!("{name}, left out: {f}"));
    }
    let all: Vec<&TrackEmbeddings> = tracks.iter().collect();
    let head = fit(&all, classes, &opts.head)?;
    Ok(TransferTrained {
        head,
        thresholds,
        calibrated,
        cross_validated_accuracy,
        unseen_sources,
        notes,
    })
}
