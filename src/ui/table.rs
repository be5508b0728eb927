//! The library table: filter, search, sort, and only the visible rows built,
//! so 50,000 tracks scroll smoothly.

use iced::widget::{
    button, column, container, mouse_area, pick_list, row, scrollable, space, text, text_input,
};
use iced::{Element, Length};
use sonotag_core::review::{ReviewRow, ReviewState};

/// Height of one row in pixels (fixed, so visible rows can be computed).
pub const ROW_HEIGHT: f32 = 26.0;

/// Sortable columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Title,
    Artist,
    Album,
    Tag,
    Proposed,
    Share,
    State,
}

/// The review filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    All,
    NeedsReview,
    Unsure,
    Accepted,
    Written,
    Errors,
    Genre(String),
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::All => write!(f, "All tracks"),
            Filter::NeedsReview => write!(f, "Needs review"),
            Filter::Unsure => write!(f, "Unsure"),
            Filter::Accepted => write!(f, "Accepted / overridden"),
            Filter::Written => write!(f, "Written"),
            Filter::Errors => write!(f, "Errors"),
            Filter::Genre(g) => write!(f, "Genre: {g}"),
        }
    }
}

/// Messages of the table.
#[derive(Clone, Debug)]
pub enum Message {
    Search(String),
    Filter(Filter),
    Sort(Column),
    Scrolled(f32, f32),
    Select(i64),
}

/// What the parent must do after a table message.
pub enum Event {
    Selected(i64),
}

/// Table state.
pub struct Table {
    pub rows: Vec<ReviewRow>,
    /// Indices of `rows` shown, filtered and sorted.
    pub shown: Vec<usize>,
    pub search: String,
    pub filter: Filter,
    pub sort: (Column, bool),
    offset: f32,
    viewport: f32,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            shown: Vec::new(),
            search: String::new(),
            filter: Filter::All,
            sort: (Column::Title, true),
            offset: 0.0,
            viewport: 600.0,
        }
    }
}

fn matches(filter: &Filter, r: &ReviewRow) -> bool {
    match filter {
        Filter::All => true,
        Filter::NeedsReview => matches!(r.state, ReviewState::Proposed | ReviewState::Unsure),
        Filter::Unsure => r.state == ReviewState::Unsure,
        Filter::Accepted => matches!(r.state, ReviewState::Accepted | ReviewState::Overridden),
        Filter::Written => r.state == ReviewState::Written,
        Filter::Errors => r.state == ReviewState::Error,
        Filter::Genre(g) => {
            r.proposed.as_deref() == Some(g.as_str())
                || r.decided.as_deref() == Some(g.as_str())
                || r.tag_genre.split("; ").any(|t| t == g)
        }
    }
}

impl Table {
    /// Replaces the rows (after a reload), keeping filter, sort and scroll.
    pub fn set_rows(&mut self, rows: Vec<ReviewRow>) {
        self.rows = rows;
        self.refresh();
    }

    /// Recomputes `shown` from the filter, search and sort.
    pub fn refresh(&mut self) {
        let needle = self.search.to_lowercase();
        let mut shown: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                let r = &self.rows[i];
                matches(&self.filter, r)
                    && (needle.is_empty()
                        || r.title.to_lowercase().contains(&needle)
                        || r.artist.to_lowercase().contains(&needle)
                        || r.album.to_lowercase().contains(&needle)
                        || r.tag_genre.to_lowercase().contains(&needle))
            })
            .collect();
        let (col, asc) = self.sort;
        let rows = &self.rows;
        shown.sort_by(|&a, &b| {
            let (x, y) = (&rows[a], &rows[b]);
            let o = match col {
                Column::Title => x.title.to_lowercase().cmp(&y.title.to_lowercase()),
                Column::Artist => x.artist.to_lowercase().cmp(&y.artist.to_lowercase()),
                Column::Album => x.album.to_lowercase().cmp(&y.album.to_lowercase()),
                Column::Tag => x.tag_genre.cmp(&y.tag_genre),
                Column::Proposed => x.proposed.cmp(&y.proposed),
                Column::Share => x.share.total_cmp(&y.share),
                Column::State => x.state.cmp(&y.state),
            };
            if asc { o } else { o.reverse() }
        });
        self.shown = shown;
    }

    /// The row of a track, if loaded.
    pub fn row(&self, track_id: i64) -> Option<&ReviewRow> {
        self.rows.iter().find(|r| r.track_id == track_id)
    }

    /// The shown track `delta` rows from `current` (or the first).
    pub fn neighbour(&self, current: Option<i64>, delta: i64) -> Option<i64> {
        if self.shown.is_empty() {
            return None;
        }
        let pos = current
            .and_then(|id| self.shown.iter().position(|&i| self.rows[i].track_id == id))
            .map_or(0, |p| {
                (p as i64 + delta).clamp(0, self.shown.len() as i64 - 1) as usize
            });
        Some(self.rows[self.shown[pos]].track_id)
    }

    /// Genres present in proposals and decisions, for the genre filter.
    pub fn genres(&self) -> Vec<String> {
        let mut g: Vec<String> = self
            .rows
            .iter()
            .flat_map(|r| r.proposed.iter().chain(r.decided.iter()).cloned())
            .collect();
        g.sort();
        g.dedup();
        g
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Search(s) => {
                self.search = s;
                self.refresh();
            }
            Message::Filter(f) => {
                self.filter = f;
                self.refresh();
            }
            Message::Sort(c) => {
                self.sort = if self.sort.0 == c {
                    (c, !self.sort.1)
                } else {
                    (c, true)
                };
                self.refresh();
            }
            Message::Scrolled(offset, height) => {
                self.offset = offset;
                self.viewport = height;
            }
            Message::Select(id) => return Some(Event::Selected(id)),
        }
        None
    }

    /// The filter bar and the table; only rows in view are built.
    pub fn view(&self, selected: Option<i64>) -> Element<'_, Message> {
        let mut filters = vec![
            Filter::All,
            Filter::NeedsReview,
            Filter::Unsure,
            Filter::Accepted,
            Filter::Written,
            Filter::Errors,
        ];
        filters.extend(self.genres().into_iter().map(Filter::Genre));
        let bar = row![
            text_input("Search title, artist, album, genre…", &self.search)
                .on_input(Message::Search)
                .width(Length::FillPortion(2)),
            pick_list(filters, Some(self.filter.clone()), Message::Filter)
                .width(Length::FillPortion(1)),
            text(format!(
                "{} of {} tracks",
                self.shown.len(),
                self.rows.len()
            ))
            .size(13),
        ]
        .spacing(8)
        .align_y(iced::Alignment::Center);

        let header_button = |label: &'static str, col: Column| {
            let arrow = if self.sort.0 == col {
                if self.sort.1 { " ▲" } else { " ▼" }
            } else {
                ""
            };
            button(text(format!("{label}{arrow}")).size(13))
                .style(button::text)
                .padding(2)
                .on_press(Message::Sort(col))
        };
        let header = row![
            header_button("Title", Column::Title).width(Length::FillPortion(4)),
            header_button("Artist", Column::Artist).width(Length::FillPortion(3)),
            header_button("Album", Column::Album).width(Length::FillPortion(3)),
            header_button("Tag", Column::Tag).width(Length::FillPortion(2)),
            header_button("Proposed", Column::Proposed).width(Length::FillPortion(2)),
            header_button("Votes", Column::Share).width(Length::FillPortion(1)),
            header_button("State", Column::State).width(Length::FillPortion(2)),
        ]
        .spacing(4);

        let first = (self.offset / ROW_HEIGHT).floor().max(0.0) as usize;
        let count = (self.viewport / ROW_HEIGHT).ceil() as usize + 2;
        let last = (first + count).min(self.shown.len());
        let first = first.min(last);
        let mut body = column![space().height(first as f32 * ROW_HEIGHT)];
        for &i in &self.shown[first..last] {
            let r = &self.rows[i];
            let cell = |s: String, p: u16| text(s).size(13).width(Length::FillPortion(p));
            let line = row![
                cell(r.title.clone(), 4),
                cell(r.artist.clone(), 3),
                cell(r.album.clone(), 3),
                cell(r.tag_genre.clone(), 2),
                cell(
                    r.decided.clone().or(r.proposed.clone()).unwrap_or_default(),
                    2
                ),
                cell(
                    if r.proposed.is_some() {
                        format!("{:.0}%", r.share * 100.0)
                    } else {
                        String::new()
                    },
                    1
                ),
                cell(r.state.label().to_string(), 2),
            ]
            .spacing(4);
            let is_selected = selected == Some(r.track_id);
            let styled = container(line)
                .padding([4, 4])
                .height(ROW_HEIGHT)
                .clip(true)
                .style(move |theme: &iced::Theme| {
                    if is_selected {
                        container::Style::default()
                            .background(theme.extended_palette().primary.weak.color)
                    } else {
                        container::Style::default()
                    }
                });
            body = body.push(mouse_area(styled).on_press(Message::Select(r.track_id)));
        }
        body = body.push(space().height((self.shown.len() - last) as f32 * ROW_HEIGHT));
        let list = scrollable(body)
            .on_scroll(|v| Message::Scrolled(v.absolute_offset().y, v.bounds().height))
            .height(Length::Fill);
        column![bar, header, list].spacing(6).into()
    }
}
