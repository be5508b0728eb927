//! The listener: networks, heads, training and judging.
//!
//! [`musicnn`] is the pretrained backbone and [`head`] the linear genre head
//! on its embeddings; [`model`] ties a backbone and a head to a card on disk;
//! [`vote`] turns patch probabilities into a proposal and calibrates its
//! thresholds. [`transfer`] trains a head, [`scratch_training`] the
//! from-scratch CNN, [`corrections`] retrains from the user's decisions on
//! the [`base_set`]; [`eval`] and [`simulate`] measure models.

pub mod base_set;
pub mod corrections;
pub mod eval;
pub mod head;
pub mod model;
pub mod musicnn;
pub mod scratch_training;
pub mod simulate;
pub mod transfer;
pub mod vote;
