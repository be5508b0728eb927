//! Long lists (the library table, the Apply review): only the rows in
//! view are built, so 50,000 rows cost what 30 do, and the scrollbar is
//! drawn here because iced's own thumb is proportional down to 2 px — a
//! sliver nobody can grab at 20,000 rows. This thumb never gets shorter
//! than [`MIN_THUMB`], can be dragged, and a click beside it jumps there.

use iced::mouse;
use iced::widget::canvas::{self, Frame, Geometry, Path};
use iced::widget::scrollable::AbsoluteOffset;
use iced::widget::{Column, canvas as canvas_widget, column, row, scrollable, space};
use iced::{Element, Length, Point, Rectangle, Renderer, Size, Task, Theme};

/// Where a long list stands: its scroll offset, and the height it was last
/// seen at (the rows in view follow from both).
#[derive(Clone, Copy, Debug)]
pub struct Scroll {
    pub offset: f32,
    pub viewport: f32,
}

impl Default for Scroll {
    fn default() -> Self {
        // A first guess until the list reports its real height.
        Self {
            offset: 0.0,
            viewport: 600.0,
        }
    }
}

impl Scroll {
    /// Scrolls the list `id` to `offset`.
    pub fn to<M: Send + 'static>(&mut self, id: &'static str, offset: f32) -> Task<M> {
        self.offset = offset.max(0.0);
        iced::widget::operation::scroll_to(
            id,
            AbsoluteOffset {
                x: None,
                y: Some(self.offset),
            },
        )
    }

    /// Scrolls the list `id` just enough to show row `index`.
    pub fn reveal<M: Send + 'static>(
        &mut self,
        id: &'static str,
        index: usize,
        row_height: f32,
    ) -> Task<M> {
        let top = index as f32 * row_height;
        let bottom = top + row_height;
        if top < self.offset {
            self.to(id, top)
        } else if bottom > self.offset + self.viewport {
            self.to(id, bottom - self.viewport)
        } else {
            Task::none()
        }
    }
}

/// A list of `len` rows, each `row_height` pixels tall, in a space
/// `height` pixels tall: builds only the rows in view (`row_at(i)`), with
/// spacers for the rest. `scrolled(offset, viewport)` reports scrolling;
/// `jump(offset)` asks to scroll (from the scrollbar).
#[allow(clippy::too_many_arguments)]
pub fn view<'a, M: Clone + 'a>(
    id: &'static str,
    scroll: Scroll,
    len: usize,
    row_height: f32,
    height: f32,
    row_at: impl Fn(usize) -> Element<'a, M>,
    scrolled: fn(f32, f32) -> M,
    jump: fn(f32) -> M,
) -> Element<'a, M> {
    // The list may have shrunk under a stale offset (a search): the
    // scrollable clamps its own, and so must the rows built here.
    let offset = scroll
        .offset
        .min((len as f32 * row_height - height).max(0.0));
    let first = ((offset / row_height).floor().max(0.0) as usize).min(len);
    let last = (first + (height / row_height).ceil() as usize + 2).min(len);
    let body: Column<'a, M> = column![space().height(first as f32 * row_height)]
        .extend((first..last).map(row_at))
        .push(space().height((len - last) as f32 * row_height));
    let list = scrollable(body)
        .id(id)
        .direction(scrollable::Direction::Vertical(
            scrollable::Scrollbar::hidden(),
        ))
        .on_scroll(move |v| scrolled(v.absolute_offset().y, v.bounds().height))
        .width(Length::Fill)
        .height(Length::Fill);
    let bar = Element::from(
        canvas_widget(ScrollBar {
            offset,
            content: len as f32 * row_height,
        })
        .width(WIDTH)
        .height(Length::Fill),
    )
    .map(jump);
    row![list, bar].into()
}

/// The shortest thumb, in pixels.
pub const MIN_THUMB: f32 = 32.0;

/// Width to give the canvas.
pub const WIDTH: f32 = 12.0;

/// Where a list is scrolled to, in pixels. The canvas stands beside the
/// list and is as tall as it, so its height is the list's viewport.
#[derive(Clone, Copy, Debug)]
pub struct ScrollBar {
    pub offset: f32,
    pub content: f32,
}

/// While dragging: where the pointer holds the thumb, from its top.
#[derive(Default)]
pub struct Grab(Option<f32>);

impl ScrollBar {
    fn max_offset(&self, track: f32) -> f32 {
        (self.content - track).max(0.0)
    }

    /// The thumb's top and height on a track (and viewport) `track` pixels
    /// tall.
    pub fn thumb(&self, track: f32) -> (f32, f32) {
        let max = self.max_offset(track);
        if max <= 0.0 {
            return (0.0, track);
        }
        let height = (track * track / self.content).clamp(MIN_THUMB.min(track), track);
        let top = (track - height) * (self.offset / max).clamp(0.0, 1.0);
        (top, height)
    }

    /// The list offset that puts the thumb's top at `top`.
    pub fn offset_for(&self, top: f32, track: f32) -> f32 {
        let (_, height) = self.thumb(track);
        let travel = track - height;
        if travel <= 0.0 {
            0.0
        } else {
            (top / travel).clamp(0.0, 1.0) * self.max_offset(track)
        }
    }
}

impl canvas::Program<f32> for ScrollBar {
    type State = Grab;

    fn update(
        &self,
        grab: &mut Grab,
        event: &canvas::Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<canvas::Action<f32>> {
        if self.max_offset(bounds.height) <= 0.0 {
            return None;
        }
        match event {
            canvas::Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)) => {
                let y = cursor.position_in(bounds)?.y;
                let (top, height) = self.thumb(bounds.height);
                let held = if (top..top + height).contains(&y) {
                    y - top
                } else {
                    // Beside the thumb: jump so the thumb centres there.
                    height / 2.0
                };
                grab.0 = Some(held);
                Some(
                    canvas::Action::publish(self.offset_for(y - held, bounds.height)).and_capture(),
                )
            }
            canvas::Event::Mouse(mouse::Event::CursorMoved { position }) => {
                let held = grab.0?;
                let top = position.y - bounds.y - held;
                Some(canvas::Action::publish(self.offset_for(top, bounds.height)).and_capture())
            }
            canvas::Event::Mouse(mouse::Event::ButtonReleased(mouse::Button::Left)) => {
                grab.0.take().map(|_| canvas::Action::request_redraw())
            }
            _ => None,
        }
    }

    fn draw(
        &self,
        grab: &Grab,
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        if self.max_offset(bounds.height) <= 0.0 {
            return Vec::new();
        }
        let mut frame = Frame::new(renderer, bounds.size());
        let palette = theme.extended_palette();
        let (top, height) = self.thumb(bounds.height);
        let hovered = cursor
            .position_in(bounds)
            .is_some_and(|p| (top..top + height).contains(&p.y));
        let colour = if grab.0.is_some() || hovered {
            palette.primary.strong.color
        } else {
            palette.background.strongest.color
        };
        frame.fill(
            &Path::rounded_rectangle(
                Point::new(2.0, top),
                Size::new(bounds.width - 4.0, height),
                3.0.into(),
            ),
            colour,
        );
        vec![frame.into_geometry()]
    }

    fn mouse_interaction(
        &self,
        grab: &Grab,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> mouse::Interaction {
        if grab.0.is_some() {
            mouse::Interaction::Grabbing
        } else if self.max_offset(bounds.height) > 0.0 && cursor.is_over(bounds) {
            mouse::Interaction::Grab
        } else {
            mouse::Interaction::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MIN_THUMB, ScrollBar};

    fn at(offset: f32) -> ScrollBar {
        // 20,000 rows of 26 px in a 400-px view.
        ScrollBar {
            offset,
            content: 20_000.0 * 26.0,
        }
    }

    #[test]
    fn the_thumb_stays_grabbable_and_maps_back_to_the_offset() {
        let (top, height) = at(0.0).thumb(400.0);
        assert_eq!((top, height), (0.0, MIN_THUMB));
        let end = at(520_000.0 - 400.0);
        let (top, height) = end.thumb(400.0);
        assert!((top + height - 400.0).abs() < 1e-3, "ends at the bottom");
        // Dragging the thumb's top to the middle of its travel scrolls halfway.
        let half = end.offset_for((400.0 - MIN_THUMB) / 2.0, 400.0);
        assert!((half - (520_000.0 - 400.0) / 2.0).abs() < 1.0, "{half}");
        // Short lists: a proportional thumb, and no scrolling past the ends.
        let short = ScrollBar {
            offset: 0.0,
            content: 800.0,
        };
        assert_eq!(short.thumb(400.0), (0.0, 200.0));
        assert_eq!(short.offset_for(-50.0, 400.0), 0.0);
        assert_eq!(short.offset_for(1_000.0, 400.0), 400.0);
    }
}
