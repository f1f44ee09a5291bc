//! Coverage-guided fuzzing of the system-call boundary. Bytes decode (with `arbitrary`) into a
//! sequence of Zircon, Magenta and Jinue calls ([`calls`]), device memory (IOMMU, BTI, pins,
//! contiguous and physical VMOs) and user pagers with their ports included; [`world`] runs them
//! against a real kernel and, side by side, against the engine's naive reference model (plus
//! the harness's own tables of what the model does not know: pins, contiguous, physical and
//! pager-backed VMOs, ports), predicting every status from the documented check orders and
//! comparing bytes, info, frames in use, family invariants, translations, pins and queued
//! packets after every call, and that nothing leaks at the end. No call that would wait for a
//! pager is ever issued.
//!
//! The libFuzzer target (`fuzz/libfuzzer`, run by `fuzz/run`) and the replay tests
//! (`fuzz/tests/replay.rs`, part of `cargo test`) share [`run_bytes`].

pub mod calls;
pub mod world;

/// The engine's reference model, shared with its property tests (one model, one truth).
#[allow(dead_code)]
#[path = "../../engine/tests/model/mod.rs"]
mod model;

pub use calls::Call;
pub use world::{Stats, World};

/// The most calls one input runs: enough for deep clone trees, few enough that every input
/// is fast.
pub const MAX_CALLS: usize = 96;

/// Decodes `bytes` into calls (at most [`MAX_CALLS`]); undecodable tails are ignored.
pub fn decode(bytes: &[u8]) -> Vec<Call> {
    let mut input = arbitrary::Unstructured::new(bytes);
    let mut calls = Vec::new();
    while calls.len() < MAX_CALLS && !input.is_empty() {
        match input.arbitrary::<Call>() {
            Ok(call) => calls.push(call),
            Err(_) => break,
        }
    }
    calls
}

/// Runs the calls `bytes` decode into on a fresh kernel: `Err` describes the first divergence
/// from the model, broken invariant or leak.
pub fn run_bytes(bytes: &[u8]) -> Result<Stats, String> {
    World::new()?.run(&decode(bytes))
}
