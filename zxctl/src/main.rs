//! `zxctl`: shows the memory system at work. Without arguments it runs the tour; `run FILE`
//! runs a scenario script of system calls, `tree` draws a clone tree, and `bench` runs the
//! performance comparisons.

mod bench;
mod script;
mod tour;
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Shows the memory system of a capability microkernel at work.
#[derive(Parser, Debug)]
#[command(name = "zxctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Walks through what each seed document describes, call by call (the default).
    Tour,
    /// Runs a scenario script (see `zxctl/examples/` and `zxctl run --help`).
    Run {
        /// The script; `-` reads it from standard input.
        file: PathBuf,
        /// One JSON object per step instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Runs a scenario script and draws the clone tree of each family it leaves open.
    Tree {
        /// The script; without one, a built-in family of every kind of child.
        file: Option<PathBuf>,
        /// How to draw it.
        #[arg(long, value_enum, default_value_t = tree::Format::Text)]
        format: tree::Format,
    },
    /// Runs the performance comparisons and prints a table of ratios.
    Bench {
        /// A short smoke run (its ratios are not the documented figures).
        #[arg(long)]
        quick: bool,
        /// Machine-readable results.
        #[arg(long)]
        json: bool,
        /// Also writes a bar chart of the ratios as SVG to this file.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Tour) {
        Command::Tour => tour::run(),
        Command::Run { file, json } => script::run_file(&file, json),
        Command::Tree { file, format } => tree::run(file.as_deref(), format),
        Command::Bench { quick, json, plot } => bench::run(quick, json, plot.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zxctl: {message}");
            ExitCode::FAILURE
        }
    }
}
