//! The track screen: the selected track's spectrogram, slice strip and vote
//! histogram, its slice preview, and the decision buttons. Decisions are
//! handed to the window as [`Request::Decide`]: they are written to the
//! library off the UI thread, and each one can be undone.

use super::{Request, Shared, SidePanel};
use crate::playback::Player;
use crate::ui::widget::evidence;
use iced::widget::{
    button, canvas, column, container, image, pick_list, row, slider, text, text_input,
};
use iced::{Element, Length, Task};
use sonotag_core::catalog::review::{self, Evidence, ReviewState};
use sonotag_core::ml::descriptors::{Aspect, Suggestion};
use sonotag_core::tags::WritePolicy;
use sonotag_core::workflow::decide::Decision;
use std::path::PathBuf;

/// The override box's id, focused by `o`.
pub const OVERRIDE_INPUT: &str = "override-genre";

/// The track screen's state.
pub struct Track {
    pub selected: Option<i64>,
    pub(crate) evidence: Option<Evidence>,
    /// The picture and the seconds it spans.
    spectrogram: Option<(image::Handle, f64)>,
    spectrogram_error: Option<String>,
    hovered_slice: Option<usize>,
    current_slice: usize,
    playing: Option<usize>,
    /// When the playing slice started and how long it lasts (s), for the
    /// position shown beside Stop: a sign that it plays even when the
    /// output device is silent.
    play_clock: Option<(std::time::Instant, f64)>,
    player: Option<Result<Player, String>>,
    pub(crate) override_input: String,
    pub accept_share: f32,
    /// Stops the opening of the track left behind when another is selected.
    opening: Option<sonotag_core::cancel::Cancel>,
    /// The last tracks' decoded pictures, newest last: going back to a
    /// track shows its spectrogram at once, with no decoding.
    recent: std::collections::VecDeque<(i64, image::Handle, f64)>,
}

/// A spectrogram drawn: width, height, RGBA pixels, seconds shown.
type Picture = (u32, u32, Vec<u8>, f64);

/// `spectrogram` drawn with the patches starting at the columns `boundaries`.
fn picture(
    spectrogram: &sonotag_core::features::spectrogram::Spectrogram,
    boundaries: &[usize],
) -> Picture {
    let (w, h, rgba) = evidence::spectrogram_rgba(spectrogram, boundaries);
    let seconds = spectrogram.columns() as f64
        / sonotag_core::features::spectrogram::COLUMNS_PER_SECOND as f64;
    (w, h, rgba, seconds)
}

/// Decoded spectrograms kept for going back (about 0.5 MB each).
const RECENT_PICTURES: usize = 16;

impl Default for Track {
    fn default() -> Self {
        Self {
            selected: None,
            evidence: None,
            spectrogram: None,
            spectrogram_error: None,
            hovered_slice: None,
            current_slice: 0,
            playing: None,
            play_clock: None,
            recent: Default::default(),
            opening: None,
            player: None,
            override_input: String::new(),
            accept_share: 0.9,
        }
    }
}

/// Messages of the track screen.
#[derive(Clone, Debug)]
pub enum Message {
    /// A decoded spectrogram with its patches' boundaries: width,
    /// height, RGBA pixels, seconds shown. Its votes are in the library.
    Spectrogram(i64, Result<Picture, String>),
    /// The spectrogram as soon as it is decoded, before the votes.
    Sketch(i64, Picture),
    /// The votes of the patches analysed so far, nearest the current
    /// slice first.
    Votes(i64, Box<review::Evidence>),
    Strip(evidence::StripMessage),
    Accept,
    /// Of a proposal naming several genres, accept this one alone.
    AcceptOne(String),
    /// Decide a descriptor: this value, or none (the decision forgotten);
    /// `true` when it is the value suggested.
    Describe(Aspect, Option<String>, bool),
    /// A genre beyond the model's, suggested zero-shot: the track's genre.
    UseGenre(String),
    OverrideInput(String),
    OverridePick(String),
    OverrideSubmit,
    Skip,
    Clear,
    AcceptShare(f32),
    AcceptAbove,
    /// Space: play the current slice, or stop it.
    PlayCurrent,
    Stop,
    /// ←/→: the previous or next slice.
    StepSlice(i64),
}

/// The spectrogram's height in a window of `size`: 150 px up to the
/// default 1280×800 (where the histogram below must stay in view), then
/// taking most of each further pixel of height, as wide screens allow (at
/// most 45 % of the side panel's width, two fifths of the window), up to
/// 360 px.
pub fn spectrogram_height(size: iced::Size) -> f32 {
    let by_height = 150.0 + (size.height - 800.0).max(0.0) * 0.6;
    let by_width = size.width * 2.0 / 5.0 * 0.45;
    by_height.min(by_width).clamp(150.0, 360.0)
}

/// The vote histogram's container, found by tests.
pub const HISTOGRAM: &str = "vote-histogram";

/// Height of the verdict: two lines of 14 px text.
const VERDICT_HEIGHT: f32 = 40.0;

/// Height of the slice description: two lines of 12 px text.
const SLICE_INFO_HEIGHT: f32 = 34.0;

impl Track {
    /// Shows track `id`: its evidence at once, its spectrogram when decoded.
    pub fn select(&mut self, id: i64, shared: Shared<'_>) -> Task<Message> {
        if self.selected == Some(id) {
            return Task::none();
        }
        self.selected = Some(id);
        self.refresh(shared);
        self.current_slice = self
            .evidence
            .as_ref()
            .and_then(|e| {
                let w = e.proposal.winner?;
                (0..e.analysis.slices).find(|&i| e.slice_top(i).0 == w)
            })
            .unwrap_or(0);
        self.spectrogram = None;
        self.spectrogram_error = None;
        self.hovered_slice = None;
        self.override_input.clear();
        if let Some(left) = self.opening.take() {
            left.cancel();
        }
        if let Some((_, handle, seconds)) = self.recent.iter().find(|(t, ..)| *t == id) {
            // Seen this session: its picture at once, and its evidence is
            // already the full analysis (opening made it).
            self.spectrogram = Some((handle.clone(), *seconds));
            return Task::none();
        }
        let db = shared.paths.database.clone();
        let thresholds = shared.settings.thresholds;
        let cancel = sonotag_core::cancel::Cancel::new();
        self.opening = Some(cancel.clone());
        let focus_seconds = self
            .evidence
            .as_ref()
            .map_or(0.0, |e| e.slice_start_seconds(self.current_slice));
        // The picture as soon as it is decoded, without the patches'
        // boundaries; the votes as they come, nearest the current slice
        // first; then the picture with the boundaries and every vote.
        let opening = move |mut out: iced::futures::channel::mpsc::Sender<Message>| async move {
            use iced::futures::SinkExt;
            let early = std::sync::Mutex::new(out.clone());
            // A partial message that finds the channel full is dropped: the
            // next one, or the whole, supersedes it.
            let tell = move |message| {
                let _ = early.lock().map(|mut early| early.try_send(message));
            };
            let opened = tokio::task::spawn_blocking(move || {
                let opening = review::Opening {
                    focus_seconds,
                    on_picture: &|spectrogram| tell(Message::Sketch(id, picture(spectrogram, &[]))),
                    on_votes: &|evidence| tell(Message::Votes(id, Box::new(evidence))),
                };
                review::open_track(&db, id, thresholds, &cancel, &opening)
                    .map(|t| picture(&t.spectrogram, &t.boundaries))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            let _ = out.send(Message::Spectrogram(id, opened)).await;
        };
        Task::run(iced::stream::channel(8, opening), |m| m)
    }

    /// Reads the selected track's evidence again (after decisions or a
    /// re-vote): one track, milliseconds.
    pub fn refresh(&mut self, shared: Shared<'_>) {
        let evidence = self
            .selected
            .zip(shared.lib)
            .and_then(|(id, lib)| review::evidence(lib, id, shared.settings.thresholds).ok().flatten());
        self.show_evidence(evidence);
    }

    /// Shows `evidence`, keeping the current slice where it was in the
    /// track: a sampled analysis, a partial one and the full one number
    /// their patches differently.
    fn show_evidence(&mut self, evidence: Option<review::Evidence>) {
        let at = self
            .evidence
            .as_ref()
            .and_then(|e| e.analysis.slice_starts.get(self.current_slice).copied());
        self.evidence = evidence;
        if let (Some(at), Some(e)) = (at, &self.evidence) {
            self.current_slice = (0..e.analysis.slices)
                .min_by_key(|&i| e.analysis.slice_starts[i].abs_diff(at))
                .unwrap_or(0);
        }
    }

    /// True while a slice plays (the window then watches for its end).
    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    /// Notices a preview that ended by itself.
    pub fn tick(&mut self) {
        if let Some(Ok(p)) = &self.player
            && !p.is_playing()
        {
            self.playing = None;
            self.play_clock = None;
        }
    }

    /// Handles a message.
    fn handle(&mut self, message: Message, shared: Shared<'_>) -> (Task<Message>, Option<Request>) {
        let event = match message {
            Message::Sketch(id, (w, h, rgba, seconds)) => {
                if self.selected == Some(id) && self.spectrogram.is_none() {
                    self.spectrogram = Some((image::Handle::from_rgba(w, h, rgba), seconds));
                }
                None
            }
            Message::Votes(id, evidence) => {
                if self.selected == Some(id) {
                    self.show_evidence(Some(*evidence));
                }
                None
            }
            Message::Spectrogram(id, result) => {
                if self.selected == Some(id) {
                    match result {
                        Ok((w, h, rgba, seconds)) => {
                            let handle = image::Handle::from_rgba(w, h, rgba);
                            if self.recent.len() == RECENT_PICTURES {
                                self.recent.pop_front();
                            }
                            self.recent.push_back((id, handle.clone(), seconds));
                            self.spectrogram = Some((handle, seconds));
                            // The full analysis may have replaced a sampled one.
                            self.refresh(shared);
                        }
                        Err(e) => self.spectrogram_error = Some(e),
                    }
                }
                None
            }
            Message::Strip(evidence::StripMessage::Hover(i)) => {
                self.hovered_slice = i;
                None
            }
            Message::Strip(evidence::StripMessage::Play(i)) => self.play(i, shared),
            Message::PlayCurrent => self.play(self.current_slice, shared),
            Message::Stop => {
                if let Some(Ok(p)) = &mut self.player {
                    p.stop();
                }
                self.playing = None;
                None
            }
            Message::StepSlice(delta) => {
                if let Some(e) = &self.evidence {
                    let last = e.analysis.slices.saturating_sub(1) as i64;
                    self.current_slice =
                        (self.current_slice as i64 + delta).clamp(0, last) as usize;
                }
                None
            }
            Message::Accept => self.selected.and_then(|id| {
                let winner = self.evidence.as_ref()?.proposal.winner;
                winner.map(|_| Request::Decide(Decision::Accept(vec![id])))
            }),
            Message::Describe(aspect, value, suggested) => {
                self.selected.map(|track| Request::Describe {
                    track,
                    aspect,
                    value,
                    suggested,
                })
            }
            Message::UseGenre(genre) => self.selected.map(|id| {
                Request::Decide(Decision::Override {
                    tracks: vec![id],
                    genre,
                    mapped_from: None,
                    replace: shared.settings.write.policy == WritePolicy::ReplaceAll,
                })
            }),
            Message::AcceptOne(genre) => self.selected.map(|id| {
                Request::Decide(Decision::AcceptOne {
                    tracks: vec![id],
                    genre,
                })
            }),
            Message::OverrideInput(s) => {
                self.override_input = s;
                None
            }
            Message::OverridePick(g) => {
                self.override_input = g;
                return self.handle(Message::OverrideSubmit, shared);
            }
            Message::OverrideSubmit => match self.selected {
                Some(_) if self.override_input.trim().is_empty() => Some(Request::LeaveInput),
                Some(id) => {
                    // Written as chosen, never silently mapped to a
                    // super-genre; several are separated by ";".
                    let genre = sonotag_core::workflow::decide::typed_genres(&self.override_input)
                        .iter()
                        .map(|g| shared.vocab.spelling(g))
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.override_input.clear();
                    Some(Request::Decide(Decision::Override {
                        tracks: vec![id],
                        genre,
                        mapped_from: None,
                        replace: shared.settings.write.policy == WritePolicy::ReplaceAll,
                    }))
                }
                None => Some(Request::Status("Select a track first.".into())),
            },
            Message::Skip => Some(Request::Move(1)),
            Message::Clear => self
                .selected
                .map(|id| Request::Decide(Decision::Clear(vec![id]))),
            Message::AcceptShare(v) => {
                self.accept_share = v;
                None
            }
            Message::AcceptAbove => Some(Request::Decide(Decision::AcceptAbove {
                min_share: self.accept_share,
            })),
        };
        (Task::none(), event)
    }

    fn play(&mut self, slice: usize, shared: Shared<'_>) -> Option<Request> {
        let (e, path): (&Evidence, PathBuf) = (self.evidence.as_ref()?, shared.row?.path.clone());
        // A clicked slice is the current one whether or not it can play:
        // the underline, the slice line and ←/→ all go from there.
        self.current_slice = slice.min(e.analysis.slices.saturating_sub(1));
        let start = e.slice_start_seconds(slice);
        let seconds = e.patch_seconds;
        let player = self.player.get_or_insert_with(Player::open);
        let player = match player {
            Ok(p) => p,
            // Said once; previews stay off for this session.
            Err(msg) => return (self.playing.is_none()).then(|| Request::Status(msg.clone())),
        };
        if self.playing == Some(slice) && player.is_playing() {
            player.stop();
            self.playing = None;
            return None;
        }
        match player.play_slice(&path, start, seconds) {
            Ok(()) => {
                self.playing = Some(slice);
                self.play_clock = Some((std::time::Instant::now(), seconds));
                self.current_slice = slice;
                None
            }
            Err(e) => Some(Request::Status(e)),
        }
    }

    /// The track's name, verdict and decision: above the evidence, so
    /// they never scroll out of view, whatever the window's height.
    fn draw_pinned<'a>(&'a self, shared: Shared<'a>) -> Option<Element<'a, Message>> {
        let (row, genres) = (shared.row?, shared.genres());
        self.selected?;
        let byline = match (row.artist.is_empty(), row.album.is_empty()) {
            (true, true) => String::new(),
            (false, true) => row.artist.clone(),
            (true, false) => row.album.clone(),
            (false, false) => format!("{} — {}", row.artist, row.album),
        };
        let mut col = column![
            text(row.title.clone()).size(18),
            text(byline).size(13),
            text(row.path.display().to_string()).size(11),
        ]
        .spacing(6);
        if let Some(e) = &self.evidence {
            // The decision comes first: it never scrolls out of view.
            let named: Vec<&str> = e
                .proposal
                .proposed_all()
                .into_iter()
                .map(|c| e.classes[c].as_str())
                .collect();
            let verdict = match (&e.proposal.unsure, e.proposal.winner) {
                (None, Some(_)) if named.len() > 1 => format!(
                    "Proposed: {}, with {} of {} votes (together {:.0}%, needs {:.0}%).",
                    named.join("; "),
                    e.proposal
                        .proposed_all()
                        .iter()
                        .map(|&c| e.proposal.votes[c].to_string())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    e.proposal.cast(),
                    e.proposal
                        .proposed_all()
                        .iter()
                        .map(|&c| e.proposal.votes[c])
                        .sum::<usize>() as f32
                        * 100.0
                        / e.proposal.cast().max(1) as f32,
                    e.thresholds.track * 100.0
                ),
                (None, Some(w)) => format!(
                    "Proposed: {} with {:.0}% of {} votes (needs {:.0}%).",
                    e.classes[w],
                    e.proposal.share * 100.0,
                    e.proposal.cast(),
                    e.thresholds.track * 100.0
                ),
                (Some(u), Some(w)) => format!(
                    "Unsure: {}. It leans to {}.",
                    u.explain(e.proposal.share, e.thresholds.track),
                    e.classes[w]
                ),
                (Some(u), None) => format!(
                    "Unsure: {}.",
                    u.explain(e.proposal.share, e.thresholds.track)
                ),
                (None, None) => String::new(),
            };
            // Two lines at most, always two lines high: a long reason never
            // pushes the buttons below down; the whole of it is a hover away.
            col = col.push(iced::widget::tooltip(
                container(text(super::ellipsized(verdict.clone(), 150)).size(14))
                    .height(Length::Fixed(VERDICT_HEIGHT))
                    .width(Length::Fill)
                    .clip(true),
                container(text(verdict).size(12))
                    .padding(4)
                    .max_width(420)
                    .style(container::rounded_box),
                iced::widget::tooltip::Position::Bottom,
            ));
            col = col.push(
                text(match &row.decided {
                    Some(_) => format!(
                        "Your decision: {} ({})",
                        row.decided_text(),
                        row.state.label()
                    ),
                    None => "No decision yet.".to_string(),
                })
                .size(13),
            );
            // Two fixed rows, whatever the pane's width or the genre's
            // name: the buttons never move under the pointer between tracks.
            col = col.push(
                row![
                    button(text(match e.proposal.winner {
                        Some(_) if named.len() > 1 => format!("Accept {} (Enter)", named.join("; ")),
                        Some(w) => format!("Accept {} (Enter)", e.classes[w]),
                        None => "Accept (Enter)".to_string(),
                    }))
                    .width(Length::Fill)
                    .on_press_maybe(e.proposal.winner.map(|_| Message::Accept)),
                    button("Skip (s)").on_press(Message::Skip),
                    button("Clear").on_press_maybe(row.decided.as_ref().map(|_| Message::Clear)),
                ]
                .spacing(6),
            );
            col = col.push(
                row![
                    pick_list(genres, None::<String>, Message::OverridePick)
                        .placeholder("Override…")
                        .width(Length::Fill),
                    text_input("or type a genre (o)", &self.override_input)
                        .id(OVERRIDE_INPUT)
                        .width(Length::Fill)
                        .on_input(Message::OverrideInput)
                        .on_submit(Message::OverrideSubmit),
                ]
                .spacing(6),
            );
            // Below the fixed rows, so that nothing above moves: one of
            // several genres alone.
            if named.len() > 1 {
                let mut only = row![text("Or only:").size(13)]
                    .spacing(6)
                    .align_y(iced::Alignment::Center);
                for g in &named {
                    only = only.push(button(text(*g)).on_press(Message::AcceptOne(g.to_string())));
                }
                col = col.push(only);
            }
        }
        if row.state == ReviewState::Missing {
            col = col.push(
                text(
                    "The file is gone from where it was. Its decision and history are kept: \
                     scan the folder it moved to and they follow it, or forget it (Errors tab).",
                )
                .size(13),
            );
        }
        Some(col.into())
    }

    /// The screen: the selected row's evidence, with the genres offered
    /// for overriding; the spectrogram's height follows the window's.
    fn draw<'a>(&'a self, shared: Shared<'a>) -> Element<'a, Message> {
        let row = shared.row;
        let spectrogram_height = spectrogram_height(shared.window);
        let (Some(_), Some(row)) = (self.selected, row) else {
            return text(
                "Select a track to see its spectrogram and votes: click it, or press ↓. \
                 F1 lists every key.",
            )
            .size(13)
            .into();
        };
        let mut col = column![].spacing(6);
        col = col.push(match (&self.spectrogram, &self.spectrogram_error) {
            (Some((handle, seconds)), _) => Element::from(column![
                image(handle.clone())
                    .width(Length::Fill)
                    .height(spectrogram_height)
                    .content_fit(iced::ContentFit::Fill),
                row![
                    text("0:00").size(11),
                    text(format!(
                        "time →   ↑ pitch (mel, to {} kHz)   amber: patch starts",
                        sonotag_core::features::spectrogram::SAMPLE_RATE / 2000
                    ))
                    .size(11)
                    .width(Length::Fill)
                    .align_x(iced::alignment::Horizontal::Center),
                    text(minutes(*seconds)).size(11),
                ]
                .spacing(8),
            ]),
            (None, Some(e)) => text(format!("Cannot draw the spectrogram: {e}"))
                .size(13)
                .height(spectrogram_height)
                .into(),
            (None, None) => text("Computing the spectrogram…")
                .size(13)
                .height(spectrogram_height)
                .into(),
        });
        let Some(e) = &self.evidence else {
            col = col.push(text(match row.state {
                ReviewState::Error => {
                    format!("Error: {}", row.error.clone().unwrap_or_default())
                }
                _ => "Not classified yet.".to_string(),
            }));
            return col.into();
        };
        let strip: Element<'_, evidence::StripMessage> = canvas(evidence::SliceStrip {
            evidence: e,
            playing: self.playing,
            current: self.current_slice,
            track_seconds: self.spectrogram.as_ref().map(|(_, seconds)| *seconds),
        })
        .width(Length::Fill)
        .height(22)
        .into();
        col = col.push(strip.map(Message::Strip));
        let slice_info = match self.hovered_slice.or(Some(self.current_slice)) {
            Some(i) if i < e.analysis.slices => {
                let ranking = e
                    .slice_ranking(i, 3)
                    .into_iter()
                    .map(|(g, p)| format!("{g} {:.0}%", p * 100.0))
                    .collect::<Vec<_>>()
                    .join(", ");
                let (_, top) = e.slice_top(i);
                format!(
                    "Slice {} of {} at {:.1} s: {ranking}{}",
                    i + 1,
                    e.analysis.slices,
                    e.slice_start_seconds(i),
                    if top < e.thresholds.slice {
                        " — abstains (below the slice confidence)"
                    } else {
                        ""
                    }
                )
            }
            _ => String::new(),
        };
        let play_row = row![
            container(text(super::ellipsized(slice_info, 160)).size(12))
                .width(Length::Fill)
                .height(Length::Fixed(SLICE_INFO_HEIGHT))
                .clip(true),
            match self.playing {
                Some(i) => {
                    let (elapsed, length) = self
                        .play_clock
                        .map(|(t, len)| (t.elapsed().as_secs_f64().min(len), len))
                        .unwrap_or_default();
                    button(
                        text(format!(
                            "■ Stop slice {} · playing {elapsed:.1} of {length:.1} s",
                            i + 1
                        ))
                        .size(12),
                    )
                    .on_press(Message::Stop)
                }
                // Once the sound card is known to be missing, Play says so
                // instead of offering what cannot happen.
                None if matches!(self.player, Some(Err(_))) => {
                    button(text("▶ Play: no sound output").size(12))
                }
                None => button(text("▶ Play (Space)").size(12))
                    .on_press_maybe((e.analysis.slices > 0).then_some(Message::PlayCurrent)),
            },
        ]
        .spacing(8)
        .align_y(iced::Alignment::Center);
        col = col.push(play_row);
        col = col.push(
            container(
                canvas(evidence::Histogram { evidence: e })
                    .width(Length::Fill)
                    .height((e.classes.len() as f32 * evidence::HISTOGRAM_ROW + 18.0).min(300.0)),
            )
            .id(HISTOGRAM),
        );
        if !e.descriptors.is_empty() || !e.decided_descriptors.is_empty() {
            col = col.push(descriptor_rows(e));
        }
        col.into()
    }
}

/// The container of the descriptor rows, found by tests.
pub const DESCRIPTORS: &str = "descriptors";

/// Per-patch ratings as a strip of bars, scaled to their highest.
fn bars(per_patch: &[f32]) -> String {
    const STEPS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let top = per_patch.iter().copied().fold(1e-6, f32::max);
    per_patch
        .iter()
        .take(60)
        .map(|&v| STEPS[((v / top) * 7.0).round().clamp(0.0, 7.0) as usize])
        .collect()
}

/// One row per aspect the listener suggests or the user decided: the
/// suggestion with its patches' evidence, the decision, and the controls.
fn descriptor_rows(e: &Evidence) -> Element<'_, Message> {
    let mut col = column![text("What else it hears").size(15)].spacing(6);
    for aspect in Aspect::ALL {
        let suggested: Option<&Suggestion> = e.descriptors.iter().find(|s| s.aspect == aspect);
        let decided = e.decided_descriptors.iter().find(|d| d.aspect == aspect);
        if suggested.is_none() && decided.is_none() {
            continue;
        }
        let said = match (suggested, aspect) {
            (Some(s), Aspect::Genre) => format!(
                "{}: {} (zero-shot: not a genre of the model), {} of {} patches",
                aspect.label(),
                s.value,
                s.votes,
                s.patches
            ),
            (Some(s), _) => format!("{}: {}", aspect.label(), s),
            (None, _) => format!("{}: no suggestion", aspect.label()),
        };
        let mut line = row![text(said).size(13)]
            .spacing(6)
            .align_y(iced::Alignment::Center);
        if let Some(d) = decided {
            line = line.push(text(format!("· yours: {}", d.value)).size(13));
        }
        match (suggested, aspect) {
            (Some(s), Aspect::Genre) => {
                line = line.push(
                    button(text(format!("Use {} as the genre", s.value)).size(12))
                        .on_press(Message::UseGenre(s.value.clone())),
                );
            }
            (Some(s), _) if decided.is_none_or(|d| d.value != s.value) => {
                line = line.push(
                    button(text(format!("Accept {}", s.value)).size(12)).on_press(
                        Message::Describe(aspect, Some(s.value.clone()), true),
                    ),
                );
            }
            _ => {}
        }
        if aspect != Aspect::Genre {
            let mut values: Vec<String> =
                aspect.choices().iter().map(|c| c.name.to_string()).collect();
            if aspect == Aspect::Vocals {
                values.insert(1, "Vocals".into());
            }
            line = line.push(
                pick_list(values, decided.map(|d| d.value.clone()), move |v| {
                    Message::Describe(aspect, Some(v), false)
                })
                .placeholder("Choose…")
                .text_size(12),
            );
        }
        if decided.is_some() {
            line = line
                .push(button(text("Clear").size(12)).on_press(Message::Describe(aspect, None, false)));
        }
        col = col.push(line.wrap());
        if let Some(s) = suggested {
            col = col.push(text(format!("per patch: {}", bars(&s.per_patch))).size(12));
        }
    }
    container(col).id(DESCRIPTORS).into()
}

impl Track {
    /// The batch decision, shown under the library table (it concerns the
    /// whole library, and stays in view there): accept every undecided
    /// proposal with at least the chosen share of votes; `accept_count` is
    /// how many that is now, and `reviewed` how often such proposals were
    /// right on the tracks the user reviewed (right, of how many), where
    /// the active model was retrained on reviews.
    pub fn batch_view(
        &self,
        accept_count: usize,
        reviewed: Option<(usize, usize)>,
    ) -> Element<'_, Message> {
        let evidence = reviewed.map(|(right, of)| reviewed_in_words(right, of));
        row![
            text(format!(
                "Proposals with ≥ {:.0}% of votes",
                self.accept_share * 100.0
            ))
            .size(13),
            slider(0.5..=1.0, self.accept_share, Message::AcceptShare)
                .step(0.05)
                .width(120),
            button(
                text(format!(
                    "Accept {}",
                    super::counted(accept_count, "track", "tracks")
                ))
                .size(13)
            )
            .on_press_maybe((accept_count > 0).then_some(Message::AcceptAbove)),
        ]
        .push(evidence.map(|e| text(e).size(13)))
        .spacing(8)
        .align_y(iced::Alignment::Center)
        .wrap()
        .vertical_spacing(6)
        .into()
    }
}

/// How often proposals at the chosen share were right on the user's own
/// reviewed tracks, with its uncertainty.
pub fn reviewed_in_words(right: usize, of: usize) -> String {
    match sonotag_core::ml::on_library::interval(right, of) {
        None => "none of the tracks you reviewed got such a proposal".into(),
        Some((lo, hi)) => format!(
            "right {right} of the {of} you reviewed (90 % sure: {:.0}–{:.0} %)",
            lo * 100.0,
            hi * 100.0
        ),
    }
}

/// `m:ss`.
fn minutes(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

impl SidePanel for Track {
    type Message = Message;

    fn new(_: Shared<'_>) -> Self {
        Self::default()
    }

    fn tab(&self) -> String {
        "Track".into()
    }

    fn update(&mut self, message: Message, shared: Shared<'_>) -> (Task<Message>, Option<Request>) {
        self.handle(message, shared)
    }

    fn view<'a>(&'a self, shared: Shared<'a>) -> Element<'a, Message> {
        self.draw(shared)
    }

    fn pinned<'a>(&'a self, shared: Shared<'a>) -> Option<Element<'a, Message>> {
        self.draw_pinned(shared)
    }

    /// Decisions or a re-vote may have changed the selected track's evidence.
    fn reloaded(&mut self, _: &crate::ui::background::Snapshot, shared: Shared<'_>) {
        self.refresh(shared);
    }
}
