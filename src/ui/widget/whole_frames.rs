//! Frames that are always drawn whole.
//!
//! Without a GPU, iced draws with tiny-skia, which repaints only what it
//! judges changed since the last frame (its damage). Its judgement misses
//! pixels: damage rectangles sit at fractional coordinates (a layout split
//! by `FillPortion`, centred text) and are cleared without anti-aliasing
//! but redrawn through an anti-aliased clip, and text is damaged only
//! within its layout box although glyphs and the scrollbar's rounded ends
//! reach a pixel past theirs. The pixels on those edges keep part of the
//! old frame: the dots of old text, the scrollbar fragments and the cut
//! captions a tester saw (`ui/tests/frames.rs` reproduces each).
//!
//! The damage of a layer whose bounds changed is the whole layer. So the
//! window's content is drawn in one layer whose bounds alternate, frame by
//! frame, between the window and the window one pixel larger: every frame
//! is repainted whole. The cost is a full repaint per frame, a few
//! milliseconds at 1280×800; the GPU renderer repaints whole frames anyway.

use iced::advanced::layout::{self, Layout};
use iced::advanced::widget::{Operation, Tree, tree};
use iced::advanced::{Clipboard, Shell, Widget, mouse, overlay, renderer};
use iced::{Element, Event, Length, Rectangle, Size, Theme, Vector};
use std::cell::Cell;

/// `content`, drawn whole every frame.
pub fn whole_frames<'a, M: 'a>(content: impl Into<Element<'a, M>>) -> Element<'a, M> {
    Element::new(WholeFrames {
        content: content.into(),
    })
}

struct WholeFrames<'a, M> {
    content: Element<'a, M>,
}

/// Which of the two layer bounds the last frame used.
struct Parity(Cell<bool>);

impl<M> Widget<M, Theme, iced::Renderer> for WholeFrames<'_, M> {
    fn tag(&self) -> tree::Tag {
        tree::Tag::of::<Parity>()
    }

    fn state(&self) -> tree::State {
        tree::State::new(Parity(Cell::new(false)))
    }

    fn children(&self) -> Vec<Tree> {
        vec![Tree::new(&self.content)]
    }

    fn diff(&self, tree: &mut Tree) {
        tree.diff_children(std::slice::from_ref(&self.content));
    }

    fn size(&self) -> Size<Length> {
        self.content.as_widget().size()
    }

    fn layout(
        &mut self,
        tree: &mut Tree,
        renderer: &iced::Renderer,
        limits: &layout::Limits,
    ) -> layout::Node {
        self.content
            .as_widget_mut()
            .layout(&mut tree.children[0], renderer, limits)
    }

    fn operate(
        &mut self,
        tree: &mut Tree,
        layout: Layout<'_>,
        renderer: &iced::Renderer,
        operation: &mut dyn Operation,
    ) {
        self.content
            .as_widget_mut()
            .operate(&mut tree.children[0], layout, renderer, operation);
    }

    fn update(
        &mut self,
        tree: &mut Tree,
        event: &Event,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        renderer: &iced::Renderer,
        clipboard: &mut dyn Clipboard,
        shell: &mut Shell<'_, M>,
        viewport: &Rectangle,
    ) {
        self.content.as_widget_mut().update(
            &mut tree.children[0],
            event,
            layout,
            cursor,
            renderer,
            clipboard,
            shell,
            viewport,
        );
    }

    fn mouse_interaction(
        &self,
        tree: &Tree,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        viewport: &Rectangle,
        renderer: &iced::Renderer,
    ) -> mouse::Interaction {
        self.content.as_widget().mouse_interaction(
            &tree.children[0],
            layout,
            cursor,
            viewport,
            renderer,
        )
    }

    fn draw(
        &self,
        tree: &Tree,
        renderer: &mut iced::Renderer,
        theme: &Theme,
        style: &renderer::Style,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        viewport: &Rectangle,
    ) {
        use iced::advanced::Renderer as _;
        let parity = &tree.state.downcast_ref::<Parity>().0;
        parity.set(!parity.get());
        let bounds = layout.bounds().expand(if parity.get() { 1.0 } else { 0.0 });
        renderer.with_layer(bounds, |renderer| {
            self.content.as_widget().draw(
                &tree.children[0],
                renderer,
                theme,
                style,
                layout,
                cursor,
                viewport,
            );
        });
    }

    fn overlay<'b>(
        &'b mut self,
        tree: &'b mut Tree,
        layout: Layout<'b>,
        renderer: &iced::Renderer,
        viewport: &Rectangle,
        translation: Vector,
    ) -> Option<overlay::Element<'b, M, Theme, iced::Renderer>> {
        self.content.as_widget_mut().overlay(
            &mut tree.children[0],
            layout,
            renderer,
            viewport,
            translation,
        )
    }
}
