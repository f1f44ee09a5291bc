//! The Rust API (`zircon::zx`) over the calling program's own memory: VMOs written through
//! owned mappings and snapshotted, decommit under a mapping, the bounds and permission checks of
//! `Mapping`, a kernel copy into a mapping of the same VMO (no deadlock), handles closed on
//! drop, the parsed info records, sub-VMARs, four threads writing through one mapping, and the
//! errors `Vmar::map` returns for what a mapping could not safely touch; and, in a child process
//! with a tiny frame limit, the one documented way a store through a mapping still dies.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use zircon::c_abi;
use zircon::zx::{
    self, Handle, Mapping, ObjectType, Rights, Status, Vmar, VmarFlags, Vmo, VmoChildOptions,
    VmoInfoFlags, VmoOp, SAME_RIGHTS,
};

const PAGE: usize = 4096;
const PAGE64: u64 = PAGE as u64;
const RW: VmarFlags = VmarFlags::PERM_READ.union(VmarFlags::PERM_WRITE);

/// A read-write mapping of `len` bytes of `vmo` from offset 0, in the root VMAR.
fn map(vmo: &Vmo, len: usize) -> zx::Result<Mapping> {
    Vmar::root_self().map(RW, 0, vmo, 0, len)
}

fn mapped_bytes(mapping: &Mapping, offset: usize, len: usize) -> zx::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    mapping.read_at(offset, &mut bytes)?;
    Ok(bytes)
}

fn num_mappings(vmo: &Vmo) -> zx::Result<u64> {
    Ok(vmo.info()?.num_mappings)
}

/// Runs `body` on its own thread and fails if it has not finished within a minute (a
/// deadlock would otherwise hang the whole test run).
fn within_a_minute(name: &str, body: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => worker.join().expect("the worker finished"),
        Err(RecvTimeoutError::Timeout) => panic!("{name}: no answer within 60 s (deadlock?)"),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("{name}: the worker ended without finishing"),
        },
    }
}

#[test]
fn a_snapshot_keeps_the_old_bytes_while_the_mapping_changes_only_the_parent() -> zx::Result<()> {
    let vmo = Vmo::create(2 * PAGE64)?;
    let mapping = map(&vmo, 2 * PAGE)?;
    mapping.write_at(0, b"first page")?;
    mapping.write_at(PAGE + 5, b"second page")?;

    let snapshot = vmo.snapshot(0, 2 * PAGE64)?;
    let snapshot_mapping =
        Vmar::root_self().map(VmarFlags::PERM_READ, 0, &snapshot, 0, 2 * PAGE)?;
    // Both pages are write-protected now: these stores fault, and the parent copies.
    mapping.write_at(0, b"FIRST PAGE")?;
    mapping.write_at(PAGE + 5, b"SECOND PAGE")?;

    assert_eq!(snapshot.read_to_vec(0, 10)?, b"first page");
    assert_eq!(snapshot.read_to_vec(PAGE64 + 5, 11)?, b"second page");
    assert_eq!(mapped_bytes(&snapshot_mapping, 0, 10)?, b"first page");
    assert_eq!(
        mapped_bytes(&snapshot_mapping, PAGE + 5, 11)?,
        b"second page"
    );
    assert_eq!(vmo.read_to_vec(0, 10)?, b"FIRST PAGE");
    assert_eq!(vmo.read_to_vec(PAGE64 + 5, 11)?, b"SECOND PAGE");

    // And the other way: the snapshot's writes reach neither the parent nor its mapping.
    snapshot.write(b"snap", 0)?;
    assert_eq!(mapped_bytes(&mapping, 0, 10)?, b"FIRST PAGE");
    assert_eq!(mapped_bytes(&snapshot_mapping, 0, 10)?, b"snapt page");

    // Every page was copied once: each side pays for its own two.
    assert_eq!(vmo.info()?.committed_bytes, 2 * PAGE64);
    assert_eq!(snapshot.info()?.committed_bytes, 2 * PAGE64);
    Ok(())
}

#[test]
fn decommit_while_mapped_reads_zeros() -> zx::Result<()> {
    let vmo = Vmo::create(2 * PAGE64)?;
    let mapping = map(&vmo, 2 * PAGE)?;
    mapping.write_at(0, &[0xAB; 2 * PAGE])?;
    assert_eq!(vmo.info()?.committed_bytes, 2 * PAGE64);

    vmo.decommit(0, PAGE64)?;
    assert_eq!(mapped_bytes(&mapping, 0, PAGE)?, vec![0; PAGE]);
    assert_eq!(mapped_bytes(&mapping, PAGE, PAGE)?, vec![0xAB; PAGE]);
    assert_eq!(vmo.info()?.committed_bytes, PAGE64);

    // Zero is byte exact, and the mapping sees it at once.
    vmo.zero(PAGE64 + 10, 20)?;
    let second = mapped_bytes(&mapping, PAGE, PAGE)?;
    assert!(second[..10].iter().all(|&byte| byte == 0xAB));
    assert!(second[10..30].iter().all(|&byte| byte == 0));
    assert!(second[30..].iter().all(|&byte| byte == 0xAB));

    // Writing through the mapping again commits a fresh page.
    mapping.write_at(7, b"again")?;
    assert_eq!(vmo.read_to_vec(0, 12)?, b"\0\0\0\0\0\0\0again");
    assert_eq!(vmo.info()?.committed_bytes, 2 * PAGE64);

    // Decommit wants whole pages; commit rounds out.
    assert_eq!(vmo.decommit(1, PAGE64), Err(Status::INVALID_ARGS));
    vmo.decommit(0, 2 * PAGE64)?;
    vmo.commit(5, 1)?;
    assert_eq!(vmo.info()?.committed_bytes, PAGE64);
    assert_eq!(
        vmo.op_range(VmoOp::from_raw(99), 0, PAGE64),
        Err(Status::INVALID_ARGS)
    );
    assert_eq!(vmo.op_range(VmoOp::CACHE_SYNC, 0, PAGE64), Ok(()));
    assert_eq!(
        vmo.op_range(VmoOp::LOCK, 0, PAGE64),
        Err(Status::NOT_SUPPORTED)
    );
    Ok(())
}

#[test]
fn read_at_and_write_at_check_their_bounds() -> zx::Result<()> {
    let vmo = Vmo::create(PAGE64)?;
    let mapping = map(&vmo, 100)?;
    assert_eq!(mapping.len(), PAGE, "the length is rounded up to a page");
    assert!(!mapping.is_empty());

    let mut one = [0u8; 1];
    assert_eq!(mapping.read_at(PAGE, &mut one), Err(Status::OUT_OF_RANGE));
    assert_eq!(
        mapping.read_at(PAGE - 3, &mut [0; 4]),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(
        mapping.write_at(PAGE - 3, &[1; 4]),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(mapping.write_at(PAGE + 1, &[]), Err(Status::OUT_OF_RANGE));
    assert_eq!(
        mapping.read_at(usize::MAX, &mut [0; 2]),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(
        mapping.write_at(usize::MAX - 1, &[1; 4]),
        Err(Status::OUT_OF_RANGE)
    );
    // A failed write wrote nothing.
    assert_eq!(vmo.read_to_vec(PAGE64 - 3, 3)?, [0, 0, 0]);
    assert_eq!(vmo.info()?.committed_bytes, 0);

    // Empty accesses up to the end are fine; the last bytes are reachable.
    assert_eq!(mapping.read_at(PAGE, &mut []), Ok(()));
    assert_eq!(mapping.write_at(PAGE, &[]), Ok(()));
    mapping.write_at(PAGE - 4, &[1, 2, 3, 4])?;
    assert_eq!(vmo.read_to_vec(PAGE64 - 4, 4)?, [1, 2, 3, 4]);
    assert_eq!(mapped_bytes(&mapping, PAGE - 4, 4)?, [1, 2, 3, 4]);
    Ok(())
}

#[test]
fn vmo_read_into_a_mapping_of_the_same_vmo_does_not_deadlock() {
    within_a_minute("vmo read into its own mapping", || {
        let run = || -> zx::Result<()> {
            let vmo = Vmo::create(2 * PAGE64)?;
            let pattern: Vec<u8> = (0..PAGE).map(|i| (i % 251) as u8).collect();
            vmo.write(&pattern, PAGE64)?;
            let mut mapping = map(&vmo, 2 * PAGE)?;
            {
                // SAFETY: a read-write mapping of a VMO that only this block touches, and only
                // through calls that are handed this very slice.
                let slice = unsafe { mapping.as_mut_slice() };
                // Page 1 into page 0: the kernel reads the VMO while the destination is the
                // same VMO's memory.
                vmo.read(&mut slice[..PAGE], PAGE64)?;
                // The whole VMO onto itself.
                vmo.read(slice, 0)?;
                assert_eq!(&slice[..PAGE], &pattern[..]);
                assert_eq!(&slice[PAGE..], &pattern[..]);
                // And from the mapping into the VMO: page 0 (through the mapping) to page 1.
                slice[0] = 0xEE;
                vmo.write(&slice[..PAGE], PAGE64)?;
            }
            assert_eq!(vmo.read_to_vec(PAGE64, 2)?, [0xEE, pattern[1]]);
            assert_eq!(mapped_bytes(&mapping, PAGE, 2)?, [0xEE, pattern[1]]);

            // A read-only mapping as the source of a write to another VMO.
            let other = Vmo::create(PAGE64)?;
            let read_only = Vmar::root_self().map(VmarFlags::PERM_READ, 0, &vmo, 0, PAGE)?;
            // SAFETY: readable, and nothing writes `vmo` while the slice lives.
            other.write(unsafe { read_only.as_slice() }, 0)?;
            assert_eq!(other.read_to_vec(0, 3)?, [0xEE, pattern[1], pattern[2]]);
            Ok(())
        };
        run().expect("every call succeeds");
    });
}

#[test]
fn handles_close_when_dropped() -> zx::Result<()> {
    let vmo = Vmo::create(PAGE64)?;
    let info = vmo.basic_info()?;
    assert_eq!(info.object_type, ObjectType::VMO);
    assert_eq!(info.rights, Rights::DEFAULT_VMO);
    assert!(info.koid >= 1024);
    assert_eq!(info.related_koid, 0);

    let reader = vmo.duplicate(Rights::READ | Rights::MAP | Rights::DUPLICATE)?;
    assert_ne!(reader.raw(), vmo.raw());
    assert_eq!(reader.koid()?, info.koid);
    assert_eq!(
        reader.basic_info()?.rights,
        Rights::READ | Rights::MAP | Rights::DUPLICATE
    );
    assert_eq!(
        reader.duplicate(Rights::WRITE).map(Vmo::into_raw),
        Err(Status::INVALID_ARGS)
    );

    let raw = vmo.raw();
    vmo.write(b"kept", 0)?;
    drop(vmo);
    // The value is dead: a second close fails, and nothing answers through it.
    assert_eq!(c_abi::zx_handle_close(raw), Status::BAD_HANDLE.into_raw());
    // The VMO itself lives on through the other handle, with that handle's rights.
    assert_eq!(reader.read_to_vec(0, 4)?, b"kept");
    assert_eq!(reader.write(b"no", 0), Err(Status::ACCESS_DENIED));

    // Ownership leaves and comes back through raw values.
    let raw = reader.into_raw();
    // SAFETY: `raw` is a live handle that nothing else owns any more.
    let handle = unsafe { Handle::from_raw(raw) };
    let vmo = Vmo::from(handle);
    assert_eq!(vmo.size()?, PAGE64);
    let handle: Handle = vmo.into();
    let narrower = handle.replace(Rights::READ)?;
    assert_eq!(c_abi::zx_handle_close(raw), Status::BAD_HANDLE.into_raw());
    let narrower_raw = narrower.raw();
    narrower.close()?;
    assert_eq!(
        c_abi::zx_handle_close(narrower_raw),
        Status::BAD_HANDLE.into_raw()
    );

    // The invalid handle: calls fail, dropping it does nothing.
    assert_eq!(Vmo::from(Handle::invalid()).size(), Err(Status::BAD_HANDLE));
    assert!(Handle::default().is_invalid());

    // A handle of another type.
    let root_duplicate = Vmar::root_self().duplicate(SAME_RIGHTS)?;
    assert_eq!(
        Vmo::from(root_duplicate.into_handle()).size(),
        Err(Status::WRONG_TYPE)
    );
    Ok(())
}

#[test]
fn the_root_vmar_is_borrowed_and_never_closed() -> zx::Result<()> {
    let root = Vmar::root_self();
    assert_eq!(root.raw(), c_abi::zx_vmar_root_self());
    assert!(std::ptr::eq(root, Vmar::root_self()));
    let info = root.info()?;
    assert_eq!(info.len as u64, zircon::runtime::RESERVED_BYTES);

    let vmo = Vmo::create(PAGE64)?;
    for _ in 0..3 {
        let mapping = map(&vmo, PAGE)?;
        assert_eq!(
            mapping.vmar_raw(),
            root.raw(),
            "root mappings borrow the root handle"
        );
        assert!(mapping.addr() >= info.base && mapping.addr() + PAGE <= info.base + info.len);
        let duplicate = root.duplicate(SAME_RIGHTS)?;
        let through_duplicate = duplicate.map(RW, 0, &vmo, 0, PAGE)?;
        drop(duplicate);
        through_duplicate.write_at(0, b"dup")?;
        assert_eq!(mapped_bytes(&mapping, 0, 3)?, b"dup");
    }
    // Mappings and duplicates came and went; the runtime's handle still answers.
    assert_eq!(root.basic_info()?.object_type, ObjectType::VMAR);
    assert_eq!(num_mappings(&vmo)?, 0);
    // A root VMAR cannot be destroyed.
    // SAFETY: the call fails (NOT_SUPPORTED) and destroys nothing.
    assert_eq!(unsafe { root.destroy() }, Err(Status::NOT_SUPPORTED));
    Ok(())
}

#[test]
fn info_reports_sizes_mappings_and_family() -> zx::Result<()> {
    let vmo = Vmo::create(3 * PAGE64)?;
    vmo.set_name("rust-api")?;
    assert_eq!(vmo.name()?, "rust-api");
    let info = vmo.info()?;
    assert_eq!(info.koid, vmo.koid()?);
    assert_eq!(info.name, "rust-api");
    assert_eq!(info.size, 3 * PAGE64);
    assert_eq!(info.parent_koid, 0);
    assert_eq!(info.num_children, 0);
    assert_eq!(info.num_mappings, 0);
    assert_eq!(info.share_count, 1);
    assert_eq!(info.committed_bytes, 0);
    assert_eq!(info.populated_bytes, 0);
    assert_eq!(info.handle_rights, Rights::DEFAULT_VMO);
    assert!(info
        .flags
        .contains(VmoInfoFlags::PAGED | VmoInfoFlags::VIA_HANDLE));
    assert!(!info.flags.intersects(
        VmoInfoFlags::RESIZABLE | VmoInfoFlags::IS_COW_CLONE | VmoInfoFlags::IMMUTABLE
    ));

    let mapping = map(&vmo, 3 * PAGE)?;
    assert_eq!(num_mappings(&vmo)?, 1);
    mapping.write_at(PAGE - 1, &[1; PAGE + 1])?; // touches pages 0 and 1
    let info = vmo.info()?;
    assert_eq!(info.committed_bytes, 2 * PAGE64);
    assert_eq!(info.populated_bytes, 2 * PAGE64);

    let child = vmo.snapshot(0, PAGE64)?;
    let child_info = child.info()?;
    assert_eq!(child_info.parent_koid, info.koid);
    assert_eq!(child_info.name, "rust-api", "children inherit the name");
    assert!(child_info.flags.contains(VmoInfoFlags::IS_COW_CLONE));
    assert_eq!(
        child_info.committed_bytes, 0,
        "the parent pays for shared pages"
    );
    assert_eq!(child_info.populated_bytes, PAGE64);
    assert_eq!(vmo.info()?.num_children, 1);
    let frozen = vmo.create_child(
        VmoChildOptions::SNAPSHOT | VmoChildOptions::NO_WRITE,
        0,
        PAGE64,
    )?;
    assert!(frozen.info()?.flags.contains(VmoInfoFlags::IMMUTABLE));
    assert!(!frozen.info()?.handle_rights.contains(Rights::WRITE));
    assert_eq!(vmo.info()?.num_children, 2);
    drop((child, frozen));
    assert_eq!(vmo.info()?.num_children, 0);

    let second = map(&vmo, PAGE)?;
    assert_eq!(num_mappings(&vmo)?, 2);
    drop(mapping);
    assert_eq!(num_mappings(&vmo)?, 1);
    second.unmap()?;
    assert_eq!(num_mappings(&vmo)?, 0);

    // A long name is cut to 31 bytes.
    let long = "a name that is much longer than thirty-one bytes";
    vmo.set_name(long)?;
    assert_eq!(vmo.name()?, long[..31]);

    // Resizable VMOs.
    let resizable = Vmo::create_resizable(PAGE64)?;
    let info = resizable.info()?;
    assert!(info.flags.contains(VmoInfoFlags::RESIZABLE));
    assert!(info.handle_rights.contains(Rights::RESIZE));
    resizable.set_size(3 * PAGE64 - 10)?;
    assert_eq!(resizable.size()?, 3 * PAGE64);
    assert_eq!(vmo.set_size(PAGE64), Err(Status::UNAVAILABLE));
    Ok(())
}

#[test]
fn a_mapping_knows_its_permissions() -> zx::Result<()> {
    let vmo = Vmo::create(PAGE64)?;
    let mut mapping = map(&vmo, PAGE)?;
    assert_eq!(mapping.perms(), RW);
    mapping.write_at(0, b"rw")?;

    mapping.protect(VmarFlags::PERM_READ)?;
    assert_eq!(mapping.perms(), VmarFlags::PERM_READ);
    // A store would kill the process now: the mapping refuses instead.
    assert_eq!(mapping.write_at(0, b"ro"), Err(Status::ACCESS_DENIED));
    assert_eq!(mapped_bytes(&mapping, 0, 2)?, b"rw");
    // The VMO itself can still be written, and the read-only mapping sees it.
    vmo.write(b"vw", 0)?;
    assert_eq!(mapped_bytes(&mapping, 0, 2)?, b"vw");

    mapping.protect(RW)?;
    mapping.write_at(0, b"RW")?;
    assert_eq!(vmo.read_to_vec(0, 2)?, b"RW");

    mapping.protect(VmarFlags::empty())?;
    assert_eq!(mapping.read_at(0, &mut [0; 1]), Err(Status::ACCESS_DENIED));
    assert_eq!(mapping.write_at(0, &[0; 1]), Err(Status::ACCESS_DENIED));
    // Refused changes leave the permissions as they were.
    assert_eq!(
        mapping.protect(VmarFlags::PERM_WRITE),
        Err(Status::INVALID_ARGS)
    );
    assert_eq!(
        mapping.protect(VmarFlags::PERM_READ | VmarFlags::SPECIFIC),
        Err(Status::INVALID_ARGS)
    );
    assert_eq!(mapping.perms(), VmarFlags::empty());

    // The ceiling: a mapping made through a handle without WRITE cannot be raised to it.
    let reader = vmo.duplicate(Rights::READ | Rights::MAP | Rights::INSPECT)?;
    assert_eq!(
        Vmar::root_self()
            .map(RW, 0, &reader, 0, PAGE)
            .map(|m| m.len()),
        Err(Status::ACCESS_DENIED)
    );
    let mut read_only = Vmar::root_self().map(VmarFlags::PERM_READ, 0, &reader, 0, PAGE)?;
    assert_eq!(read_only.protect(RW), Err(Status::ACCESS_DENIED));
    assert_eq!(read_only.perms(), VmarFlags::PERM_READ);
    assert_eq!(read_only.write_at(0, b"x"), Err(Status::ACCESS_DENIED));
    assert_eq!(mapped_bytes(&read_only, 0, 2)?, b"RW");
    Ok(())
}

#[test]
fn four_threads_write_disjoint_ranges_through_one_mapping() -> zx::Result<()> {
    const THREADS: usize = 4;
    const PAGES: usize = 16;
    const ROUNDS: usize = 8;
    // Not a divisor of the page size: threads share pages, so their faults race.
    const CHUNK: usize = 1000;
    const LEN: usize = PAGES * PAGE;
    let value = |thread: usize, round: usize, at: usize| (thread * 61 + round * 7 + at) as u8;

    let vmo = Vmo::create(LEN as u64)?;
    let mapping = map(&vmo, LEN)?;
    thread::scope(|scope| {
        for thread in 0..THREADS {
            let mapping = &mapping;
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    for (index, start) in (0..LEN).step_by(CHUNK).enumerate() {
                        if index % THREADS != thread {
                            continue;
                        }
                        let end = (start + CHUNK).min(LEN);
                        let bytes: Vec<u8> =
                            (start..end).map(|at| value(thread, round, at)).collect();
                        mapping
                            .write_at(start, &bytes)
                            .expect("in bounds, writable");
                    }
                }
            });
        }
        // Meanwhile, snapshots write-protect the pages again and again, so that writers keep
        // faulting and copying.
        let vmo = &vmo;
        scope.spawn(move || {
            for _ in 0..20 {
                let snapshot = vmo.snapshot(0, LEN as u64).expect("snapshot");
                thread::yield_now();
                drop(snapshot);
            }
        });
    });

    let model: Vec<u8> = (0..LEN)
        .map(|at| value((at / CHUNK) % THREADS, ROUNDS - 1, at))
        .collect();
    assert!(
        vmo.read_to_vec(0, LEN)? == model,
        "the VMO matches the model"
    );
    assert!(
        mapped_bytes(&mapping, 0, LEN)? == model,
        "so does the mapping"
    );
    assert_eq!(vmo.info()?.committed_bytes, LEN as u64);

    // A mapping may also move to another thread and be dropped there.
    thread::spawn(move || drop(mapping))
        .join()
        .expect("dropped");
    assert_eq!(num_mappings(&vmo)?, 0);
    Ok(())
}

#[test]
fn map_refuses_what_a_mapping_could_not_touch() -> zx::Result<()> {
    let root = Vmar::root_self();
    let resizable = Vmo::create_resizable(PAGE64)?;
    assert_eq!(
        root.map(RW, 0, &resizable, 0, PAGE).map(|m| m.len()),
        Err(Status::NOT_SUPPORTED)
    );

    let vmo = Vmo::create(2 * PAGE64)?;
    let refused = |flags: VmarFlags, offset: u64, len: usize| {
        root.map(flags, 0, &vmo, offset, len).map(|m| m.len())
    };
    assert_eq!(refused(RW, PAGE64, 2 * PAGE), Err(Status::OUT_OF_RANGE));
    assert_eq!(refused(RW, 0, 2 * PAGE + 1), Err(Status::OUT_OF_RANGE));
    assert_eq!(
        refused(RW, u64::MAX - (PAGE64 - 1), PAGE),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(refused(RW, 0, usize::MAX), Err(Status::OUT_OF_RANGE));
    assert_eq!(refused(RW, 0, 0), Err(Status::INVALID_ARGS));
    assert_eq!(refused(RW, 1, PAGE), Err(Status::INVALID_ARGS));
    assert_eq!(
        refused(VmarFlags::PERM_WRITE, 0, PAGE),
        Err(Status::INVALID_ARGS)
    );
    assert_eq!(
        refused(RW | VmarFlags::SPECIFIC_OVERWRITE, 0, PAGE),
        Err(Status::INVALID_ARGS)
    );
    assert_eq!(
        refused(VmarFlags::from_bits_retain(1 << 20), 0, PAGE),
        Err(Status::INVALID_ARGS)
    );
    // Nothing refused stayed mapped.
    assert_eq!(num_mappings(&vmo)?, 0);

    assert_eq!(
        root.map(RW, 0, &Vmo::from(Handle::invalid()), 0, PAGE)
            .map(|m| m.len()),
        Err(Status::BAD_HANDLE)
    );
    let not_a_vmar = Vmar::from(vmo.duplicate(SAME_RIGHTS)?.into_handle());
    assert_eq!(
        not_a_vmar.map(RW, 0, &vmo, 0, PAGE).map(|m| m.len()),
        Err(Status::WRONG_TYPE)
    );

    // A specific placement on top of a live mapping collides instead of replacing it.
    let mapping = map(&vmo, PAGE)?;
    mapping.write_at(0, b"mine")?;
    let at = mapping.addr() - root.info()?.base;
    assert_eq!(
        root.map(RW | VmarFlags::SPECIFIC, at, &vmo, PAGE64, PAGE)
            .map(|m| m.len()),
        Err(Status::ALREADY_EXISTS)
    );
    assert_eq!(mapped_bytes(&mapping, 0, 4)?, b"mine");

    // The whole VMO, a slice child and an offset inside the VMO are all fine.
    let slice = vmo.create_child(VmoChildOptions::SLICE, PAGE64, PAGE64)?;
    let slice_mapping = root.map(RW, 0, &slice, 0, PAGE)?;
    slice_mapping.write_at(0, b"slice")?;
    let tail = root.map(VmarFlags::PERM_READ, 0, &vmo, PAGE64, PAGE)?;
    assert_eq!(mapped_bytes(&tail, 0, 5)?, b"slice");
    assert_eq!(num_mappings(&vmo)?, 2);

    // The raw call takes what `map` refuses; the caller then owns the range.
    // SAFETY: no SPECIFIC_OVERWRITE; the range is unmapped below and never touched.
    let addr = unsafe { root.map_raw(RW, 0, &resizable, 0, PAGE) }?;
    assert_eq!(resizable.info()?.num_mappings, 1);
    // SAFETY: the range was mapped just above, and nothing refers to it.
    unsafe { root.unmap(addr, PAGE) }?;
    assert_eq!(resizable.info()?.num_mappings, 0);

    // VMO calls fail cleanly too.
    assert_eq!(vmo.read(&mut [0; 1], 2 * PAGE64), Err(Status::OUT_OF_RANGE));
    assert_eq!(vmo.write(&[0; 2], u64::MAX), Err(Status::OUT_OF_RANGE));
    assert_eq!(vmo.read_to_vec(0, usize::MAX), Err(Status::OUT_OF_RANGE));
    assert_eq!(
        Vmo::create(u64::MAX).map(Vmo::into_raw),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(
        Vmo::create_with_options(PAGE64, zx::VmoOptions::from_bits_retain(1 << 7))
            .map(Vmo::into_raw),
        Err(Status::INVALID_ARGS)
    );
    assert_eq!(
        vmo.create_child(
            VmoChildOptions::SNAPSHOT | VmoChildOptions::SLICE,
            0,
            PAGE64
        )
        .map(Vmo::into_raw),
        Err(Status::INVALID_ARGS)
    );
    Ok(())
}

#[test]
fn mappings_in_a_sub_vmar() -> zx::Result<()> {
    let root = Vmar::root_self();
    let allows = VmarFlags::CAN_MAP_READ | VmarFlags::CAN_MAP_WRITE | VmarFlags::CAN_MAP_SPECIFIC;
    let (sub, addr) = root.allocate(allows, 0, 16 * PAGE)?;
    assert_eq!(
        sub.info()?,
        zx::VmarInfo {
            base: addr,
            len: 16 * PAGE
        }
    );
    assert_eq!(
        sub.basic_info()?.related_koid,
        root.basic_info()?.related_koid
    );

    let vmo = Vmo::create(2 * PAGE64)?;
    let mapping = sub.map(RW | VmarFlags::SPECIFIC, 4 * PAGE, &vmo, 0, 2 * PAGE)?;
    assert_eq!(mapping.addr(), addr + 4 * PAGE);
    assert_ne!(
        mapping.vmar_raw(),
        sub.raw(),
        "the mapping holds its own handle"
    );
    mapping.write_at(0, b"sub")?;
    assert_eq!(
        sub.map(
            VmarFlags::PERM_READ | VmarFlags::PERM_EXECUTE,
            0,
            &vmo,
            0,
            PAGE
        )
        .map(|m| m.len()),
        Err(Status::ACCESS_DENIED),
        "the sub-VMAR cannot map executable"
    );

    // Closing the VMAR's handle leaves its region and the mapping in place.
    drop(sub);
    assert_eq!(mapped_bytes(&mapping, 0, 3)?, b"sub");
    assert_eq!(num_mappings(&vmo)?, 1);
    drop(mapping);
    assert_eq!(num_mappings(&vmo)?, 0);

    // Without DUPLICATE on the VMAR's handle, no owned mapping can be made in it.
    let (limited, _) = root.allocate(VmarFlags::CAN_MAP_READ, 0, PAGE)?;
    let limited = Vmar::from(limited.into_handle().replace(Rights::READ | Rights::MAP)?);
    assert_eq!(
        limited
            .map(VmarFlags::PERM_READ, 0, &vmo, 0, PAGE)
            .map(|m| m.len()),
        Err(Status::ACCESS_DENIED)
    );

    // A destroyed VMAR maps nothing.
    let (doomed, _) = root.allocate(VmarFlags::CAN_MAP_READ, 0, PAGE)?;
    // SAFETY: no mapping lives in the new VMAR.
    unsafe { doomed.destroy() }?;
    assert_eq!(
        doomed
            .map(VmarFlags::PERM_READ, 0, &vmo, 0, PAGE)
            .map(|m| m.len()),
        Err(Status::BAD_STATE)
    );
    assert_eq!(num_mappings(&vmo)?, 0);
    Ok(())
}

#[test]
fn status_is_an_error_type() {
    assert_eq!(Status::BAD_HANDLE.to_string(), "ZX_ERR_BAD_HANDLE");
    assert_eq!(
        format!("{:?}", Status::OUT_OF_RANGE),
        "Status(ZX_ERR_OUT_OF_RANGE)"
    );
    assert_eq!(Status::from_raw(-99).to_string(), "unknown status -99");
    assert_eq!(Status::OK.name(), Some("ZX_OK"));
    assert_eq!(Status::CANCELED.into_raw(), -23);
    assert_eq!(i32::from(Status::ACCESS_DENIED), -30);
    assert_eq!(Status::ok(0), Ok(()));
    assert_eq!(Status::ok(-10), Err(Status::INVALID_ARGS));

    fn size_of_nothing() -> Result<u64, Box<dyn std::error::Error>> {
        Ok(Vmo::from(Handle::invalid()).size()?)
    }
    let error = size_of_nothing().expect_err("an invalid handle has no size");
    assert_eq!(error.to_string(), "ZX_ERR_BAD_HANDLE");
    assert_eq!(error.downcast_ref::<Status>(), Some(&Status::BAD_HANDLE));
}

#[test]
fn option_words_print_their_names() {
    assert_eq!(format!("{RW:?}"), "VmarFlags(PERM_READ | PERM_WRITE)");
    assert_eq!(format!("{:?}", VmarFlags::empty()), "VmarFlags(0x0)");
    assert_eq!(
        format!("{:?}", VmarFlags::from_bits_retain(1 | 1 << 20)),
        "VmarFlags(PERM_READ | 0x100000)"
    );
    assert_eq!(
        format!(
            "{:?}",
            VmoChildOptions::SNAPSHOT | VmoChildOptions::NO_WRITE
        ),
        "VmoChildOptions(SNAPSHOT | NO_WRITE)"
    );
    assert_eq!(VmarFlags::align(12).bits(), 12 << 24);
    assert_eq!((RW - VmarFlags::PERM_WRITE), VmarFlags::PERM_READ);
    assert_eq!(zx::SAME_RIGHTS.bits(), 1 << 31);
}

/// Set in the environment of the child process that runs [`child_runs_out_of_frames`].
const CHILD_MARKER: &str = "RUST_API_OUT_OF_FRAMES_CHILD";

#[test]
fn a_store_that_needs_a_frame_when_none_is_left_kills_the_process() {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_runs_out_of_frames",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ZIRCON_FRAME_LIMIT", "8")
        .env(CHILD_MARKER, "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("vmo write: NO_MEMORY"), "{stdout}");
    assert!(stdout.contains("read_at: zeros"), "{stdout}");
    assert!(!stdout.contains("write_at returned"), "{stdout}");
    assert_eq!(
        output.status.signal(),
        Some(11),
        "SIGSEGV: {:?}",
        output.status
    );
}

/// Runs only in the child process started above, with at most 8 frames.
#[test]
#[ignore = "run in a child process with a frame limit of 8"]
fn child_runs_out_of_frames() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        return;
    }
    let vmo = Vmo::create(64 * PAGE64).expect("no frame needed");
    let mapping = map(&vmo, 64 * PAGE).expect("no frame needed");
    let mut status = Ok(());
    for page in 0..64 {
        status = vmo.write(&[1], page * PAGE64);
        if status.is_err() {
            break;
        }
    }
    assert_eq!(status, Err(Status::NO_MEMORY));
    println!("vmo write: NO_MEMORY");
    let mut byte = [0xFF];
    mapping
        .read_at(63 * PAGE, &mut byte)
        .expect("reads need no frame");
    assert_eq!(byte, [0]);
    println!("read_at: zeros");
    let _ = mapping.write_at(63 * PAGE, &[1]);
    println!("write_at returned");
}

const READ_ONLY_CHILD_MARKER: &str = "RUST_API_READ_ONLY_STORE_CHILD";

#[test]
fn a_store_to_a_read_only_page_shown_through_a_window_kills_the_process_with_sigsegv() {
    // In a window a read-only page is a write-protected entry, and the store faults with
    // SIGBUS; the program must still die of SIGSEGV, as for any access a mapping forbids.
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_stores_to_a_read_only_page",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(READ_ONLY_CHILD_MARKER, "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("read: 17"), "{stdout}");
    assert!(!stdout.contains("windowed: Some(false)"), "{stdout}");
    assert!(!stdout.contains("store returned"), "{stdout}");
    assert_eq!(
        output.status.signal(),
        Some(11),
        "SIGSEGV: {:?}",
        output.status
    );
}

/// Runs only in the child process started above.
#[test]
#[ignore = "run in a child process that dies of its store"]
fn child_stores_to_a_read_only_page() {
    if std::env::var_os(READ_ONLY_CHILD_MARKER).is_none() {
        return;
    }
    let vmo = Vmo::create(PAGE64).expect("a VMO");
    vmo.write(&[0x11], 0).expect("a committed page");
    let mapping = Vmar::root_self()
        .map(VmarFlags::PERM_READ, 0, &vmo, 0, PAGE)
        .expect("a read-only mapping");
    // SAFETY: the page is mapped readable.
    let byte = unsafe { std::ptr::read_volatile(mapping.as_ptr()) };
    println!("read: {byte}");
    let runtime = zircon::runtime::Runtime::get();
    let windowed = runtime.process().address_space().with_mmu(|mmu| {
        let host = mmu.as_any().downcast_ref::<zircon::host_mmu::HostMmu>()?;
        host.uses_windows()
            .then(|| host.is_windowed(mapping.addr() as u64))
    });
    // `None`: this host (or ZIRCON_HOST_WINDOWS=0) uses no windows.
    println!("windowed: {windowed:?}");
    // SAFETY: none: the store is forbidden, and the process is meant to die of it.
    unsafe { std::ptr::write_volatile(mapping.as_ptr() as *mut u8, 0x99) };
    println!("store returned");
}
