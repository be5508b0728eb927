//! The listener: networks, heads, training and judging.
//!
//! [`backbone`] holds the pretrained backbones (musicnn) behind one trait,
//! [`head`] the linear genre head on their embeddings and [`scratch_cnn`]
//! the from-scratch CNN; [`network`] runs either, and [`model`] ties one to
//! a card on disk;
//! [`look`] says which patches vote, [`vote`] turns their probabilities
//! into a proposal and calibrates its thresholds. [`transfer`] trains a head, [`scratch_training`] the
//! from-scratch CNN, [`corrections`] retrains from the user's decisions on
//! the [`base_set`]; [`eval`] and [`simulate`] measure models.

pub mod backbone;
pub mod base_set;
pub mod corrections;
pub mod descriptors;
pub mod eval;
pub mod head;
pub mod look;
pub mod model;
pub mod network;
pub mod on_library;
pub mod scratch_cnn;
pub mod scratch_training;
pub mod transfer;
pub mod vote;
