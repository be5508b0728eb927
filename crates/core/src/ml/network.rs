//! A backbone with its head, ready to run: the from-scratch CNN (its head is
//! part of it) or a frozen pretrained [`Backbone`] with a [`LinearHead`].

use crate::features::PatchData;
use crate::ml::backbone::Backbone;
use crate::ml::head::{HeadOptions, LinearHead};
use crate::ml::scratch_cnn::{self, GenreNet};
use std::sync::Arc;

/// A backbone with its head, ready to run.
pub enum Network {
    /// The from-scratch CNN (its head is part of it).
    Scratch(GenreNet),
    /// A frozen pretrained backbone and a linear head.
    Pretrained {
        backbone: Arc<dyn Backbone>,
        head: LinearHead,
    },
}

impl Network {
    /// Probabilities (`n × classes`) and embeddings (`n × dim`) of patches.
    pub fn infer(&self, data: &PatchData) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        match (self, data) {
            (Network::Scratch(net), PatchData::Slices(s)) => net.infer(s, scratch_cnn::INFER_BATCH),
            (Network::Pretrained { backbone, head }, data) => {
                let e = backbone.embed(data)?;
                Ok((head.probabilities(&e), e))
            }
            _ => Err(candle_core::Error::Msg(
                "patches of another feature pipeline than the model's".into(),
            )),
        }
    }

    /// Probabilities from stored embeddings (the head only).
    pub fn probabilities_from_embeddings(
        &self,
        embeddings: &[f32],
    ) -> candle_core::Result<Vec<f32>> {
        match self {
            Network::Scratch(net) => net.probabilities_from_embeddings(embeddings),
            Network::Pretrained { head, .. } => Ok(head.probabilities(embeddings)),
        }
    }

    /// The backbone's own tags from stored embeddings, where it has them
    /// (musicnn's MSD tags; the scratch CNN has none).
    pub fn listener_tags(&self, embeddings: &[f32]) -> Option<(Vec<String>, Vec<f32>)> {
        match self {
            Network::Scratch(_) => None,
            Network::Pretrained { backbone, .. } => backbone.tags_from_embeddings(embeddings),
        }
    }

    /// Width of an embedding.
    pub fn embedding_dim(&self) -> usize {
        match self {
            Network::Scratch(net) => net.architecture().embedding,
            Network::Pretrained { backbone, .. } => backbone.embedding_width(),
        }
    }

    /// Output classes.
    pub fn classes(&self) -> usize {
        match self {
            Network::Scratch(net) => net.classes(),
            Network::Pretrained { head, .. } => head.classes,
        }
    }

    /// Trainable parameters (the head only, for a frozen backbone).
    pub fn parameters(&self) -> usize {
        match self {
            Network::Scratch(net) => net.parameters(),
            Network::Pretrained { head, .. } => head.parameters(),
        }
    }

    /// Multiply-adds ×2 per patch, in millions.
    pub fn mflops_per_patch(&self) -> f64 {
        match self {
            Network::Scratch(net) => net.architecture().flops(net.classes()) as f64 / 1e6,
            Network::Pretrained { backbone, head } => {
                (backbone.flops_per_patch() + 2 * (head.dim * head.classes) as u64) as f64 / 1e6
            }
        }
    }

    /// Trains a new head on stored embeddings (`n × dim`): what retraining
    /// from the user's corrections does. `weights` (one per embedding) let
    /// every track weigh the same; the from-scratch head balances classes
    /// by count instead.
    pub fn retrain_head(
        &mut self,
        embeddings: &[f32],
        labels: &[u32],
        weights: &[f32],
        classes: usize,
        seed: u64,
        steps: usize,
    ) -> candle_core::Result<()> {
        match self {
            Network::Scratch(net) => {
                net.train_head(embeddings, labels, classes, seed, steps)?;
            }
            Network::Pretrained { backbone, head } => {
                let opts = HeadOptions {
                    seed,
                    steps,
                    ..Default::default()
                };
                *head = LinearHead::train(
                    embeddings,
                    labels,
                    weights,
                    backbone.embedding_width(),
                    classes,
                    &opts,
                )?;
            }
        }
        Ok(())
    }
}
