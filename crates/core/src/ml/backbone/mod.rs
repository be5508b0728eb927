//! Pretrained backbones: frozen networks that turn a track's patches into
//! embeddings, on which a small genre head is trained.
//!
//! A backbone is a [`Backbone`] implementation in its own file of this folder
//! plus one [`Registration`] in [`REGISTERED`]: the name cards and
//! `--backbone` use, the feature pipeline it listens with, its weights file
//! and how to load it. A model's card records a [`BackboneSpec`]; loading the
//! model asks [`open`] for the backbone it names. The from-scratch CNN
//! (`scratch-cnn`) is not a backbone: it is trained whole, head included
//! ([`crate::ml::scratch_cnn`]).

pub mod musicnn;
pub mod musicnn_views;

use crate::features::{FeatureKind, PatchData};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// A frozen pretrained network under a genre head.
pub trait Backbone: Send + Sync {
    /// Its name on the command line and in cards.
    fn name(&self) -> &'static str;
    /// The feature pipeline whose patches it reads (which also gives the
    /// patch length and the version stamped on analyses).
    fn features(&self) -> FeatureKind;
    /// Values per patch embedding.
    fn embedding_width(&self) -> usize;
    /// Multiply-adds ×2 per patch.
    fn flops_per_patch(&self) -> u64;
    /// Embeddings (`patches × width`) of a batch of patches.
    fn embed(&self, patches: &PatchData) -> candle_core::Result<Vec<f32>>;

    /// Seconds of audio one patch covers.
    fn patch_seconds(&self) -> f64 {
        self.features().patch_seconds()
    }

    /// Version of its feature pipeline.
    fn version(&self) -> u32 {
        self.features().version()
    }

    /// The network's own tags (names, and `patches × names` probabilities)
    /// from embeddings it made, where it has a tag layer: what the
    /// descriptors read ([`crate::ml::descriptors`]). `None` by default.
    fn tags_from_embeddings(&self, _embeddings: &[f32]) -> Option<(Vec<String>, Vec<f32>)> {
        None
    }
}

/// How this build knows a pretrained backbone.
pub struct Registration {
    pub name: &'static str,
    pub features: FeatureKind,
    /// Weights file, looked up next to a model, then among the shipped models.
    pub weights: &'static str,
    /// SHA-256 of the weights file the shipped conversion makes.
    pub sha256: &'static str,
    /// Loads the weights once per process (models share a backbone).
    pub load: fn(&Path) -> Result<Arc<dyn Backbone>, String>,
}

/// Every pretrained backbone of this build.
pub const REGISTERED: &[Registration] = &[
    musicnn::REGISTRATION,
    musicnn_views::MTT,
    musicnn_views::MSD_MTT,
];

/// Name of the from-scratch CNN in cards (a whole network, not a backbone).
pub const SCRATCH_CNN: &str = "scratch-cnn";

/// The registration named `name`.
pub fn registered(name: &str) -> Option<&'static Registration> {
    REGISTERED.iter().find(|r| r.name == name)
}

/// The network a model's head sits on, as its card records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackboneSpec {
    /// A [`Registration`]'s name, or [`SCRATCH_CNN`].
    pub name: String,
    /// The weights file the head was trained on (pretrained backbones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// Which conversion of those weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Default for BackboneSpec {
    /// Cards written before backbones existed: the from-scratch CNN.
    fn default() -> Self {
        Self::scratch_cnn()
    }
}

impl BackboneSpec {
    /// The from-scratch CNN.
    pub fn scratch_cnn() -> Self {
        Self {
            name: SCRATCH_CNN.into(),
            weights: None,
            sha256: None,
        }
    }

    /// The shipped musicnn backbone.
    pub fn musicnn_msd() -> Self {
        Self::of(&musicnn::REGISTRATION)
    }

    fn of(r: &Registration) -> Self {
        Self {
            name: r.name.into(),
            weights: Some(r.weights.into()),
            sha256: Some(r.sha256.into()),
        }
    }

    /// Parses a `--backbone` value.
    pub fn parse(name: &str) -> Option<Self> {
        if name == SCRATCH_CNN {
            return Some(Self::scratch_cnn());
        }
        registered(name).map(Self::of)
    }

    /// Every name `--backbone` accepts.
    pub fn names() -> Vec<&'static str> {
        std::iter::once(SCRATCH_CNN)
            .chain(REGISTERED.iter().map(|r| r.name))
            .collect()
    }

    /// True for the from-scratch CNN.
    pub fn is_scratch(&self) -> bool {
        self.name == SCRATCH_CNN
    }

    /// The feature pipeline it reads (`None`: a backbone this build lacks).
    pub fn features(&self) -> Option<FeatureKind> {
        if self.is_scratch() {
            return Some(FeatureKind::DisplayMel);
        }
        registered(&self.name).map(|r| r.features)
    }
}

/// Loads the backbone `spec` names, its weights looked up next to the model
/// (`model_base`'s folder), then among the shipped models.
pub fn open(spec: &BackboneSpec, model_base: &Path) -> Result<Arc<dyn Backbone>, String> {
    let r = registered(&spec.name)
        .ok_or_else(|| format!("this Sonotag has no backbone {:?}", spec.name))?;
    let file = spec.weights.as_deref().unwrap_or(r.weights);
    let found = weights_file(model_base, file).ok_or_else(|| {
        format!(
            "backbone weights {file} not found next to the model nor among the shipped models; \
             training/musicnn/fetch-weights.sh rebuilds them (--mtt for the MTT model)"
        )
    })?;
    (r.load)(&found)
}

/// Where a backbone's weights file lives: next to the model, else beside
/// the shipped default model.
fn weights_file(model_base: &Path, file: &str) -> Option<std::path::PathBuf> {
    let beside = model_base.parent().map(|d| d.join(file));
    beside
        .filter(|p| p.is_file())
        .or_else(|| crate::ml::model::shipped_file(file))
}
