//! The progress band under the toolbar: the running job's phase, count,
//! rate and time left with a Cancel button, or else the status line. Its
//! height is fixed, so progress and messages never move the buttons around
//! it.

use crate::ui::jobs::Running;
use iced::widget::{button, column, container, progress_bar, row, space, text};
use iced::{Element, Length};

/// The band's one message.
#[derive(Clone, Debug)]
pub enum Message {
    Cancel,
}

pub fn view<'a>(job: Option<&'a Running>, status: &'a str) -> Element<'a, Message> {
    let inside: Element<'a, Message> = match job {
        Some(j) => {
            let phase = j.phase.map(|p| p.to_string()).unwrap_or("Starting".into());
            let rate = j.rate();
            let line = if j.total == 0 {
                format!("{phase}: {} so far…", j.done)
            } else {
                let eta = if rate > 0.0 && j.total > j.done {
                    format!(" — about {:.0} s left", (j.total - j.done) as f64 / rate)
                } else {
                    String::new()
                };
                format!("{phase}: {}/{} ({rate:.1}/s){eta}", j.done, j.total)
            };
            let cancel = if j.cancelling() {
                "Cancelling…"
            } else {
                "Cancel"
            };
            column![
                row![
                    text(line).size(13),
                    space().width(Length::Fill),
                    button(text(cancel).size(13))
                        .on_press_maybe((!j.cancelling()).then_some(Message::Cancel)),
                ]
                .align_y(iced::Alignment::Center),
                progress_bar(0.0..=j.total.max(1) as f32, j.done as f32).girth(8),
                text(j.current.clone()).size(11),
            ]
            .spacing(4)
            .into()
        }
        None => text(status).size(13).into(),
    };
    container(inside).height(62).clip(true).into()
}
