//! musicnn's second model, MTT (trained on MagnaTagATune, whose 50 tags
//! include classical, strings, techno, synth and electronic), alone and as
//! a second view beside the MSD model: the two embeddings side by side.
//! Both run the same network code ([`MusicnnNet`]) on the same log-mel
//! patches.

use super::musicnn::{EMBEDDING, MusicnnNet, shared};
use super::{Backbone, Registration};
use crate::features::{FeatureKind, PatchData};
use std::sync::Arc;

/// SHA-256 of `models/musicnn-mtt.safetensors` as
/// `training/musicnn/fetch-weights.sh --mtt` makes it.
pub const MTT_SHA256: &str = "014a658b0eabf3444cca1be8b22cdee3c500ca296be1913a5461f78c4ef3d132";

/// The MTT model alone.
pub const MTT: Registration = Registration {
    name: "musicnn-mtt",
    features: FeatureKind::MusicnnMel,
    weights: "musicnn-mtt.safetensors",
    sha256: MTT_SHA256,
    load: |path| {
        let net = shared(path).map_err(|e| e.to_string())?;
        Ok(Arc::new(Named {
            net,
            name: "musicnn-mtt",
        }) as Arc<dyn Backbone>)
    },
};

/// The MSD and MTT embeddings side by side (400 values a patch).
pub const MSD_MTT: Registration = Registration {
    name: "musicnn-msd+mtt",
    features: FeatureKind::MusicnnMel,
    weights: "musicnn-mtt.safetensors",
    sha256: MTT_SHA256,
    load: |mtt_path| {
        let msd_path = mtt_path.with_file_name(super::musicnn::REGISTRATION.weights);
        let msd_path = if msd_path.is_file() {
            msd_path
        } else {
            crate::ml::model::shipped_musicnn_weights()
                .ok_or("the MSD weights (musicnn-msd.safetensors) are missing")?
        };
        Ok(Arc::new(Pair {
            msd: shared(&msd_path).map_err(|e| e.to_string())?,
            mtt: shared(mtt_path).map_err(|e| e.to_string())?,
        }) as Arc<dyn Backbone>)
    },
};

/// A musicnn network under another name.
struct Named {
    net: Arc<MusicnnNet>,
    name: &'static str,
}

impl Backbone for Named {
    fn name(&self) -> &'static str {
        self.name
    }

    fn features(&self) -> FeatureKind {
        FeatureKind::MusicnnMel
    }

    fn embedding_width(&self) -> usize {
        EMBEDDING
    }

    fn flops_per_patch(&self) -> u64 {
        self.net.flops_per_patch()
    }

    fn embed(&self, patches: &PatchData) -> candle_core::Result<Vec<f32>> {
        self.net.embed(patches)
    }

    fn tags_from_embeddings(&self, embeddings: &[f32]) -> Option<(Vec<String>, Vec<f32>)> {
        self.net.tags_from_embeddings(embeddings)
    }
}

/// Two musicnn networks, their embeddings concatenated per patch.
struct Pair {
    msd: Arc<MusicnnNet>,
    mtt: Arc<MusicnnNet>,
}

impl Backbone for Pair {
    fn name(&self) -> &'static str {
        MSD_MTT.name
    }

    fn features(&self) -> FeatureKind {
        FeatureKind::MusicnnMel
    }

    fn embedding_width(&self) -> usize {
        2 * EMBEDDING
    }

    fn flops_per_patch(&self) -> u64 {
        self.msd.flops_per_patch() + self.mtt.flops_per_patch()
    }

    fn embed(&self, patches: &PatchData) -> candle_core::Result<Vec<f32>> {
        let a = self.msd.embed(patches)?;
        let b = self.mtt.embed(patches)?;
        Ok(a.chunks(EMBEDDING)
            .zip(b.chunks(EMBEDDING))
            .flat_map(|(x, y)| x.iter().chain(y).copied())
            .collect())
    }

    /// The MSD model's tags, from the first half of each embedding.
    fn tags_from_embeddings(&self, embeddings: &[f32]) -> Option<(Vec<String>, Vec<f32>)> {
        let msd: Vec<f32> = embeddings
            .chunks(2 * EMBEDDING)
            .flat_map(|row| row[..EMBEDDING.min(row.len())].iter().copied())
            .collect();
        self.msd.tags_from_embeddings(&msd)
    }
}
