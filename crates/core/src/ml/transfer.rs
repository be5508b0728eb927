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
use crate::ml::scratch_training::Skipped;
use crate::rng::Rng;
use rayon::prelude::*;
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
}

impl TrackEmbeddings {
    /// Number of embedded patches.
    pub fn patches(&self) -> usize {
        self.embeddings.len() / self.dim
    }

    /// The embeddings of `n` evenly spaced patches (all when fewer).
    pub fn sampled(&self, n: Option<usize>) -> Vec<f32> {
        let d = self.dim;
        slice_plan(self.patches(), n)
            .into_iter()
            .flat_map(|k| self.embeddings[k * d..(k + 1) * d].iter().copied())
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

/// A head trained on every patch of `tracks`, each track weighing the same.
pub fn fit(
    tracks: &[&TrackEmbeddings],
    classes: usize,
    opts: &HeadOptions,
) -> candle_core::Result<LinearHead> {
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut w = Vec::new();
    let dim = tracks.first().map_or(1, |t| t.dim);
    for t in tracks {
        x.extend_from_slice(&t.embeddings);
        y.extend(std::iter::repeat_n(t.class as u32, t.patches()));
        // Every track weighs the same, however many patches it has.
        w.extend(std::iter::repeat_n(1.0 / t.patches() as f32, t.patches()));
    }
    LinearHead::train(&x, &y, &w, dim, classes, opts)
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

/// Out-of-fold patch probabilities of every track: `(probabilities of its
/// `sample` evenly spaced patches, class)`, in the order of `tracks`.
pub fn cross_validate(
    tracks: &[TrackEmbeddings],
    classes: usize,
    folds: usize,
    sample: Option<usize>,
    opts: &HeadOptions,
) -> candle_core::Result<Vec<crate::ml::vote::LabelledTrack>> {
    let classes_of: Vec<usize> = tracks.iter().map(|t| t.class).collect();
    let fold_of = assign_folds(&classes_of, folds, opts.seed);
    let mut out: Vec<Option<crate::ml::vote::LabelledTrack>> = vec![None; tracks.len()];
    for f in 0..folds {
        let train: Vec<&TrackEmbeddings> = tracks
            .iter()
            .zip(&fold_of)
            .filter(|(_, k)| **k != f)
            .map(|(t, _)| t)
            .collect();
        let head = fit(&train, classes, opts)?;
        for (i, t) in tracks.iter().enumerate() {
            if fold_of[i] == f {
                out[i] = Some((head.probabilities(&t.sampled(sample)), t.class));
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    /// Patches per track that vote during calibration: what `classify`
    /// samples by default, so the thresholds fit the votes users see.
    pub calibration_patches: Option<usize>,
    /// Precision the thresholds must reach on the out-of-fold votes.
    pub target_precision: f32,
}

impl Default for TransferOptions {
    fn default() -> Self {
        Self {
            head: HeadOptions::default(),
            folds: 10,
            calibration_patches: Some(crate::catalog::analyse::DEFAULT_SAMPLE_SLICES),
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
    pub notes: Vec<String>,
}

/// Calibrates thresholds by cross-validation on `tracks` and trains the
/// final head on all of them.
pub fn train_head_model(
    tracks: &[TrackEmbeddings],
    classes: usize,
    opts: &TransferOptions,
) -> candle_core::Result<TransferTrained> {
    let oof = cross_validate(
        tracks,
        classes,
        opts.folds,
        opts.calibration_patches,
        &opts.head,
    )?;
    let plurality = crate::proposal::Thresholds {
        slice: 0.0,
        track: 0.0,
    };
    let right = oof
        .iter()
        .filter(|(p, c)| crate::ml::vote::vote(p, classes, plurality).winner == Some(*c))
        .count();
    let cross_validated_accuracy = right as f32 / oof.len().max(1) as f32;
    let mut notes = vec![format!(
        "thresholds calibrated on out-of-fold votes of the {} training tracks ({}-fold cross-validation by track, {} patches per track voting); top-1 cross-validated accuracy {:.1}%",
        oof.len(),
        opts.folds,
        opts.calibration_patches
            .map_or("all".to_string(), |n| format!("up to {n}")),
        cross_validated_accuracy * 100.0
    )];
    let (thresholds, calibrated) =
        match crate::ml::vote::calibrate(&oof, classes, opts.target_precision) {
            Some(c) => {
                notes.push(format!(
                "calibrated for {:.0}% precision: {:.1}% precision at {:.1}% coverage out of fold",
                opts.target_precision * 100.0,
                c.precision * 100.0,
                c.coverage * 100.0
            ));
                (c.thresholds, true)
            }
            None => {
                notes.push(format!(
                    "{:.0}% precision unreachable out of fold: the article's thresholds kept",
                    opts.target_precision * 100.0
                ));
                (crate::proposal::Thresholds::default(), false)
            }
        };
    let all: Vec<&TrackEmbeddings> = tracks.iter().collect();
    let head = fit(&all, classes, &opts.head)?;
    Ok(TransferTrained {
        head,
        thresholds,
        calibrated,
        cross_validated_accuracy,
        notes,
    })
}
