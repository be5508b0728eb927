//! The window's frames drawn the way iced's software renderer (tiny-skia,
//! used where there is no GPU) draws them on screen: each frame repaints
//! only what it judges changed since the last one (its damage) over the
//! last frame's pixels. A frame repainted so must equal the same frame
//! drawn whole; where it does not, the user sees stale or half-drawn
//! pixels. [`Frames::next`] says where, and how long a whole frame took
//! (`sonotag bench --window-tracks` prints it).

use super::App;
use iced::theme::Base;
use iced::{Rectangle, Size};
use iced_test::core::renderer::{Headless, Style};
use iced_test::core::{Pixels, mouse};
use iced_test::runtime::user_interface::{Cache, UserInterface};
use iced_tiny_skia::Layer;
use iced_tiny_skia::graphics::{Viewport, damage};

/// A window's frames, each drawn over the last.
pub struct Frames {
    renderer: iced::Renderer,
    cache: Option<Cache>,
    size: Size,
    /// What the screen shows: the last frame, as repainted.
    screen: Vec<u8>,
    mask: tiny_skia::Mask,
    last_layers: Option<Vec<Layer>>,
    /// How long the last frame's view, layout and drawing into primitives
    /// took (what the UI thread does for a frame before rasterising).
    pub last_build: std::time::Duration,
    /// How long rasterising each frame whole took, in order.
    pub rasters: Vec<std::time::Duration>,
    /// How many frames were left with stale pixels, and the first of them.
    pub stale_frames: usize,
    pub first_stale: Option<Stale>,
}

/// Pixels where a repainted frame differs from the whole one.
#[derive(Clone, Debug)]
pub struct Stale {
    pub pixels: usize,
    /// The smallest rectangle holding them (logical pixels).
    pub region: Rectangle,
}

/// A region of a frame: its size in pixels and its RGBA pixels.
#[cfg(test)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.region;
        write!(
            f,
            "{} stale pixels within {}×{} at ({}, {})",
            self.pixels, r.width, r.height, r.x, r.y
        )
    }
}

impl Frames {
    /// A window of `size` at scale factor 1, as on an ordinary screen.
    pub fn new(size: Size) -> Result<Self, String> {
        let renderer = iced::futures::executor::block_on(iced::Renderer::new(
            super::FONT,
            Pixels(16.0),
            Some("tiny-skia"),
        ))
        .ok_or("no tiny-skia renderer")?;
        let (w, h) = (size.width as u32, size.height as u32);
        Ok(Self {
            renderer,
            cache: Some(Cache::default()),
            size,
            screen: vec![0; (w * h * 4) as usize],
            mask: tiny_skia::Mask::new(w, h).expect("a clip mask"),
            last_layers: None,
            last_build: Default::default(),
            rasters: Vec::new(),
            stale_frames: 0,
            first_stale: None,
        })
    }

    #[cfg(test)]
    /// The part of the last frame within `region` (logical pixels, at
    /// scale factor 1 the same as physical ones), as it is on screen.
    pub fn picture(&self, region: Rectangle) -> Picture {
        let full = self.size.width as u32;
        let x0 = region.x.max(0.0).round() as u32;
        let y0 = region.y.max(0.0).round() as u32;
        let width = (region.width.round() as u32).min(full - x0);
        let height = (region.height.round() as u32).min(self.size.height as u32 - y0);
        let mut rgba = Vec::with_capacity((width * height * 4) as usize);
        for y in y0..y0 + height {
            let start = ((y * full + x0) * 4) as usize;
            // iced paints for a 0RGB window buffer: blue comes first.
            for bgra in self.screen[start..start + (width * 4) as usize].chunks(4) {
                rgba.extend_from_slice(&[bgra[2], bgra[1], bgra[0], bgra[3]]);
            }
        }
        Picture {
            width,
            height,
            rgba,
        }
    }

    /// Draws `app`'s next frame as the window would (the first one whole)
    /// and says where it differs from the same frame drawn whole.
    pub fn next(&mut self, app: &App) -> Option<Stale> {
        let started = std::time::Instant::now();
        let theme = app.theme();
        let base = theme.base();
        let mut ui = UserInterface::build(
            app.view(),
            self.size,
            self.cache.take().expect("the cache is put back"),
            &mut self.renderer,
        );
        ui.draw(
            &mut self.renderer,
            &theme,
            &Style {
                text_color: base.text_color,
            },
            mouse::Cursor::Unavailable,
        );
        self.cache = Some(ui.into_cache());
        self.last_build = started.elapsed();
        let iced::Renderer::Secondary(skia) = &mut self.renderer else {
            panic!("the tiny-skia renderer was asked for");
        };
        let whole = Rectangle::with_size(self.size);
        let layers = skia.layers().to_vec();
        let repaint = match &self.last_layers {
            Some(last) => damage::group(
                damage::diff(last, &layers, |l| vec![l.bounds], Layer::damage),
                whole,
            ),
            None => vec![whole],
        };
        self.last_layers = Some(layers);
        let (w, h) = (self.size.width as u32, self.size.height as u32);
        let viewport = Viewport::with_physical_size(Size::new(w, h), 1.0);
        let mut draw = |pixels: &mut [u8], regions: &[Rectangle]| {
            let mut map = tiny_skia::PixmapMut::from_bytes(pixels, w, h).expect("a pixmap");
            skia.draw(
                &mut map,
                &mut self.mask,
                &viewport,
                regions,
                base.background_color,
            );
        };
        if !repaint.is_empty() {
            draw(&mut self.screen, &repaint);
        }
        let mut fresh = vec![0u8; (w * h * 4) as usize];
        let t = std::time::Instant::now();
        draw(&mut fresh, &[whole]);
        self.rasters.push(t.elapsed());
        let stale = stale(&self.screen, &fresh, w);
        if let Some(s) = &stale {
            self.stale_frames += 1;
            self.first_stale.get_or_insert_with(|| s.clone());
        }
        stale
    }
}

fn stale(shown: &[u8], fresh: &[u8], width: u32) -> Option<Stale> {
    let (mut n, mut x0, mut y0, mut x1, mut y1) = (0, u32::MAX, u32::MAX, 0, 0);
    for (i, (a, b)) in shown.chunks(4).zip(fresh.chunks(4)).enumerate() {
        if a != b {
            let (x, y) = (i as u32 % width, i as u32 / width);
            n += 1;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (n > 0).then(|| Stale {
        pixels: n,
        region: Rectangle::new(
            iced::Point::new(x0 as f32, y0 as f32),
            Size::new((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tests::*;
    use iced::keyboard::key::Named;

    /// Draws the next frame and fails, naming the step, where it is not whole.
    fn whole(frames: &mut Frames, app: &App, step: &str) {
        if let Some(stale) = frames.next(app) {
            panic!("after {step}: {stale}");
        }
    }

    #[test]
    fn every_frame_of_a_review_is_drawn_whole() {
        let home = private_home();
        let mut app = opened(&home, Clips::Songs(3));
        let mut frames = Frames::new(crate::ui::DEFAULT_WINDOW).unwrap();
        whole(&mut frames, &app, "opening");
        click(&mut app, "song 0.wav");
        whole(&mut frames, &app, "selecting a track");
        named_key(&mut app, Named::ArrowRight);
        whole(&mut frames, &app, "the next slice");
        char_key(&mut app, "j");
        whole(&mut frames, &app, "the next track");
        for &panel in crate::ui::screen::Panel::ALL {
            let tab = app.panels.tab(panel);
            click(&mut app, &tab);
            whole(&mut frames, &app, &format!("opening {tab}"));
        }
        click(&mut app, "Track");
        named_key(&mut app, Named::Enter);
        whole(&mut frames, &app, "accepting");
        click(&mut app, "Apply tags…");
        whole(&mut frames, &app, "opening the Apply review");
        named_key(&mut app, Named::Escape);
        whole(&mut frames, &app, "closing it");
    }
}
