//! `zxctl tree` on its built-in demo family, in each format: the built binary, its output's
//! structure checked (not its exact text).

use std::process::{Command, Output};

/// The VMOs the built-in demo script leaves open (`snap2` is closed by the script).
const DEMO_NAMES: [&str; 6] = ["origin", "snap1", "snap3", "lazy", "window", "legacy"];

fn zxctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zxctl"))
        .args(args)
        .output()
        .expect("cannot run zxctl")
}

/// The output of `zxctl tree ARGS`, which must succeed and print something.
fn tree(args: &[&str]) -> Option<String> {
    let mut all = vec!["tree"];
    all.extend_from_slice(args);
    let output = zxctl(&all);
    let stdout = String::from_utf8(output.stdout).expect("output is UTF-8");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "zxctl {} failed: {stderr}",
        all.join(" ")
    );
    assert!(
        !stdout.trim().is_empty(),
        "zxctl {} printed nothing",
        all.join(" ")
    );
    Some(stdout)
}

#[test]
fn json_tree_of_the_demo() {
    let Some(json) = tree(&["--format", "json"]) else {
        return;
    };
    let families: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let nodes = families[0]["nodes"].as_array().expect("a node list");
    for name in DEMO_NAMES {
        assert!(
            nodes.iter().any(|n| n["name"] == name),
            "{name} missing from {json}"
        );
    }
    assert!(nodes.iter().any(|n| n["role"] == "hidden"));
    let committed: u64 = nodes
        .iter()
        .map(|n| n["committed_bytes"].as_u64().expect("a number"))
        .sum();
    assert!(committed > 0);
}

#[test]
fn text_tree_of_the_demo() {
    let Some(text) = tree(&[]) else { return };
    for name in DEMO_NAMES {
        assert!(
            text.lines()
                .any(|line| line.contains(&format!("{name} (#"))),
            "{name} missing from:\n{text}"
        );
    }
    assert!(!text.contains("snap2 (#"), "snap2 is closed:\n{text}");
    assert!(text.contains("(hidden #"), "no hidden node drawn:\n{text}");
    for kind in [
        "created",
        "snapshot",
        "at-least-on-write",
        "one-way clone",
        "slice of origin",
    ] {
        assert!(text.contains(kind), "{kind} missing from:\n{text}");
    }
    assert!(text.contains("KiB"));
    // Children are indented under their parents: the first line is a root.
    assert!(!text.starts_with(' ') && !text.starts_with('├') && !text.starts_with('└'));
    assert!(text.contains("└── "));
    // Same script, same picture.
    assert_eq!(Some(text), tree(&["--format", "text"]));
}

#[test]
fn dot_tree_of_the_demo() {
    let Some(dot) = tree(&["--format", "dot"]) else {
        return;
    };
    let dot = dot.trim();
    assert!(dot.starts_with("digraph family {"), "{dot}");
    assert!(dot.ends_with('}'), "{dot}");
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    assert_eq!(dot.matches("digraph").count(), 1, "one family");
    for name in DEMO_NAMES {
        assert!(dot.contains(&format!("{name} (#")), "{name} missing");
    }
    let nodes = dot
        .lines()
        .filter(|l| l.contains(" [label=") && !l.contains(" -> "))
        .count();
    let edges = dot.lines().filter(|l| l.contains(" -> ")).count();
    assert_eq!(edges, nodes - 1, "a tree:\n{dot}");
    assert!(
        dot.contains("shape=ellipse, style=dashed"),
        "hidden nodes apart"
    );
    assert!(dot.contains("shape=box"));
    assert!(dot.contains("style=dotted"), "the slice's edge");
    // Statements end with semicolons, quotes balance on every line.
    for line in dot.lines().skip(1).filter(|l| *l != "}") {
        assert!(line.ends_with(';'), "{line}");
        assert_eq!(
            line.replace("\\\"", "").matches('"').count() % 2,
            0,
            "{line}"
        );
    }
}

#[test]
fn svg_tree_of_the_demo() {
    let Some(svg) = tree(&["--format", "svg"]) else {
        return;
    };
    let svg = svg.trim();
    assert!(svg.starts_with("<svg "), "{svg}");
    assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
    for name in DEMO_NAMES {
        assert!(svg.contains(&format!(">{name} (#")), "{name} missing");
    }
    assert!(svg.contains("class=\"hidden\""), "hidden nodes apart");
    assert!(svg.contains("stroke-dasharray"));
    assert!(svg.contains("<line"));
    assert_well_formed(svg);
}

/// A small check that elements nest properly and text has no bare `<` or `&`.
fn assert_well_formed(xml: &str) {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "stray '>' in {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
                "bare & in {text:?}"
            );
        }
        let end = start + rest[start..].find('>').expect("unclosed tag");
        let tag = &rest[start + 1..end];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name.trim()), "mismatched </{name}>");
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            open.push(tag.split_whitespace().next().unwrap());
        }
        rest = &rest[end + 1..];
    }
    assert!(rest.trim().is_empty());
    assert!(open.is_empty(), "unclosed {open:?}");
}

#[test]
fn tree_reports_a_missing_file() {
    let output = zxctl(&["tree", "/nonexistent/zxctl-tree-script"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("zxctl-tree-script"), "{stderr}");
}
