//! A dialog over the window: centred, over a dimmed backdrop that takes
//! every click, so what lies behind is plainly out of reach.

use iced::widget::{center, container, opaque};
use iced::{Color, Element};

/// `dialog` centred over a dimmed backdrop.
pub fn dimmed<'a, M: 'a>(dialog: impl Into<Element<'a, M>>) -> Element<'a, M> {
    opaque(center(dialog).style(|_| {
        container::Style {
            background: Some(
                Color {
                    a: 0.55,
                    ..Color::BLACK
                }
                .into(),
            ),
            ..container::Style::default()
        }
    }))
}
