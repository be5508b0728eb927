//! The retrain screen: the trusted labels per genre, the registered models
//! with their measured figures, and the Retrain button.

use iced::Element;
use iced::widget::{button, column, text};
use sonotag_core::classify::ModelRow;
use std::collections::BTreeMap;

/// Trusted labels per genre: (decided by the user, from tags).
pub type LabelCounts = BTreeMap<String, (usize, usize)>;

/// Messages of the retrain screen.
#[derive(Clone, Debug)]
pub enum Message {
    Retrain,
}

/// The screen: `busy` while a job runs (Retrain waits for it).
pub fn view<'a>(
    labels: &'a LabelCounts,
    models: &'a [ModelRow],
    busy: bool,
) -> Element<'a, Message> {
    let mut col = column![
        text("Trusted labels").size(18),
        text("Your accepted and overridden genres, plus genre tags the vocabulary knows. A genre needs 3 labelled tracks to become a class; genres with fewer are left out of the new model and named in its report.").size(12),
    ]
    .spacing(6);
    for (g, (mine, tags)) in labels {
        let note = if mine + tags < 3 {
            " — too few to learn yet"
        } else {
            ""
        };
        col = col.push(text(format!("{g}: {mine} decided, {tags} from tags{note}")).size(13));
    }
    col = col.push(button("Retrain (seconds)").on_press_maybe((!busy).then_some(Message::Retrain)));
    col = col.push(text("Models").size(18));
    for m in models {
        let pct = |v: &serde_json::Value, key: &str| {
            v.get(key).and_then(|x| x.as_f64()).map(|x| x * 100.0)
        };
        let metrics = m
            .card
            .metrics
            .iter()
            .map(|(k, v)| {
                match (
                    pct(v, "accuracy"),
                    pct(v, "coverage"),
                    pct(v, "precision"),
                    pct(v, "before"),
                    pct(v, "after"),
                ) {
                    (Some(a), Some(c), Some(p), _, _) => {
                        format!("{k}: accuracy {a:.0}%, coverage {c:.0}%, precision {p:.0}%")
                    }
                    (_, _, _, Some(b), Some(a)) => format!(
                        "{k}: {b:.0}% of held-out labelled tracks right before retraining, {a:.0}% after"
                    ),
                    _ => k.clone(),
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        col = col.push(
            text(format!(
                "{}{} — {} genres. {metrics}",
                if m.active { "● " } else { "  " },
                m.name,
                m.card.classes.len()
            ))
            .size(12),
        );
    }
    col.into()
}
