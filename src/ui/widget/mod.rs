//! Widgets the screens draw with: a long list that draws only the rows in
//! view, the evidence canvases (spectrogram, slice strip, histogram) and
//! the dimmed backdrop of a modal dialog.

pub mod evidence;
pub mod long_list;
pub mod modal;
