//! The flame graph in a real browser: headless Chromium renders the SVG of a profile with a
//! burner known by name. The screenshot must have drawn flame boxes, and the page's DOM
//! (`--dump-dom`, after inferno's script ran) must name the burner.
//!
//! Needs Debian's `chromium`. Without it the test is reported as ignored (perf-core's build
//! script looks for it), unless `PERF_REQUIRE_CHROMIUM=1` is set (`.ci/run` sets it), when it
//! runs and fails. Run with `--features profile`.
#![cfg(feature = "profile")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/burn.rs"]
mod burn;

const BURNER: &str = "profile_browser::burn::burn_cpu";

/// Runs Chromium headless with `args` and the page `url`, for at most 120 s.
fn chromium(profile_dir: &Path, args: &[&str], url: &str) -> Output {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            // CI runs as root, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn chromium_installed() -> bool {
    Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Pixels of a flame box's colours (inferno's "hot" palette: red to yellow, little blue),
/// as opposed to the page's pale grey-to-yellow background and black text.
fn flame_pixels(png_path: &Path) -> (usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let pixels = &buf[..info.buffer_size()];
    let flame = pixels
        .chunks_exact(channels)
        .filter(|p| p[0] >= 180 && p[2] <= 110 && p[0] > p[1])
        .count();
    (flame, pixels.len() / channels)
}

#[test]
#[cfg_attr(
    perf_no_chromium,
    ignore = "SKIPPED: chromium not installed (apt-get install -y chromium)"
)]
fn chromium_renders_the_flame_graph_and_its_dom_names_the_burner() {
    assert!(
        chromium_installed(),
        "chromium does not run: apt-get install -y chromium"
    );
    let burner = burn::in_background(burn::burn_cpu);
    let profile = perf_core::profile::cpu(Duration::from_secs(2)).unwrap();
    drop(burner);
    let svg = profile.flamegraph_svg().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("flamegraph.svg");
    std::fs::write(&svg_path, &svg).unwrap();
    let url = format!("file://{}", svg_path.display());
    let png_path = dir.path().join("flamegraph.png");
    let browser_dir = dir.path().join("chromium");

    let shot = chromium(
        &browser_dir,
        &[
            &format!("--screenshot={}", png_path.display()),
            "--window-size=1200,800",
        ],
        &url,
    );
    assert!(
        png_path.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let (flame, all) = flame_pixels(&png_path);
    // The burner's tower alone spans at least half the width: thousands of pixels.
    assert!(flame * 100 >= all, "{flame} flame-coloured pixels of {all}");

    let dom = chromium(&browser_dir, &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<svg"), "{}", &dom[..dom.len().min(500)]);
    assert!(dom.contains(BURNER), "{BURNER} not in the rendered DOM");
}
