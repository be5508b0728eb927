//! A simulated user of a real library, through the same workflows as
//! `sonotag scan`, `classify`, `accept`, `override` and `retrain`.
//!
//! [`super::simulate`] measures retraining on embeddings in memory, fast
//! enough to sweep settings. This plays the user the way a person meets
//! the product: a folder is scanned into a new library and classified by
//! the default path (sampled patches and the second look); then, for each
//! order, from that same starting library, the user reviews tracks a few
//! at a time (accepting a right proposal, overriding anything else with
//! the true genre), retrains after every few, and the active model's
//! proposals on the untouched tracks are scored, beside what the first
//! model proposed right on those same tracks.

use super::simulate::{CurvePoint, Left, Plan, stops};
use crate::cancel::Cancel;
use crate::config::genres::Vocabulary;
use crate::ml::corrections::RetrainOptions;
use crate::ml::model::ModelCard;
use crate::proposal::ProposalState;
use crate::store::Library;
use crate::workflow::decide::{self, Decision};
use crate::workflow::{classify, retrain, scan};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A library track as the simulated user knows it.
struct Known {
    track_id: i64,
    truth: String,
}

/// One proposal of the active model, as the user sees it.
struct Seen {
    genre: Option<String>,
    unsure: bool,
    share: f32,
    decided: bool,
}

/// The active model's proposals by track id.
fn proposals(lib: &Library) -> anyhow::Result<HashMap<i64, Seen>> {
    let active = lib
        .active_model::<ModelCard>()?
        .ok_or_else(|| anyhow::anyhow!("the library has no model"))?;
    Ok(lib
        .proposals(active.id, None)?
        .into_iter()
        .map(|r| {
            let seen = Seen {
                genre: r.genre,
                unsure: r.state == ProposalState::Unsure,
                share: r.share,
                decided: r.label.is_some(),
            };
            (r.track_id, seen)
        })
        .collect())
}

/// Whether the active model proposes the true genre (not unsure).
fn right(seen: Option<&Seen>, truth: &str) -> bool {
    seen.is_some_and(|s| !s.unsure && s.genre.as_deref() == Some(truth))
}

/// Plays `plan` on the files of `folder` whose true genre `truth` gives
/// (by canonical path; other files are scanned but neither reviewed nor
/// scored). `work` holds the libraries and personal models made on the way.
pub fn play(
    folder: &Path,
    truth: &HashMap<PathBuf, String>,
    vocab: &Vocabulary,
    plan: &Plan,
    opts: &RetrainOptions,
    work: &Path,
) -> anyhow::Result<Vec<CurvePoint>> {
    let cancel = Cancel::new();
    let start = work.join("start.sqlite");
    let (known, classes) = {
        let mut lib = Library::open(&start)?;
        lib.set_several_genres(plan.several)?;
        scan::scan_folders(&mut lib, &[folder.to_path_buf()], &cancel, &mut |_| {})?;
        let report = classify::classify_library(
            &mut lib,
            &classify::ClassifyRequest::default(),
            &cancel,
            &mut |_| {},
        )?;
        tracing::info!("{report}");
        let mut known = Vec::new();
        let mut rows = lib.proposals(
            lib.active_model::<ModelCard>()?
                .expect("classify made a model active")
                .id,
            None,
        )?;
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        for r in rows {
            let path = std::fs::canonicalize(&r.path).unwrap_or_else(|_| PathBuf::from(&r.path));
            if let Some(genre) = truth.get(&path) {
                known.push(Known {
                    track_id: r.track_id,
                    truth: genre.clone(),
                });
            }
        }
        let classes = lib
            .active_model::<ModelCard>()?
            .map_or(0, |m| m.card.classes.len());
        (known, classes)
    };
    anyhow::ensure!(
        !known.is_empty(),
        "no labelled file of {} was classified",
        folder.display()
    );
    let before = proposals(&Library::open(&start)?)?;
    let stops = stops(plan, known.len());
    let mut out = Vec::new();
    for (n, &order) in plan.orders.iter().enumerate() {
        for &weight in plan.weights {
            let db = work.join(format!("order-{n}-{weight}.sqlite"));
            copy_library(&start, &db)?;
            let models = work.join(format!("models-{n}-{weight}"));
            let mut lib = Library::open(&db)?;
            let opts = RetrainOptions {
                user_weight: weight,
                ..opts.clone()
            };
            let mut reviewed: Vec<usize> = Vec::new();
            for &stop in &stops {
                if stop > reviewed.len() {
                    let seen = proposals(&lib)?;
                    let left: Vec<usize> =
                        (0..known.len()).filter(|i| !reviewed.contains(i)).collect();
                    let offered: Vec<Left> = left
                        .iter()
                        .map(|&i| {
                            let s = seen.get(&known[i].track_id);
                            Left {
                                leaning: s.and_then(|s| s.genre.as_deref()),
                                unsure: s.is_none_or(|s| s.unsure),
                                share: s.map_or(0.0, |s| s.share),
                                truth: known[i].truth.as_str(),
                                position: i,
                            }
                        })
                        .collect();
                    let next: Vec<usize> = order
                        .arrange(&offered)
                        .into_iter()
                        .map(|j| left[j])
                        .collect();
                    for i in next.into_iter().take(stop - reviewed.len()) {
                        let k = &known[i];
                        let decision = if right(seen.get(&k.track_id), &k.truth) {
                            Decision::Accept(vec![k.track_id])
                        } else {
                            Decision::Override {
                                tracks: vec![k.track_id],
                                genre: k.truth.clone(),
                                mapped_from: None,
                                replace: true,
                            }
                        };
                        let model = lib.active_model::<ModelCard>()?.map(|m| m.id);
                        decide::decide(&mut lib, model, &decision)?;
                        reviewed.push(i);
                    }
                    let report =
                        retrain::retrain_head(&mut lib, vocab, &models, &opts, &mut |_| {})?;
                    tracing::info!("{order} k={stop}: {report}");
                }
                if !plan.ks.iter().any(|&k| k.min(known.len()) == stop) {
                    continue;
                }
                let seen = proposals(&lib)?;
                let active = lib
                    .active_model::<ModelCard>()?
                    .expect("the library has a model");
                let mut point = CurvePoint {
                    order,
                    weight,
                    k: reviewed.len(),
                    untouched: 0,
                    right: 0,
                    proposed: 0,
                    before_right: 0,
                    leaning_right: 0,
                    classes: active.card.classes.len().max(classes),
                    thresholds: active.card.thresholds,
                };
                for (i, k) in known.iter().enumerate() {
                    if reviewed.contains(&i) {
                        continue;
                    }
                    let s = seen.get(&k.track_id);
                    debug_assert!(s.is_none_or(|s| !s.decided));
                    point.untouched += 1;
                    point.proposed += usize::from(s.is_some_and(|s| !s.unsure));
                    point.right += usize::from(right(s, &k.truth));
                    point.leaning_right += usize::from(
                        s.is_some_and(|s| s.genre.as_deref() == Some(k.truth.as_str())),
                    );
                    point.before_right += usize::from(right(before.get(&k.track_id), &k.truth));
                }
                out.push(point);
            }
        }
    }
    Ok(out)
}

/// A copy of the library at `from` (closed, so its log is folded in).
fn copy_library(from: &Path, to: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let (f, t) = (
            PathBuf::from(format!("{}{suffix}", from.display())),
            PathBuf::from(format!("{}{suffix}", to.display())),
        );
        let _ = std::fs::remove_file(&t);
        if f.exists() {
            std::fs::copy(&f, &t)?;
        }
    }
    Ok(())
}
