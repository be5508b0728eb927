//! Models on the musicnn backbone through the whole pipeline: the shipped
//! default classifies a library with musicnn's own patches, a head retrain
//! from the user's corrections makes a new musicnn model in seconds, and
//! mismatched cards are refused with a clear error.

use sonotag_core::config::genres::Vocabulary;
use sonotag_core::dev::synth;
use sonotag_core::features::FeatureKind;
use sonotag_core::ml::backbone::BackboneSpec;
use sonotag_core::ml::model::ModelCard;
use sonotag_core::ml::model::{self, Model};
use sonotag_core::store::Library;
use std::path::{Path, PathBuf};
use std::process::Command;

const RATE: u32 = 22_050;

fn sonotag(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("XDG_CONFIG_HOME", db.parent().unwrap().join("config"))
        .env("XDG_CACHE_HOME", db.parent().unwrap().join("cache"))
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Scans `folder` into the library `db` and classifies it, as a user would.
fn scan_and_classify(db: &Path, folder: &Path) {
    ok(&sonotag(db, &["scan", folder.to_str().unwrap()]));
    ok(&sonotag(db, &["classify"]));
}

/// Whether every path of data kept outside the repository is present;
/// where one is not, says the test is skipped.
fn present(paths: &[&Path]) -> bool {
    let absent: Vec<String> = paths
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !absent.is_empty() {
        eprintln!("skipped: {} absent", absent.join(", "));
    }
    absent.is_empty()
}

/// Drones (low noise) and beat tracks (clicks over music), `per_class` each.
fn library_of_two_kinds(dir: &Path, per_class: usize) -> Vec<(PathBuf, &'static str)> {
    std::fs::create_dir_all(dir).unwrap();
    let mut out = Vec::new();
    for k in 0..per_class {
        let seed = 40 + k as u64;
        let drone = dir.join(format!("drone-{k:02}.wav"));
        synth::write_wav(
            &drone,
            &synth::low_noise(12.0, RATE, 200.0, 0.5, seed),
            RATE,
            1,
        )
        .unwrap();
        out.push((drone, "Ambient"));
        let beat = dir.join(format!("beat-{k:02}.wav"));
        let clicks = synth::clicks(12.0, RATE, 0.25, 0.9, seed);
        synth::write_wav(&beat, &clicks, RATE, 1).unwrap();
        out.push((beat, "Electronic"));
    }
    out
}

#[test]
fn shipped_default_is_musicnn_and_classifies_with_its_patches() {
    let card = Model::load(&model::default_model_path()).unwrap().card;
    assert_eq!(card.backbone.name, "musicnn-msd");
    assert_eq!(card.features.version, FeatureKind::MusicnnMel.version());
    assert!(
        card.calibrated,
        "shipped thresholds come from cross-validation"
    );

    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    let files = library_of_two_kinds(&music, 2);
    let db = dir.path().join("lib.sqlite");
    ok(&sonotag(&db, &["scan", music.to_str().unwrap()]));
    let text = ok(&sonotag(&db, &["classify", "--full"]));
    assert!(
        text.contains(&format!("{} classified", files.len())),
        "{text}"
    );
    // 12 s → 4 patches of 187 frames, starting every 2.992 s (149.6 columns).
    let lib = Library::open(&db).unwrap();
    let active = lib.active_model::<ModelCard>().unwrap().unwrap();
    for (path, _) in &files {
        let id = lib.track_by_path(path).unwrap().unwrap().id;
        let a = lib.analysis(id, active.id).unwrap().unwrap();
        assert_eq!(a.slices, 4);
        assert_eq!(a.slice_starts, vec![0, 150, 299, 449]);
        assert_eq!(a.embeddings.len(), 4 * 200);
        assert_eq!(a.probabilities.len(), 4 * card.classes.len());
    }
}

#[test]
fn head_retrain_on_musicnn_embeddings_learns_the_users_genres() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    let files = library_of_two_kinds(&music, 6);
    let db = dir.path().join("lib.sqlite");
    scan_and_classify(&db, &music);
    let mut lib = Library::open(&db).unwrap();
    for (path, genre) in &files {
        let id = lib.track_by_path(path).unwrap().unwrap().id;
        sonotag_core::workflow::decide::set_genre(&mut lib, id, genre, None, false).unwrap();
    }
    let models_dir = dir.path().join("models");
    let report = sonotag_core::workflow::retrain::retrain_head(
        &mut lib,
        &Vocabulary::default(),
        &models_dir,
        &sonotag_core::ml::corrections::RetrainOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    // Every genre the model knew stays; the user's own genre joins.
    let default = Model::load(&model::default_model_path()).unwrap().card;
    for g in &default.classes {
        assert!(
            report.classes.contains(g),
            "{g} forgotten: {:?}",
            report.classes
        );
    }
    assert!(report.classes.contains(&"Ambient".to_string()));
    // Everything the shipped model learnt from is kept: its whole base set.
    let shipped_base =
        sonotag_core::ml::base_set::load(&model::default_model_path(), default.classes.len())
            .unwrap();
    assert!(!shipped_base.tracks.is_empty());
    assert_eq!(report.base_tracks, shipped_base.tracks.len());
    assert_eq!(report.decided_tracks, files.len());
    match &report.check {
        sonotag_core::ml::corrections::Check::Compared {
            tracks, new_right, ..
        } => {
            assert_eq!(*tracks, files.len());
            assert!(*new_right * 10 >= tracks * 9, "{report}");
        }
        other => panic!("12 decisions are enough to check: {other:?}"),
    }
    assert!(report.activated, "{report}");
    assert!(report.seconds < 30.0, "{} s", report.seconds);
    // The new version sits on the same backbone and reloads from its own
    // folder (the backbone weights are found among the shipped models).
    let personal = Model::load(&models_dir.join(&report.model_name)).unwrap();
    assert_eq!(personal.card.backbone.name, "musicnn-msd");
    let active = lib.active_model::<ModelCard>().unwrap().unwrap();
    let rows = lib.proposals(active.id, None).unwrap();
    let right = rows
        .iter()
        .filter(|r| r.genre.as_deref() == r.label.as_deref())
        .count();
    assert!(right * 10 >= rows.len() * 9, "{right} of {}", rows.len());
    // Only the head of a frozen backbone can learn.
    let out = sonotag(&db, &["retrain", "--full"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("frozen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `sonotag retrain` says what the new model's proposals are worth: on
    // the user's decided tracks and on the base sources left out.
    let out = ok(&sonotag(&db, &["retrain"]));
    assert!(
        out.contains("on your own decided tracks") && out.contains("sources it never heard"),
        "{out}"
    );
}

#[test]
fn a_card_whose_features_do_not_match_its_backbone_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = model::default_model_path();
    let base = dir.path().join("odd");
    let mut card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model::with_ext(&shipped, "json")).unwrap())
            .unwrap();
    // A musicnn head claiming the display spectrogram's features.
    card["features"]["kind"] = "display-mel".into();
    card["features"]["version"] = 1.into();
    std::fs::write(model::with_ext(&base, "json"), card.to_string()).unwrap();
    std::fs::copy(
        model::with_ext(&shipped, "safetensors"),
        model::with_ext(&base, "safetensors"),
    )
    .unwrap();
    let err = Model::load(&base).err().expect("refused").to_string();
    assert!(
        err.contains("features version 1") && err.contains("odd.json"),
        "{err}"
    );
    // The from-scratch model still loads, with its own features.
    let scratch = Model::load(&shipped.with_file_name("scratch-cnn")).unwrap();
    assert_eq!(scratch.card.backbone, BackboneSpec::scratch_cnn());
}

/// The scenario of issue 18: a new user of the 100 GTZAN clips overrides
/// three Jazz and three Rock tracks and retrains. The model in force after
/// the retrain (the new one, or the old one where the guard keeps it) must
/// still know every genre, propose nothing wrong among the eval clips
/// (7–9), and be right on them at least as often as the default model,
/// minus two clips. (Minus one until issue 19: with the more strongly shrunk head,
/// the default proposes 22 clips at 100 %, and after the retrain two of
/// them lose one of their six votes, 5/6 → 4/6, under the 0.7 share, so
/// they turn unsure, not wrong.) Skips without `../shared/data`.
#[test]
fn six_corrections_keep_every_genre_and_the_eval_clips() {
    let gtzan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/gtzan-mini");
    if !present(&[&gtzan.join("labels.tsv")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    scan_and_classify(&db, &gtzan);
    let eval_right = |lib: &Library| {
        let active = lib.active_model::<ModelCard>().unwrap().unwrap();
        let rows = lib.proposals(active.id, None).unwrap();
        let mut right = 0;
        let mut wrong = 0;
        let mut genres = std::collections::BTreeSet::new();
        for r in &rows {
            let name = Path::new(&r.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let (folder, clip) = name.split_once(".0000").unwrap();
            let truth = match folder {
                "hiphop" => "Hip-Hop".to_string(),
                g => g[..1].to_uppercase() + &g[1..],
            };
            if let Some(g) = &r.genre {
                genres.insert(g.clone());
            }
            let proposed = r.state == sonotag_core::proposal::ProposalState::Proposed;
            if clip.starts_with(['7', '8', '9']) && proposed {
                if r.genre.as_deref() == Some(&truth) {
                    right += 1;
                } else {
                    wrong += 1;
                }
            }
        }
        (right, wrong, genres.len())
    };
    // Review next: undecided tracks, the unsure ones first, each with the
    // two genres it is torn between.
    let next = ok(&sonotag(&db, &["proposals", "--review-next"]));
    let first = next.lines().next().unwrap_or_default();
    assert!(first.contains("unsure"), "{next}");
    assert!(next.contains("[between "), "{next}");
    let mut lib = Library::open(&db).unwrap();
    let (default_right, _, _) = eval_right(&lib);
    for (folder, genre) in [("jazz", "Jazz"), ("rock", "Rock")] {
        for clip in 0..3 {
            let path = gtzan.join(folder).join(format!("{folder}.0000{clip}.mp3"));
            let id = lib
                .track_by_path(&std::path::absolute(&path).unwrap())
                .unwrap()
                .unwrap()
                .id;
            sonotag_core::workflow::decide::set_genre(&mut lib, id, genre, None, false).unwrap();
        }
    }
    let report = sonotag_core::workflow::retrain::retrain_head(
        &mut lib,
        &Vocabulary::default(),
        &dir.path().join("models"),
        &sonotag_core::ml::corrections::RetrainOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    if !report.activated {
        // The guard kept the model in force (it counts right proposals on
        // the six decisions too; on this data the new head loses three of
        // the eval clips, 19 against 22); it must say so.
        assert!(
            report.to_string().contains("kept but not made active"),
            "{report}"
        );
    }
    let (right, wrong, genres) = eval_right(&lib);
    eprintln!("eval clips right after retrain: {right} of 30 (default {default_right}); {report}");
    assert!(
        genres >= 10,
        "every GTZAN genre is still proposed somewhere ({genres}): {report}"
    );
    assert_eq!(
        wrong, 0,
        "eval clips proposed wrongly after retrain: {report}"
    );
    assert!(
        right + 2 >= default_right,
        "{right} of 30 eval clips right, default {default_right}"
    );
    // The retrained card says what its proposals are worth, as the shipped
    // one does: on each base source left out whole (by name) and on the
    // six decisions, each judged by a head trained without it.
    let card = lib
        .models::<ModelCard>()
        .unwrap()
        .into_iter()
        .find(|m| m.id == report.model_id)
        .unwrap()
        .card;
    let unseen = card.unseen_sources();
    let names: Vec<&str> = unseen.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"ufoai") && names.contains(&"gtzan-mini/classical"),
        "{names:?}"
    );
    assert!(
        unseen
            .iter()
            .all(|(_, s)| s.tracks > 0 && s.right <= s.labelled && s.labelled <= s.tracks),
        "{unseen:?}"
    );
    let worth = card.worth().expect("a retrained card has figures");
    assert!(
        worth.contains("on your own decided tracks") && worth.contains("sources it never heard"),
        "{worth}"
    );
    eprintln!("{worth}");
}

/// Issue 18's target on a soundtrack the model never heard: Wesnoth held
/// out of the base set as "the user's library", 10 corrections chosen by
/// review next (retraining after every 5) lift accuracy on its other tracks
/// by at least 10 points, at 95 % precision or more. Skips without the
/// GTZAN clips and the Debian soundtracks (`../data/debian-music`, fetched
/// by `../shared/data/fetch-debian-music.sh`).
#[test]
fn ten_corrections_teach_a_new_soundtrack_without_losing_precision() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let gtzan = root.join("../shared/data/gtzan-mini/labels.tsv");
    let debian = root.join("../data/debian-music/labels.tsv");
    if !present(&[&gtzan, &debian]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&sonotag(
        &dir.path().join("lib.sqlite"),
        &[
            "simulate-corrections",
            "--labels",
            gtzan.to_str().unwrap(),
            "--labels",
            debian.to_str().unwrap(),
            "--library",
            "wesnoth",
            "--k",
            "0,10",
            "--orders",
            "review-next",
        ],
    ));
    eprintln!("{out}");
    // Columns: library order weight k untouched accuracy coverage precision
    // before leaning genres thresholds
    let row = |k: &str| -> (f32, f32) {
        let cols: Vec<&str> = out
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|c| c.len() >= 9 && c[0] == "wesnoth" && c[3] == k)
            .unwrap_or_else(|| panic!("no row for k={k}: {out}"));
        let pct = |s: &str| s.trim_end_matches('%').parse::<f32>().unwrap();
        (pct(cols[5]), pct(cols[7]))
    };
    let (before, _) = row("0");
    let (after, precision) = row("10");
    assert!(after >= before + 10.0, "{before} % → {after} %");
    assert!(precision >= 95.0, "precision {precision} %");
}

/// `classify` votes as the calibration does: six patches, and where their
/// genres differ, the five between them too; where those eleven leave the
/// track unsure, every patch (the third look). Each later look's patches
/// are stored in time order with the results of those very patches: the
/// same as a full analysis gives at the same starts. Skips without the
/// Debian soundtracks (`../data/debian-music`).
#[test]
fn classify_looks_twice_where_the_first_six_patches_disagree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wesnoth = root.join("../data/debian-music/wesnoth");
    if !present(&[&wesnoth]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    scan_and_classify(&db, &wesnoth);
    let lib = Library::open(&db).unwrap();
    let active = lib.active_model::<ModelCard>().unwrap().unwrap();
    let model = Model::load(&active.path).unwrap();
    let classes = model.card.classes.len();
    let top = |p: &[f32]| sonotag_core::ml::vote::top(p).0;
    let (mut once, mut twice, mut whole) = (0, 0, 0);
    let unsure: std::collections::HashSet<i64> = lib
        .proposals(
            active.id,
            Some(sonotag_core::proposal::ProposalState::Unsure),
        )
        .unwrap()
        .into_iter()
        .map(|p| p.track_id)
        .collect();
    for a in lib.analyses(active.id).unwrap() {
        assert!(
            a.slice_starts.windows(2).all(|w| w[0] < w[1]),
            "{:?}",
            a.slice_starts
        );
        let tops: Vec<usize> = a.probabilities.chunks_exact(classes).map(top).collect();
        if a.slices <= 6 {
            once += 1;
            assert!(
                tops.iter().all(|&c| c == tops[0]),
                "a first look that disagrees and got no second: {tops:?}"
            );
            continue;
        }
        let path = lib.track(a.track_id).unwrap().unwrap().path;
        let full = FeatureKind::MusicnnMel.analyse_file(&path).unwrap();
        if a.slices > 11 {
            // The third look: the eleven left it unsure, every patch voted.
            whole += 1;
            assert_eq!(a.slices, full.starts.len(), "{}", path.display());
        } else {
            twice += 1;
            assert!(
                !unsure.contains(&a.track_id) || full.starts.len() <= 11,
                "{}: unsure after eleven patches of {}, and no third look",
                path.display(),
                full.starts.len()
            );
        }
        let (probs, _) = model.net.infer(&full.data).unwrap();
        for (k, stored) in a.probabilities.chunks_exact(classes).enumerate() {
            let at = full
                .starts
                .iter()
                .position(|&s| s == a.slice_starts[k])
                .unwrap_or_else(|| panic!("{}: no patch at {}", path.display(), a.slice_starts[k]));
            let fresh = &probs[at * classes..(at + 1) * classes];
            let worst = stored
                .iter()
                .zip(fresh)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(worst < 0.05, "{} patch {k}: off by {worst}", path.display());
        }
    }
    eprintln!(
        "{once} tracks decided by their first six patches, {twice} looked at twice, {whole} \
         analysed whole"
    );
    assert!(once > 0 && twice > 0, "{once} once, {twice} twice");
}
