//! Slice previews through the sound card (rodio).
//!
//! A preview decodes exactly the slice's span (2.56 s or musicnn's 2.99 s) from the original file (by
//! seeking) and plays it. Without an audio device the player cannot be
//! opened; callers say so once and carry on.

use sonotag_core::audio;
use sonotag_core::features::spectrogram::SAMPLE_RATE;
use std::num::NonZero;
use std::path::Path;

/// An open audio output.
pub struct Player {
    sink: rodio::MixerDeviceSink,
    player: Option<rodio::Player>,
}

impl Player {
    /// Opens the default output device.
    pub fn open() -> Result<Self, String> {
        let mut sink = rodio::DeviceSinkBuilder::open_default_sink()
            .map_err(|e| format!("no audio output available ({e}); previews are off"))?;
        sink.log_on_drop(false);
        Ok(Self { sink, player: None })
    }

    /// Plays `seconds` of `path` from `start` seconds (one patch of the
    /// active model), replacing any preview already playing.
    pub fn play_slice(&mut self, path: &Path, start: f64, seconds: f64) -> Result<(), String> {
        self.stop();
        let samples = audio::decode_range(path, start, seconds).map_err(|e| e.to_string())?;
        let player = rodio::Player::connect_new(self.sink.mixer());
        player.append(rodio::buffer::SamplesBuffer::new(
            NonZero::new(1).expect("one channel"),
            NonZero::new(SAMPLE_RATE).expect("non-zero rate"),
            samples,
        ));
        self.player = Some(player);
        Ok(())
    }

    /// Stops the current preview.
    pub fn stop(&mut self) {
        if let Some(p) = self.player.take() {
            p.stop();
        }
    }

    /// True while a preview is playing.
    pub fn is_playing(&self) -> bool {
        self.player.as_ref().is_some_and(|p| !p.empty())
    }
}
