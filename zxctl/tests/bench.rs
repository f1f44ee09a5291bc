//! `zxctl bench --quick --json --plot FILE`: runs, prints one JSON document with every
//! measurement, and writes an SVG chart of the ratios.

use std::process::Command;
use std::time::Instant;

const RATIOS: [&str; 5] = [
    "restore_k1",
    "restore_k16",
    "restore_k256",
    "cow_fault",
    "chain_read",
];

#[test]
fn quick_json_and_plot() {
    let plot = std::env::temp_dir().join(format!("zxctl-bench-{}.svg", std::process::id()));
    let _ = std::fs::remove_file(&plot);
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_zxctl"))
        .args(["bench", "--quick", "--json", "--plot"])
        .arg(&plot)
        .output()
        .expect("runs zxctl");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "zxctl bench failed: {stderr}");
    eprintln!("zxctl bench --quick took {elapsed:.1?}");
    assert!(
        stderr.contains("bench: snapshot+restore k=256"),
        "progress on stderr: {stderr}"
    );

    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let document: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is one JSON document");
    let measurements = document["measurements"]
        .as_array()
        .expect("a list of measurements");
    let find = |name: &str| {
        measurements
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no measurement {name} in {stdout}"))
    };
    for name in RATIOS {
        let m = find(name);
        for field in ["ours_ns", "baseline_ns", "ratio"] {
            let value = m[field]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}.{field} is not a number: {m}"));
            assert!(value > 0.0, "{name}.{field} = {value}");
        }
        assert!(m["unit"].as_str().is_some_and(|u| !u.is_empty()), "{m}");
        let (ours, baseline, ratio) = (
            m["ours_ns"].as_f64().unwrap(),
            m["baseline_ns"].as_f64().unwrap(),
            m["ratio"].as_f64().unwrap(),
        );
        let expected = match m["ratio_is"].as_str() {
            Some("baseline / ours") => baseline / ours,
            Some("ours / baseline") => ours / baseline,
            other => panic!("{name}: ratio_is {other:?}"),
        };
        assert!(
            (ratio / expected - 1.0).abs() < 0.01,
            "{name}: ratio {ratio} vs {expected}"
        );
    }
    let frames = find("chain_frames");
    assert_eq!(frames["count"], 11, "{frames}");
    assert_eq!(frames["unit"], "frames");
    assert_eq!(measurements.len(), RATIOS.len() + 1);

    let svg = std::fs::read_to_string(&plot).expect("the plot was written");
    let _ = std::fs::remove_file(&plot);
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "not an SVG: {}",
        &svg[..svg.len().min(80)]
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    for name in RATIOS.iter().chain(["chain_frames"].iter()) {
        assert!(svg.contains(name), "the plot has no label {name}");
    }
}

#[test]
fn table_by_default() {
    // Without --json the result is the markdown table (a quick run again, no plot).
    let output = Command::new(env!("CARGO_BIN_EXE_zxctl"))
        .args(["bench", "--quick"])
        .output()
        .expect("runs zxctl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("| measurement | ours | baseline | ratio |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("snapshot + restore, 256 dirty pages"),
        "{stdout}"
    );
    assert!(stdout.contains("| 11 frames |"), "{stdout}");
}
