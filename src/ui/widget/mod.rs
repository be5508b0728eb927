//! Widgets the screens draw with: a long list that draws only the rows in
//! view, the evidence canvases (spectrogram, slice strip, histogram) and
//! the dimmed backdrop of a modal dialog, and the wrapper that has every
//! frame drawn whole.

pub mod evidence;
pub mod long_list;
pub mod modal;
pub mod whole_frames;
