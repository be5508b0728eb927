//! The list of third-party components the About and the .deb show is the
//! build's: every crate it lists is locked at that version, and every
//! dependency the manifests name is listed (regenerate with
//! `python3 packaging/third-party.py` when one changes).

use std::collections::HashSet;

fn listed() -> Vec<(String, String)> {
    let text = include_str!("../assets/THIRD-PARTY.md");
    let crates = &text[text.find("## Crates").expect("a crates section")..];
    crates
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| crate "))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_string(), cells[1].to_string())
        })
        .collect()
}

fn locked() -> HashSet<(String, String)> {
    let lock: toml::Table = include_str!("../Cargo.lock").parse().unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_listed_crate_is_locked_and_every_dependency_listed() {
    let listed = listed();
    assert!(listed.len() > 100, "{} crates listed", listed.len());
    let locked = locked();
    for c in &listed {
        assert!(
            locked.contains(c),
            "{c:?} is listed but not in Cargo.lock: regenerate"
        );
    }
    let names: HashSet<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    for manifest in [
        include_str!("../Cargo.toml"),
        include_str!("../crates/core/Cargo.toml"),
    ] {
        let m: toml::Table = manifest.parse().unwrap();
        for dep in m["dependencies"].as_table().unwrap().keys() {
            if dep == "sonotag-core" {
                continue;
            }
            assert!(
                names.contains(dep.as_str()),
                "{dep} is a dependency but not listed: regenerate"
            );
        }
    }
}
