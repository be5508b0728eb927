//! The Help dialog (F1, `?` or the toolbar's Help): every key of the
//! library view, then what a person asks "About" for: the version, the
//! model the proposals come from, and the licences of what ships
//! (musicnn's weights among them, from `assets/THIRD-PARTY.md`). It keeps
//! no state; Esc closes it like every dialog.

use crate::ui::keys;
use crate::ui::widget::modal;
use iced::widget::{button, column, container, row, scrollable, text};
use iced::{Element, Length};
use sonotag_core::ml::model::ModelRow;

/// Every third-party component with its licence, as packaging wrote it.
const THIRD_PARTY: &str = include_str!("../../../assets/THIRD-PARTY.md");

/// Where the .deb puts the manual and the licence list.
const DOCS: &str = "/usr/share/doc/sonotag";

/// The lines of the About part, in order (also what tests read).
pub fn about_lines(active: Option<&ModelRow>) -> Vec<String> {
    let mut lines = vec![format!(
        "Sonotag {}: puts genres on a music library by listening to it.",
        env!("CARGO_PKG_VERSION")
    )];
    lines.push(match active {
        Some(m) => format!(
            "Proposals come from the model {} ({} genres, on the {} listener, made {}), {}.",
            m.name,
            m.card.classes.len(),
            m.card.backbone.name,
            m.card.created.get(..10).unwrap_or(&m.card.created),
            m.path.display()
        ),
        None => "No model is active yet: the shipped one is taken at the first Classify.".into(),
    });
    lines.push("Sonotag is free software under the MIT licence.".into());
    lines.extend(bundled().map(|(what, licence, from)| format!("{what}: {licence} ({from}).")));
    lines.push(format!(
        "{} crates, by licence: {}",
        crate_count(),
        licence_summary()
    ));
    lines.push(format!(
        "Every component and its licence: {DOCS}/THIRD-PARTY.md (assets/ in the source). \
         The manual: {DOCS}/docs, or man sonotag."
    ));
    lines
}

/// The "bundled besides the crates" table: component, licence, origin.
fn bundled() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    let section = THIRD_PARTY
        .split("## ")
        .find(|s| s.starts_with("Bundled"))
        .unwrap_or("");
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| component"))
        .filter_map(|l| {
            let mut cells = l.trim_matches('|').split('|').map(str::trim);
            Some((cells.next()?, cells.next()?, cells.next()?))
        })
}

fn crate_count() -> &'static str {
    THIRD_PARTY
        .split("## Crates (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or("?")
}

fn licence_summary() -> &'static str {
    THIRD_PARTY
        .lines()
        .find_map(|l| l.strip_prefix("By licence: "))
        .unwrap_or("see the list.")
}

/// The dialog over the window; `close` is what Esc would send.
pub fn view<'a, M: Clone + 'a>(active: Option<&ModelRow>, close: M) -> Element<'a, M> {
    let keys = keys::KEYS
        .iter()
        .fold(column![].spacing(4), |col, (key, what)| {
            col.push(
                row![
                    text(*key).size(13).width(Length::Fixed(260.0)),
                    text(*what).size(13)
                ]
                .spacing(12),
            )
        });
    let about = about_lines(active)
        .into_iter()
        .fold(column![].spacing(4), |col, line| {
            col.push(text(line).size(13))
        });
    modal::dimmed(
        container(
            column![
                scrollable(
                    column![
                        text("Keys").size(18),
                        keys,
                        text("About Sonotag").size(18),
                        about
                    ]
                    .spacing(10)
                    .padding(iced::Padding::ZERO.right(14))
                )
                .height(Length::Fixed(420.0)),
                button("Close (Esc)").on_press(close)
            ]
            .spacing(10),
        )
        .padding(16)
        .max_width(760)
        .max_height(560)
        .style(container::rounded_box),
    )
}
