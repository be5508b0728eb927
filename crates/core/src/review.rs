//! What the review screens show: one row per track with its proposal and
//! the user's decision, and the evidence behind a proposal.
//!
//! The GUI renders these values and never queries SQLite itself.

use crate::classify::{self, Analysis};
use crate::library::{Library, path_from_bytes};
use crate::spectrogram::Spectrogram;
use crate::vote::Thresholds;
use crate::vote::{self, Proposal};
use rusqlite::params;
use serde::Serialize;
use std::path::PathBuf;

/// Where a track stands in the review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ReviewState {
    /// Not classified yet.
    Pending,
    Proposed,
    Unsure,
    Accepted,
    Overridden,
    /// The decided genre is in the file's tag.
    Written,
    /// Could not be read or decoded.
    Error,
}

impl ReviewState {
    /// Lower-case name for display and filters.
    pub fn label(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Proposed => "proposed",
            ReviewState::Unsure => "unsure",
            ReviewState::Accepted => "accepted",
            ReviewState::Overridden => "overridden",
            ReviewState::Written => "written",
            ReviewState::Error => "error",
        }
    }
}

/// One line of the library table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewRow {
    pub track_id: i64,
    pub path: PathBuf,
    pub title: String,
    pub artist: String,
    pub album: String,
    /// Genre tag(s) in the file, joined.
    pub tag_genre: String,
    /// The model's leading genre (even when unsure).
    pub proposed: Option<String>,
    pub share: f32,
    /// The user's decided genre.
    pub decided: Option<String>,
    pub state: ReviewState,
    pub error: Option<String>,
}

/// Every present track with its proposal under `model_id` (if any).
pub fn rows(lib: &Library, model_id: Option<i64>) -> anyhow::Result<Vec<ReviewRow>> {
    let mut stmt = lib.conn().prepare(
        "SELECT t.id, t.path, t.path_text, t.title, t.artist, t.album, t.genres,
                p.genre, p.share, p.state, l.genre, l.source, e.message, t.status
         FROM tracks t
         LEFT JOIN proposals p ON p.track_id = t.id AND p.model_id = ?1
         LEFT JOIN labels l ON l.track_id = t.id
         LEFT JOIN analysis_errors e ON e.track_id = t.id AND e.model_id = ?1
         WHERE t.status != 'missing'
         ORDER BY t.path_text",
    )?;
    let rows = stmt.query_map(params![model_id.unwrap_or(-1)], |r| {
        let path = path_from_bytes(r.get(1)?);
        let path_text: String = r.get(2)?;
        let genres: String = r.get(6)?;
        let genres: Vec<String> = serde_json::from_str(&genres).unwrap_or_default();
        let proposal_state: Option<String> = r.get(9)?;
        let decided: Option<String> = r.get(10)?;
        let source: Option<String> = r.get(11)?;
        let error: Option<String> = r.get(12)?;
        let status: String = r.get(13)?;
        let state = if error.is_some() || status == "error" {
            ReviewState::Error
        } else if let Some(d) = &decided {
            if genres.len() == 1 && &genres[0] == d {
                ReviewState::Written
            } else if source.as_deref() == Some("overridden") {
                ReviewState::Overridden
            } else {
                ReviewState::Accepted
            }
        } else {
            match proposal_state.as_deref() {
                Some("proposed") => ReviewState::Proposed,
                Some(_) => ReviewState::Unsure,
                None => ReviewState::Pending,
            }
        };
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Ok(ReviewRow {
            track_id: r.get(0)?,
            title: r
                .get::<_, Option<String>>(3)?
                .or(file_name)
                .unwrap_or(path_text),
            path,
            artist: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            album: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            tag_genre: genres.join("; "),
            proposed: r.get(7)?,
            share: r.get::<_, Option<f32>>(8)?.unwrap_or(0.0),
            decided,
            state,
            error,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Everything the track view draws: the analysis, the vote and the classes.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub track_id: i64,
    pub classes: Vec<String>,
    pub analysis: Analysis,
    pub proposal: Proposal,
    pub thresholds: Thresholds,
    /// Seconds of audio each patch (slice) of the model covers.
    pub patch_seconds: f64,
}

impl Evidence {
    /// Top class and confidence of slice `i`.
    pub fn slice_top(&self, i: usize) -> (usize, f32) {
        let n = self.classes.len();
        vote::top(&self.analysis.probabilities[i * n..(i + 1) * n])
    }

    /// The `k` most probable classes of slice `i`, best first.
    pub fn slice_ranking(&self, i: usize, k: usize) -> Vec<(String, f32)> {
        let n = self.classes.len();
        let mut ranked: Vec<(usize, f32)> = self.analysis.probabilities[i * n..(i + 1) * n]
            .iter()
            .copied()
            .enumerate()
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
            .into_iter()
            .take(k)
            .map(|(c, p)| (self.classes[c].clone(), p))
            .collect()
    }

    /// Start of slice `i` in seconds.
    pub fn slice_start_seconds(&self, i: usize) -> f64 {
        self.analysis.slice_starts.get(i).copied().unwrap_or(0) as f64
            / crate::spectrogram::COLUMNS_PER_SECOND as f64
    }
}

/// The evidence for `track_id` under the active model, if analysed.
pub fn evidence(
    lib: &Library,
    track_id: i64,
    thresholds: Option<Thresholds>,
) -> anyhow::Result<Option<Evidence>> {
    let Some(model) = classify::active_model(lib)? else {
        return Ok(None);
    };
    let Some(analysis) = classify::analysis(lib, track_id, model.id)? else {
        return Ok(None);
    };
    let thresholds = thresholds.unwrap_or(model.card.thresholds);
    let proposal = vote::vote(
        &analysis.probabilities,
        model.card.classes.len(),
        thresholds,
    );
    Ok(Some(Evidence {
        track_id,
        classes: model.card.classes,
        analysis,
        proposal,
        thresholds,
        patch_seconds: model.card.backbone.features().patch_seconds(),
    }))
}

/// A track opened in the window: its display spectrogram and where the
/// active model's patches begin and end on it (display columns).
pub struct OpenedTrack {
    pub spectrogram: Spectrogram,
    pub boundaries: Vec<usize>,
}

/// Start and end columns of every patch, sorted, without repeats.
pub fn patch_boundaries(starts: &[u32], patch_seconds: f64) -> Vec<usize> {
    let width = (patch_seconds * crate::spectrogram::COLUMNS_PER_SECOND as f64).round() as usize;
    let mut out: Vec<usize> = starts
        .iter()
        .flat_map(|&s| [s as usize, s as usize + width])
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What opening a track does, off the UI thread: decode it whole, compute
/// its spectrogram (not stored: 2 MB per 3-minute track would bloat the
/// library) and, when the active model has only a sampled analysis of it,
/// replace that with the analysis of every slice. Uses its own connection.
pub fn open_track(
    db: &std::path::Path,
    track_id: i64,
    thresholds: Option<Thresholds>,
) -> Result<OpenedTrack, String> {
    let run = || -> anyhow::Result<OpenedTrack> {
        let mut lib = Library::open(db)?;
        let track = lib
            .track(track_id)?
            .ok_or_else(|| anyhow::anyhow!("track {track_id} is no longer in the library"))?;
        let Some(row) = classify::active_model(&lib)? else {
            return Ok(OpenedTrack {
                spectrogram: crate::audio::analyse_file(&track.path)?.0,
                boundaries: Vec::new(),
            });
        };
        let kind = row.card.backbone.features();
        let stored = classify::analysis(&lib, track_id, row.id)?;
        let spectrogram = match &stored {
            Some(a) if !kind.is_sampled(&a.slice_starts) => {
                crate::audio::analyse_file(&track.path)?.0
            }
            _ => {
                let model = crate::model::Model::load(&row.path)?;
                let th = thresholds.unwrap_or(model.card.thresholds);
                classify::analyse_track_fully(&mut lib, track_id, row.id, &model, th)?
            }
        };
        let starts = classify::analysis(&lib, track_id, row.id)?
            .map(|a| a.slice_starts)
            .unwrap_or_default();
        Ok(OpenedTrack {
            spectrogram,
            boundaries: patch_boundaries(&starts, kind.patch_seconds()),
        })
    };
    run().map_err(|e| format!("{e:#}"))
}
