//! The track view's evidence: spectrogram image with slice boundaries, the
//! slice strip (one cell per slice, coloured by its genre, faded when it
//! abstained) and the vote histogram with the track threshold.

use iced::mouse;
use iced::widget::canvas::{self, Frame, Geometry, Path, Stroke, Text};
use iced::{Color, Point, Rectangle, Renderer, Size, Theme};
use sonotag_core::catalog::review::Evidence;
use sonotag_core::features::spectrogram::{MEL_BANDS, Spectrogram};

/// Widest image we hand to the renderer (GPU textures are limited).
const MAX_IMAGE_WIDTH: usize = 4096;

/// A colour per genre, by name: the same genre keeps its colour across
/// models and retraining. No grey in the palette: faded cells mean a slice
/// that abstained.
pub fn genre_colour(genre: &str) -> Color {
    const PALETTE: [(u8, u8, u8); 12] = [
        (0x4e, 0x79, 0xa7),
        (0xf2, 0x8e, 0x2b),
        (0xe1, 0x57, 0x59),
        (0x76, 0xb7, 0xb2),
        (0x59, 0xa1, 0x4f),
        (0xed, 0xc9, 0x48),
        (0xb0, 0x7a, 0xa1),
        (0xff, 0x9d, 0xa7),
        (0x9c, 0x75, 0x5f),
        (0x2f, 0x4b, 0x7c),
        (0x86, 0xbc, 0xd6),
        (0x3d, 0x8c, 0x40),
    ];
    // The usual genres get distinct colours; others a stable hash.
    const KNOWN: [&str; 12] = [
        "blues",
        "classical",
        "country",
        "disco",
        "hip-hop",
        "jazz",
        "metal",
        "pop",
        "reggae",
        "rock",
        "electronic",
        "folk",
    ];
    let name = genre.trim().to_lowercase();
    let i = KNOWN.iter().position(|k| *k == name).unwrap_or_else(|| {
        // FNV-1a: stable across runs and Rust versions.
        name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        }) as usize
    });
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    Color::from_rgb8(r, g, b)
}

/// RGBA pixels of a spectrogram (low frequencies at the bottom, the model's
/// patch boundaries in amber), max-pooled in time to at most
/// [`MAX_IMAGE_WIDTH`].
pub fn spectrogram_rgba(spec: &Spectrogram, boundaries: &[usize]) -> (u32, u32, Vec<u8>) {
    let cols = spec.columns().max(1);
    let step = cols.div_ceil(MAX_IMAGE_WIDTH);
    let width = cols.div_ceil(step);
    let mut rgba = vec![0u8; width * MEL_BANDS * 4];
    for x in 0..width {
        let boundary = (x * step..((x + 1) * step).min(cols))
            .any(|c| c > 0 && boundaries.binary_search(&c).is_ok());
        for b in 0..MEL_BANDS {
            let v = (x * step..((x + 1) * step).min(spec.columns()))
                .map(|c| spec.at(c, b))
                .max()
                .unwrap_or(0);
            let y = MEL_BANDS - 1 - b;
            let px = &mut rgba[(y * width + x) * 4..(y * width + x) * 4 + 4];
            if boundary && b % 3 == 0 {
                px.copy_from_slice(&[255, 176, 0, 255]);
            } else {
                px.copy_from_slice(&[v, v, v, 255]);
            }
        }
    }
    (width as u32, MEL_BANDS as u32, rgba)
}

/// Messages the strip sends.
#[derive(Clone, Debug)]
pub enum StripMessage {
    Hover(Option<usize>),
    Play(usize),
}

/// The slice strip canvas.
pub struct SliceStrip<'a> {
    pub evidence: &'a Evidence,
    pub playing: Option<usize>,
    /// The slice Space plays (marked underneath).
    pub current: usize,
    /// Seconds the spectrogram above shows, once decoded: each cell then
    /// sits under the patch it stands for, to scale.
    pub track_seconds: Option<f64>,
}

impl SliceStrip<'_> {
    /// Left edge and width of slice `i`'s cell in a strip `width` wide:
    /// under its patch when the track's length is known, else an even share.
    pub fn cell(&self, i: usize, width: f32) -> (f32, f32) {
        let e = self.evidence;
        match self.track_seconds.filter(|&t| t > 0.0) {
            Some(total) => {
                let x = (e.slice_start_seconds(i) / total) as f32 * width;
                let w = (e.patch_seconds / total) as f32 * width;
                (x.min(width), w.min(width - x.min(width)).max(1.0))
            }
            None => {
                let w = width / e.analysis.slices.max(1) as f32;
                (i as f32 * w, w)
            }
        }
    }

    fn index(&self, bounds: Rectangle, cursor: mouse::Cursor) -> Option<usize> {
        let p = cursor.position_in(bounds)?;
        (0..self.evidence.analysis.slices).find(|&i| {
            let (x, w) = self.cell(i, bounds.width);
            p.x >= x && p.x < x + w
        })
    }
}

impl canvas::Program<StripMessage> for SliceStrip<'_> {
    type State = Option<usize>;

    fn update(
        &self,
        hovered: &mut Option<usize>,
        event: &canvas::Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<canvas::Action<StripMessage>> {
        match event {
            canvas::Event::Mouse(mouse::Event::CursorMoved { .. }) => {
                let now = self.index(bounds, cursor);
                if now != *hovered {
                    *hovered = now;
                    return Some(canvas::Action::publish(StripMessage::Hover(now)));
                }
                None
            }
            canvas::Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)) => self
                .index(bounds, cursor)
                .map(|i| canvas::Action::publish(StripMessage::Play(i)).and_capture()),
            _ => None,
        }
    }

    fn draw(
        &self,
        hovered: &Option<usize>,
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        for i in 0..self.evidence.analysis.slices {
            let (x, w) = self.cell(i, bounds.width);
            let (c, p) = self.evidence.slice_top(i);
            let mut colour = genre_colour(&self.evidence.classes[c]);
            if p < self.evidence.thresholds.slice {
                colour.a = 0.25;
            }
            frame.fill_rectangle(
                Point::new(x, 0.0),
                Size::new((w - 1.0).max(1.0), bounds.height),
                colour,
            );
            if i == self.current {
                frame.fill_rectangle(
                    Point::new(x, bounds.height - 4.0),
                    Size::new((w - 1.0).max(1.0), 4.0),
                    theme.palette().text,
                );
            }
            if Some(i) == *hovered || Some(i) == self.playing {
                let outline =
                    Path::rectangle(Point::new(x, 0.5), Size::new(w - 1.0, bounds.height - 1.0));
                frame.stroke(
                    &outline,
                    Stroke::default()
                        .with_width(2.0)
                        .with_color(theme.palette().text),
                );
            }
        }
        vec![frame.into_geometry()]
    }

    fn mouse_interaction(
        &self,
        _: &Option<usize>,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> mouse::Interaction {
        if cursor.is_over(bounds) {
            mouse::Interaction::Pointer
        } else {
            mouse::Interaction::default()
        }
    }
}

/// Height of one genre's bar: with 11 genres the whole histogram fits under
/// the evidence in the default 1280×800 window.
pub const HISTOGRAM_ROW: f32 = 14.0;

/// The vote histogram canvas.
pub struct Histogram<'a> {
    pub evidence: &'a Evidence,
}

impl<Message> canvas::Program<Message> for Histogram<'_> {
    type State = ();

    fn draw(
        &self,
        _: &(),
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let e = self.evidence;
        let cast = e.proposal.cast().max(1) as f32;
        let n = e.classes.len().max(1);
        let label_w = 90.0;
        // The bottom 18 px name the threshold line.
        let bar_h = ((bounds.height - 18.0) / n as f32).min(HISTOGRAM_ROW);
        let full = bounds.width - label_w - 50.0;
        let text_colour = theme.palette().text;
        for (i, genre) in e.classes.iter().enumerate() {
            let share = e.proposal.votes[i] as f32 / cast;
            let y = i as f32 * bar_h;
            // Every genre the proposal names is drawn whole and outlined.
            let winner = e.proposal.winner == Some(i) || e.proposal.also.contains(&i);
            let mut colour = genre_colour(genre);
            if !winner {
                colour.a = 0.6;
            }
            frame.fill_text(Text {
                content: genre.clone(),
                position: Point::new(0.0, y + 1.0),
                color: text_colour,
                size: 11.0.into(),
                ..Text::default()
            });
            frame.fill_rectangle(
                Point::new(label_w, y + 3.0),
                Size::new(full * share, bar_h - 5.0),
                colour,
            );
            if winner {
                let outline = Path::rectangle(
                    Point::new(label_w, y + 3.0),
                    Size::new((full * share).max(2.0), bar_h - 5.0),
                );
                frame.stroke(
                    &outline,
                    Stroke::default().with_width(2.0).with_color(text_colour),
                );
            }
            frame.fill_text(Text {
                content: format!("{:.0}%", share * 100.0),
                position: Point::new(label_w + full * share + 6.0, y + 1.0),
                color: text_colour,
                size: 11.0.into(),
                ..Text::default()
            });
        }
        // The track threshold, named under its line.
        let x = label_w + full * e.thresholds.track;
        let red = Color::from_rgb8(0xe1, 0x57, 0x59);
        frame.stroke(
            &Path::line(Point::new(x, 0.0), Point::new(x, n as f32 * bar_h)),
            Stroke::default().with_width(1.5).with_color(red),
        );
        // Named under the line, ending at it, so that a line near the right
        // edge never pushes its caption out of the panel.
        frame.fill_text(Text {
            content: format!(
                "share needed to propose: {:.0}%",
                e.thresholds.track * 100.0
            ),
            position: Point::new(x, n as f32 * bar_h + 2.0),
            color: red,
            size: 12.0.into(),
            align_x: iced::widget::text::Alignment::Right,
            ..Text::default()
        });
        vec![frame.into_geometry()]
    }
}

#[cfg(test)]
mod tests {
    use super::genre_colour;

    #[test]
    fn genre_colours_are_stable_distinct_and_never_grey() {
        // By name: the same genre keeps its colour whatever the model.
        assert_eq!(genre_colour("Jazz"), genre_colour(" jazz "));
        let usual: Vec<&str> = sonotag_core::config::genres::DEFAULT_GENRES
            .iter()
            .copied()
            .chain(["Folk"])
            .collect();
        let colours: Vec<_> = usual.iter().map(|g| genre_colour(g)).collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b, "two usual genres share a colour");
            }
        }
        // Grey means "abstained" in the slice strip: no genre may look grey.
        for g in usual.iter().copied().chain(["Shoegaze", "Vaporwave", "x"]) {
            let c = genre_colour(g);
            let spread = c.r.max(c.g).max(c.b) - c.r.min(c.g).min(c.b);
            assert!(spread > 0.15, "{g} is greyish: {c:?}");
        }
    }
}
