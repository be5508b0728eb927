//! What else the listener hears: vocals (instrumental, female or male),
//! mood and era, and genres the head has no class for, suggested from
//! musicnn's own 50 MSD tags, which it computes for every patch anyway
//! (its last layer, run on the stored embeddings: no decoding).
//!
//! Each aspect votes like genres do: every patch votes for the aspect's
//! value its tags rate highest, unless that rating is under the aspect's
//! floor (it abstains); a value with at least [`MIN_PATCH_SHARE`] of all
//! the patches is suggested. The MSD tags come from Last.fm listeners'
//! words, not from curated labels: no labelled set here checks mood or era
//! (the model card says so); vocals is measured on the soundtracks against
//! GTZAN's sung clips (`sonotag describe`).

use serde::{Deserialize, Serialize};

/// What a descriptor describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aspect {
    Vocals,
    Mood,
    Era,
    /// A genre beyond the head's classes, suggested zero-shot.
    Genre,
}

impl Aspect {
    pub const ALL: [Aspect; 4] = [Aspect::Vocals, Aspect::Mood, Aspect::Era, Aspect::Genre];

    /// The name stored in the library.
    pub fn as_str(self) -> &'static str {
        match self {
            Aspect::Vocals => "vocals",
            Aspect::Mood => "mood",
            Aspect::Era => "era",
            Aspect::Genre => "genre",
        }
    }

    /// As the track view heads its row.
    pub fn label(self) -> &'static str {
        match self {
            Aspect::Vocals => "Vocals",
            Aspect::Mood => "Mood",
            Aspect::Era => "Era",
            Aspect::Genre => "Also sounds like",
        }
    }

    /// The values it can take, with the MSD tags that rate each.
    pub fn choices(self) -> &'static [Choice] {
        match self {
            Aspect::Vocals => VOCALS,
            Aspect::Mood => MOODS,
            Aspect::Era => ERAS,
            Aspect::Genre => GENRES_BEYOND,
        }
    }

    /// A patch whose best value of this aspect rates under this abstains.
    fn floor(self) -> f32 {
        match self {
            Aspect::Vocals => INSTRUMENTAL_FROM,
            Aspect::Mood => MOOD_FLOOR,
            Aspect::Era => ERA_FLOOR,
            Aspect::Genre => GENRE_FLOOR,
        }
    }
}

impl std::str::FromStr for Aspect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Aspect::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown descriptor {s:?}: vocals, mood, era or genre"))
    }
}

/// One value of an aspect and the MSD tags that rate it (the highest of
/// them counts).
#[derive(Debug)]
pub struct Choice {
    pub name: &'static str,
    tags: &'static [&'static str],
}

/// Vocals are judged by the "instrumental" tag, which separates the
/// soundtracks from GTZAN's sung clips; "female vocalists" then says whose
/// voice. musicnn's "male vocalists" rates under 0.02 on nearly every
/// patch, sung or not, so Sonotag says "Vocals", never "male".
const VOCALS: &[Choice] = &[
    Choice {
        name: "Instrumental",
        tags: &["instrumental"],
    },
    Choice {
        name: "Female vocals",
        tags: &["female vocalists", "female vocalist"],
    },
];

/// A patch rating "instrumental" at least this is instrumental; under
/// [`SUNG_UNDER`], sung; between, it abstains. Chosen on the GTZAN train
/// clips and the Debian soundtracks (`sonotag describe`): 61 of 83
/// soundtracks Instrumental, none Vocals; 46 of 56 sung clips Vocals, 3
/// Instrumental.
const INSTRUMENTAL_FROM: f32 = 0.07;
const SUNG_UNDER: f32 = 0.02;
/// A sung patch rating "female vocalists" at least this has a woman's voice.
const FEMALE_FROM: f32 = 0.1;

const MOODS: &[Choice] = &[
    Choice {
        name: "Mellow",
        tags: &["Mellow"],
    },
    Choice {
        name: "Chill",
        tags: &["chill", "chillout"],
    },
    Choice {
        name: "Happy",
        tags: &["happy"],
    },
    Choice {
        name: "Sad",
        tags: &["sad"],
    },
    Choice {
        name: "Party",
        tags: &["party"],
    },
    Choice {
        name: "Beautiful",
        tags: &["beautiful"],
    },
];

const ERAS: &[Choice] = &[
    Choice {
        name: "1960s",
        tags: &["60s"],
    },
    Choice {
        name: "1970s",
        tags: &["70s"],
    },
    Choice {
        name: "1980s",
        tags: &["80s"],
    },
    Choice {
        name: "1990s",
        tags: &["90s"],
    },
    Choice {
        name: "2000s",
        tags: &["00s"],
    },
];

/// Genres musicnn's tags name that the shipped head has no class for.
const GENRES_BEYOND: &[Choice] = &[
    Choice {
        name: "Folk",
        tags: &["folk"],
    },
    Choice {
        name: "Soul",
        tags: &["soul"],
    },
    Choice {
        name: "Punk",
        tags: &["punk"],
    },
    Choice {
        name: "Funk",
        tags: &["funk"],
    },
    Choice {
        name: "Ambient",
        tags: &["ambient"],
    },
    Choice {
        name: "House",
        tags: &["House"],
    },
    Choice {
        name: "R&B",
        tags: &["rnb"],
    },
    Choice {
        name: "Indie",
        tags: &["indie", "indie rock", "indie pop"],
    },
    Choice {
        name: "Alternative",
        tags: &["alternative", "alternative rock"],
    },
];

/// Floors chosen on the training sets (`sonotag describe` on the GTZAN
/// train clips and the Debian soundtracks, see the model card): musicnn's
/// sigmoid tags rarely pass 0.5, and a patch of a soundtrack rates
/// "instrumental" about 0.3.
const MOOD_FLOOR: f32 = 0.15;
const ERA_FLOOR: f32 = 0.15;
const GENRE_FLOOR: f32 = 0.2;

/// The least share of a track's patches a value needs to be suggested.
pub const MIN_PATCH_SHARE: f32 = 0.5;

/// A descriptor suggested for a track, with its per-patch evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    pub aspect: Aspect,
    pub value: String,
    /// Patches that voted for it, of all the track's.
    pub votes: usize,
    pub patches: usize,
    /// Its rating per patch (the highest of its tags), in patch order.
    pub per_patch: Vec<f32>,
}

impl Suggestion {
    pub fn share(&self) -> f32 {
        self.votes as f32 / self.patches.max(1) as f32
    }
}

impl std::fmt::Display for Suggestion {
    /// "Instrumental: 9 of 10 patches".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} of {} patches",
            self.value, self.votes, self.patches
        )
    }
}

/// The ratings (`patches`) of every value of `aspect` from the tags
/// (`patches × names`), value-major: `ratings[v][k]`.
pub fn ratings(aspect: Aspect, names: &[String], tags: &[f32]) -> Vec<(&'static str, Vec<f32>)> {
    let width = names.len().max(1);
    aspect
        .choices()
        .iter()
        .filter_map(|choice| {
            let columns: Vec<usize> = choice
                .tags
                .iter()
                .filter_map(|t| names.iter().position(|n| n == t))
                .collect();
            (!columns.is_empty()).then(|| {
                let per_patch = tags
                    .chunks_exact(width)
                    .map(|row| columns.iter().map(|&c| row[c]).fold(0.0, f32::max))
                    .collect();
                (choice.name, per_patch)
            })
        })
        .collect()
}

/// The suggestion for `aspect`, if a value carries the track: the patches
/// vote as genres do. For [`Aspect::Genre`], only genres not among
/// `head_classes` take part.
pub fn suggest(
    aspect: Aspect,
    names: &[String],
    tags: &[f32],
    head_classes: &[String],
) -> Option<Suggestion> {
    if aspect == Aspect::Vocals {
        return suggest_vocals(names, tags);
    }
    let rated: Vec<(&str, Vec<f32>)> = ratings(aspect, names, tags)
        .into_iter()
        .filter(|(name, _)| {
            aspect != Aspect::Genre || !head_classes.iter().any(|c| c.eq_ignore_ascii_case(name))
        })
        .collect();
    let patches = rated.first().map_or(0, |(_, r)| r.len());
    let mut votes = vec![0usize; rated.len()];
    for k in 0..patches {
        let best = (0..rated.len()).max_by(|&a, &b| rated[a].1[k].total_cmp(&rated[b].1[k]));
        if let Some(v) = best.filter(|&v| rated[v].1[k] >= aspect.floor()) {
            votes[v] += 1;
        }
    }
    let (v, &n) = votes.iter().enumerate().max_by_key(|(_, n)| **n)?;
    (n > 0 && n as f32 + 1e-6 >= MIN_PATCH_SHARE * patches as f32).then(|| Suggestion {
        aspect,
        value: rated[v].0.to_string(),
        votes: n,
        patches,
        per_patch: rated[v].1.clone(),
    })
}

/// Instrumental, Vocals or Female vocals: each patch is instrumental,
/// sung (by a woman where "female vocalists" says so) or abstains; the
/// track is instrumental or sung where half its patches say so.
fn suggest_vocals(names: &[String], tags: &[f32]) -> Option<Suggestion> {
    let rated = ratings(Aspect::Vocals, names, tags);
    let rating = |name: &str| rated.iter().find(|(n, _)| *n == name).map(|(_, r)| r);
    let instrumental = rating("Instrumental")?;
    let female = rating("Female vocals");
    let patches = instrumental.len();
    let sung: Vec<usize> = (0..patches)
        .filter(|&k| instrumental[k] < SUNG_UNDER)
        .collect();
    let played = (0..patches)
        .filter(|&k| instrumental[k] >= INSTRUMENTAL_FROM)
        .count();
    let half = MIN_PATCH_SHARE * patches as f32 - 1e-6;
    if played as f32 >= half && played > 0 {
        return Some(Suggestion {
            aspect: Aspect::Vocals,
            value: "Instrumental".into(),
            votes: played,
            patches,
            per_patch: instrumental.clone(),
        });
    }
    if sung.len() as f32 >= half && !sung.is_empty() {
        let by_woman = female.map_or(0, |f| sung.iter().filter(|&&k| f[k] >= FEMALE_FROM).count());
        let (value, votes, per_patch) = match female {
            Some(f) if by_woman as f32 >= MIN_PATCH_SHARE * sung.len() as f32 => {
                ("Female vocals", by_woman, f.clone())
            }
            // The evidence of a sung patch is how little it rates
            // "instrumental".
            _ => (
                "Vocals",
                sung.len(),
                instrumental.iter().map(|i| 1.0 - i).collect(),
            ),
        };
        return Some(Suggestion {
            aspect: Aspect::Vocals,
            value: value.into(),
            votes,
            patches,
            per_patch,
        });
    }
    None
}

/// Every aspect's suggestion for a track.
pub fn suggest_all(names: &[String], tags: &[f32], head_classes: &[String]) -> Vec<Suggestion> {
    Aspect::ALL
        .into_iter()
        .filter_map(|a| suggest(a, names, tags, head_classes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        [
            "instrumental",
            "female vocalists",
            "male vocalists",
            "folk",
            "rock",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn the_patches_vote_for_a_descriptor() {
        // Three patches rate instrumental highest, one male vocals.
        let tags = [
            0.4, 0.05, 0.1, 0.3, 0.1, //
            0.5, 0.02, 0.1, 0.1, 0.1, //
            0.3, 0.02, 0.1, 0.1, 0.1, //
            0.05, 0.02, 0.4, 0.1, 0.1,
        ];
        let s = suggest(Aspect::Vocals, &names(), &tags, &[]).unwrap();
        assert_eq!(
            (s.value.as_str(), s.votes, s.patches),
            ("Instrumental", 3, 4)
        );
        assert_eq!(s.per_patch, vec![0.4, 0.5, 0.3, 0.05]);
        // Folk only where the head has no Folk, and only with half the patches.
        let head = ["Folk".to_string()];
        assert!(suggest(Aspect::Genre, &names(), &tags, &head).is_none());
        assert!(
            suggest(Aspect::Genre, &names(), &tags, &[]).is_none(),
            "1 patch of 4"
        );
        // An aspect none of whose tags the network has: no suggestion.
        assert!(suggest(Aspect::Era, &names(), &tags, &[]).is_none());
    }

    #[test]
    fn between_played_and_sung_abstains() {
        let tags = [0.05, 0.02, 0.03, 0.0, 0.0].repeat(3);
        assert!(suggest(Aspect::Vocals, &names(), &tags, &[]).is_none());
    }

    #[test]
    fn sung_patches_say_vocals_and_whose() {
        let sung = [0.01, 0.05, 0.01, 0.0, 0.0].repeat(4);
        let s = suggest(Aspect::Vocals, &names(), &sung, &[]).unwrap();
        assert_eq!((s.value.as_str(), s.votes), ("Vocals", 4));
        let by_a_woman = [0.01, 0.3, 0.01, 0.0, 0.0].repeat(4);
        let s = suggest(Aspect::Vocals, &names(), &by_a_woman, &[]).unwrap();
        assert_eq!((s.value.as_str(), s.votes), ("Female vocals", 4));
    }
}
