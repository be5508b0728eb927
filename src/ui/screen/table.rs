//! The library table: filter, search, sort, and only the visible rows built,
//! so 50,000 tracks scroll smoothly. Search keys and sort keys are folded
//! once per reload, not per keystroke, and the selection is kept in view.

use crate::ui::widget::long_list::{self, Scroll};
use iced::widget::text::Wrapping;
use iced::widget::{
    button, column, container, mouse_area, pick_list, responsive, row, text, text_input,
};
use iced::{Element, Length, Task};
use sonotag_core::catalog::review::{ReviewRow, ReviewState};
use std::cmp::Ordering;
use std::collections::HashMap;

/// The scrollable list's id, for keeping the selection in view.
const LIST: &str = "track-list";

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
    Decided,
}

/// The review filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    All,
    NeedsReview,
    /// Undecided tracks, those whose decision teaches the model most
    /// first (least certain, spread over genres).
    ReviewNext,
    Unsure,
    Accepted,
    Written,
    Errors,
    /// Tracks whose files are gone (the other filters leave them out).
    Missing,
    Genre(String),
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::All => write!(f, "All tracks"),
            Filter::NeedsReview => write!(f, "Needs review"),
            Filter::ReviewNext => write!(f, "Review next"),
            Filter::Unsure => write!(f, "Unsure"),
            Filter::Accepted => write!(f, "Accepted / overridden"),
            Filter::Written => write!(f, "Written"),
            Filter::Errors => write!(f, "Errors"),
            Filter::Missing => write!(f, "Missing files"),
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
    /// The scrollbar was dragged or clicked: scroll the list there.
    ScrollTo(f32),
    Select(i64),
    /// Enter in the search box: back to the list (never accepts a track).
    SearchDone,
}

/// What the parent must do after a table message.
pub enum Event {
    Selected(i64),
    /// Give the keyboard back to the list.
    LeaveSearch,
    /// Other rows are shown, or in another order: the list went back to
    /// its top; the selection may want revealing.
    Reordered,
}

/// The search box's id, focused by `/`.
pub const SEARCH: &str = "track-search";

/// Table state.
pub struct Table {
    pub rows: Vec<ReviewRow>,
    /// Indices of `rows` shown, filtered and sorted.
    pub shown: Vec<usize>,
    pub search: String,
    pub filter: Filter,
    pub sort: (Column, bool),
    scroll: Scroll,
    /// Search and sort keys of `rows`.
    keys: Keys,
    /// "Review next" as it was ranked when the filter was picked, by track
    /// id: a decision takes its row out and leaves the others where they
    /// were, so the next key goes to the row the user sees next (ranked
    /// afresh, the rounds by genre shift under them).
    review_order: HashMap<i64, usize>,
}

/// Rows with their search and sort keys, prepared off the UI thread when
/// the library is read: taking in 50,000 rows then costs one sort by rank.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    rows: Vec<ReviewRow>,
    keys: Keys,
}

#[derive(Clone, Debug, Default)]
struct Keys {
    /// Row index per track id.
    index: HashMap<i64, usize>,
    /// Per row, every searchable field, lower-case (the search haystack).
    haystack: Vec<String>,
    /// Per row, its place in natural order by title, artist (then album),
    /// album and file genre.
    title: Vec<u32>,
    artist: Vec<u32>,
    album: Vec<u32>,
    tag: Vec<u32>,
    /// Per row, its place in "review next" order.
    review: Vec<u32>,
    /// Genres in proposals and decisions, for the genre filter.
    genres: Vec<String>,
}

/// Folds and ranks `rows` for searching and sorting.
pub fn prepare(rows: Vec<ReviewRow>) -> Prepared {
    let fold = |f: fn(&ReviewRow) -> &str| -> Vec<String> {
        rows.iter().map(|r| f(r).to_lowercase()).collect()
    };
    let (title, artist, album) = (fold(|r| &r.title), fold(|r| &r.artist), fold(|r| &r.album));
    let rank = |cmp: &dyn Fn(usize, usize) -> Ordering| -> Vec<u32> {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| cmp(a, b));
        let mut rank = vec![0u32; rows.len()];
        for (place, i) in order.into_iter().enumerate() {
            rank[i] = place as u32;
        }
        rank
    };
    let keys = Keys {
        index: rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.track_id, i))
            .collect(),
        haystack: rows
            .iter()
            .map(|r| {
                [
                    r.title.as_str(),
                    &r.artist,
                    &r.album,
                    &r.tag_genre,
                    &r.proposed_text(),
                    &r.decided_text(),
                ]
                .join("\u{1f}")
                .to_lowercase()
            })
            .collect(),
        title: rank(&|a, b| natural_cmp(&title[a], &title[b])),
        artist: rank(&|a, b| {
            natural_cmp(&artist[a], &artist[b]).then_with(|| natural_cmp(&album[a], &album[b]))
        }),
        album: rank(&|a, b| natural_cmp(&album[a], &album[b])),
        tag: rank(&|a, b| natural_cmp(&rows[a].tag_genre, &rows[b].tag_genre)),
        review: {
            // Ranked among the tracks the filter shows: a decided track
            // teaches nothing more and takes no place in the rounds.
            let open: Vec<usize> = (0..rows.len())
                .filter(|&i| matches(&Filter::ReviewNext, &rows[i]))
                .collect();
            let keys: Vec<sonotag_core::catalog::review::ReviewKey> = open
                .iter()
                .map(|&i| sonotag_core::catalog::review::ReviewKey {
                    leaning: rows[i].proposed.as_deref(),
                    unsure: rows[i].state == ReviewState::Unsure,
                    share: rows[i].share,
                })
                .collect();
            let mut rank = vec![u32::MAX; rows.len()];
            for (place, k) in sonotag_core::catalog::review::review_next_order(&keys)
                .into_iter()
                .enumerate()
            {
                rank[open[k]] = place as u32;
            }
            rank
        },
        genres: rows
            .iter()
            .flat_map(|r| {
                r.proposed
                    .iter()
                    .chain(&r.proposed_also)
                    .chain(&r.decided)
                    .chain(&r.decided_also)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect(),
    };
    Prepared { rows, keys }
}

impl Default for Table {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            shown: Vec::new(),
            search: String::new(),
            filter: Filter::All,
            sort: (Column::Title, true),
            scroll: Scroll::default(),
            keys: Keys::default(),
            review_order: HashMap::new(),
        }
    }
}

/// Compares text as people sort it: case-folded, with runs of digits
/// compared as numbers ("Clip 2" before "Clip 10").
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (n, m) = (run(x), run(y));
                let trim = |s: &[u8]| {
                    let z = s.iter().take_while(|&&c| c == b'0').count();
                    s[z..].to_vec()
                };
                let (p, q) = (trim(&x[..n]), trim(&y[..m]));
                let o = p.len().cmp(&q.len()).then_with(|| p.cmp(&q));
                if o != Ordering::Equal {
                    return o;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn matches(filter: &Filter, r: &ReviewRow) -> bool {
    if (r.state == ReviewState::Missing) != (*filter == Filter::Missing) {
        return false;
    }
    match filter {
        Filter::Missing => true,
        Filter::All => true,
        Filter::NeedsReview | Filter::ReviewNext => {
            matches!(r.state, ReviewState::Proposed | ReviewState::Unsure)
        }
        Filter::Unsure => r.state == ReviewState::Unsure,
        Filter::Accepted => matches!(r.state, ReviewState::Accepted | ReviewState::Overridden),
        Filter::Written => r.state == ReviewState::Written,
        Filter::Errors => r.state == ReviewState::Error,
        Filter::Genre(g) => r.names(g) || r.tag_genre.split("; ").any(|t| t == g),
    }
}

impl Table {
    /// Takes in rows read and prepared in the background (after a reload),
    /// keeping filter, sort and scroll.
    pub fn set_prepared(&mut self, prepared: Prepared) {
        self.rows = prepared.rows;
        self.keys = prepared.keys;
        self.refresh();
    }

    /// Recomputes `shown` from the filter, search and sort.
    pub fn refresh(&mut self) {
        let needle = self.search.trim().to_lowercase();
        let mut shown: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                matches(&self.filter, &self.rows[i])
                    && (needle.is_empty() || self.keys.haystack[i].contains(&needle))
            })
            .collect();
        let (col, asc) = self.sort;
        let (rows, k) = (&self.rows, &self.keys);
        if self.filter == Filter::ReviewNext {
            // Its own order, whatever column sorts the rest: the order of
            // when it was picked, tracks that became undecided since after.
            let kept = &self.review_order;
            shown.sort_by_key(|&i| {
                (
                    kept.get(&rows[i].track_id).copied().unwrap_or(usize::MAX),
                    k.review[i],
                )
            });
            let next = kept.len();
            for (place, &i) in shown.iter().enumerate() {
                self.review_order
                    .entry(rows[i].track_id)
                    .or_insert(next + place);
            }
            self.shown = shown;
            return;
        }
        shown.sort_by(|&a, &b| {
            let (x, y) = (&rows[a], &rows[b]);
            let o = match col {
                Column::Title => k.title[a].cmp(&k.title[b]),
                Column::Artist => k.artist[a].cmp(&k.artist[b]),
                Column::Album => k.album[a].cmp(&k.album[b]),
                Column::Tag => k.tag[a].cmp(&k.tag[b]),
                Column::Proposed => x
                    .proposed
                    .cmp(&y.proposed)
                    .then_with(|| x.proposed_also.cmp(&y.proposed_also)),
                Column::Share => x.share.total_cmp(&y.share),
                Column::State => x.state.cmp(&y.state),
                Column::Decided => x
                    .decided
                    .cmp(&y.decided)
                    .then_with(|| x.decided_also.cmp(&y.decided_also)),
            }
            .then_with(|| k.title[a].cmp(&k.title[b]));
            if asc { o } else { o.reverse() }
        });
        self.shown = shown;
    }

    /// The row of a track, if loaded.
    pub fn row(&self, track_id: i64) -> Option<&ReviewRow> {
        self.keys.index.get(&track_id).map(|&i| &self.rows[i])
    }

    /// Where `track_id` is among the shown rows (for the shell: has a
    /// reload moved the selection?).
    pub fn position(&self, track_id: i64) -> Option<usize> {
        self.place(track_id)
    }

    /// Where `track_id` is among the shown rows. Scans the shown indices,
    /// not the rows themselves: 50,000 rows spread over megabytes cost
    /// milliseconds in cache misses, their indices microseconds.
    fn place(&self, track_id: i64) -> Option<usize> {
        let row = *self.keys.index.get(&track_id)?;
        self.shown.iter().position(|&i| i == row)
    }

    /// Whether the row of `track_id` is shown and scrolled into view.
    #[cfg(test)]
    pub fn row_in_view(&self, track_id: i64) -> bool {
        self.place(track_id).is_some_and(|pos| {
            let top = pos as f32 * ROW_HEIGHT;
            top >= self.scroll.offset - 0.5
                && top + ROW_HEIGHT <= self.scroll.offset + self.scroll.viewport + 0.5
        })
    }

    /// How many rows one page (Page Up/Down) moves.
    pub fn page(&self) -> i64 {
        ((self.scroll.viewport / ROW_HEIGHT).floor() as i64 - 1).max(1)
    }

    /// Scrolls so that `track_id`'s row is in view (if it is shown).
    pub fn reveal(&mut self, track_id: i64) -> Task<Message> {
        let Some(pos) = self.place(track_id) else {
            return Task::none();
        };
        self.scroll.reveal(LIST, pos, ROW_HEIGHT)
    }

    /// The shown track `delta` rows from `current` (or the first).
    pub fn neighbour(&self, current: Option<i64>, delta: i64) -> Option<i64> {
        if self.shown.is_empty() {
            return None;
        }
        let pos = current.and_then(|id| self.place(id)).map_or(0, |p| {
            (p as i64 + delta).clamp(0, self.shown.len() as i64 - 1) as usize
        });
        Some(self.rows[self.shown[pos]].track_id)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Search(s) => {
                self.search = s;
                self.refresh();
                return (self.scroll.to(LIST, 0.0), Some(Event::Reordered));
            }
            Message::Filter(f) => {
                self.filter = f;
                // Picked again: ranked afresh.
                self.review_order.clear();
                self.refresh();
                return (self.scroll.to(LIST, 0.0), Some(Event::Reordered));
            }
            Message::Sort(c) => {
                self.sort = if self.sort.0 == c {
                    (c, !self.sort.1)
                } else {
                    (c, true)
                };
                self.refresh();
                return (self.scroll.to(LIST, 0.0), Some(Event::Reordered));
            }
            Message::Scrolled(offset, height) => {
                self.scroll = Scroll {
                    offset,
                    viewport: height,
                };
            }
            Message::ScrollTo(offset) => return (self.scroll.to(LIST, offset), None),
            Message::Select(id) => return (Task::none(), Some(Event::Selected(id))),
            Message::SearchDone => return (Task::none(), Some(Event::LeaveSearch)),
        }
        (Task::none(), None)
    }

    /// The filter bar and the table; only rows in view are built.
    pub fn view(&self, selected: Option<i64>) -> Element<'_, Message> {
        let mut filters = vec![
            Filter::All,
            Filter::NeedsReview,
            Filter::ReviewNext,
            Filter::Unsure,
            Filter::Accepted,
            Filter::Written,
            Filter::Errors,
            Filter::Missing,
        ];
        filters.extend(self.keys.genres.iter().cloned().map(Filter::Genre));
        let bar = row![
            text_input("Search title, artist, album, genre… (/)", &self.search)
                .id(SEARCH)
                .on_input(Message::Search)
                .on_submit(Message::SearchDone)
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

        let sort = self.sort;
        // The columns follow the pane's width: at 1024 px the window still
        // shows every column it needs, none clipped into its neighbour.
        let table = responsive(move |size| {
            let columns = columns_for(size.width);
            let fits = fitting_chars(&columns, size.width);
            let header = row(columns.iter().map(|&col| {
                let arrow = match sort {
                    (c, true) if c == col => " ▲",
                    (c, false) if c == col => " ▼",
                    _ => "",
                };
                button(
                    text(format!("{}{arrow}", col.title()))
                        .size(13)
                        .wrapping(Wrapping::None),
                )
                .style(button::text)
                .padding(2)
                .width(col.width())
                .on_press(Message::Sort(col))
                .into()
            }))
            .spacing(4)
            // Aligned with the rows: their padding, and the scrollbar
            // beside them.
            .padding(iced::Padding::from([0, 4]).right(4.0 + long_list::WIDTH));

            let row_at = |k: usize| -> Element<'_, Message> {
                let r = &self.rows[self.shown[k]];
                let line = row(columns.iter().zip(&fits).map(|(&col, &fit)| {
                    let shown = super::ellipsized(col.cell(r), fit);
                    let cell = container(text(shown).size(13).wrapping(Wrapping::None))
                        .width(col.width())
                        .clip(true);
                    if col != Column::Title {
                        return cell.into();
                    }
                    // A clipped title, or two untagged files of one name:
                    // the whole path tells them apart.
                    iced::widget::tooltip(
                        cell,
                        container(text(r.path.display().to_string()).size(12))
                            .padding(4)
                            .style(container::rounded_box),
                        iced::widget::tooltip::Position::Bottom,
                    )
                    .into()
                }))
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
                mouse_area(styled)
                    .on_press(Message::Select(r.track_id))
                    .into()
            };
            let list = long_list::view(
                LIST,
                self.scroll,
                self.shown.len(),
                ROW_HEIGHT,
                size.height,
                row_at,
                Message::Scrolled,
                Message::ScrollTo,
            );
            column![header, list].spacing(6).into()
        });
        column![bar, table].spacing(6).into()
    }
}

impl Column {
    const ALL: [Column; 8] = [
        Column::Title,
        Column::Artist,
        Column::Album,
        Column::Tag,
        Column::Proposed,
        Column::Share,
        Column::State,
        Column::Decided,
    ];

    fn title(self) -> &'static str {
        match self {
            Column::Title => "Title",
            Column::Artist => "Artist",
            Column::Album => "Album",
            Column::Tag => "Tag",
            Column::Proposed => "Proposed",
            Column::Share => "Votes",
            Column::State => "State",
            Column::Decided => "Decided",
        }
    }

    /// Free text shares what is left; short values get what their longest
    /// value needs ("Electronic?", "overridden").
    fn width(self) -> Length {
        match self {
            Column::Title => Length::FillPortion(4),
            Column::Artist | Column::Album => Length::FillPortion(3),
            Column::Tag => Length::FillPortion(2),
            Column::Proposed | Column::Decided => Length::Fixed(88.0),
            Column::Share => Length::Fixed(44.0),
            Column::State => Length::Fixed(78.0),
        }
    }

    /// What row `r` shows in this column.
    fn cell(self, r: &ReviewRow) -> String {
        match self {
            Column::Title => r.title.clone(),
            Column::Artist => r.artist.clone(),
            Column::Album => r.album.clone(),
            Column::Tag => r.tag_genre.clone(),
            Column::Proposed => proposed_cell(r),
            Column::Share if r.proposed.is_some() && r.share > 0.0 => {
                format!("{:.0}%", r.share * 100.0)
            }
            Column::Share => String::new(),
            Column::State => r.state.label().to_string(),
            Column::Decided => r.decided_text(),
        }
    }
}

/// The columns that fit a table `width` pixels wide: Album gives way
/// first, then the file's genre tag, then Artist; the review's own columns
/// always stay.
pub fn columns_for(width: f32) -> Vec<Column> {
    let dropped: &[Column] = if width >= 740.0 {
        &[]
    } else if width >= 640.0 {
        &[Column::Album]
    } else if width >= 480.0 {
        &[Column::Album, Column::Tag]
    } else {
        &[Column::Album, Column::Tag, Column::Artist]
    };
    Column::ALL
        .into_iter()
        .filter(|c| !dropped.contains(c))
        .collect()
}

/// Average advance of a 13 px glyph, in pixels: a little wide, so that an
/// ellipsized text always fits its cell.
const GLYPH_WIDTH: f32 = 7.4;

/// How many characters fit in each of `columns` in a table `width` pixels
/// wide, laid out as the row lays them out (fixed widths first, the rest
/// shared by portion, 4 px between cells and the list's padding).
fn fitting_chars(columns: &[Column], width: f32) -> Vec<usize> {
    let inner = width - 8.0 - long_list::WIDTH - 4.0 * columns.len().saturating_sub(1) as f32;
    let fixed: f32 = columns
        .iter()
        .filter_map(|c| match c.width() {
            Length::Fixed(w) => Some(w),
            _ => None,
        })
        .sum();
    let portions: u16 = columns
        .iter()
        .map(|c| match c.width() {
            Length::FillPortion(p) => p,
            _ => 0,
        })
        .sum();
    let left = (inner - fixed).max(0.0);
    columns
        .iter()
        .map(|c| {
            let px = match c.width() {
                Length::Fixed(w) => w,
                Length::FillPortion(p) => left * p as f32 / portions.max(1) as f32,
                _ => left,
            };
            ((px / GLYPH_WIDTH).floor() as usize).max(1)
        })
        .collect()
}

/// The model's genre, with a question mark where it is only a leaning
/// (the track is unsure), so the reviewer sees which way it goes.
fn proposed_cell(r: &ReviewRow) -> String {
    match (&r.proposed, r.state) {
        (Some(g), ReviewState::Unsure) => format!("{g}?"),
        (Some(_), _) => r.proposed_text(),
        (None, _) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Column, Filter, Message, Table, columns_for, fitting_chars, natural_cmp, prepare};
    use crate::ui::screen::ellipsized;
    use sonotag_core::catalog::review::{ReviewRow, ReviewState};
    use std::cmp::Ordering;

    #[test]
    fn a_long_title_ends_in_an_ellipsis_within_its_cell() {
        assert_eq!(ellipsized("Short".into(), 10), "Short");
        assert_eq!(ellipsized("Exactly ten".into(), 11), "Exactly ten");
        let cut = ellipsized("A very long title of a symphony".into(), 10);
        assert_eq!(cut, "A very lo…");
        assert_eq!(cut.chars().count(), 10);
        // At 1024 px every column still fits something, the title most.
        let columns = columns_for(1024.0 * 0.6);
        let fits = fitting_chars(&columns, 1024.0 * 0.6);
        assert_eq!(fits.len(), columns.len());
        assert!(fits.iter().all(|&n| n >= 1));
        let title = fits[columns.iter().position(|c| *c == Column::Title).unwrap()];
        assert!(fits.iter().all(|&n| n <= title), "{fits:?}");
    }

    fn row(id: i64, genre: &str, state: ReviewState, share: f32) -> ReviewRow {
        ReviewRow {
            track_id: id,
            path: format!("/m/{id}.wav").into(),
            title: format!("t{id}"),
            artist: String::new(),
            album: String::new(),
            tag_genre: String::new(),
            proposed: Some(genre.into()),
            proposed_also: Vec::new(),
            share,
            decided: None,
            decided_also: Vec::new(),
            state,
            error: None,
        }
    }

    fn shown_ids(t: &Table) -> Vec<i64> {
        t.shown.iter().map(|&i| t.rows[i].track_id).collect()
    }

    #[test]
    fn review_next_keeps_its_order_when_a_decision_takes_a_row_out() {
        use ReviewState::{Proposed, Unsure};
        let mut rows = vec![
            row(1, "Jazz", Unsure, 0.40),
            row(2, "Jazz", Unsure, 0.45),
            row(3, "Rock", Unsure, 0.50),
            row(4, "Rock", Proposed, 0.90),
        ];
        let mut t = Table::default();
        t.set_prepared(prepare(rows.clone()));
        let _ = t.update(Message::Filter(Filter::ReviewNext));
        // Rounds by genre: the least certain Jazz and Rock, then the next.
        assert_eq!(shown_ids(&t), [1, 3, 2, 4]);
        rows[0].decided = Some("Jazz".into());
        rows[0].state = ReviewState::Accepted;
        t.set_prepared(prepare(rows.clone()));
        // Ranked afresh, track 2 would now come first and the selection,
        // moved on to track 3, would skip it.
        assert_eq!(shown_ids(&t), [3, 2, 4]);
        let _ = t.update(Message::Filter(Filter::ReviewNext));
        assert_eq!(shown_ids(&t), [2, 3, 4], "picked again: ranked afresh");
    }

    #[test]
    fn numbers_sort_by_value() {
        let mut v = vec!["clip 10", "clip 2", "clip 1", "clip 02b", "alpha", "clip"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["alpha", "clip", "clip 1", "clip 2", "clip 02b", "clip 10"]
        );
        assert_eq!(natural_cmp("track 007", "track 7"), Ordering::Less);
        assert_eq!(natural_cmp("a", "a"), Ordering::Equal);
    }

    #[test]
    fn narrow_tables_drop_free_text_columns_first() {
        // The table's pane is 3/5 of the window less its margins.
        assert_eq!(columns_for(746.0).len(), 8, "all at 1280 px");
        let at_1024_window = columns_for(593.0);
        assert!(!at_1024_window.contains(&Column::Album));
        assert!(!at_1024_window.contains(&Column::Tag));
        for kept in [
            Column::Title,
            Column::Artist,
            Column::Proposed,
            Column::State,
            Column::Decided,
        ] {
            assert!(at_1024_window.contains(&kept), "{kept:?}");
        }
        assert_eq!(columns_for(300.0)[0], Column::Title);
    }
}
