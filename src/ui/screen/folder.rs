//! The folder bar: type a music folder's path, browse for one, reopen a
//! recent one, or drop one on the window. It only says which folder; the
//! shell scans it.

use iced::widget::{button, pick_list, row, text_input};
use iced::{Element, Length, Task};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The folder bar's state: what is typed.
#[derive(Debug, Default)]
pub struct FolderBar {
    pub input: String,
}

/// Messages of the folder bar.
#[derive(Clone, Debug)]
pub enum Message {
    Input(String),
    OpenTyped,
    Browse,
    /// The folder dialog's answer (`None`: cancelled).
    Picked(Option<PathBuf>),
    /// The folder dialog answered at once: none could be shown.
    NoDialog,
    OpenRecent(PathBuf),
    /// A file or folder dropped on the window.
    Dropped(PathBuf),
}

/// What the folder bar asks of the shell.
#[derive(Clone, Debug)]
pub enum Event {
    Open(PathBuf),
    Status(String),
}

impl FolderBar {
    /// Shows `folder` as the one open.
    pub fn opened(&mut self, folder: &Path) {
        self.input = folder.display().to_string();
    }

    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        let event = match message {
            Message::Input(s) => {
                self.input = s;
                None
            }
            Message::OpenTyped => Some(Event::Open(expand_home(self.input.trim()))),
            Message::Browse => return (browse(), None),
            Message::NoDialog => Some(Event::Status(
                "No folder dialog is available on this desktop: type the folder's path and \
                 press Open."
                    .into(),
            )),
            Message::Picked(Some(p)) | Message::OpenRecent(p) => Some(Event::Open(p)),
            Message::Picked(None) => Some(Event::Status("No folder chosen.".into())),
            Message::Dropped(p) => Some(Event::Open(if p.is_dir() {
                p
            } else {
                p.parent().map(PathBuf::from).unwrap_or(p)
            })),
        };
        (Task::none(), event)
    }

    pub fn view<'a>(&'a self, recent: &'a [PathBuf]) -> Element<'a, Message> {
        row![
            text_input("Music folder, e.g. ~/Music", &self.input)
                .on_input(Message::Input)
                .on_submit(Message::OpenTyped)
                .width(Length::Fill),
            button("Open").on_press(Message::OpenTyped),
            button("Browse…").on_press(Message::Browse),
            pick_list(
                recent
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>(),
                None::<String>,
                |s| Message::OpenRecent(PathBuf::from(s))
            )
            .placeholder("Recent"),
        ]
        .spacing(8)
        .align_y(iced::Alignment::Center)
        .into()
    }
}

/// `~/Music` → the home folder's `Music`.
fn expand_home(raw: &str) -> PathBuf {
    match raw.strip_prefix("~/") {
        Some(rest) => directories::BaseDirs::new()
            .map(|b| b.home_dir().join(rest))
            .unwrap_or_else(|| PathBuf::from(raw)),
        None => PathBuf::from(raw),
    }
}

/// Asks the desktop's folder dialog.
fn browse() -> Task<Message> {
    Task::perform(
        async {
            let asked = std::time::Instant::now();
            let picked = rfd::AsyncFileDialog::new()
                .set_title("Open a music folder")
                .pick_folder()
                .await
                .map(|h| h.path().to_path_buf());
            // Without a desktop portal the dialog answers "none" at once,
            // as a cancel would: nobody cancels that fast.
            if picked.is_none() && asked.elapsed() < Duration::from_millis(300) {
                Message::NoDialog
            } else {
                Message::Picked(picked)
            }
        },
        |m| m,
    )
}
