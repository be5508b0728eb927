//! The command line as parsed: every subcommand and flag, with its help.
//! Nothing runs here; `cli::run` hands each command to the module that
//! carries it out.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// What `sonotag --help` and the man page say before the options.
const LONG_ABOUT: &str = "Puts genres on a music library by listening to it.

Sonotag reads a music folder into a library (scan), listens to 3-second \
patches of each track and proposes a genre by their vote, or says unsure \
(classify). You accept or override the proposals (accept, override, or the \
window), and only then are genres written into the files' tags (apply), \
after a confirmation; every write can be undone byte for byte (undo). \
Your decisions teach the model (retrain). With no command, the window \
opens.";

/// What the long help and the man page say after the options.
const AFTER_LONG_HELP: &str = "Files:
  ~/.local/share/sonotag/library.sqlite   the library (--db or SONOTAG_DB for another)
  ~/.local/share/sonotag/models/          models made by retraining
  ~/.config/sonotag/settings.toml         the window's settings
  ~/.config/sonotag/genres.toml           the genre vocabulary and its super-genres

Example:
  sonotag scan ~/Music && sonotag classify && sonotag proposals --review-next

The manual: /usr/share/doc/sonotag/ (docs/ in the source tree).";

/// Sonotag: puts genres on a music library by listening to it.
#[derive(Parser, Debug)]
#[command(
    name = "sonotag",
    version,
    about,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Cli {
    /// Library database file [default: ~/.local/share/sonotag/library.sqlite]
    #[arg(long, global = true, value_name = "PATH", env = "SONOTAG_DB")]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the window (the default when no command is given)
    Gui {
        /// A music folder to scan and classify at once
        folder: Option<PathBuf>,
    },
    /// Scan folders for audio files and record their tags in the library
    Scan {
        /// Folders to scan (recursively)
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// List tracks in the library
    Tracks {
        /// Only tracks tagged with this genre (case-insensitive)
        #[arg(long)]
        genre: Option<String>,
        /// List tracks whose files have vanished instead
        #[arg(long)]
        missing: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// List files that could not be scanned or decoded, and why
    Errors {
        /// List every file the scans skipped instead (images, text, audio
        /// this build cannot decode), each with its reason
        #[arg(long)]
        skipped: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Forget the tracks whose files are missing (`tracks --missing`): their
    /// decisions, analyses and write history go with them. Nothing else
    /// removes a track; a missing file that comes back keeps its history
    Forget,
    /// Show what Sonotag reads from one file: properties, tags, slices
    Info {
        file: PathBuf,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Write a file's mel spectrogram as a greyscale PNG
    Spectrogram {
        file: PathBuf,
        /// Output image (PNG)
        #[arg(short, long)]
        output: PathBuf,
        /// Mark slice boundaries (every 2.56 s)
        #[arg(long)]
        grid: bool,
    },
    /// Train a model from labelled files (TSV: genre, path[, split])
    Train(TrainArgs),
    /// Write a backbone's embeddings of labelled files as JSON lines (genre,
    /// path, split, source, patches × width values), for analysis outside
    /// Sonotag
    Embed {
        /// Labels TSV files (genre, path[, split])
        #[arg(long = "labels", value_name = "TSV", required = true)]
        labels: Vec<PathBuf>,
        /// Which pretrained network embeds the patches
        #[arg(long, default_value = "musicnn-msd",
              value_parser = clap::builder::PossibleValuesParser::new(
                  sonotag_core::ml::backbone::BackboneSpec::names().into_iter().filter(|n| *n != "scratch-cnn")))]
        backbone: String,
        /// Evenly spaced patches per track at most
        #[arg(long, default_value_t = 30)]
        max_patches: usize,
        /// Output file
        #[arg(long)]
        out: PathBuf,
    },
    /// Classify labelled files and report accuracy, coverage and precision
    Eval(EvalArgs),
    /// Suggest vocals, mood, era and genres beyond the model's for labelled
    /// files (every patch heard), summed by their true genre
    Describe {
        /// Labels TSV (genre, path[, split])
        #[arg(long = "labels", value_name = "TSV")]
        labels: PathBuf,
        /// Only rows of this split (train or eval)
        #[arg(long)]
        split: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Play a user who reviews K tracks of a labelled library and retrains:
    /// accuracy, coverage and precision on the tracks left untouched
    SimulateCorrections(SimulateArgs),
    /// Classify every scanned track not yet analysed with the model
    Classify {
        /// Model path without extension [default: the library's active model, else the shipped one]
        #[arg(long)]
        model: Option<PathBuf>,
        /// Redo tracks already analysed with this model
        #[arg(long)]
        force: bool,
        /// Analyse this many evenly spaced patches per long track (seeking)
        /// [default: 6, the 5 between them where those 6 disagree, and every
        /// patch where those 11 leave the track unsure]
        #[arg(long, conflicts_with = "full")]
        sample: Option<usize>,
        /// Analyse every slice of every track (slower)
        #[arg(long)]
        full: bool,
    },
    /// List genre proposals of the active model
    Proposals {
        /// Only proposals in this state (proposed or unsure)
        #[arg(long)]
        state: Option<sonotag_core::proposal::ProposalState>,
        /// Only undecided tracks, those whose decision would teach the
        /// model most first (least certain, spread over genres)
        #[arg(long)]
        review_next: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Retrain on your corrections and tags (a new head in seconds; --full fine-tunes all)
    Retrain {
        /// Fine-tune the whole network (decodes the labelled tracks; slow)
        #[arg(long)]
        full: bool,
        /// Random seed
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also learn from the genre tags of tracks you have not decided
        /// (through the vocabulary's map; they weigh less than decisions)
        #[arg(long, conflicts_with = "full")]
        use_tags: bool,
    },
    /// Show or set how many genres a track of this library may get, and
    /// the least share of the votes a further genre needs; proposals are
    /// re-voted at once
    GenresPerTrack {
        /// The most genres one track gets (1: one genre a track)
        most: Option<usize>,
        /// The least share of the votes a second or third genre needs
        #[arg(long, value_name = "SHARE")]
        least_share: Option<f32>,
    },
    /// List the models registered in the library, or switch to one
    Models {
        /// Make this model (by name) the active one and re-vote with it
        #[arg(long = "use", value_name = "NAME")]
        use_model: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Accept the proposed genre of tracks (by id or path), or of every
    /// undecided proposal with --min-share
    Accept {
        #[arg(required_unless_present = "min_share")]
        tracks: Vec<String>,
        /// Accept every undecided proposal with at least this share of the
        /// votes (0.5–1.0, e.g. 0.9)
        #[arg(long, value_name = "SHARE", conflicts_with = "tracks")]
        min_share: Option<f32>,
        /// Of a proposal naming several genres, accept this one alone
        #[arg(long, value_name = "GENRE", conflicts_with = "min_share")]
        only: Option<String>,
    },
    /// Set your own genre for a track (by id or path)
    Override {
        track: String,
        /// The genre to write, as typed (a vocabulary genre is spelled as the
        /// vocabulary spells it); several separated by `;` ("Blues; Rock")
        genre: String,
        /// Allow replacing a genre the file already has
        #[arg(long)]
        replace: bool,
        /// Write the genre's super-genre from the vocabulary's map instead (e.g. Soul → Pop)
        #[arg(long)]
        super_genre: bool,
    },
    /// Take decisions back (the tracks return to the model's proposal)
    Clear {
        /// Track ids or paths
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        tracks: Vec<String>,
        /// Every decision
        #[arg(long)]
        all: bool,
    },
    /// List what you decided: track, genre, accepted or overridden, when
    Decisions {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Write accepted/overridden genres into the files' tags, after confirmation
    Apply {
        /// Only show what would be written
        #[arg(long)]
        dry_run: bool,
        /// Replace genres files already have (default: fill only empty ones)
        #[arg(long)]
        replace_existing: bool,
        /// Write ID3v2.3 instead of ID3v2.4
        #[arg(long)]
        id3v23: bool,
        /// How several genres are joined in an ID3v2.3 frame (v2.4 keeps
        /// them as separate values)
        #[arg(long, value_enum, default_value_t = V23Join::Semicolon)]
        v23_join: V23Join,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Undo a batch of tag writes (default: the latest)
    Undo {
        batch: Option<i64>,
        /// Accepted as `apply` accepts it; undo asks nothing, since it only
        /// puts back the bytes a write changed, and a file changed since is
        /// left alone
        #[arg(long, short)]
        yes: bool,
    },
    /// List batches of tag writes
    History,
    /// Feed damaged copies of good files to every stage (tags, decoding for
    /// both backbones, tag writing) and report panics, hangs and peak memory
    Fuzz {
        /// Cases to run
        #[arg(long, default_value_t = 10_000)]
        cases: u64,
        /// Seed of the mutations (a case is reproduced by seed and number)
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First case number
        #[arg(long, default_value_t = 0)]
        first: u64,
        /// Seconds after which a case counts as hung
        #[arg(long, default_value_t = 60)]
        limit_s: u64,
        /// Good files to mutate [default: the test fixtures, one per format]
        sources: Vec<PathBuf>,
        /// Folder for the cases; failing ones stay there [default: a temporary folder]
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Measure analysis, classification, scanning and window speed on
    /// generated audio and made-up libraries (figures, not pass/fail)
    Bench(BenchArgs),
    /// Write the man pages and the bash, zsh and fish completions into a
    /// folder (for packaging: the .deb installs what this writes)
    #[command(hide = true)]
    HelpFiles {
        /// The folder to write into (made if need be)
        out: PathBuf,
    },
}

/// `sonotag train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Labels TSV files (header with `genre` and `path`, optional `split`)
    #[arg(
        long = "labels",
        value_name = "TSV",
        required_unless_present = "from_library"
    )]
    pub labels: Vec<PathBuf>,
    /// Use the library's trusted labels (accepted, overridden, known tags)
    #[arg(long)]
    pub from_library: bool,
    /// Output path without extension (writes OUT.safetensors and OUT.json)
    #[arg(long, default_value = "models/model")]
    pub out: PathBuf,
    /// Random seed (same seed, same data → same model)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Maximum epochs (early stopping on validation track accuracy)
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Evenly spaced slices taken per track at most
    #[arg(long, default_value_t = 30)]
    pub max_slices: usize,
    /// Output channels of the four convolution blocks
    #[arg(long, value_delimiter = ',', default_value = "8,16,32,64")]
    pub channels: Vec<usize>,
    /// Average-pool factor on the 128×128 input
    #[arg(long, default_value_t = 4)]
    pub input_pool: usize,
    /// Map u8 to [-1, 1] instead of standardising each slice
    #[arg(long)]
    pub no_standardise: bool,
    /// Train without augmentation
    #[arg(long)]
    pub no_augment: bool,
    /// Precision the calibrated thresholds must reach on validation tracks
    #[arg(long, default_value_t = 0.95)]
    pub target_precision: f32,
    /// The network under the genre head: a pretrained backbone such as
    /// musicnn-msd (frozen; a linear head is trained) or scratch-cnn
    /// (trained whole)
    #[arg(long, default_value = "musicnn-msd",
          value_parser = clap::builder::PossibleValuesParser::new(
              sonotag_core::ml::backbone::BackboneSpec::names()))]
    pub backbone: String,
    /// Cross-validation folds for calibrating a pretrained backbone's thresholds
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    /// The head's inverse regularisation strength (scikit-learn's C) on a
    /// pretrained backbone; smaller shrinks it more
    #[arg(long, default_value_t = sonotag_core::ml::head::HeadOptions::default().c)]
    pub head_c: f64,
    /// Leave out rows whose path has this folder (a source-disjoint check)
    #[arg(long)]
    pub exclude_folder: Vec<String>,
}

/// `sonotag eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Labels TSV (genre, path[, split])
    #[arg(long = "labels", value_name = "TSV")]
    pub labels: PathBuf,
    /// Only rows of this split (train or eval)
    #[arg(long)]
    pub split: Option<String>,
    /// Model path without extension [default: the shipped default model]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Override the model's slice threshold
    #[arg(long)]
    pub slice_threshold: Option<f32>,
    /// Override the model's track threshold
    #[arg(long)]
    pub track_threshold: Option<f32>,
    /// Only rows whose path has this folder (e.g. one game's soundtrack)
    #[arg(long)]
    pub folder: Option<String>,
    /// Let only this many evenly spaced patches per track vote
    #[arg(long)]
    pub sample: Option<usize>,
    /// Let the patches vote as `classify` chooses them: 6, 11 where those
    /// 6 disagree, and every patch where those 11 leave the track unsure
    #[arg(long, conflicts_with = "sample")]
    pub as_classify: bool,
    /// Restrict the choice to these genres (comma-separated), e.g. classical,electronic
    #[arg(long, value_delimiter = ',')]
    pub among: Vec<String>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

/// `sonotag bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Seconds of generated audio per track
    #[arg(long, default_value_t = 180.0)]
    pub seconds: f32,
    /// Tracks analysed in parallel for the tracks/s figure
    #[arg(long, default_value_t = 12)]
    pub tracks: usize,
    /// Files for the scan benchmark (0 skips it)
    #[arg(long, default_value_t = 10_000)]
    pub scan_files: usize,
    /// Only compare the inference speed of candidate network shapes, and time a head retrain
    #[arg(long)]
    pub inference_only: bool,
    /// Only time `classify` end to end on generated MP3s (both backbones)
    #[arg(long, conflicts_with = "inference_only")]
    pub classify_only: bool,
    /// Patches sampled per track in the classify figures [default: classify's:
    /// 6, and 11 where those 6 disagree]
    #[arg(long)]
    pub sample: Option<usize>,
    /// Time `classify` on the music files under this folder instead of on
    /// generated tracks (with --classify-only). Every file is classified
    /// three ways, once with every patch: a folder of a few hundred tracks
    /// is plenty
    #[arg(long, requires = "classify_only")]
    pub music: Option<PathBuf>,
    /// Only classify this many short tracks (hard links to one 10-s MP3)
    /// with the default model, printing resident memory as it goes
    #[arg(long, conflicts_with_all = ["inference_only", "classify_only"])]
    pub memory_tracks: Option<usize>,
    /// Only measure the window on a made-up library of this many tracks:
    /// how long it takes to open, and how long each action holds the
    /// UI thread
    #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks"])]
    pub window_tracks: Option<usize>,
    /// Only time writing a genre into this many small files of every
    /// format (and undoing it), journal and syncs included
    #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks", "window_tracks"])]
    pub apply_files: Option<usize>,
    /// Only time `retrain` end to end on a made-up library of this many
    /// analysed tracks, all decided, and on one ten times larger with one
    /// in ten decided
    #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks", "window_tracks", "apply_files"])]
    pub retrain_tracks: Option<usize>,
    /// Only time writing a genre into one MP3 of this many MiB whose tag
    /// must grow, and its undo, with peak memory
    #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks", "window_tracks", "apply_files", "retrain_tracks"])]
    pub apply_large_mib: Option<usize>,
    /// Only time scanning --scan-files small files, rescanning them, and
    /// rescanning after their root folder moved (every track re-linked)
    #[arg(long, conflicts_with_all = ["inference_only", "classify_only", "memory_tracks", "window_tracks", "apply_files", "retrain_tracks", "apply_large_mib"])]
    pub scan_only: bool,
}

/// `sonotag simulate-corrections`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Labels TSVs (genre, path[, split]); train rows form the base set
    #[arg(long = "labels", value_name = "TSV", required = true)]
    pub labels: Vec<PathBuf>,
    /// The user's library: `eval` (the eval rows), or a source folder
    /// (e.g. wesnoth) held out of the base set; repeatable
    #[arg(long, default_value = "eval")]
    pub library: Vec<String>,
    /// Play the user on this folder instead, through a real library: scan,
    /// classify, accept or override, retrain, with the shipped model and
    /// its base set; the labelled files under it are reviewed and scored
    #[arg(long, value_name = "DIR", conflicts_with = "library")]
    pub folder: Option<PathBuf>,
    /// Numbers of reviewed tracks
    #[arg(long, value_delimiter = ',', default_value = "0,5,10,20")]
    pub k: Vec<usize>,
    /// With --folder: the most genres a track gets (1 measures the
    /// one-genre proposals issue 35 judges; 2 the default of a library)
    #[arg(long, default_value_t = 1)]
    pub most_genres: usize,
    /// Weights of a decision, in base tracks
    #[arg(long, value_delimiter = ',', default_value = "10")]
    pub weights: Vec<f32>,
    /// Review orders: review-next, random (one per seed), wrong-first,
    /// by-genre
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "review-next,random,wrong-first,by-genre"
    )]
    pub orders: Vec<String>,
    /// Random orders, seeded 1 to N
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// The user retrains after every N reviews (the orders that follow the
    /// model then take what is left by the new one)
    #[arg(long, default_value_t = 5)]
    pub retrain_every: usize,
    /// What the training sources left out weigh against the user's
    /// reviews when thresholds are judged on the library, in tracks
    #[arg(long, default_value_t = sonotag_core::ml::on_library::PRIOR_TRACKS)]
    pub prior_tracks: f32,
}

/// `apply --v23-join`: how several genres share one ID3v2.3 frame.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum V23Join {
    /// "Blues; Rock" (as Picard writes)
    Semicolon,
    /// "Blues / Rock"
    Slash,
    /// NUL between values, as in ID3v2.4
    Nul,
}

impl From<V23Join> for sonotag_core::tags::formats::Id3v23Join {
    fn from(j: V23Join) -> Self {
        match j {
            V23Join::Semicolon => Self::Semicolon,
            V23Join::Slash => Self::Slash,
            V23Join::Nul => Self::Nul,
        }
    }
}
