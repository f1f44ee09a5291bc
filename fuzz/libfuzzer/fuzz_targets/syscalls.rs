//! The libFuzzer entry point: each input is a sequence of system calls (see `vm_fuzz`); a
//! divergence from the reference model, a broken invariant or a leak is a crash, and so is
//! any panic or sanitizer report inside the kernel.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Err(divergence) = vm_fuzz::run_bytes(bytes) {
        panic!("{divergence}");
    }
});
