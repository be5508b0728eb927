//! The retrain screen: the trusted labels per genre (and how far a genre the
//! model does not know has come), the registered models with their measured
//! figures and a button to switch to any of them, and the Retrain button.

use super::{Request, Shared, SidePanel};
use crate::ui::background::Snapshot;
use iced::widget::{button, checkbox, column, row, text};
use iced::{Element, Task};
use sonotag_core::ml::corrections::RetrainReport;
use sonotag_core::ml::model::ModelRow;
use std::collections::BTreeMap;

/// Trusted labels per genre: (decided by the user, from tags).
pub type LabelCounts = BTreeMap<String, (usize, usize)>;

/// The retrain screen's state.
#[derive(Debug, Default)]
pub struct Retrain {
    /// As last read from the library.
    pub labels: LabelCounts,
    /// Retrain also learns from genre tags.
    pub use_tags: bool,
    /// What the last retrain of this session did.
    pub last: Option<RetrainReport>,
    /// The model whose every figure is shown (the others show one line).
    pub details: Option<String>,
}

impl Retrain {
    /// Keeps a finished retrain's report, to show it here.
    pub fn finished(&mut self, report: RetrainReport) {
        self.last = Some(report);
    }
}

impl SidePanel for Retrain {
    type Message = Message;

    fn new(_: Shared<'_>) -> Self {
        Self::default()
    }

    fn tab(&self) -> String {
        "Retrain".into()
    }

    fn update(&mut self, message: Message, _: Shared<'_>) -> (Task<Message>, Option<Request>) {
        let request = match message {
            Message::Retrain => Some(Request::Retrain {
                use_tags: self.use_tags,
            }),
            Message::UseTags(on) => {
                self.use_tags = on;
                None
            }
            Message::Use(name) => Some(Request::UseModel(name)),
            Message::Details(name) => {
                self.details = (self.details.as_ref() != Some(&name)).then_some(name);
                None
            }
        };
        (Task::none(), request)
    }

    fn reloaded(&mut self, library: &Snapshot, _: Shared<'_>) {
        self.labels = library.label_counts.clone();
    }

    /// The screen: while a job runs, Retrain and Use wait for it.
    fn view<'a>(&'a self, shared: Shared<'a>) -> Element<'a, Message> {
        let screen = view(
            &self.labels,
            shared.models,
            self.use_tags,
            shared.busy,
            self.details.as_deref(),
        );
        match &self.last {
            Some(r) => column![text(format!("Last retrain: {r}")).size(12), screen]
                .spacing(8)
                .into(),
            None => screen,
        }
    }
}

/// Messages of the retrain screen.
#[derive(Clone, Debug)]
pub enum Message {
    Retrain,
    /// Also learn from genre tags of undecided tracks.
    UseTags(bool),
    /// Make the model of this name the active one.
    Use(String),
    /// Show (or hide) every figure of the model of this name.
    Details(String),
}

/// Labels a genre the model does not know needs to join it.
const NEW_GENRE_LABELS: usize = sonotag_core::ml::corrections::RetrainOptions::DEFAULT_MIN_TRACKS;

fn view<'a>(
    labels: &'a LabelCounts,
    models: &'a [ModelRow],
    use_tags: bool,
    busy: bool,
    details: Option<&str>,
) -> Element<'a, Message> {
    let known: &[String] = models
        .iter()
        .find(|m| m.active)
        .map(|m| m.card.classes.as_slice())
        .unwrap_or_default();
    let mut col = column![
        text("Trusted labels").size(18),
        text("A retrain starts from everything the model learnt and adds your accepted and overridden genres, each weighing as much as ten of the tracks it learnt from, so the genres you never touched keep working. A genre the model does not know joins once it has 3 labels.").size(12),
    ]
    .spacing(6);
    for (g, (mine, tags)) in labels {
        let counted = mine + if use_tags { *tags } else { 0 };
        let note = if known.contains(g) {
            String::new()
        } else if counted < NEW_GENRE_LABELS {
            format!(" — {counted} of {NEW_GENRE_LABELS} labels for {g}")
        } else {
            " — joins as a new genre at the next retrain".to_string()
        };
        col = col.push(text(format!("{g}: {mine} decided, {tags} from tags{note}")).size(13));
    }
    let tag_total: usize = labels.values().map(|(_, t)| t).sum();
    col = col.push(
        checkbox(use_tags)
            .label(format!(
                "Also learn from the genre tags of undecided tracks ({tag_total}; they weigh less than your decisions)"
            ))
            .on_toggle(Message::UseTags)
            .size(14)
            .text_size(12),
    );
    col = col.push(button("Retrain (seconds)").on_press_maybe((!busy).then_some(Message::Retrain)));
    col = col.push(text("Models").size(18));
    // Newest first (the library lists them so): after a retrain the model
    // to compare with the one in use is at the top.
    for m in models.iter() {
        let name = if m.active {
            format!("● {} (in use)", m.name)
        } else {
            m.name.clone()
        };
        let made = m.card.created.get(..10).unwrap_or(&m.card.created);
        let open = details == Some(m.name.as_str());
        let head = row![
            text(name).size(14),
            text(format!("{} genres · made {made}", m.card.classes.len())).size(12),
            iced::widget::space().width(iced::Length::Fill),
            button(text(if open { "Fewer figures" } else { "Every figure" }).size(12))
                .style(button::text)
                .on_press(Message::Details(m.name.clone())),
        ]
        .spacing(10)
        .align_y(iced::Alignment::Center);
        let head = if m.active {
            head
        } else {
            row![
                button(text("Use").size(12))
                    .on_press_maybe((!busy).then(|| Message::Use(m.name.clone()))),
                head
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center)
        };
        col = col.push(head);
        col = col.push(text(headline(m)).size(12));
        if open {
            for line in every_figure(m) {
                col = col.push(text(format!("    {line}")).size(11));
            }
        }
    }
    col.into()
}

/// One sentence a person can compare models by: how the model did on the
/// user's own reviewed tracks where it has been judged there, else on the
/// music it never heard in training.
fn headline(m: &ModelRow) -> String {
    use sonotag_core::ml::model::{ON_DECISIONS, score};
    if let Some(s) = m.card.metrics.get(ON_DECISIONS).and_then(score)
        && s.tracks > 0
    {
        return format!(
            "On your library: {}.",
            sonotag_core::ml::on_library::in_words(&s)
        );
    }
    match m.card.unseen_total() {
        Some(t) if t.labelled > 0 => format!(
            "On music it never heard: right {} of {} proposals ({:.0} %); {:.0} % of the tracks got one.",
            t.right,
            t.labelled,
            t.precision() * 100.0,
            t.coverage() * 100.0
        ),
        _ => "Not measured yet.".into(),
    }
}

/// Every figure of the model's card, one line each.
fn every_figure(m: &ModelRow) -> Vec<String> {
    let pct = |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_f64()).map(|x| x * 100.0);
    m.card
        .metrics
        .iter()
        // Each reviewed track's verdict: the batch accept reads it.
        .filter(|(k, _)| k.as_str() != sonotag_core::ml::model::REVIEWED)
        .map(|(k, v)| {
            if k.as_str() == sonotag_core::ml::model::ON_DECISIONS
                && let Some(s) = sonotag_core::ml::model::score(v)
            {
                return format!("on your library: {}", sonotag_core::ml::on_library::in_words(&s));
            }
            match (
                pct(v, "accuracy"),
                pct(v, "coverage"),
                pct(v, "precision"),
                pct(v, "before"),
                pct(v, "after"),
            ) {
                (Some(a), Some(c), Some(p), _, _) => {
                    format!("{k}: accuracy {a:.0} %, coverage {c:.0} %, precision {p:.0} %")
                }
                (_, _, _, Some(b), Some(a)) => format!(
                    "{k}: {b:.0} % of held-out labelled tracks right before retraining, {a:.0} % after"
                ),
                _ if v.get("reference_right").is_some() => format!(
                    "{k}: {} of {} right ({} {})",
                    v["right"],
                    v["tracks"],
                    v["reference"].as_str().unwrap_or("the first model"),
                    v["reference_right"]
                ),
                _ => k.clone(),
            }
        })
        .collect()
}

