//! The scenario runner end to end: every example script against its golden output, `--json`
//! output, failing scripts, and random input that must never make the runner panic.

#[allow(dead_code)]
#[path = "../src/script.rs"]
mod script;
#[allow(dead_code)]
#[path = "../src/tree.rs"]
mod tree;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root: the examples are run as `zxctl run zxctl/examples/NAME.zxs` from there.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("zxctl lives in the workspace")
        .to_path_buf()
}

/// Every example script, by name without `.zxs`, sorted.
fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("zxctl/examples exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".zxs").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 6, "at least six examples, found {names:?}");
    names
}

fn zxctl(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zxctl"))
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zxctl runs");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input
                .write_all(text.as_bytes())
                .expect("stdin accepts the script");
        }
    }
    child.wait_with_output().expect("zxctl finishes")
}

#[test]
fn every_example_matches_its_golden_output() {
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for name in examples() {
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(format!("{name}.out"));
        let Ok(expected) = std::fs::read(&golden) else {
            missing.push(format!("zxctl/examples/{name}.zxs"));
            continue;
        };
        let script = format!("zxctl/examples/{name}.zxs");
        let output = zxctl(&["run", &script], None);
        if !output.status.success() {
            wrong.push(format!(
                "{script}: exit {:?}: {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ));
            continue;
        }
        if output.stdout != expected {
            let got = String::from_utf8_lossy(&output.stdout);
            let want = String::from_utf8_lossy(&expected);
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
            wrong.push(format!(
                "{script}: output differs from {name}.out at output line {}:\n  got:  {:?}\n  want: {:?}",
                first + 1,
                got.lines().nth(first),
                want.lines().nth(first)
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "examples without a .out file: {missing:?}"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn json_output_is_one_object_per_line() {
    for name in examples() {
        let script = format!("zxctl/examples/{name}.zxs");
        let output = zxctl(&["run", "--json", &script], None);
        assert!(output.status.success(), "{script} --json failed");
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        let text_lines = zxctl(&["run", &script], None).stdout;
        assert!(!text.is_empty(), "{script}: no output");
        let mut count = 0;
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("{script}: not JSON ({error}): {line}"));
            let object = value.as_object().expect("an object per line");
            assert!(object.get("line").is_some_and(|l| l.is_u64()), "{line}");
            assert!(
                object.get("command").is_some_and(|c| c.is_string()),
                "{line}"
            );
            count += 1;
        }
        // Text mode prints one line per command too (no command of the examples draws a tree).
        assert_eq!(
            count,
            String::from_utf8_lossy(&text_lines).lines().count(),
            "{script}"
        );
    }
}

#[test]
fn failing_scripts_exit_non_zero_naming_the_line() {
    let cases: &[(&str, usize)] = &[
        ("create a 4k\nfrobnicate a\n", 2),
        ("create a 4k\n\n# comment\nread a 4k 1\n", 4),
        ("create a 4k\nexpect ZX_ERR_OUT_OF_RANGE read a 0 1\n", 2),
        ("create a 4k\nexpect ZX_ERR_NOT_A_STATUS read a 4k 1\n", 2),
        ("write a 0 \"unclosed\n", 1),
        ("create a 4q\n", 1),
        ("create a 4k\ncreate a 4k\n", 2),
        ("read nobody 0 1\n", 1),
        ("create a 4k\nwrite a 0 hex:abc\n", 2),
        ("expect JINUE_EBADF\n", 1),
        (
            "create a 4k\nmap m self a 0 4k rw\nexpect ZX_ERR_NO_MEMORY peek m 0 1\n",
            3,
        ),
    ];
    for &(source, line) in cases {
        let output = zxctl(&["run", "-"], Some(source));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{source:?} succeeded");
        assert_ne!(
            output.status.code(),
            Some(101),
            "{source:?} panicked: {stderr}"
        );
        assert!(
            stderr.contains(&format!("line {line}:")),
            "{source:?}: stderr {stderr:?} does not name line {line}"
        );
    }
}

/// A small deterministic generator (xorshift64*).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A random line: mostly commands with plausible or hostile arguments, sometimes garbage.
fn random_line(rng: &mut XorShift) -> String {
    const COMMANDS: &[&str] = &[
        "create",
        "mx-create",
        "child",
        "clone",
        "mx-clone",
        "close",
        "dup",
        "write",
        "read",
        "mx-write",
        "mx-read",
        "set-size",
        "size",
        "commit",
        "decommit",
        "zero",
        "info",
        "tree",
        "frames",
        "process",
        "map",
        "unmap",
        "poke",
        "peek",
        "jinue-create",
        "jinue-dup",
        "jinue-close",
        "jinue-destroy",
        "mclone",
        "echo",
        "expect",
        "bogus",
        "",
    ];
    const WORDS: &[&str] = &[
        "a",
        "b",
        "c",
        "p",
        "p.vmar",
        "self",
        "self.vmar",
        "m",
        "n",
        "base",
        "base+4k",
        "m+1",
        "m+4k",
        "snapshot",
        "at-least-on-write",
        "slice",
        "resizable",
        "no-write",
        "non-resizable",
        "r",
        "rw",
        "rwx",
        "x",
        "none",
        "same",
        "0",
        "1",
        "3",
        "4095",
        "4k",
        "4k+1",
        "8k",
        "12k",
        "64k",
        "1m",
        "1t",
        "0x1000000000000",
        "0xffffffffffffffff",
        "18446744073709551616",
        "-1",
        "0x",
        "k",
        "\"text\"",
        "\"\\x00\\xff\"*3",
        "hex:00ff",
        "hex:0",
        "\"unclosed",
        "\"a\"*99999999999",
        "ZX_ERR_OUT_OF_RANGE",
        "ZX_ERR_BAD_HANDLE",
        "JINUE_EBADF",
        "#",
        "\\",
        "+",
        "++",
        "m+",
        "\u{e9}",
        "\u{1F600}",
    ];
    if rng.below(10) == 0 {
        // Raw garbage: random printable and control characters.
        let len = rng.below(40);
        return (0..len)
            .map(|_| char::from_u32(rng.below(0x300) as u32).unwrap_or('?'))
            .collect();
    }
    let mut line = String::new();
    if rng.below(6) == 0 {
        line.push_str(rng.pick(&[
            "expect ZX_ERR_OUT_OF_RANGE ",
            "expect JINUE_EINVAL ",
            "expect ZX_ERR_ACCESS_DENIED ",
        ]));
    }
    line.push_str(rng.pick(COMMANDS));
    for _ in 0..rng.below(9) {
        line.push(' ');
        if rng.below(8) == 0 {
            line.push_str(&(rng.next() >> rng.below(64)).to_string());
        } else {
            line.push_str(rng.pick(WORDS));
        }
    }
    line
}

#[test]
fn random_input_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut outcomes = [0usize; 2];
    for round in 0..40 {
        let mut session = script::Session::new(64).expect("a session");
        // Names the random lines refer to, so that many commands reach the kernel.
        let setup = "create a 16k resizable\ncreate b 8k\nprocess p\nmap m p a 0 16k rw\n";
        script::run_source(setup, &mut session, &mut std::io::sink(), round % 2 == 0)
            .expect("the setup runs");
        for _ in 0..150 {
            let line = random_line(&mut rng);
            // One line at a time in the same session, so that later lines meet the state
            // earlier ones left (a script stops at its first error).
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                script::run_source(&line, &mut session, &mut std::io::sink(), round % 2 == 1)
            }));
            match result {
                Ok(Ok(())) => outcomes[0] += 1,
                Ok(Err(error)) => {
                    assert!(error.line >= 1, "{line:?}: {error}");
                    outcomes[1] += 1;
                }
                Err(_) => panic!("run_source panicked on {line:?}"),
            }
        }
        // A whole random script at once, too.
        let source: Vec<String> = (0..30).map(|_| random_line(&mut rng)).collect();
        let source = source.join("\n");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            script::run_source(&source, &mut session, &mut std::io::sink(), false)
        }));
        assert!(result.is_ok(), "run_source panicked on:\n{source}");
    }
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}
