//! The model end to end on a synthetic 3-class problem: training, saving,
//! classifying a library (with a kill in the middle), retraining from the
//! user's labels, and `eval --json`.

use sonotag_core::cancel::Cancel;
use sonotag_core::config::genres::Vocabulary;
use sonotag_core::dev::synth;
use sonotag_core::features::FeatureParams;
use sonotag_core::features::PatchData;
use sonotag_core::ml::model::{self, Model, ModelCard, TrainingSummary};
use sonotag_core::ml::network::Network;
use sonotag_core::ml::scratch_cnn::Architecture;
use sonotag_core::ml::scratch_training::{self, TrainOptions};
use sonotag_core::proposal::Thresholds;
use sonotag_core::rng;
use sonotag_core::store::Library;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const CLASSES: [&str; 3] = ["Drone", "Beeps", "Clicks"];
const RATE: u32 = 22_050;

/// One track of class `c`, varied by `seed`.
fn signal(c: usize, seconds: f32, seed: u64) -> Vec<f32> {
    let mut rng = rng::Rng::new(seed);
    match c {
        // Low rumbling noise.
        0 => synth::low_noise(seconds, RATE, 150.0 + rng.unit() * 150.0, 0.5, seed),
        // High beeping tones.
        1 => {
            let hz = 3000.0 + rng.unit() * 3000.0;
            synth::tone(hz, seconds, RATE, 0.4)
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    if (i / (RATE as usize / 8)).is_multiple_of(2) {
                        v
                    } else {
                        0.0
                    }
                })
                .collect()
        }
        // Click rhythms.
        _ => synth::clicks(seconds, RATE, 0.2 + rng.unit() * 0.3, 0.9, seed),
    }
}

/// Writes `per_class` tracks per class into `dir`; returns (path, class).
fn make_tracks(dir: &Path, per_class: usize, seconds: f32, seed: u64) -> Vec<(PathBuf, usize)> {
    std::fs::create_dir_all(dir).unwrap();
    let mut out = Vec::new();
    for (c, class) in CLASSES.iter().enumerate() {
        for k in 0..per_class {
            let path = dir.join(format!("{}-{k:02}.wav", class.to_lowercase()));
            synth::write_wav(
                &path,
                &signal(c, seconds, seed + (c * 100 + k) as u64),
                RATE,
                1,
            )
            .unwrap();
            out.push((path, c));
        }
    }
    out
}

struct Fixture {
    _dir: tempfile::TempDir,
    model: PathBuf,
    train_accuracy_on_eval: f32,
}

/// Trains the synthetic model once for all tests in this file.
fn trained() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let train_files = make_tracks(&dir.path().join("train"), 8, 8.0, 1);
        let eval_files = make_tracks(&dir.path().join("eval"), 4, 8.0, 5000);
        let (examples, skipped) = scratch_training::load_examples(&train_files, &|_, _| {});
        assert!(skipped.is_empty());
        let classes: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
        let arch = Architecture::default();
        let opts = TrainOptions {
            seed: 3,
            max_epochs: 12,
            min_epochs: 4,
            patience: 4,
            windows_per_class: 48,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let t = scratch_training::train(
            &examples,
            &classes,
            &arch,
            None,
            &opts,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
        eprintln!(
            "synthetic training took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let model = Model {
            card: ModelCard {
                name: "synthetic".into(),
                format_version: 1,
                created: model::today(),
                classes: classes.clone(),
                backbone: Default::default(),
                features: FeatureParams::current(),
                architecture: Some(arch.clone()),
                parameters: t.net.parameters(),
                mflops_per_slice: arch.flops(3) as f64 / 1e6,
                thresholds: Thresholds::default(),
                calibrated: false,
                training: TrainingSummary::default(),
                metrics: Default::default(),
            },
            net: Network::Scratch(t.net),
            base: dir.path().join("models/synthetic"),
        };
        let base = dir.path().join("models/synthetic");
        model.save(&base).unwrap();
        // Track accuracy on unseen tracks, by vote.
        let mut right = 0;
        for (path, c) in &eval_files {
            let (spec, _) = sonotag_core::features::spectrogram::analyse_file(path).unwrap();
            let (probs, _) = model
                .net
                .infer(&PatchData::Slices(sonotag_core::features::all_slices(
                    &spec,
                )))
                .unwrap();
            let p = sonotag_core::ml::vote::vote(&probs, 3, Thresholds::default());
            right += usize::from(p.proposed() == Some(*c));
        }
        Fixture {
            _dir: dir,
            model: base,
            train_accuracy_on_eval: right as f32 / eval_files.len() as f32,
        }
    })
}

#[test]
fn learns_a_synthetic_problem_and_reloads_identically() {
    let f = trained();
    assert!(
        f.train_accuracy_on_eval > 0.9,
        "track accuracy {:.2} on unseen synthetic tracks",
        f.train_accuracy_on_eval
    );
    let a = Model::load(&f.model).unwrap();
    let b = Model::load(&model::with_ext(&f.model, "json")).unwrap();
    let mut rng = rng::Rng::new(9);
    let slices: Vec<u8> = (0..3 * 128 * 128)
        .map(|_| (rng.next_u64() % 200) as u8)
        .collect();
    let slices = PatchData::Slices(slices);
    assert_eq!(a.net.infer(&slices).unwrap(), b.net.infer(&slices).unwrap());
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let files = make_tracks(dir.path(), 3, 4.0, 77);
    let (examples, _) = scratch_training::load_examples(&files, &|_, _| {});
    let classes: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
    let opts = TrainOptions {
        seed: 11,
        max_epochs: 2,
        min_epochs: 1,
        windows_per_class: 16,
        ..Default::default()
    };
    let run = || {
        let t = scratch_training::train(
            &examples,
            &classes,
            &Architecture::default(),
            None,
            &opts,
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
        let slice = examples[0].spec.slice(0);
        t.net.infer(&slice, 1).unwrap().0
    };
    assert_eq!(run(), run());
}

fn sonotag(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("XDG_CONFIG_HOME", db.parent().unwrap().join("config"))
        .output()
        .unwrap()
}

/// The standard output of a run that must succeed (else its errors).
fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A labels file in `dir` for `files` (paths under `dir`), each of the genre
/// `genre_of` its class, in the eval split.
fn labels_tsv(
    dir: &Path,
    files: &[(PathBuf, usize)],
    genre_of: impl Fn(usize) -> String,
) -> PathBuf {
    let tsv = dir.join("labels.tsv");
    let mut text = String::from("genre\tpath\tsplit\n");
    for (p, c) in files {
        let rel = p.strip_prefix(dir).unwrap();
        text.push_str(&format!("{}\t{}\teval\n", genre_of(*c), rel.display()));
    }
    std::fs::write(&tsv, text).unwrap();
    tsv
}

/// The output of `sonotag eval` of `model` on `labels`, which must succeed.
fn eval(db: &Path, labels: &Path, model: &Path, more: &[&str]) -> String {
    let mut args = vec![
        "eval",
        "--labels",
        labels.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    ok(&sonotag(db, &args))
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn classify_resumes_after_a_kill_without_duplicates() {
    let f = trained();
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    let n = 3 * 40;
    make_tracks(&music, 40, 30.0, 300);
    let db = dir.path().join("lib.sqlite");
    assert!(
        sonotag(&db, &["scan", music.to_str().unwrap()])
            .status
            .success()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("--db")
        .arg(&db)
        .args(["classify", "--model", f.model.to_str().unwrap()])
        .spawn()
        .unwrap();
    // Kill it as soon as the first batch is committed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = 0;
    while std::time::Instant::now() < deadline {
        if let Ok(c) = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT count(*) FROM analyses", [], |r| r.get::<_, i64>(0)))
        {
            seen = c;
            if c > 0 {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = count(&db, "SELECT count(*) FROM analyses");
    assert!(
        seen > 0 && after_kill < n,
        "killed with {after_kill} of {n} analysed"
    );
    let text = ok(&sonotag(
        &db,
        &["classify", "--model", f.model.to_str().unwrap()],
    ));
    assert!(
        text.contains(&format!("{after_kill} already done")),
        "{text}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM analyses"), n);
    assert_eq!(
        count(&db, "SELECT count(DISTINCT track_id) FROM analyses"),
        n
    );
    assert_eq!(count(&db, "SELECT count(*) FROM proposals"), n);
    // Nothing left to do on a third run.
    let out = sonotag(&db, &["classify", "--model", f.model.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 classified"));
}

#[test]
fn a_head_retrain_of_the_from_scratch_network_points_to_retrain_full() {
    // A head retrain starts from the training set the model learnt from
    // (its base set, which the musicnn default ships); the from-scratch
    // network has none, so only `--full` may retrain it (and the musicnn
    // tests cover the head retrain itself).
    let f = trained();
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    let files = make_tracks(&music, 3, 6.0, 900);
    let db = dir.path().join("lib.sqlite");
    assert!(
        sonotag(&db, &["scan", music.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        sonotag(&db, &["classify", "--model", f.model.to_str().unwrap()])
            .status
            .success()
    );
    let mut lib = Library::open(&db).unwrap();
    for (path, c) in &files {
        let id = lib.track_by_path(path).unwrap().unwrap().id;
        let genre = if *c == 0 { "Ambient" } else { "Electronic" };
        sonotag_core::workflow::decide::set_genre(&mut lib, id, genre, None, false).unwrap();
    }
    let err = sonotag_core::workflow::retrain::retrain_head(
        &mut lib,
        &Vocabulary::default(),
        &dir.path().join("models"),
        &sonotag_core::ml::corrections::RetrainOptions::default(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("retrain --full"), "{err}");
    assert_eq!(
        lib.models::<ModelCard>().unwrap().len(),
        1,
        "nothing registered"
    );
}

#[test]
fn eval_json_has_the_documented_fields() {
    let f = trained();
    let dir = tempfile::tempdir().unwrap();
    let files = make_tracks(&dir.path().join("set"), 2, 5.0, 4000);
    let tsv = labels_tsv(dir.path(), &files, |c| CLASSES[c].to_string());
    let db = dir.path().join("unused.sqlite");
    let out = eval(&db, &tsv, &f.model, &["--split", "eval", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "tracks",
        "accuracy",
        "coverage",
        "precision",
        "classes",
        "per_genre",
        "confusion",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["tracks"].as_array().unwrap().len(), 6);
    assert!(v["accuracy"].as_f64().unwrap() > 0.8, "{v}");
    assert!(!db.exists(), "eval needs no library");
}

/// `sonotag eval` shows, beside the shipped model's figures on each source
/// left out, their sum and how often the leading genre was right: the
/// most right proposals any track threshold could give, which tells a weak
/// listener from careful thresholds (issue 19).
#[test]
fn eval_shows_the_most_right_any_threshold_could_give_on_unseen_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = root.join("models/default");
    let card = Model::load(&base).unwrap().card;
    let unseen = card.unseen_sources();
    for (name, s) in &unseen {
        let leading = s
            .leading_right
            .unwrap_or_else(|| panic!("{name}: not measured"));
        assert!(s.right <= leading && leading <= s.tracks, "{name}: {s}");
    }
    let total = card.unseen_total().unwrap();
    let leading = total.leading_right.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = make_tracks(&dir.path().join("set"), 1, 4.0, 4100);
    let tsv = labels_tsv(dir.path(), &files, |_| "Classical".to_string());
    let stdout = eval(&dir.path().join("unused.sqlite"), &tsv, &base, &[]);
    assert!(
        stdout.contains(&format!("all {}  ", unseen.len()))
            && stdout.contains(&format!(
                "the leading genre, every patch voting, was right for {leading} of {}",
                total.tracks
            )),
        "{stdout}"
    );
}

#[test]
fn shipped_models_match_their_cards_on_gtzan_eval() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let labels = root.join("../shared/data/gtzan-mini/labels.tsv");
    if !labels.exists() {
        eprintln!("skipped: {} not present", labels.display());
        return;
    }
    // (model, accuracy with its thresholds at least, precision at least).
    // The default's thresholds are the most precise on sources it never
    // heard (models/README.md, "What a proposal without ? is worth"), and its head is
    // shrunk hard so that it hears genres rather than sources: on GTZAN
    // they leave more clips unsure (73.3 %) at 100 % precision; issue 19's
    // 85 % is not met by this model.
    for (name, min_accuracy, min_precision) in [("default", 0.7, 0.95), ("scratch-cnn", 0.6, 0.0)] {
        let base = root.join("models").join(name);
        let card = Model::load(&base).unwrap().card;
        assert!(card.training.seconds < 3600.0);
        let expected = &card.metrics["gtzan-mini eval"];
        let dir = tempfile::tempdir().unwrap();
        let out = eval(
            &dir.path().join("unused.sqlite"),
            &labels,
            &base,
            &["--split", "eval", "--json"],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["tracks"].as_array().unwrap().len(), 30);
        let accuracy = v["accuracy"].as_f64().unwrap();
        assert!(
            (accuracy - expected["accuracy"].as_f64().unwrap()).abs() < 1e-6,
            "{name}: {accuracy} vs card {expected}"
        );
        assert!(accuracy >= min_accuracy, "{name}: accuracy {accuracy}");
        let precision = v["precision"].as_f64().unwrap();
        assert!(precision >= min_precision, "{name}: precision {precision}");
        assert!(
            std::fs::metadata(model::with_ext(&base, "safetensors"))
                .unwrap()
                .len()
                < 10_000_000
        );
    }
}
