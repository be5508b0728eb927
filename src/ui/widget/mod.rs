//! Widgets the screens draw with: a long list that draws only the rows in
//! view, and the evidence canvases (spectrogram, slice strip, histogram).

pub mod evidence;
pub mod long_list;
