//! The fuzz target's interpreter under `cargo test`, without libFuzzer: random byte strings
//! from a fixed seed, every input of the committed corpus (`fuzz/corpus/syscalls`) and every
//! input that once found a bug (`fuzz/regressions`) must run with no divergence, and the random
//! ones must reach the interesting paths (clones, mapped accesses, exhausted memory, MCLONE) so
//! that a decoder that stopped producing them fails here instead of passing quietly.
//!
//! `VM_FUZZ_REPLAY_INPUTS=<n>` runs n random inputs (default 1500); `VM_FUZZ_REPLAY_SEED=<n>`
//! chooses them.

use std::path::Path;

use vm_fuzz::calls::{Amount, Call, HandleArg, Len};
use vm_fuzz::{decode, run_bytes, Stats, World};

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

/// xorshift64*.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn add(total: &mut Stats, stats: Stats) {
    total.calls += stats.calls;
    total.succeeded += stats.succeeded;
    total.refused += stats.refused;
    total.no_memory += stats.no_memory;
    total.mapped_accesses += stats.mapped_accesses;
    total.jinue_clones += stats.jinue_clones;
}

#[test]
fn random_inputs_agree_with_the_model() {
    let inputs = env_u64("VM_FUZZ_REPLAY_INPUTS").unwrap_or(1500);
    let mut state = env_u64("VM_FUZZ_REPLAY_SEED").unwrap_or(0xF022_5EED) | 1;
    let mut total = Stats::default();
    for input in 0..inputs {
        let len = 64 + next(&mut state) % 1500;
        let bytes: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
        match run_bytes(&bytes) {
            Ok(stats) => add(&mut total, stats),
            Err(divergence) => {
                let path = std::env::temp_dir().join(format!("vm-fuzz-divergence-{input}"));
                std::fs::write(&path, &bytes).expect("saving the input");
                panic!("input {input} (saved to {}): {divergence}", path.display());
            }
        }
    }
    eprintln!("{inputs} random inputs: {total:?}");
    let per_input = total.calls / inputs.max(1);
    assert!(
        per_input >= 20,
        "inputs decode into too few calls: {total:?}"
    );
    assert!(
        total.succeeded * 5 >= total.calls,
        "too few calls succeed: {total:?}"
    );
    assert!(
        total.refused * 5 >= total.calls,
        "too few calls are refused: {total:?}"
    );
    assert!(total.no_memory > 0, "memory never ran out: {total:?}");
    assert!(
        total.mapped_accesses * 20 >= total.calls,
        "too few mapped accesses: {total:?}"
    );
    assert!(total.jinue_clones > 0, "MCLONE never succeeded: {total:?}");
}

fn replay_folder(folder: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        let bytes = std::fs::read(&path).expect("an input");
        if let Err(divergence) = run_bytes(&bytes) {
            panic!("{}: {divergence}", path.display());
        }
        count += 1;
    }
    count
}

#[test]
fn the_corpus_and_the_regressions_agree_with_the_model() {
    let corpus = replay_folder("corpus/syscalls");
    let regressions = replay_folder("regressions");
    eprintln!("{corpus} corpus inputs, {regressions} regression inputs");
    assert!(corpus > 0, "the seed corpus is missing");
}

#[test]
fn every_byte_string_decodes() {
    assert!(decode(&[]).is_empty());
    let ones = decode(&[0xFF; 4096]);
    let zeros = decode(&[0; 4096]);
    assert!(!ones.is_empty() && !zeros.is_empty());
    assert!(decode(&vec![0x5A; 1 << 16]).len() <= vm_fuzz::MAX_CALLS);
}

#[test]
fn the_harness_notices_a_divergence() {
    let mut world = World::new().expect("a kernel");
    let create = Call::VmoCreate {
        size: Amount::pages(2),
        resizable: false,
        bad_options: false,
    };
    let write = Call::VmoWrite {
        vmo: HandleArg::live(0),
        offset: Amount::bytes(0),
        len: Len(100),
        fill: 3,
    };
    world.step(create).expect("create");
    world.step(write).expect("write");
    assert!(world.tamper_with_model(0xEE));
    let read = Call::VmoRead {
        vmo: HandleArg::live(0),
        offset: Amount::bytes(0),
        len: Len(10),
    };
    let divergence = world.step(read).expect_err("the tampered byte must show");
    assert!(divergence.contains("zx_vmo_read"), "{divergence}");
}
