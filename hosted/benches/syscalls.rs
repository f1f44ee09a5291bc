//! The C library's VMO calls against `memcpy` of the same bytes, measured in the same run: what
//! a C program pays for `zx_vmo_read` / `zx_vmo_write` (handle lookup, rights, range checks and
//! the engine) on top of moving the bytes.
//!
//! Each case moves a working set in 4 KiB calls and is timed in alternation with a plain copy of
//! the same bytes in the same pieces; the figure is the ratio of the throughputs (1.0 = as fast
//! as memcpy). Working sets: 64 MiB (beyond cache) and 256 KiB (in cache).
//!
//! `cargo bench -p zircon-hosted --bench syscalls` (add `-- --quick` for a smoke run).

use std::ffi::c_void;
use std::hint::black_box;
use std::time::{Duration, Instant};

use zircon::c_abi::{zx_handle_close, zx_vmo_create, zx_vmo_read, zx_vmo_write};

const PAGE: usize = 4096;

#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct AlignedPage([u8; PAGE]);

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times `case` (one pass over the working set) and a memcpy pass in alternation.
fn compare(pages: usize, rounds: usize, mut case: impl FnMut(&mut [AlignedPage])) -> f64 {
    let src = vec![AlignedPage([0x5a; PAGE]); pages];
    let mut dst = vec![AlignedPage([0; PAGE]); pages];
    let mut buffer = vec![AlignedPage([0x33; PAGE]); pages];
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let start = Instant::now();
        for (d, s) in dst.iter_mut().zip(&src) {
            d.0.copy_from_slice(black_box(&s.0));
        }
        let copy = start.elapsed();
        let start = Instant::now();
        case(&mut buffer);
        let ours_round = start.elapsed();
        if round > 0 {
            theirs.push(copy);
            ours.push(ours_round);
        }
    }
    black_box(&dst);
    median(theirs).as_secs_f64() / median(ours).as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    println!("C library calls vs memcpy, 4 KiB per call (ratio of throughputs, 1.0 = memcpy)");
    for (label, bytes, rounds) in [("64 MiB", 64 << 20, 9), ("256 KiB", 256 << 10, 301)] {
        let pages = bytes / PAGE;
        let rounds = if quick { rounds.min(3) } else { rounds };
        let mut vmo = 0;
        // SAFETY: `vmo` is a valid out-pointer.
        let status = unsafe { zx_vmo_create(bytes as u64, 0, &mut vmo) };
        assert_eq!(status, 0, "zx_vmo_create");
        let write = compare(pages, rounds, |buffer| {
            for (index, page) in buffer.iter().enumerate() {
                let offset = (index * PAGE) as u64;
                // SAFETY: the page is valid for PAGE readable bytes.
                let status =
                    unsafe { zx_vmo_write(vmo, page.0.as_ptr().cast::<c_void>(), offset, PAGE) };
                debug_assert_eq!(status, 0);
            }
        });
        let read = compare(pages, rounds, |buffer| {
            for (index, page) in buffer.iter_mut().enumerate() {
                let offset = (index * PAGE) as u64;
                // SAFETY: the page is valid for PAGE writable bytes.
                let status =
                    unsafe { zx_vmo_read(vmo, page.0.as_mut_ptr().cast::<c_void>(), offset, PAGE) };
                debug_assert_eq!(status, 0);
            }
        });
        println!("{label:>8}: zx_vmo_read {read:.2}x   zx_vmo_write (committed pages) {write:.2}x");
        assert_eq!(zx_handle_close(vmo), 0);
    }
}
