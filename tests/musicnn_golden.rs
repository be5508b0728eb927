//! musicnn in candle against the numpy reference forward pass.
//!
//! `tests/fixtures/musicnn-golden.json` was written by
//! `training/musicnn/golden.py` (the reference of
//! `../shared/tools/musicnn-reference/`) on `musicnn-golden.wav`, 7 s of
//! synthetic music already at 16 kHz, so both sides decode the same samples.
//! Checked: the log-mel front end on its own, then the 200-d embeddings and
//! the 50 tags of both patches, each within 1e-3.

use sonotag_core::features::musicnn_mel;

use sonotag_core::features::musicnn_mel::{MEL_BANDS, PATCH_FRAMES};
use sonotag_core::ml::backbone::musicnn::MusicnnNet;
use std::path::Path;

const TOLERANCE: f32 = 1e-3;

fn golden() -> serde_json::Value {
    let text = std::fs::read_to_string("tests/fixtures/musicnn-golden.json").unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| match x.as_array() {
            Some(row) => row.iter().map(|y| y.as_f64().unwrap() as f32).collect(),
            None => vec![x.as_f64().unwrap() as f32],
        })
        .collect()
}

fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tolerance: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
    let (worst, at) = ours
        .iter()
        .zip(theirs)
        .enumerate()
        .map(|(i, (a, b))| ((a - b).abs(), i))
        .fold((0f32, 0), |m, x| if x.0 > m.0 { x } else { m });
    assert!(
        worst <= tolerance,
        "{what}: worst difference {worst} at {at} ({} vs {})",
        ours[at],
        theirs[at]
    );
    eprintln!("{what}: worst difference {worst:.2e}");
}

fn log_mel() -> Vec<f32> {
    musicnn_mel::analyse_file(Path::new("tests/fixtures/musicnn-golden.wav"))
        .unwrap()
        .0
}

#[test]
fn mel_front_end_matches_reference() {
    let g = golden();
    let frames = log_mel();
    assert_eq!(
        frames.len() / MEL_BANDS,
        g["frames"].as_u64().unwrap() as usize
    );
    for (frame, row) in g["log_mel_rows"].as_object().unwrap() {
        let f: usize = frame.parse().unwrap();
        assert_close(
            &format!("log-mel frame {f}"),
            &frames[f * MEL_BANDS..(f + 1) * MEL_BANDS],
            &floats(row),
            TOLERANCE,
        );
    }
    let sums: Vec<f32> = frames.chunks(MEL_BANDS).map(|r| r.iter().sum()).collect();
    // A sum of 96 values: the same per-value tolerance, 96 times.
    assert_close(
        "log-mel frame sums",
        &sums,
        &floats(&g["log_mel_frame_sums"]),
        TOLERANCE * 96.0,
    );
}

#[test]
fn embeddings_and_tags_match_reference() {
    let g = golden();
    let net = MusicnnNet::load(Path::new("models/musicnn-msd.safetensors")).unwrap();
    let (live, all) = net.live_filters();
    assert!(live < all / 4, "{live} of {all} front-end filters computed");
    let frames = log_mel();
    let patches = g["patches"].as_u64().unwrap() as usize;
    assert_eq!(musicnn_mel::patch_count(frames.len() / MEL_BANDS), patches);
    let out = net
        .forward(&frames[..patches * PATCH_FRAMES * MEL_BANDS])
        .unwrap();
    assert_close(
        "embeddings",
        &out.embeddings,
        &floats(&g["penultimate"]),
        TOLERANCE,
    );
    assert_close("tags", &out.tags, &floats(&g["tags"]), TOLERANCE);
    assert_eq!(net.tag_names().len(), 50);
    assert_eq!(net.tag_names()[4], "electronic");
}

#[test]
fn patches_taken_by_seeking_equal_the_whole_file_analysis() {
    // Classification seeks to a few patches; they must be the patches the
    // whole-file analysis (and the reference) computes.
    let frames = log_mel();
    let (sampled, _) =
        musicnn_mel::analyse_patches(Path::new("tests/fixtures/musicnn-golden.wav"), &[0, 1])
            .unwrap();
    let per = PATCH_FRAMES * MEL_BANDS;
    assert_eq!(sampled.len(), 2 * per);
    assert_close("patch 0 by seeking", &sampled[..per], &frames[..per], 1e-6);
    assert_close(
        "patch 1 by seeking",
        &sampled[per..],
        &frames[per..2 * per],
        1e-6,
    );
}

#[test]
fn committed_weights_match_recorded_checksum() {
    let Ok(out) = std::process::Command::new("sha256sum")
        .arg("models/musicnn-msd.safetensors")
        .output()
    else {
        eprintln!("skipped: no sha256sum");
        return;
    };
    let ours = String::from_utf8_lossy(&out.stdout);
    let recorded = std::fs::read_to_string("models/musicnn-msd.sha256").unwrap();
    assert_eq!(
        ours.split_whitespace().next(),
        recorded.split_whitespace().next(),
        "models/musicnn-msd.safetensors is not the file training/musicnn/fetch-weights.sh made"
    );
}
