//! Training: labelled tracks → spectrograms → a trained [`GenreNet`].
//!
//! Splits are by **track**, never by slice (slices of one song on both sides
//! of a split flatter the score): rows marked `eval` are never trained on,
//! the rest is split per class into train and validation tracks. Each epoch
//! draws the same number of windows per class, each from a track chosen
//! uniformly, so ten 15-second clips weigh as much as ten 7-minute
//! soundtracks; the windows come from at most `max_slices_per_track` evenly
//! spaced positions per track, jittered by up to half a slice. Augmentation
//! respects time: random offsets, gain, frequency and time masks — never
//! flips. AdamW; early stopping on validation **track** accuracy; every
//! random choice comes from one seeded generator, so a seed reproduces a
//! model.

use crate::cancel::Cancel;
use crate::config::genres::Vocabulary;
use crate::features::all_slices;
use crate::features::spectrogram;
use crate::features::spectrogram::{MEL_BANDS, SLICE_COLUMNS, Spectrogram};
use crate::ml::model::ClassCount;
use crate::ml::scratch_cnn::{Architecture, GenreNet};
use crate::ml::vote;
use crate::proposal::Thresholds;
use crate::rng::Rng;
use candle_core::{Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Which split a labelled row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Eval,
}

/// One row of a labels TSV, path resolved against the TSV's folder.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRow {
    pub genre: String,
    pub path: PathBuf,
    pub split: Option<Split>,
    /// Where the file comes from (a game, a package, a collection's
    /// folder): the `source` column, else the labels file's folder and the
    /// path's first folder (`debian-music/wesnoth`, `gtzan-mini/blues`).
    /// Calibration leaves sources out whole.
    pub source: String,
}

/// The name of the folder holding `tsv` (the collection its rows come from).
fn base_name(tsv: &Path) -> String {
    std::fs::canonicalize(tsv)
        .ok()
        .and_then(|p| {
            p.parent()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "labels".into())
}

/// Reads a labels TSV (header with at least `genre` and `path`; optional
/// `split` and `source`). Genres are mapped through `vocab` to their display form.
pub fn read_labels(tsv: &Path, vocab: &Vocabulary) -> anyhow::Result<Vec<LabelRow>> {
    let text = std::fs::read_to_string(tsv)
        .map_err(|e| anyhow::anyhow!("{}: cannot read labels: {e}", tsv.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| anyhow::anyhow!("{}: empty labels file", tsv.display()))?
        .split('\t')
        .map(str::trim)
        .collect();
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(gi), Some(pi)) = (col("genre"), col("path")) else {
        anyhow::bail!(
            "{}: the header needs `genre` and `path` columns (tab-separated), found {:?}",
            tsv.display(),
            header
        );
    };
    let si = col("split");
    let source_column = col("source");
    let collection = base_name(tsv);
    let base = tsv.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (Some(g), Some(p)) = (cells.get(gi), cells.get(pi)) else {
            anyhow::bail!("{}: line {} has too few columns", tsv.display(), n + 2);
        };
        let split = match si.and_then(|i| cells.get(i)).copied() {
            Some(s) if s.eq_ignore_ascii_case("eval") => Some(Split::Eval),
            Some(s) if s.eq_ignore_ascii_case("train") => Some(Split::Train),
            Some("") | None => None,
            Some(other) => anyhow::bail!(
                "{}: line {}: split must be `train` or `eval`, not `{other}`",
                tsv.display(),
                n + 2
            ),
        };
        let source = match source_column.and_then(|i| cells.get(i)) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => {
                let first = Path::new(p)
                    .components()
                    .next()
                    .filter(|_| Path::new(p).components().count() > 1)
                    .map(|c| c.as_os_str().to_string_lossy().into_owned());
                match first {
                    Some(f) => format!("{collection}/{f}"),
                    None => collection.clone(),
                }
            }
        };
        rows.push(LabelRow {
            genre: vocab.display(g),
            path: base.join(p),
            split,
            source,
        });
    }
    Ok(rows)
}

/// A track ready for training: its class and spectrogram.
pub struct Example {
    pub path: PathBuf,
    pub class: usize,
    pub spec: Spectrogram,
}

/// A per-file problem during dataset building.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// Decodes and analyses rows in parallel. Files that fail, or are shorter
/// than one slice, are returned as skipped.
pub fn load_examples(
    rows: &[(PathBuf, usize)],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> (Vec<Example>, Vec<Skipped>) {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Example, Skipped>> = rows
        .par_iter()
        .map(|(path, class)| {
            let r = spectrogram::analyse_file(path);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, rows.len());
            match r {
                Ok((spec, _)) if spec.slice_count() > 0 => Ok(Example {
                    path: path.clone(),
                    class: *class,
                    spec,
                }),
                Ok(_) => Err(Skipped {
                    path: path.clone(),
                    reason: "shorter than one 2.56 s slice".into(),
                }),
                Err(e) => Err(Skipped {
                    path: path.clone(),
                    reason: e.to_string(),
                }),
            }
        })
        .collect();
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for r in results {
        match r {
            Ok(e) => ok.push(e),
            Err(s) => skipped.push(s),
        }
    }
    (ok, skipped)
}

/// Training settings.
#[derive(Clone, Debug, Serialize)]
pub struct TrainOptions {
    pub seed: u64,
    pub max_epochs: usize,
    /// Epochs before a model may be selected.
    pub min_epochs: usize,
    /// Stop after this many epochs without a better validation score.
    pub patience: usize,
    /// Windows drawn per class per epoch.
    pub windows_per_class: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Evenly spaced slice positions per track (the cap).
    pub max_slices_per_track: usize,
    /// Fraction of each class's tracks held out for validation.
    pub validation_fraction: f32,
    pub augment: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            max_epochs: 60,
            min_epochs: 10,
            patience: 15,
            windows_per_class: 96,
            batch: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-3,
            max_slices_per_track: 30,
            validation_fraction: 0.15,
            augment: true,
        }
    }
}

/// One epoch's figures, reported as training goes.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub loss: f32,
    pub slice_accuracy: f32,
    pub val_track_accuracy: f32,
    pub seconds: f64,
}

impl std::fmt::Display for EpochReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  loss {:.3}  slice acc {:>5.1}%  val track acc {:>5.1}%  ({:.1} s)",
            self.epoch,
            self.loss,
            self.slice_accuracy * 100.0,
            self.val_track_accuracy * 100.0,
            self.seconds
        )
    }
}

/// The result of a training run.
pub struct Trained {
    pub net: GenreNet,
    pub epochs: Vec<EpochReport>,
    pub best_epoch: usize,
    /// Validation tracks' probabilities and classes (for calibration).
    pub validation: Vec<vote::LabelledTrack>,
    pub per_class: BTreeMap<String, ClassCount>,
}

/// Splits example indices by class into (train, validation), stratified and
/// deterministic for the seed. A class with fewer than 3 tracks keeps all of
/// them for training.
pub fn split_by_track(
    examples: &[Example],
    classes: usize,
    fraction: f32,
    rng: &mut Rng,
) -> (Vec<usize>, Vec<usize>) {
    let mut train = Vec::new();
    let mut val = Vec::new();
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..examples.len())
            .filter(|&i| examples[i].class == c)
            .collect();
        shuffle(&mut idx, rng);
        let n_val = if idx.len() >= 3 {
            ((idx.len() as f32 * fraction).round() as usize).max(1)
        } else {
            0
        };
        val.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    (train, val)
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Start columns of a training window for `spec`: one of up to `cap` evenly
/// spaced positions, jittered by up to half a slice.
fn window_start(spec: &Spectrogram, cap: usize, rng: &mut Rng) -> usize {
    let max_start = spec.columns() - SLICE_COLUMNS;
    let positions = spec.slice_count().min(cap.max(1));
    let k = (rng.next_u64() % positions as u64) as usize;
    let centre = if positions > 1 {
        k * max_start / (positions - 1)
    } else {
        max_start / 2
    };
    let jitter = (rng.next_u64() % (SLICE_COLUMNS as u64 + 1)) as i64 - (SLICE_COLUMNS / 2) as i64;
    (centre as i64 + jitter).clamp(0, max_start as i64) as usize
}

/// Gain, frequency mask and time mask on a row-major 128×128 window.
fn augment(window: &mut [u8], rng: &mut Rng) {
    let gain = (rng.signed() * 24.0) as i32;
    for v in window.iter_mut() {
        if *v > 0 {
            *v = (*v as i32 + gain).clamp(0, 255) as u8;
        }
    }
    if rng.unit() < 0.5 {
        let width = 1 + (rng.next_u64() % 12) as usize;
        let start = (rng.next_u64() % (MEL_BANDS - width) as u64) as usize;
        for row in start..start + width {
            window[row * SLICE_COLUMNS..(row + 1) * SLICE_COLUMNS].fill(0);
        }
    }
    if rng.unit() < 0.5 {
        let width = 1 + (rng.next_u64() % 16) as usize;
        let start = (rng.next_u64() % (SLICE_COLUMNS - width) as u64) as usize;
        for row in 0..MEL_BANDS {
            window[row * SLICE_COLUMNS + start..row * SLICE_COLUMNS + start + width].fill(0);
        }
    }
}

/// Track accuracy by plurality vote (no abstention) on `idx`.
fn track_accuracy(
    net: &GenreNet,
    examples: &[Example],
    idx: &[usize],
) -> candle_core::Result<(f32, Vec<vote::LabelledTrack>)> {
    let mut right = 0;
    let mut out = Vec::new();
    for &i in idx {
        let (probs, _) = net.infer(
            &all_slices(&examples[i].spec),
            crate::ml::scratch_cnn::INFER_BATCH,
        )?;
        let p = vote::vote(
            &probs,
            net.classes(),
            Thresholds {
                slice: 0.0,
                track: 0.0,
            },
        );
        right += usize::from(p.winner == Some(examples[i].class));
        out.push((probs, examples[i].class));
    }
    Ok((right as f32 / idx.len().max(1) as f32, out))
}

fn snapshot(vars: &[Var]) -> candle_core::Result<Vec<Tensor>> {
    vars.iter().map(|v| v.as_tensor().copy()).collect()
}

/// Trains a network on `examples` (classes `0..class_names.len()`), from
/// scratch or, with `init`, fine-tuning an existing network.
pub fn train(
    examples: &[Example],
    class_names: &[String],
    arch: &Architecture,
    init: Option<GenreNet>,
    opts: &TrainOptions,
    cancel: &Cancel,
    progress: &mut dyn FnMut(&EpochReport),
) -> anyhow::Result<Trained> {
    let classes = class_names.len();
    let mut rng = Rng::new(opts.seed);
    let (train_idx, val_idx) =
        split_by_track(examples, classes, opts.validation_fraction, &mut rng);
    let mut per_class: BTreeMap<String, ClassCount> = BTreeMap::new();
    for &i in &train_idx {
        let e = &examples[i];
        let c = per_class.entry(class_names[e.class].clone()).or_default();
        c.tracks += 1;
        c.slices += e.spec.slice_count().min(opts.max_slices_per_track);
    }
    let by_class: Vec<Vec<usize>> = (0..classes)
        .map(|c| {
            train_idx
                .iter()
                .copied()
                .filter(|&i| examples[i].class == c)
                .collect()
        })
        .collect();
    let present: Vec<usize> = (0..classes).filter(|&c| !by_class[c].is_empty()).collect();
    anyhow::ensure!(
        present.len() >= 2,
        "training needs at least two genres with tracks"
    );

    // Fine-tuning starts from `init` with a fresh head for these classes.
    let mut net = match init {
        Some(mut net) => {
            net.reset_head(classes, opts.seed)?;
            net
        }
        None => GenreNet::new(arch, classes, opts.seed)?,
    };
    net.fused_input = false;
    let vars = net.vars();
    let mut optimizer = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: opts.learning_rate,
            weight_decay: opts.weight_decay,
            ..Default::default()
        },
    )?;
    let mut best = (f32::MIN, f32::MAX, 0usize, snapshot(&vars)?);
    let mut epochs = Vec::new();
    let per = MEL_BANDS * SLICE_COLUMNS;
    for epoch in 1..=opts.max_epochs {
        if cancel.is_cancelled() {
            break;
        }
        let started = std::time::Instant::now();
        let mut draws: Vec<(usize, usize)> = Vec::new();
        for &c in &present {
            for _ in 0..opts.windows_per_class {
                let tracks = &by_class[c];
                let t = tracks[(rng.next_u64() % tracks.len() as u64) as usize];
                draws.push((t, c));
            }
        }
        shuffle(&mut draws, &mut rng);
        let (mut loss_sum, mut right, mut seen) = (0f32, 0usize, 0usize);
        for batch in draws.chunks(opts.batch) {
            let mut data = Vec::with_capacity(batch.len() * per);
            let mut labels = Vec::with_capacity(batch.len());
            for &(t, c) in batch {
                let spec = &examples[t].spec;
                let start = window_start(spec, opts.max_slices_per_track, &mut rng);
                let mut w = spec.window(start);
                if opts.augment {
                    augment(&mut w, &mut rng);
                }
                data.extend_from_slice(&w);
                labels.push(c as u32);
            }
            let x = net.input(&data, batch.len())?;
            let y = Tensor::new(labels.as_slice(), net.device())?;
            let logits = net.head(&net.embed(&x)?, Some(&mut rng))?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            optimizer.backward_step(&loss)?;
            loss_sum += loss.to_scalar::<f32>()? * batch.len() as f32;
            let pred: Vec<u32> = logits.argmax(1)?.to_vec1()?;
            right += pred.iter().zip(&labels).filter(|(a, b)| a == b).count();
            seen += batch.len();
        }
        let loss = loss_sum / seen.max(1) as f32;
        let val_acc = if val_idx.is_empty() {
            right as f32 / seen.max(1) as f32
        } else {
            track_accuracy(&net, examples, &val_idx)?.0
        };
        let report = EpochReport {
            epoch,
            loss,
            slice_accuracy: right as f32 / seen.max(1) as f32,
            val_track_accuracy: val_acc,
            seconds: started.elapsed().as_secs_f64(),
        };
        progress(&report);
        epochs.push(report);
        // A handful of validation tracks makes single epochs noisy: judge the
        // mean of the last three, and only once training has settled.
        let recent: Vec<f32> = epochs
            .iter()
            .rev()
            .take(3)
            .map(|e| e.val_track_accuracy)
            .collect();
        let smoothed = recent.iter().sum::<f32>() / recent.len() as f32;
        if epoch >= opts.min_epochs
            && (smoothed > best.0 + 1e-6 || ((smoothed - best.0).abs() <= 1e-6 && loss < best.1))
        {
            best = (smoothed, loss, epoch, snapshot(&vars)?);
        } else if epoch >= opts.min_epochs && epoch - best.2.max(opts.min_epochs) >= opts.patience {
            break;
        }
    }
    for (v, t) in vars.iter().zip(&best.3) {
        v.set(t)?;
    }
    let (_, validation) = track_accuracy(&net, examples, &val_idx)?;
    net.fused_input = true;
    Ok(Trained {
        net,
        epochs,
        best_epoch: best.2,
        validation,
        per_class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_tsv_is_parsed_and_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let tsv = dir.path().join("labels.tsv");
        std::fs::write(
            &tsv,
            "genre\tpath\tsplit\nhiphop\ta/b.mp3\ttrain\nblues\tc.mp3\teval\nrock\td.mp3\t\n",
        )
        .unwrap();
        let rows = read_labels(&tsv, &Vocabulary::default()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].genre, "Hip-Hop");
        assert_eq!(rows[0].path, dir.path().join("a/b.mp3"));
        assert_eq!(rows[1].split, Some(Split::Eval));
        assert_eq!(rows[2].split, None);
        std::fs::write(&tsv, "name\tfile\nx\ty\n").unwrap();
        let err = read_labels(&tsv, &Vocabulary::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("genre") && err.contains("labels.tsv"), "{err}");
    }
}
