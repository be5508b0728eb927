//! Starts the real window under Xvfb (software rendering, ALSA's null
//! device), lets it open a generated music folder, and checks that the
//! background job scanned and classified it and that the window drew
//! something. Needs `Xvfb` and ImageMagick's `import` (installed by
//! `packaging/deps.sh`); skips with a message when they are missing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn window_opens_a_folder_and_draws() {
    if !have("Xvfb") || !have("import") {
        eprintln!(
            "skipped: Xvfb or ImageMagick `import` not installed (packaging/deps.sh installs them)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("models/default.json").exists() {
        panic!("models/default.json is missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("My Music");
    std::fs::create_dir_all(&music).unwrap();
    for i in 0..4 {
        let stereo = sonotag_core::dev::synth::music_like(8.0, 44_100, i);
        sonotag_core::dev::synth::write_wav(
            &music.join(format!("song {i}.wav")),
            &stereo,
            44_100,
            2,
        )
        .unwrap();
    }
    let alsa = dir.path().join("alsa.conf");
    std::fs::write(
        &alsa,
        "</usr/share/alsa/alsa.conf>\npcm.!default { type null }\n",
    )
    .unwrap();
    let display = format!(":{}", 90 + std::process::id() % 800);
    let _xvfb = Kill(
        Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(800));
    let db = dir.path().join("lib.sqlite");
    let _app = Kill(
        Command::new(env!("CARGO_BIN_EXE_sonotag"))
            .arg("--db")
            .arg(&db)
            .arg("gui")
            .arg(&music)
            .env("DISPLAY", &display)
            .env("ICED_BACKEND", "tiny-skia")
            .env("ALSA_CONFIG_PATH", &alsa)
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The background job scans and classifies while the window is up.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut proposals = 0;
    while Instant::now() < deadline {
        proposals = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT count(*) FROM proposals", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0);
        if proposals == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(proposals, 4, "the window's job should classify the 4 songs");
    std::thread::sleep(Duration::from_secs(2));
    let shot = dir.path().join("shot.png");
    let status = Command::new("import")
        .args(["-display", display.as_str(), "-window", "root"])
        .arg(&shot)
        .status()
        .unwrap();
    assert!(status.success());
    let img = image::open(&shot).unwrap().to_luma8();
    let mean = img.pixels().map(|p| p.0[0] as f64).sum::<f64>() / img.len() as f64;
    let var = img
        .pixels()
        .map(|p| (p.0[0] as f64 - mean).powi(2))
        .sum::<f64>()
        / img.len() as f64;
    assert!(
        var > 100.0,
        "the screenshot looks blank (variance {var:.1})"
    );
}
