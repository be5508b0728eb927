//! The knowledge every retrain starts from: the training set of a model on
//! the musicnn backbone, kept beside it as embeddings.
//!
//! A head retrained on a user's handful of corrections alone knows only the
//! genres those corrections name and forgets the rest. Retraining instead
//! on this set plus the user's labels keeps every genre the model knew and
//! lets the corrections move it. The set is `NAME.base.safetensors`: the
//! same evenly spaced patches the head was trained on (at most 30 a track),
//! as f16 embeddings (about 1 MB for the default model's 146 tracks), with
//! each track's class (an index into the model card's classes) and patch
//! count. `sonotag train` writes it; retraining on it alone gives the model
//! it belongs to.

use crate::ml::model::with_ext;
use crate::ml::transfer::TrackEmbeddings;
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The file of the base set of the model at `base` (`models/default` →
/// `models/default.base.safetensors`).
pub fn path_for(model_base: &Path) -> PathBuf {
    with_ext(model_base, "base.safetensors")
}

/// A base set as read back: each track, and the source it came from as a
/// number (equal numbers, same source; `None` in sets written before
/// sources were kept), so a retrain can leave sources out whole when it
/// calibrates, as training did, and report what it measured on each.
pub struct BaseSet {
    pub tracks: Vec<TrackEmbeddings>,
    pub sources: Vec<Option<u32>>,
    /// Each source number's name (empty in sets written before names were
    /// kept).
    pub source_names: Vec<String>,
}

impl BaseSet {
    /// The name of each track's source: its stored name, else `base source
    /// N`, else empty (a set that kept no sources).
    pub fn source_of_each(&self) -> Vec<String> {
        self.sources
            .iter()
            .map(|s| match s {
                Some(id) => self
                    .source_names
                    .get(*id as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("base source {id}")),
                None => String::new(),
            })
            .collect()
    }
}

/// Writes `tracks` (from `sources`, one name per track) as the base set of
/// the model at `model_base`.
pub fn save(
    model_base: &Path,
    tracks: &[TrackEmbeddings],
    sources: &[String],
) -> anyhow::Result<PathBuf> {
    assert_eq!(tracks.len(), sources.len(), "one source per track");
    let device = Device::Cpu;
    let all: Vec<f32> = tracks
        .iter()
        .flat_map(|t| t.embeddings.iter().copied())
        .collect();
    let patches: Vec<u32> = tracks.iter().map(|t| t.patches() as u32).collect();
    let classes: Vec<u32> = tracks.iter().map(|t| t.class as u32).collect();
    let weights: Vec<f32> = tracks.iter().map(|t| t.weight).collect();
    let mut names: Vec<&String> = sources.iter().collect();
    names.sort();
    names.dedup();
    let source_ids: Vec<u32> = sources
        .iter()
        .map(|s| names.binary_search(&s).expect("every source is named") as u32)
        .collect();
    let dim = tracks.first().map_or(1, |t| t.dim);
    let rows = all.len() / dim;
    let mut tensors = HashMap::new();
    tensors.insert(
        "embeddings".to_string(),
        Tensor::from_vec(all, (rows, dim), &device)?.to_dtype(DType::F16)?,
    );
    let n = tracks.len();
    for (name, values) in [
        ("patches", patches),
        ("classes", classes),
        ("sources", source_ids),
    ] {
        tensors.insert(name.to_string(), Tensor::from_vec(values, n, &device)?);
    }
    tensors.insert(
        "weights".to_string(),
        Tensor::from_vec(weights, n, &device)?,
    );
    // The names as their UTF-8 bytes one after another, and each one's
    // length: safetensors holds tensors, not strings.
    let name_bytes: Vec<u8> = names.iter().flat_map(|s| s.bytes()).collect();
    let name_lengths: Vec<u32> = names.iter().map(|s| s.len() as u32).collect();
    let byte_count = name_bytes.len();
    tensors.insert(
        "source_names".to_string(),
        Tensor::from_vec(name_bytes, byte_count, &device)?,
    );
    tensors.insert(
        "source_name_lengths".to_string(),
        Tensor::from_vec(name_lengths, names.len(), &device)?,
    );
    let path = path_for(model_base);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    candle_core::safetensors::save(&tensors, &path)?;
    Ok(path)
}

/// Reads the base set of the model at `model_base`; `classes` is the number
/// of classes of its card (a class index beyond it is damage).
pub fn load(model_base: &Path, classes: usize) -> anyhow::Result<BaseSet> {
    let path = path_for(model_base);
    let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
        .map_err(|e| anyhow::anyhow!("cannot read the base set {}: {e}", path.display()))?;
    let get = |name: &str| {
        tensors
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("the base set {} lacks `{name}`", path.display()))
    };
    let stored = get("embeddings")?;
    let dim = stored.dims().get(1).copied().unwrap_or(0);
    let embeddings: Vec<f32> = stored.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    let patches: Vec<u32> = get("patches")?.to_vec1()?;
    let class_of: Vec<u32> = get("classes")?.to_vec1()?;
    // Sets written before tracks had weights: every track weighs 1.
    let weights: Vec<f32> = match tensors.get("weights") {
        Some(w) => w.to_vec1()?,
        None => vec![1.0; patches.len()],
    };
    let sources: Vec<Option<u32>> = match tensors.get("sources") {
        Some(s) => s.to_vec1::<u32>()?.into_iter().map(Some).collect(),
        None => vec![None; patches.len()],
    };
    let source_names = match (
        tensors.get("source_names"),
        tensors.get("source_name_lengths"),
    ) {
        (Some(bytes), Some(lengths)) => {
            let bytes: Vec<u8> = bytes.to_vec1()?;
            let mut at = 0;
            let mut names = Vec::new();
            for len in lengths.to_vec1::<u32>()? {
                let end = at + len as usize;
                let name = bytes
                    .get(at..end)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .ok_or_else(|| anyhow::anyhow!("the base set {} is damaged", path.display()))?;
                names.push(name.to_string());
                at = end;
            }
            names
        }
        _ => Vec::new(),
    };
    let total: usize = patches.iter().map(|&p| p as usize).sum();
    anyhow::ensure!(
        patches.len() == class_of.len()
            && weights.len() == patches.len()
            && sources.len() == patches.len()
            && weights.iter().all(|w| w.is_finite() && *w >= 0.0)
            && dim > 0
            && total * dim == embeddings.len()
            && class_of.iter().all(|&c| (c as usize) < classes),
        "the base set {} is damaged",
        path.display()
    );
    let mut out = Vec::with_capacity(patches.len());
    let mut at = 0;
    for (i, ((&p, &c), &weight)) in patches.iter().zip(&class_of).zip(&weights).enumerate() {
        let n = p as usize * dim;
        out.push(TrackEmbeddings {
            path: PathBuf::from(format!("base track {i}")),
            class: c as usize,
            embeddings: embeddings[at..at + n].to_vec(),
            dim,
            weight,
        });
        at += n;
    }
    Ok(BaseSet {
        tracks: out,
        sources,
        source_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_set_round_trips_in_f16() {
        let dir = tempfile::tempdir().unwrap();
        // A folder that does not exist yet, as `train --out new/name` gives.
        let base = dir.path().join("new").join("m");
        let tracks: Vec<TrackEmbeddings> = (0..3)
            .map(|i| TrackEmbeddings {
                path: PathBuf::from(format!("t{i}")),
                class: i % 2,
                embeddings: (0..(i + 1) * 200).map(|k| k as f32 / 64.0).collect(),
                dim: 200,
                weight: 0.5 + i as f32,
            })
            .collect();
        let sources = ["b", "a", "b"].map(String::from);
        save(&base, &tracks, &sources).unwrap();
        let back = load(&base, 2).unwrap();
        assert_eq!(back.sources, vec![Some(1), Some(0), Some(1)]);
        assert_eq!(back.source_of_each(), sources);
        let back = back.tracks;
        assert_eq!(back.len(), 3);
        for (a, b) in tracks.iter().zip(&back) {
            assert_eq!(a.class, b.class);
            assert_eq!(a.weight, b.weight);
            assert_eq!(a.patches(), b.patches());
            for (x, y) in a.embeddings.iter().zip(&b.embeddings) {
                assert!((x - y).abs() <= x.abs() * 1e-3 + 1e-3);
            }
        }
        assert!(load(&base, 1).is_err(), "a class beyond the card is damage");
    }
}
