//! Runs the C conformance programs of `tests/c/` against `libzircon`.
//!
//! The library is built first with `cargo build --release -p zircon-hosted`; then every program is
//! compiled twice with the system C compiler, exactly as the spec's README builds C programs (once
//! against `libzircon.a`, once against `libzircon.so`), with `-Wall -Wextra -Werror` on top, and
//! both binaries run under a time limit. The shared-library run has the host MMU's userfaultfd
//! windows turned off (`ZIRCON_HOST_WINDOWS=0`), so every program also checks the path where each
//! translation is a host mapping of its own. A program passes when both exit with status 0. Binaries
//! and their output go to `target/c-tests/`. `headers.c` is a compile-time check run by CI and is
//! not run here.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long one run of one program may take before it is killed.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Programs that are only compiled elsewhere, never run here.
const NOT_RUN: &[&str] = &["headers"];

/// Environment variables a program is run with: (program, variable, value).
const ENVIRONMENT: &[(&str, &str, &str)] = &[
    ("frame_limit", "ZIRCON_FRAME_LIMIT", "32"),
    ("mapped_limits", "ZIRCON_FRAME_LIMIT", "64"),
    ("pinning", "ZIRCON_FRAME_LIMIT", "256"),
    ("physical_contiguous", "ZIRCON_FRAME_LIMIT", "256"),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("hosted/ has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    let root = repo_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds the release library once per test binary; every test shares the result.
fn build_library() -> Result<(), String> {
    static BUILD: OnceLock<Result<(), String>> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            let output = Command::new(env!("CARGO"))
                .args(["build", "--release", "-p", "zircon-hosted"])
                .current_dir(repo_root())
                .output()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "cargo build --release -p zircon-hosted failed ({}):\n{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        })
        .clone()
}

#[derive(Clone, Copy)]
enum Linkage {
    Static,
    Shared,
}

impl Linkage {
    fn name(self) -> &'static str {
        match self {
            Linkage::Static => "static",
            Linkage::Shared => "shared",
        }
    }
}

/// Compiles `tests/c/<program>.c`; returns the binary's path or the compiler's complaint.
fn compile(program: &str, linkage: Linkage, out_dir: &Path) -> Result<PathBuf, String> {
    let root = repo_root();
    let release = target_dir().join("release");
    let source = root.join("tests").join("c").join(format!("{program}.c"));
    let binary = out_dir.join(format!("{program}-{}", linkage.name()));
    let mut cc = Command::new("cc");
    cc.current_dir(&root)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(&source);
    match linkage {
        Linkage::Static => {
            cc.arg(release.join("libzircon.a"));
        }
        Linkage::Shared => {
            cc.arg("-L").arg(&release).arg("-lzircon");
        }
    }
    cc.args(["-lpthread", "-ldl", "-lm", "-o"]).arg(&binary);
    let output = cc
        .output()
        .map_err(|e| format!("cannot run the C compiler `cc`: {e}"))?;
    if output.status.success() {
        Ok(binary)
    } else {
        Err(format!(
            "{program} ({}): compilation failed ({}):\n{}{}",
            linkage.name(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

enum Outcome {
    Exited(ExitStatus),
    TimedOut,
}

/// Runs one binary with its output in files next to it; returns an error report unless it
/// exits with status 0 within the time limit.
fn run(program: &str, linkage: Linkage, binary: &Path) -> Result<(), String> {
    let stdout_path = binary.with_extension("stdout");
    let stderr_path = binary.with_extension("stderr");
    let open = |path: &Path| {
        File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let mut command = Command::new(binary);
    command
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(open(&stdout_path)?)
        .stderr(open(&stderr_path)?);
    if let Linkage::Shared = linkage {
        command.env("LD_LIBRARY_PATH", target_dir().join("release"));
        command.env("ZIRCON_HOST_WINDOWS", "0");
    }
    for &(_, variable, value) in ENVIRONMENT.iter().filter(|(name, ..)| *name == program) {
        command.env(variable, value);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let started = Instant::now();
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Outcome::Exited(status),
            Ok(None) if started.elapsed() >= TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break Outcome::TimedOut;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for {}: {e}", binary.display())),
        }
    };
    let stdout = fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    let verdict = match outcome {
        Outcome::Exited(status) if status.success() => return Ok(()),
        Outcome::Exited(status) => format!("failed: {status}"),
        Outcome::TimedOut => format!("timed out after {} s and was killed", TIME_LIMIT.as_secs()),
    };
    Err(format!(
        "{program} ({}) {verdict}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        linkage.name()
    ))
}

/// Builds the library, then compiles and runs `program` against both libraries; panics with
/// every failure's output.
fn check_program(program: &str) {
    if let Err(e) = build_library() {
        panic!("{e}");
    }
    let out_dir = target_dir().join("c-tests");
    fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_dir.display()));
    let mut failures = Vec::new();
    for linkage in [Linkage::Static, Linkage::Shared] {
        match compile(program, linkage, &out_dir) {
            Ok(binary) => {
                if let Err(e) = run(program, linkage, &binary) {
                    failures.push(e);
                }
            }
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        panic!("\n{}", failures.join("\n"));
    }
}

macro_rules! c_programs {
    ($($name:ident),* $(,)?) => {
        /// Every program this file runs, by the name of its `.c` file.
        const PROGRAMS: &[&str] = &[$(stringify!($name)),*];

        mod c_program {
            $(
                #[test]
                fn $name() {
                    super::check_program(stringify!($name));
                }
            )*
        }
    };
}

c_programs!(
    accounting,
    frame_limit,
    handles,
    hostile,
    jinue,
    jinue_mclone,
    magenta,
    mapped_limits,
    mapped_memory,
    object_info,
    pager,
    pager_file,
    physical_contiguous,
    pinning,
    process,
    process_memory,
    signals,
    threads,
    vmar,
    vmar_snapshots,
    vmo_clone_legacy,
    vmo_create,
    vmo_create_child,
    vmo_op_range,
    vmo_read_write,
    vmo_size,
);

/// A new program under `tests/c/` must be added to the list above, or it would never run.
#[test]
fn every_c_program_is_listed() {
    let dir = repo_root().join("tests").join("c");
    let mut missing = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
    {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("c") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file name")
            .to_string();
        if !PROGRAMS.contains(&stem.as_str()) && !NOT_RUN.contains(&stem.as_str()) {
            missing.push(stem);
        }
    }
    assert!(
        missing.is_empty(),
        "C programs in tests/c/ that hosted/tests/c_programs.rs does not run: {missing:?}"
    );
    for program in PROGRAMS {
        assert!(
            dir.join(format!("{program}.c")).is_file(),
            "listed program tests/c/{program}.c does not exist"
        );
    }
}
